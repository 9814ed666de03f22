"""The OPRO trajectory and the synth parameters in `sciloom manifest show` and the HTML report."""

from __future__ import annotations

import base64
import re

from sciloom.corpus.cli.main import main


def test_opro_trajectory_is_shown_and_plotted(serve, oracle, gsm8k_file, tmp_path, capsys):
    server = serve(oracle.respond)
    opts = tmp_path / "o.toml"
    opts.write_text("opro_steps = 1\nopro_proposals = 2\n")
    out = tmp_path / "opro"
    argv = ["synth", "opro", str(gsm8k_file), "--out", str(out), "--backend", "openai", "--model", "oracle"]
    assert main([*argv, "--base-url", server.url, "--options", str(opts)]) == 0
    capsys.readouterr()
    assert main(["manifest", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "OPRO trajectory" in shown and "Let's solve the problem." in shown
    assert "synth opro with openai oracle" in shown and "opro_steps=1" in shown
    report = tmp_path / "report.html"
    assert main(["manifest", "report", str(out), "--out", str(report)]) == 0
    html = report.read_text()
    figure = re.search(
        r"<figure id='opro_trajectory'><img alt='[^']*' src='data:image/png;base64,([^']+)'", html
    )
    assert figure is not None
    assert base64.b64decode(figure.group(1)).startswith(b"\x89PNG")
