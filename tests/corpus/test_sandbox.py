"""The sandbox stops runaway and harmful programs with the right reason, runs normal ones, and refuses
to run anything without an OS sandbox unless unsafe mode is asked for."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from sciloom.corpus import sandbox
from sciloom.corpus.cli.main import main
from sciloom.corpus.sandbox import SandboxUnavailableError, bwrap, run_python, runner


def test_normal_program_prints_and_succeeds():
    r = run_python("x = [i * i for i in range(10)]\nprint(sum(x))")
    assert r.ok and r.reason is None and r.returncode == 0
    assert r.stdout == "285\n"


def test_program_may_write_and_read_its_own_files_and_use_sympy():
    code = (
        "import sympy as sp\n"
        "x = sp.symbols('x')\n"
        "with open('output.txt', 'w') as f:\n"
        "    f.write(str(sorted(sp.solve(x**2 - 5*x + 6, x))))\n"
        "print(open('output.txt').read())\n"
    )
    r = run_python(code, timeout_s=20)
    assert r.ok, r.stderr
    assert r.stdout.strip() == "[2, 3]"


def test_infinite_loop_is_killed_at_the_timeout():
    start = time.monotonic()
    r = run_python("while True:\n    pass", timeout_s=1.0)
    assert not r.ok and r.reason == sandbox.TIMEOUT
    assert time.monotonic() - start < 5


def test_fork_bomb_is_stopped_even_inside_try_except():
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except BaseException:\n        pass\n"
    r = run_python(code, timeout_s=3)
    assert not r.ok and r.reason == sandbox.FORBIDDEN_OPERATION
    assert "os.fork" in r.stderr


def test_subprocess_and_os_system_are_forbidden_operations():
    for code in ("import subprocess\nsubprocess.run(['true'])", "import os\nos.system('true')"):
        r = run_python(code)
        assert r.reason == sandbox.FORBIDDEN_OPERATION, code


def test_write_outside_the_temporary_directory_is_refused(tmp_path: Path):
    target = tmp_path / f"escape-{uuid.uuid4().hex}.txt"
    r = run_python(f"open({str(target)!r}, 'w').write('pwned')")
    assert not r.ok and r.reason == sandbox.FORBIDDEN_WRITE
    assert not target.exists()
    r = run_python(f"import os\nos.remove({str(tmp_path)!r})")
    assert r.reason == sandbox.FORBIDDEN_WRITE and tmp_path.exists()
    r = run_python(f"import sqlite3\nsqlite3.connect({str(target)!r}).execute('create table t (x)')")
    assert r.reason == sandbox.FORBIDDEN_WRITE and not target.exists()
    r = run_python("import sqlite3\nsqlite3.connect('local.db').execute('create table t (x)')\nprint('ok')")
    assert r.ok, r.stderr


def test_relative_escape_from_the_work_directory_is_refused():
    r = run_python("open('../../escape.txt', 'a').write('x')")
    assert r.reason == sandbox.FORBIDDEN_WRITE


def test_network_imports_are_forbidden():
    for module in ("socket", "urllib.request", "http.client", "ssl"):
        r = run_python(f"import {module}")
        assert not r.ok and r.reason == sandbox.FORBIDDEN_IMPORT, module


def test_memory_hog_is_stopped_with_memory_reason():
    r = run_python("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 * 1024))", memory_mb=256)
    assert not r.ok and r.reason == sandbox.MEMORY


def test_endless_output_is_capped_by_the_file_size_limit():
    r = run_python("while True:\n    print('x' * 1000)", file_size_mb=1, timeout_s=10)
    assert not r.ok and r.reason == sandbox.FILE_SIZE
    assert len(r.stdout) <= 1024 * 1024


def test_exception_is_a_nonzero_exit_with_the_program_traceback():
    r = run_python("print('before')\n1 / 0")
    assert not r.ok and r.reason == sandbox.NONZERO_EXIT and r.returncode == 1
    assert r.stdout == "before\n"
    assert 'File "main.py", line 2' in r.stderr and "ZeroDivisionError" in r.stderr


def test_temporary_directory_is_removed_afterwards(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    r = run_python("open('scratch.txt', 'w').write('x')\nimport os\nprint(os.getcwd())")
    assert r.ok and r.stdout == "/sandbox\n"
    assert list(tmp_path.iterdir()) == []


def test_concurrent_runs_from_threads_are_independent():
    from concurrent.futures import ThreadPoolExecutor

    codes = [f"print({i} * {i})" for i in range(6)] + ["while True:\n    pass"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: run_python(c, timeout_s=2), codes))
    assert [r.stdout for r in results[:6]] == [f"{i * i}\n" for i in range(6)]
    assert results[6].reason == sandbox.TIMEOUT


def test_runs_are_isolated_by_bwrap_and_numeric_libraries_work():
    code = (
        "import numpy as np, sympy as sp\nfrom fractions import Fraction\n"
        "x = sp.symbols('x')\n"
        "print(int(np.arange(10).sum()), sp.factor(x**2 - 1), Fraction(3, 12))\n"
    )
    r = run_python(code, timeout_s=30)
    assert r.ok, r.stderr
    assert r.stdout == "45 (x - 1)*(x + 1) 1/4\n" and r.isolation == sandbox.BWRAP
    assert sandbox.sandbox_isolation()["layers"] == ["namespaces", "seccomp", "rlimits", "python_guards"]


def test_the_issue_exploits_are_stopped_by_the_kernel_and_the_guards(tmp_path: Path):
    fork_exec = (
        "import _posixsubprocess, os\nr, w = os.pipe()\n"
        f"_posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'touch {tmp_path}/pwned'], [b'/bin/sh'], True, (), "
        "None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, 0, None, None, None, -1, None, False)\n"
    )
    r = run_python(fork_exec)
    assert r.reason == sandbox.FORBIDDEN_SYSCALL  # seccomp: no audit event exists for this route
    dir_fd = f"import os\nfd = os.open({str(tmp_path)!r}, os.O_RDONLY)\nos.open('pwned', os.O_CREAT | os.O_WRONLY, dir_fd=fd)\n"
    assert run_python(dir_fd).reason == sandbox.FORBIDDEN_READ
    rename = (
        "import os\nopen('a', 'w').close()\nos.rename('a', '../../x', dst_dir_fd=os.open('.', os.O_RDONLY))\n"
    )
    assert run_python(rename).reason == sandbox.FORBIDDEN_WRITE
    r = run_python("print(open('/etc/passwd').read())")
    assert r.reason == sandbox.FORBIDDEN_READ and "root:" not in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_full_work_folder_is_disk_full():
    code = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n    i += 1\n"
    r = run_python(code, disk_mb=8, file_size_mb=4)
    assert r.reason == sandbox.DISK_FULL


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch):
    """This machine as one without bubblewrap: a PATH on which there is none."""
    empty = tmp_path / "bin-without-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    runner.kernel_sandbox_problem.cache_clear()
    bwrap.bwrap_version.cache_clear()
    yield
    monkeypatch.undo()
    runner.kernel_sandbox_problem.cache_clear()
    bwrap.bwrap_version.cache_clear()


def test_without_bwrap_programs_are_refused_unless_unsafe_is_asked_for(no_bwrap):
    with pytest.raises(SandboxUnavailableError, match="bwrap.*--unsafe-no-sandbox"):
        run_python("print(1)")
    r = run_python("print(1)", unsafe_no_sandbox=True)
    assert r.ok and r.isolation == sandbox.NONE and r.stdout == "1\n"
    # the seccomp filter still applies in unsafe mode
    r = run_python("import _posixsubprocess, os\nos.fork()", unsafe_no_sandbox=True, python_guards=False)
    assert r.reason == sandbox.FORBIDDEN_SYSCALL
    info = sandbox.sandbox_isolation(unsafe_no_sandbox=True)
    assert info["isolation"] == "none" and "seccomp" in info["layers"] and "not installed" in info["why"]


def _natalia_rows(tmp_path: Path) -> Path:
    question = (
        "Natalia sold clips to 48 of her friends in April, and then half as many in May. How many in all?"
    )
    answer = "48/2 = <<48/2=24>>24\n48+24 = <<48+24=72>>72\n#### 72"
    programs = ["print(48 + 48 // 2)\n", "import os\nos.fork()\nprint(72)\n"]
    path = tmp_path / "natalia.jsonl"
    path.write_text(
        "".join(json.dumps({"question": question, "answer": answer, "program": p}) + "\n" for p in programs)
    )
    return path


def test_prompts_refuse_at_once_without_a_sandbox_and_record_unsafe_runs(no_bwrap, tmp_path: Path, capsys):
    problems, out = _natalia_rows(tmp_path), tmp_path / "out"
    assert main(["prompts", "pot", str(problems), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--unsafe-no-sandbox" in err and "bwrap" in err
    assert not (out / "manifest.json").exists()
    assert main(["prompts", "pot", str(problems), "--out", str(out), "--unsafe-no-sandbox"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extra"]["prompts"]["sandbox"]["isolation"] == "none"
    assert manifest["extra"]["prompts"]["config"]["unsafe_no_sandbox"] is True
    assert manifest["totals"]["docs"]["kept"] == 1
    assert manifest["totals"]["dropped_reasons"] == {"program_forbidden_operation": 1}


def test_eval_pot_refuses_without_a_sandbox_but_cot_needs_none(no_bwrap, tmp_path: Path, capsys):
    completions = tmp_path / "c.jsonl"
    completions.write_text(json.dumps({"id": "0", "completion": "print(16 - 3 - 4) \n```"}) + "\n")
    argv = ["eval", "--task", "gsm8k", "--completions", str(completions), "--json"]
    assert main([*argv, "--mode", "pot"]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert main([*argv, "--mode", "pot", "--unsafe-no-sandbox"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sandbox"]["isolation"] == "none"
    assert main([*argv, "--mode", "cot"]) == 0
    assert "sandbox" not in json.loads(capsys.readouterr().out)


def test_libraries_may_import_what_the_program_may_not():
    # scipy.linalg imports numpy.testing -> email.utils -> socket without using it
    r = run_python("import numpy as np, scipy.linalg as la\nprint(la.det(2 * np.eye(2)))", timeout_s=30)
    assert r.ok and r.stdout == "4.0\n", r.stderr
    assert run_python("import socket").reason == sandbox.FORBIDDEN_IMPORT
    r = run_python("import email.utils\nemail.utils.socket.socket()")
    assert r.reason == sandbox.FORBIDDEN_OPERATION and "socket.__new__" in r.stderr


def test_ordinary_file_handling_in_the_work_folder_is_allowed():
    code = (
        "import tempfile, shutil\nfrom pathlib import Path\n"
        "Path('d/e').mkdir(parents=True)\n(Path('d') / 'x.txt').write_text('hi')\n"
        "with tempfile.NamedTemporaryFile('w', delete=True) as f:\n    f.write('scratch')\n"
        "shutil.move('d/x.txt', 'd/e/y.txt')\nshutil.rmtree('d/e')\nprint(sorted(p.name for p in Path('d').iterdir()))\n"
    )
    r = run_python(code)
    assert r.ok and r.stdout == "[]\n", r.stderr


def test_a_build_with_program_sources_refuses_before_its_first_stage(no_bwrap, tmp_path: Path, capsys):
    out = tmp_path / "build"
    assert main(["build", "--out", str(out)]) == 2  # the embedded sample has a <work> source
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert not (out / "manifest.json").exists()
    assert [p.name for p in out.iterdir() if p.is_dir() and p.name[:2].isdigit()] == []  # no stage ran


def test_a_recipe_may_accept_the_unsafe_mode_per_prompt_source(no_bwrap, tmp_path: Path):
    from sciloom.corpus.prompts.execution import require_sandbox
    from sciloom.corpus.recipe import recipe_from_dict

    (tmp_path / "p.jsonl").write_text("")

    def sources(options: dict) -> list:
        work = {"name": "work", "kind": "prompts", "prompt_kind": "work", "paths": ["p.jsonl"]}
        raw = {
            "build": {"name": "t"},
            "sources": [work | ({"options": options} if options else {})],
            "mix": {"weights": {"work": 1.0}},
        }
        return recipe_from_dict(raw, tmp_path).sources

    with pytest.raises(SandboxUnavailableError):
        require_sandbox(sources({}))
    unsafe = sources({"unsafe_no_sandbox": True})
    assert unsafe[0].options.unsafe_no_sandbox is True
    require_sandbox(unsafe)  # accepted: the stage will run its programs under the guards only
