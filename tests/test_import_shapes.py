"""Property tests: random reports rendered in the shapes published reports really take (issue 20)
read every printed cell exactly or leave it unread, never wrong.

    python -m tests.test_import_shapes   # the cells read / unread / wrong per shape, for the notes
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from nianbao.importers import import_report
from nianbao.spec import load_spec

from . import shapes

SEEDS = range(6)


def _crawler(spaces: float):
    return lambda spec, values, path, rng: shapes.crawler(spec, values, path.with_suffix(".txt"), rng, spaces)


def _other_words(spec, values, path, rng):
    words = {"行政规范性文件": "规范性文件"} if spec.short == "2021" else {"规范性文件": "行政规范性文件"}
    return shapes.other_words(spec, values, path.with_suffix(".txt"), rng, words)


SHAPES = {
    # shape: (render, share of cells printed blank, the least share that must be read)
    "crawler-spaces": (_crawler(0.6), 0.0, 0.5),
    "crawler-no-spaces": (_crawler(0.0), 0.0, 0.4),
    "headers-glued-t4-three-tables-split-headings-page-feet": (lambda s, v, p, r: shapes.layouts(s, v, p.with_suffix(".txt"), r), 0.0, 1.0),
    "blank-cells-markdown": (lambda s, v, p, r: shapes.blank_cells_markdown(s, v, p.with_suffix(".md")), 0.15, 1.0),
    "blank-cells-html": (lambda s, v, p, r: shapes.blank_cells_html(s, v, p.with_suffix(".html")), 0.15, 1.0),
    "scrambled-markdown": (lambda s, v, p, r: shapes.scrambled_markdown(s, v, p.with_suffix(".md"), r), 0.0, 0.3),
    "mentioned-first": (lambda s, v, p, r: shapes.mentioned_first(s, v, p.with_suffix(".txt"), r), 0.0, 1.0),
    "other-words": (_other_words, 0.0, 1.0),
}


def measure(shape: str, short: str, seed: int, folder: Path) -> dict[str, list[str]]:
    render, blank, _ = SHAPES[shape]
    spec = load_spec(short)
    rng = random.Random(f"{shape}-{short}-{seed}")
    values = shapes.random_values(spec, rng, blank)
    path = render(spec, values, folder / f"{shape}-{short}-{seed}", rng)
    imported = import_report(path)
    assert imported.spec == spec
    return shapes.tally(spec, shapes.printed(spec, values), imported)


@pytest.mark.parametrize("short", ["2019", "2021"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_printed_cell_is_read_exactly_or_left_unread(shape, short, tmp_path):
    read = unread = 0
    for seed in SEEDS:
        counts = measure(shape, short, seed, tmp_path)
        assert counts["wrong"] == [], (seed, counts["wrong"][:10])
        read, unread = read + len(counts["read"]), unread + len(counts["unread"])
    assert read / (read + unread) >= SHAPES[shape][2], (read, unread)


def test_markdown_provenance_counts_the_files_own_lines(tmp_path):
    """The line a value came from is the file's line, the |---| rules counted."""
    spec = load_spec("2021")
    values = shapes.random_values(spec, random.Random(1))
    path = shapes.blank_cells_markdown(spec, values, tmp_path / "report.md")
    lines = path.read_text(encoding="utf-8").splitlines()
    imported = import_report(path)
    origin = imported.origins["t3.carry_out.total"]
    assert lines[int(origin.removeprefix("第").removesuffix("行")) - 1].startswith("| 四、结转下年度继续办理")


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("| 形态 | 格式 | 读取 | 未能读取 | 错读 |")
        print("|---|---|---|---|---|")
        for shape in SHAPES:
            for short in ("2019", "2021"):
                totals = {"read": 0, "unread": 0, "wrong": 0}
                for seed in SEEDS:
                    for kind, keys in measure(shape, short, seed, Path(tmp)).items():
                        totals[kind] += len(keys)
                print(f"| {shape} | {short} | {totals['read']} | {totals['unread']} | {totals['wrong']} |")


if __name__ == "__main__":
    sys.exit(main())


def test_sections_of_a_one_line_crawler_body_are_found_and_checked(tmp_path):
    """The whole report on one line (headings run on with their text): each section's text is
    found, so the text rules run on it (N301 here: 16 in the text, 15 in 表三)."""
    import nianbao

    spec = load_spec("2021")
    values = shapes.random_values(spec, random.Random(3))
    for column in ("natural", "business", "research", "charity", "legal", "other"):
        values[f"t3.new.{column}"] = 0
    values["t3.new.natural"] = values["t3.new.total"] = 15
    values["text.s1"] = "本年度共收到政府信息公开申请16件，均已按期答复。"
    path = shapes.crawler(spec, values, tmp_path / "flat.txt", random.Random(3), 0.0)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1
    imported = import_report(path)
    assert imported.values["text.s1"] == values["text.s1"] and imported.values["text.s6"] == values["text.s6"]
    assert imported.values["t3.new.total"] == 15
    (n301,) = [f for f in nianbao.check(path).findings if f.rule == "N301"]
    assert n301.actual == "16" and n301.expected.startswith("15")  # (15, or 15 + 上年结转)
