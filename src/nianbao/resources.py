"""Where the form specs and rule files live: beside the package in a wheel, or at the
repository root in a source checkout (editable install); and in the folders named by
``NIANBAO_FORMATS`` (separated like PATH), each with its own ``templates/`` and ``rules/``, so a new
official revision can be tried as two YAML files without touching the installation."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[1]
FORMATS_ENV = "NIANBAO_FORMATS"


def _find(name: str) -> Path:
    for base in (_PACKAGE / "data", _REPO):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"nianbao: data folder '{name}' not found beside the package or in the checkout")


def _extra(name: str) -> list[Path]:
    folders = [Path(p) / name for p in os.environ.get(FORMATS_ENV, "").split(os.pathsep) if p]
    return [f for f in folders if f.is_dir()]


def spec_dir() -> Path:
    return _find("templates")


def rules_dir() -> Path:
    return _find("rules")


def vba_dir() -> Path:
    return _find("vba")


def spec_files() -> list[Path]:
    """Every form spec file: the extra folders' first, then the bundled ones."""
    return [p for folder in (*_extra("templates"), spec_dir()) for p in sorted(folder.glob("*.yaml"))]


def rule_folders() -> list[Path]:
    """Where rule files are looked for, in order: the extra folders, then the bundled one."""
    return [*_extra("rules"), rules_dir()]


def rule_file(name: str) -> Path:
    """The rule file ``name`` from the first folder that has it (the bundled one when none does)."""
    return next((folder / name for folder in rule_folders() if (folder / name).is_file()), rules_dir() / name)
