"""docs/excel.md's offline install folder has every package Windows needs (issue 19): built on Linux,
``pip download --platform win_amd64`` judged the Windows markers against Linux and left out pywin32
and colorama. scripts/windows_wheels.py judges them as Windows does."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("windows_wheels", ROOT / "scripts" / "windows_wheels.py")
windows_wheels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(windows_wheels)

LINUX = windows_wheels.WINDOWS | {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}


def _installed(name: str) -> list[str]:
    try:
        return metadata.requires(name) or []
    except metadata.PackageNotFoundError:  # pywin32 has no Linux build: it is a leaf here
        return []


def test_windows_needs_pywin32_and_colorama_by_the_real_metadata():
    """Over the Requires-Dist of the installed nianbao and its dependencies (the same metadata the
    wheels carry), Windows needs pywin32 and colorama and Linux does not: what pip got wrong."""
    on_windows = windows_wheels.needs("nianbao", _installed, windows_wheels.WINDOWS)
    on_linux = windows_wheels.needs("nianbao", _installed, LINUX)
    assert {"pywin32", "colorama"} <= set(on_windows) and not {"pywin32", "colorama"} & set(on_linux)
    direct = {windows_wheels.canonicalize_name(r.name) for r in map(windows_wheels.Requirement, metadata.requires("nianbao"))
              if "extra" not in str(r.marker or "")}
    assert direct <= set(on_windows) and {"pandas", "numpy", "click", "tzdata"} <= set(on_windows)  # followed through extras


@pytest.mark.slow
def test_the_recipe_makes_a_folder_windows_installs_from(tmp_path):
    """The recipe run for real: the wheel, then scripts/windows_wheels.py into a folder (one to three
    minutes, 61 MB of wheels); skipped when pip reaches no package index."""
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "download", "--no-deps", "--dest", str(tmp_path / "probe"), *windows_wheels.TARGET, "colorama"],
                      capture_output=True, timeout=300).returncode != 0:
        pytest.skip("pip reaches no package index here")
    subprocess.run([*pip, "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path / "dist")], check=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("nianbao-*.whl"))
    folder = tmp_path / "共享文件夹"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "windows_wheels.py"), str(wheel), str(folder)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    present = windows_wheels.wheels(folder)
    assert {"pywin32", "colorama", "xlwings", "pandas", "nianbao"} <= set(present) and windows_wheels.missing(folder) == []
    assert all(p.name.endswith(("-none-any.whl", "win_amd64.whl")) for p in folder.glob("*.whl"))  # nothing built for Linux
