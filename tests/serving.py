"""A real ``nianbao serve`` on loopback for the browser, load and crash tests: a round distributed
by the real CLI, the server started as its own process, stopped (or killed) by its process id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from openpyxl import load_workbook

from .test_distribution import write_roster

PASSWORD = "supervisor-pass-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def distribute_round(base: Path, offices: list[tuple[str, str]], port: int) -> dict[str, str]:
    """A round in ``base/轮次`` with links on 127.0.0.1:``port``; returns each office's link."""
    from .conftest import run_cli

    roster = write_roster(base / "名单.xlsx", offices)
    sent = run_cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", base / "轮次" / "下发", "--round", base / "轮次",
                   "--url", f"http://127.0.0.1:{port}", "--deadline", "2026-01-31")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    listing = load_workbook(base / "轮次" / "下发" / "下发清单.xlsx")["下发清单"]
    return {r[2]: r[9] for r in listing.iter_rows(min_row=5, values_only=True)}


def start(round_dir: Path, port: int, log: Path) -> subprocess.Popen:
    """``nianbao serve`` as a user starts it; returns once it answers."""
    env = os.environ | {"NIANBAO_ADMIN_PASSWORD": PASSWORD}
    process = subprocess.Popen([sys.executable, "-m", "nianbao", "serve", str(round_dir), "--port", str(port)],
                               stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"nianbao serve exited: {log.read_text(encoding='utf-8', errors='replace')}") from None
            time.sleep(0.2)
    process.kill()
    raise AssertionError("nianbao serve did not answer within 60 s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the server and its worker processes (its own process group, started above)."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


@contextmanager
def serving(round_dir: Path, port: int, log: Path):
    process = start(round_dir, port, log)
    try:
        yield process
    finally:
        stop(process)
