"""What a rule kind is: the YAML fields it takes, the stage it runs in, the cells it reads, and how it
compiles, runs, explains itself and (for the template) becomes a live formula.

A kind is a class registered with ``@register``; the loader, the stages, ``rules explain``, the
rule files' JSON Schema and the template ask the registry, so a new kind is one new module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from nianbao.findings import Hit
    from nianbao.rules.catalogue import Rule, RuleSet
    from nianbao.rules.compile import Instance
    from nianbao.spec import FormSpec
    from nianbao.values import Values


class Stage(IntEnum):
    """When a rule runs. The orchestrator runs the stages in this order."""

    REPORT = 1  # one report alone: in a worker, in the 检查 button
    PAIR = 2  # a report and last year's report of its office
    BATCH = 3  # a report among the others checked with it


@dataclass(frozen=True)
class Field:
    """One YAML field of a rule: the types it may have, whether it must be given, its default, and
    how the loaded value is normalised (``convert``) for the engine."""

    types: tuple[type, ...]
    required: bool = False
    default: object = None
    doc: str = ""
    convert: object = None  # callable applied to the value as given

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False
        if isinstance(value, int) and float in self.types:
            return True
        return isinstance(value, self.types)

    def normalise(self, value: object) -> object:
        return self.convert(value) if self.convert is not None else value


def as_tuple(value: object) -> tuple:
    """A field given as one item or a list of them, as a tuple."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@dataclass(frozen=True)
class BatchReport:
    """One report as the BATCH stage sees it: its rules, the cells BATCH rules read (``values.data``:
    pipeline.Compared in a batch), and its name."""

    rules: RuleSet
    values: Values
    name: str


class Kind:
    """The base of every rule kind. Subclasses set ``name``, ``title`` and ``fields`` and override what they use."""

    name: ClassVar[str]
    title: ClassVar[str]  # what the kind checks, in Chinese, for rules explain and docs/rules.md
    fields: ClassVar[dict[str, Field]] = {}
    placeholders: ClassVar[frozenset[str]] = frozenset()  # what its messages may name: {left}, {detail}, ...

    def validate(self, rule: Rule) -> str | None:
        """What is wrong with a loaded rule beyond its fields' types (an expression, a value out of
        range), as the text after “规则 X：”; None when nothing is."""
        return None

    def stage(self, rule: Rule) -> Stage:
        return Stage.REPORT

    def compile(self, rule: Rule, spec: FormSpec) -> tuple[Instance, ...]:
        """The rule expanded and checked against a format; raise RuleError for a key not in it."""
        return ()

    def reads(self, rule: Rule, rules: RuleSet) -> set[str]:
        """The cells a PAIR or BATCH rule reads (this year's and last year's): what a batch keeps of a report."""
        from nianbao.rules.compile import refs_of

        return {ref.key for instance in rules.instances.get(rule.id, ()) for ref in refs_of(instance)}

    def report(self, rules: RuleSet, chosen: list[Rule], reports: list[Values]) -> list[list[Hit]]:
        """REPORT stage: hits of ``chosen`` (this kind's rules of the stage) for each report."""
        return [self.one(rules, chosen, values) for values in reports]

    def one(self, rules: RuleSet, chosen: list[Rule], values: Values) -> list[Hit]:
        return []

    def pair(self, rules: RuleSet, chosen: list[Rule], values: Values, previous: Values) -> list[Hit]:
        """PAIR stage: hits of ``chosen`` for a report and last year's."""
        return []

    def batch(self, reports: list[BatchReport | None]) -> dict[int, list[Hit]]:
        """BATCH stage: hits by report index, for the kind's BATCH rules of every report (None: unreadable)."""
        return {}

    def expression(self, rule: Rule) -> str:
        """The rule as its author wrote it, for rules explain and docs/rules.md."""
        return ""

    def live(self, rule: Rule, rules: RuleSet) -> list:
        """The rule as checks the template evaluates while the clerk types (empty: done on submission)."""
        return []


REGISTRY: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    REGISTRY[cls.name] = cls()
    return cls


def kind_of(rule: Rule) -> Kind:
    return REGISTRY[rule.kind]
