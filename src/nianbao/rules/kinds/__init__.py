"""The rule kinds, one module each, registered when this package is imported (see base.py for what a
kind declares). A new kind is a new module here and its rules' cases in a rule file: every module of
the package is imported, in the order of KIND_ORDER and then by name."""

import importlib
import pkgutil

from nianbao.rules.kinds.base import REGISTRY, BatchReport, Field, Kind, Stage, as_tuple, kind_of, register

# The order kinds run in within a stage (findings are sorted afterwards; this only fixes the order of
# hits that tie), then any other kind module by name.
KIND_ORDER = ("reported", "cell", "schema", "relation", "narrative", "mention", "repeated", "peer", "duplicate")

_modules = sorted((m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"),
                  key=lambda name: (KIND_ORDER.index(name) if name in KIND_ORDER else len(KIND_ORDER), name))
for _name in _modules:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["REGISTRY", "BatchReport", "Field", "Kind", "Stage", "as_tuple", "kind_of", "register"]
