"""The sandbox stops runaway and harmful programs with the right reason and runs normal ones."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from sciloom.corpus import sandbox
from sciloom.corpus.sandbox import run_python


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


def test_temporary_directory_is_removed_afterwards():
    r = run_python("import os\nprint(os.getcwd())")
    assert r.ok
    assert not Path(r.stdout.strip()).exists()


def test_concurrent_runs_from_threads_are_independent():
    from concurrent.futures import ThreadPoolExecutor

    codes = [f"print({i} * {i})" for i in range(6)] + ["while True:\n    pass"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: run_python(c, timeout_s=2), codes))
    assert [r.stdout for r in results[:6]] == [f"{i * i}\n" for i in range(6)]
    assert results[6].reason == sandbox.TIMEOUT
