"""Rebuild the example workbooks from examples/values/*.yaml.

    python examples/build.py

Each values file names its format and the cells it fills; every other numeric cell is 0.
The tests check that the committed workbooks read back exactly as their values files say.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nianbao.samples import fill
from nianbao.spec import load_spec

HERE = Path(__file__).resolve().parent


def load(path: Path) -> tuple[object, dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = load_spec(str(doc["format"]))
    values = doc["values"]
    return spec, values


def main() -> None:
    for path in sorted((HERE / "values").glob("*.yaml")):
        spec, values = load(path)
        out = fill(spec, HERE / f"{path.stem}.xlsx", values, year=values["meta.year"])
        print(f"{path.name} -> {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
