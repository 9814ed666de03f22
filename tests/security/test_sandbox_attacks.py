"""Hostile programs are stopped with a reason, leave nothing outside, and their records are dropped.

The attacks are real programs in `attacks/*.py`. Each states the reason the full sandbox stops it
with (`# guards:`), what the kernel layers alone make of it (`# kernel:` a reason, or `contained`
when it runs to the end without effect) and, where it fails, what the program saw
(`# kernel-error:`). They run through `sciloom prompts pot`, `sciloom prompts work`,
`sciloom eval --mode pot` and `run_python(python_guards=False)` (bubblewrap + seccomp + rlimits
only). Every attack ends by printing the right answer, so one that got through would be kept.
After each run the watched folder holds only its canary, unchanged; the HTTP server, the UDP
socket and the abstract unix socket on the caller's side saw nothing; the caller received no
signal; and no secret (canary text, SSH key, environment value) is in any output.

The time limits are a few seconds so that the memory flood reaches its limit before its timeout
on a loaded 2-core machine (eval gives programs 1 GiB).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.sandbox import run_python
from sciloom.corpus.shards import read_documents, shard_files

ATTACKS_DIR = Path(__file__).parent / "attacks"
SECRET_ENV = "SCILOOM_ATTACK_SECRET"
NATALIA = {  # GSM8K train #1: the answer is 72
    "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
    "May. How many clips did Natalia sell altogether in April and May?",
    "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips in "
    "April and May.\n#### 72",
}


@dataclass(frozen=True)
class Attack:
    name: str
    source: str  # with @PLACEHOLDERS@
    guards: str  # reason with every layer
    kernel: str  # reason with the kernel layers alone, or "contained"
    kernel_error: str | None  # text of the program's last stderr line then

    def program(self, subs: dict[str, str], answer: str) -> str:
        code = self.source
        for key, value in subs.items():
            code = code.replace(key, value)
        # if the attack was not stopped, the record would pass every check
        return code + f'\nwith open("output.txt", "w") as _f:\n    _f.write("{answer}")\nprint({answer})\n'


def load_attacks() -> list[Attack]:
    attacks = []
    for path in sorted(ATTACKS_DIR.glob("*.py")):
        text = path.read_text()
        header = dict(re.findall(r"^# ([a-z-]+): (.+)$", text, re.MULTILINE))
        attacks.append(
            Attack(path.stem, text, header["guards"], header["kernel"], header.get("kernel-error"))
        )
    return attacks


ATTACKS = load_attacks()


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"72")

    def log_message(self, *args):
        pass


@dataclass
class Arena:
    """The caller's side: files, servers and a signal handler that a breakout would touch."""

    root: Path
    canary_text: str
    ssh_secret: str
    env_secret: str
    http: ThreadingHTTPServer
    udp: socket.socket
    unix: socket.socket
    unix_name: str
    signals: list[int] = field(default_factory=list)

    @property
    def watched(self) -> Path:
        return self.root / "watched"

    @property
    def canary(self) -> Path:
        return self.watched / "canary.txt"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def subs(self) -> dict[str, str]:
        return {
            "@WATCHED@": str(self.watched),
            "@CANARY@": str(self.canary),
            "@HOME@": str(self.home),
            "@SECRET_ENV@": SECRET_ENV,
            "@PARENT_PID@": str(os.getpid()),
            "@PARENT_PGID@": str(os.getpgrp()),
            "@PORT@": str(self.http.server_address[1]),
            "@UNIX_NAME@": self.unix_name,
        }

    def secrets(self) -> list[str]:
        return [self.canary_text, self.ssh_secret, self.env_secret]

    def assert_untouched(self, *outputs: str) -> None:
        assert sorted(p.name for p in self.watched.iterdir()) == ["canary.txt"]
        assert self.canary.read_text() == self.canary_text
        assert sorted(str(p.relative_to(self.home)) for p in self.home.rglob("*")) == [
            ".ssh",
            ".ssh/id_ed25519",
        ]
        assert _Counter.hits == []
        with pytest.raises(BlockingIOError):
            self.udp.recv(100)
        with pytest.raises(BlockingIOError):
            self.unix.accept()
        assert self.signals == []
        for text in outputs:
            for secret in self.secrets():
                assert secret not in text


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    root = tmp_path_factory.mktemp("arena")
    (root / "watched").mkdir()
    canary_text = f"canary-{uuid.uuid4()}"
    (root / "watched" / "canary.txt").write_text(canary_text)
    ssh_secret = f"-----BEGIN OPENSSH PRIVATE KEY----- {uuid.uuid4()}"
    (root / "home" / ".ssh").mkdir(parents=True)
    (root / "home" / ".ssh" / "id_ed25519").write_text(ssh_secret)
    env_secret = f"token-{uuid.uuid4()}"
    saved_env = {k: os.environ.get(k) for k in (SECRET_ENV, "HOME")}
    os.environ[SECRET_ENV] = env_secret
    os.environ["HOME"] = str(root / "home")

    http = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", http.server_address[1]))
    udp.setblocking(False)
    unix_name = f"sciloom-attack-{uuid.uuid4().hex}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + unix_name)
    unix.listen(8)
    unix.setblocking(False)
    arena = Arena(root, canary_text, ssh_secret, env_secret, http, udp, unix, unix_name)
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: arena.signals.append(signum))
    try:
        yield arena
    finally:
        signal.signal(signal.SIGUSR1, previous)
        http.shutdown()
        http.server_close()
        udp.close()
        unix.close()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_the_suite_covers_every_route_with_at_least_30_programs():
    names = {a.name for a in ATTACKS}
    assert len(ATTACKS) >= 30
    routes = {
        "process": {"os_system", "subprocess_run", "posixsubprocess_fork_exec", "os_posix_spawn", "os_fork"},
        "process, native": {"pty_spawn", "ctypes_libc_system", "ctypes_fork", "cffi_libc_system", "os_execv"},
        "writes": {"write_dir_fd", "rename_dst_dir_fd", "proc_self_fd", "chdir_write", "mmap_write"},
        "links": {"hardlink_out", "symlink_out_write"},
        "reads": {"read_etc_passwd", "read_ssh_key", "read_env_secret", "read_proc_environ"},
        "network": {"socket_connect", "dns_lookup", "urllib_fetch", "udp_send", "unix_abstract_connect"},
        "floods": {"fork_bomb", "fork_bomb_native", "memory_flood", "disk_flood_files", "stdout_flood"},
        "time and signals": {"sleep_past_timeout", "kill_parent", "signal_caller", "killpg_caller"},
    }
    for route, wanted in routes.items():
        assert wanted <= names, f"{route}: missing {wanted - names}"


