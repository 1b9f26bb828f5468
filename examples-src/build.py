"""Rebuild the example workbooks in examples/ from examples-src/values/*.yaml.

    python examples-src/build.py

The sources live outside examples/ because `nianbao check examples/` lists every file it is
given: a values file or this script there would be listed as 无法检查.

Each values file names its format and the cells it fills; every other numeric cell is 0.
The tests check that the committed workbooks read back exactly as their values files say.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nianbao.samples import fill
from nianbao.spec import load_spec

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


def load(path: Path) -> tuple[object, dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = load_spec(str(doc["format"]))
    values = doc["values"]
    return spec, values


def main() -> None:
    for path in sorted((HERE / "values").glob("*.yaml")):
        spec, values = load(path)
        out = fill(spec, EXAMPLES / f"{path.stem}.xlsx", values, year=values["meta.year"])
        print(f"{path.name} -> {out.relative_to(EXAMPLES.parent)}")


if __name__ == "__main__":
    main()
