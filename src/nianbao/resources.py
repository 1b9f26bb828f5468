"""Where the form specs and rule files live: beside the package in a wheel, or at the
repository root in a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[1]


def _find(name: str) -> Path:
    for base in (_PACKAGE / "data", _REPO):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"nianbao: data folder '{name}' not found beside the package or in the checkout")


def spec_dir() -> Path:
    return _find("templates")


def rules_dir() -> Path:
    return _find("rules")


def vba_dir() -> Path:
    return _find("vba")
