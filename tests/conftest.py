"""Shared helpers: real CLI runs, filled workbooks, LibreOffice conversions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real ``nianbao`` command in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "nianbao", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=os.environ | {"COLUMNS": "200"}, timeout=300,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """Convert a workbook with LibreOffice headless (which recalculates formulas on load)."""
    binary = shutil.which("soffice")
    assert binary, "LibreOffice (soffice) is required; .ci/run installs it"
    profile = tmp_path_factory.mktemp("lo-profile")

    def convert(path: Path, outdir: Path, target: str = "xlsx") -> subprocess.CompletedProcess:
        return subprocess.run(
            [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", target, "--outdir", str(outdir), str(path)],
            capture_output=True, text=True, timeout=180,
        )

    return convert
