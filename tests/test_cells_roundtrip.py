"""Values written by defined name, using `nianbao cells --json`, read back exactly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from nianbao.read import read_workbook
from nianbao.spec import load_spec


def distinct_value(i: int, ctype: str):
    return {
        "count": i,
        "delta": -i,
        "amount": Decimal(i) + Decimal("0.0125"),
        "text": f"第{i}段文字",
        "year": 2021,
        "date": dt.date(2022, 1, 1 + i % 28),
    }[ctype]


@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_every_cell_written_by_name_is_read_back_exactly(fmt, tmp_path, cli):
    template = tmp_path / "t.xlsx"
    assert cli("template", "--format", fmt, "-o", template).returncode == 0
    listing = cli("cells", "--format", fmt, "--json")
    assert listing.returncode == 0, listing.stderr
    cells = json.loads(listing.stdout)
    assert len(cells) == len(load_spec(fmt).cells)

    wb = load_workbook(template)
    expected = {}
    for i, cell in enumerate(cells, 1):
        ((sheet, ref),) = list(wb.defined_names[cell["name"]].destinations)
        assert (sheet, ref.replace("$", "")) == (cell["sheet"], cell["cell"])
        value = distinct_value(i, cell["type"])
        wb[sheet][ref.replace("$", "")].value = float(value) if isinstance(value, Decimal) else value
        expected[cell["key"]] = value
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)

    values = read_workbook(filled)
    assert not values.hits
    got = {key: values.value(key) for key in expected}
    assert got == expected
    assert values.issues == {}
