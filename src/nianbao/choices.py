"""The closed sets of values the library, the CLI and the outputs share, defined once."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    ERROR = "错误"  # must be fixed
    WARNING = "提示"  # fix or explain


class Status(StrEnum):
    """A checked file's state, worst first."""

    FAILED = "failed"  # could not be checked
    ERRORS = "errors"
    WARNINGS = "warnings"  # 提示 not explained
    EXPLAINED = "explained"  # every 提示 explained
    CLEAN = "clean"


class Copies(StrEnum):
    """Which annotated copies a batch writes."""

    ALL = "all"
    FINDINGS = "findings"  # files with something to show
    NONE = "none"


class FailOn(StrEnum):
    """What makes a run's exit code 1 (the Chinese names are accepted too)."""

    ERROR = "error"
    WARNING = "warning"
    错误 = "错误"
    提示 = "提示"

    @property
    def counts_warnings(self) -> bool:
        return self in (FailOn.WARNING, FailOn.提示)
