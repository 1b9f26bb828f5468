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
EXAMPLE_SOURCES = ROOT / "examples-src"


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real ``nianbao`` command in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "nianbao", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=os.environ | {"COLUMNS": "200"}, timeout=300,
    )


@pytest.fixture
def cli():
    return run_cli


SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with LibreOffice's UNO bridge (python3-uno)
# Every Debian package the LibreOffice tests need: Calc, its Python bridge, and a CJK font (without
# one, pages rendered to PDF show boxes for Chinese text).
LIBREOFFICE_PACKAGES = "libreoffice-calc-nogui python3-uno fonts-wqy-microhei"


def require_libreoffice(uno: bool = False) -> str:
    """The ``soffice`` binary; skip the test with its reason when LibreOffice (or, with ``uno``, its
    Python bridge) is missing, or fail when NIANBAO_REQUIRE_LIBREOFFICE=1 says it must be there (CI)."""
    binary = shutil.which("soffice")
    missing = None
    if not binary:
        missing = "LibreOffice (soffice) is not installed"
    elif uno and subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode != 0:
        missing = f"LibreOffice's UNO bridge is not importable from {SYSTEM_PYTHON} (apt-get install python3-uno)"
    if missing:
        if os.environ.get("NIANBAO_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(f"{missing}, and NIANBAO_REQUIRE_LIBREOFFICE=1 requires it")
        pytest.skip(f"{missing}; apt-get install {LIBREOFFICE_PACKAGES} to run this test")
    return binary


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """Convert a workbook with LibreOffice headless (which recalculates formulas on load)."""
    binary = require_libreoffice()
    profile = tmp_path_factory.mktemp("lo-profile")

    def convert(path: Path, outdir: Path, target: str = "xlsx") -> subprocess.CompletedProcess:
        return subprocess.run(
            [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", target, "--outdir", str(outdir), str(path)],
            capture_output=True, text=True, timeout=180,
        )

    return convert


def pytest_collection_modifyitems(items):
    """A test that drives a real application (LibreOffice through ``soffice`` or ``require_libreoffice``)
    is slow: the fast tier (``-m "not slow"``) leaves it to the full run."""
    for item in items:
        source = getattr(getattr(item, "function", None), "__code__", None)
        if "soffice" in item.fixturenames or (source and "require_libreoffice" in source.co_names):
            item.add_marker(pytest.mark.slow)
