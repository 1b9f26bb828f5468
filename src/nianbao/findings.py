"""Findings are data: one record per problem, located by key, sheet and cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

ERROR = "错误"  # must be fixed
WARNING = "提示"  # fix or explain
SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class Hit:
    """A rule's verdict before it is dressed as a finding: which rule, which cells, which values."""

    rule: str
    keys: tuple[str, ...] = ()  # input cells concerned, the first is the main one
    params: dict = field(default_factory=dict)  # values for the message template
    sheet: str | None = None  # a place not tied to an input cell (a label cell, a sheet)
    cell: str | None = None


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

    def to_dict(self) -> dict:
        data = asdict(self)
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
