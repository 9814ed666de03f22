"""The HTML report holds every plot and sample, and a real headless Chromium renders it cleanly."""

import re
import shutil
import subprocess

from sciloom.corpus.cli.main import main

PLOTS = ("funnel", "drop_reasons", "length_hist", "math_score_hist", "proportions", "cluster_sizes")

# Appended to a copy of the report only in the test: after load, check that every image decoded.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.title = 'IMAGES ' + ok + '/' + imgs.length;
});
</script>"""


def chromium_dump(html_path) -> tuple[str, str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is missing: scripts/install-system-deps.sh installs it"
    proc = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={html_path.parent / 'chromium-profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            f"file://{html_path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_report_has_every_plot_and_escaped_samples(build_factory, tmp_path):
    build = build_factory("a")
    out = tmp_path / "report.html"
    assert main(["manifest", "report", str(build), "--out", str(out)]) == 0
    html = out.read_text()
    for plot in PLOTS:
        assert f"<figure id='{plot}'>" in html
    assert html.count("data:image/png;base64,") == len(PLOTS)
    assert "class='sample'" in html and "data-source='web'" in html
    assert "data-reason='02-filter: too_short'" in html
    assert "<script" not in html  # self-contained, no scripts


def test_report_renders_in_headless_chromium_without_errors(build_factory, tmp_path):
    build = build_factory("a")
    out = tmp_path / "report.html"
    assert main(["manifest", "report", str(build), "--out", str(out)]) == 0
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", PROBE + "</body>"))
    dom, log = chromium_dump(probe)
    m = re.search(r"<title>IMAGES (\d+)/(\d+)</title>", dom)
    assert m, dom[:500]
    assert m.group(1) == m.group(2) == str(len(PLOTS))
    assert "Uncaught" not in log
