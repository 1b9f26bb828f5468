"""Findings are data: one record per problem, located by key, sheet and cell."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from nianbao.choices import Severity

ERROR, WARNING = Severity.ERROR.value, Severity.WARNING.value
SEVERITIES = tuple(s.value for s in Severity)


@dataclass(frozen=True)
class Hit:
    """A rule's verdict before it is dressed as a finding: which rule, which cells, which values."""

    rule: str
    keys: tuple[str, ...] = ()  # input cells concerned, the first is the main one
    params: dict = field(default_factory=dict)  # values for the message template
    sheet: str | None = None  # a place not tied to an input cell (a label cell, a sheet)
    cell: str | None = None
    anchor: str = ""  # for a finding with no keys: what its stable id is made from (spec text, not addresses)


def finding_id(rule: str, keys: tuple[str, ...], anchor: str = "") -> str:
    """A finding's stable id: from its rule and the keys of its cells (or, for a finding tied to no
    input cell, the sheet and the spec's text it names), never from addresses or message text, so
    it stays the same when the workbook is checked again, moved or renamed."""
    digest = hashlib.blake2b("\x1f".join((rule, *keys, anchor)).encode(), digest_size=4).hexdigest()
    return f"{rule}-{digest}"


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    key: str | None = None
    table: str | None = None
    row: str | None = None
    column: str | None = None
    expected: object = None
    actual: object = None
    source: str | None = None  # where the value was printed, for a report imported from a document
    # Every (sheet, cell) that carries this finding's note and colour; the first is ``sheet!cell``.
    places: list[tuple[str, str]] = field(default_factory=list)
    id: str = ""  # finding_id(): stable across runs
    explanation: str | None = None  # what the clerk wrote in the 说明 column (nianbao.explanations)

    def to_dict(self) -> dict:
        from nianbao.explanations import status  # explanations builds on findings, not the other way

        data = asdict(self)
        data["explanation_status"] = status(self)
        data.pop("places")
        data["cells"] = [f"{s}!{c}" for s, c in self.places]
        for name in ("expected", "actual"):
            data[name] = _plain(data[name])
        return data


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def format_number(value: object) -> str:
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def percent(value: object) -> str:
    """A share as a message shows it: 0.6 -> "60%"."""
    return f"{float(value):.0%}"
