"""Print, for every file of tests/corpus whose tables the importer finds, how many table cells
were read and how many stayed unread (a limit of the reading), for the README. With --rows, every
row read, beside the line of the text opening it was read from, to compare by eye.

    python scripts/corpus_table.py [--rows]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nianbao.importers import import_report

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
TABLES = ("t2.", "t3.", "t4.")


KINDS = (("原文将", "分项印为一行"), ("原文中未找到表格", "表格不在摘录中"), ("整张表格", "表格不在摘录中"),
         ("原文中未找到", "行不在摘录中"), ("该行有", "一行的数值个数不对"), ("标签后", "数值不全"),
         ("数字“", "连写的数字拆法不唯一"), ("标签单独成行", "数值行可能属于别的行"), ("表头后", "表四的数值个数不对"))


def kind(reason: str) -> str:
    return next((name for start, name in KINDS if reason.startswith(start)), reason[:20])


def rows(path: Path) -> None:
    """Each row read: its values, and the line they came from."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.suffix == ".txt" else []
    imported = import_report(path)
    by_origin: dict[str, list] = {}
    for key, value in imported.values.items():
        if key.startswith(TABLES) and value is not None:
            by_origin.setdefault(imported.origins[key], []).append((key.rsplit(".", 1)[0], value))
    print(f"== {path.name}")
    for origin, values in by_origin.items():
        line = re.match(r"第(\d+)行", origin)
        print(f"  {values[0][0]:14} {[v for _, v in values]}  <- {lines[int(line.group(1)) - 1].strip()[:100] if line and lines else origin}")


def main() -> None:
    if "--rows" in sys.argv:
        for path in sorted((CORPUS / "reports").glob("*.txt")):
            rows(path)
        return
    print("| 文件 | 格式 | 读取的单元格 | 未能读取 | 未能读取的原因 |")
    print("|---|---|---|---|---|")
    for path in sorted((CORPUS / "pdf").glob("*.pdf")) + sorted((CORPUS / "reports").glob("*.txt")):
        imported = import_report(path)
        read = sum(1 for k, v in imported.values.items() if k.startswith(TABLES) and v is not None)
        if not read:
            continue
        unread = {k: why for k, why in imported.missing.items() if k.startswith(TABLES)}
        unread.update({k: "整张表格未找到" for k in imported.spec.cells if k.split(".")[0] in imported.absent})
        reasons = "；".join(sorted({kind(why) for why in unread.values()}))
        print(f"| {path.parent.name}/{path.name} | {imported.spec.short} | {read} | {len(unread)} | {reasons} |")


if __name__ == "__main__":
    main()