def _problems(tmp_path: Path, arena: Arena) -> Path:
    rows = [NATALIA | {"program": a.program(arena.subs(), "72"), "attack": a.name} for a in ATTACKS]
    path = tmp_path / "attacks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("kind", ["pot", "work"])
def test_attacks_through_sciloom_prompts_are_dropped_with_their_reason(kind, tmp_path, arena, capsys):
    out = tmp_path / "out"
    code = main(["prompts", kind, str(_problems(tmp_path, arena)), "--out", str(out), "--timeout", "3"])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["docs"]["in"] == len(ATTACKS) and totals["docs"]["kept"] == 0
    assert totals["dropped_reasons"] == dict(Counter(f"program_{a.guards}" for a in ATTACKS))
    assert manifest["extra"]["prompts"]["sandbox"]["isolation"] == "bwrap"
    assert list(read_documents(shard_files(out))) == []
    arena.assert_untouched(capsys.readouterr().out)


def test_attacks_through_sciloom_eval_pot_score_nothing_and_name_their_reason(tmp_path, arena, capsys):
    completions = tmp_path / "completions.jsonl"
    # GSM8K test #0 (Janet's ducks): the answer is 18
    lines = [{"id": "0", "completion": a.program(arena.subs(), "18") + "```\n"} for a in ATTACKS]
    completions.write_text("".join(json.dumps(r) + "\n" for r in lines))
    out = tmp_path / "eval"
    argv = ["eval", "--task", "gsm8k", "--mode", "pot", "--completions", str(completions)]
    code = main([*argv, "--pot-timeout", "4", "--json", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    summary = json.loads(printed)
    assert summary["accuracy"] == 0.0 and summary["sandbox"]["isolation"] == "bwrap"
    (record,) = [json.loads(line) for line in (out / "gsm8k.jsonl").read_text().splitlines()]
    assert record["num_correct"] == 0
    assert [s["program_error"] for s in record["samples"]] == [a.guards for a in ATTACKS]
    assert all(s["answer"] is None for s in record["samples"])
    arena.assert_untouched(printed, *(s["stdout"] for s in record["samples"]))


def test_the_kernel_layers_alone_hold_every_attack(arena):
    """Without the Python guards: bubblewrap's namespaces, seccomp and the rlimits stop or contain each."""

    def run(attack: Attack):
        return run_python(attack.program(arena.subs(), "72"), timeout_s=3, disk_mb=16, python_guards=False)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, ATTACKS))
    for attack, result in zip(ATTACKS, results):
        outcome = "contained" if result.ok else result.reason
        assert outcome == attack.kernel, f"{attack.name}: {result.stderr[-300:]}"
        assert result.isolation == "bwrap"
        if attack.kernel_error:
            last = result.stderr.strip().splitlines()[-1]
            assert attack.kernel_error in last, f"{attack.name}: {last}"
    arena.assert_untouched(*(r.stdout + r.stderr for r in results))
