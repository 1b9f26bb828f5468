"""The rule kinds, one module each, registered on import (see base.py for what a kind declares).

A new kind is a new module here, imported below, and its rules' cases in a rule file."""

from nianbao.rules.kinds import cell, duplicate, mention, narrative, peer, relation, repeated, reported, schema  # noqa: F401, I001
from nianbao.rules.kinds.base import REGISTRY, BatchReport, Field, Kind, Stage, as_tuple, kind_of, register

__all__ = ["REGISTRY", "BatchReport", "Field", "Kind", "Stage", "as_tuple", "kind_of", "register"]
