"""Published reports as one shape: a list of rows of cells, each cell knowing where it came from.

Text lines are split into cells at tabs, pipes and runs of spaces; HTML and Word tables give their
rows (a merged cell appears once, in its first row and column); PDF text is read line by line.
The extractor works on this shape only, so every source format is read the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class ImportError_(Exception):  # noqa: N801 - "ImportError" is a builtin
    """The report cannot be read at all; the message is one line of Chinese for the user."""


@dataclass(frozen=True)
class Cell:
    text: str
    origin: str  # where it is in the source, in words: "第12行", "第2个表格第5行第3格", "第3页第7行"


Row = list[Cell]

_PAGE_NUMBER = re.compile(r"^\s*[-—–]\s*\d{1,3}\s*[-—–]\s*$", re.MULTILINE)  # "- 3 -" at a page foot
_SPLIT = re.compile(r"\t|\s*\|\s*|\s{2,}|\u3000+")
# A value printed among words with single spaces ("规章 0 0 0", "… 2 0 0 ✓" in PDF text).
_UNITS = {"件", "条", "项", "个", "次", "万元", "元"}
_VALUE_WORD = re.compile(r"^(?:[+-]?[\d０-９][\d０-９.,]*(?:件|条|项|个|次|万元|元)?|/|-|—{1,2}|－)$")


def split_line(line: str, origin: str) -> Row:
    """Cells at tabs, pipes and runs of spaces; within a cell, values set off by single spaces
    become cells of their own, and the words between them stay together."""
    cells: Row = []
    for part in _SPLIT.split(line.rstrip("\n")):
        words = part.split()
        if not words:
            cells.append(Cell("", origin))
            continue
        text: list[str] = []
        for word in words:
            if word in _UNITS and cells and _VALUE_WORD.match(cells[-1].text) and not text:  # "165 条"
                cells[-1] = Cell(f"{cells[-1].text} {word}", origin)
                continue
            if _VALUE_WORD.match(word):
                if text:
                    cells.append(Cell(" ".join(text), origin))
                    text = []
                cells.append(Cell(word, origin))
            else:
                text.append(word)
        if text:
            cells.append(Cell(" ".join(text), origin))
    return cells


def from_text(text: str, where: str = "第{n}行") -> list[Row]:
    return [split_line(line, where.format(n=n)) for n, line in enumerate(text.splitlines(), 1)]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportError_("无法识别文本编码（应为 UTF-8 或 GBK）")


def load_txt(path: Path) -> list[Row]:
    return from_text(_read_text(path))


def load_html(path: Path) -> list[Row]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for junk in soup(["script", "style", "head"]):
        junk.decompose()
    # Each outermost table becomes rows of cells, standing where the table stood in the text.
    tables: dict[str, list[Row]] = {}
    for n, table in enumerate(soup.find_all("table"), 1):
        if table.find_parent("table") is not None:
            continue
        marker = f"\x00table{n}\x00"
        tables[marker] = [
            [Cell(" ".join(td.get_text(" ").split()), f"第{n}个表格第{r}行第{c}格") for c, td in enumerate(tr.find_all(["td", "th"]), 1)]
            for r, tr in enumerate(table.find_all("tr"), 1)
        ]
        table.replace_with(f"\n{marker}\n")
    rows: list[Row] = []
    for n, line in enumerate(soup.get_text("\n").splitlines(), 1):
        if line.strip() in tables:
            rows.extend(tables[line.strip()])
        elif line.strip():
            rows.append(split_line(line, f"网页文字第{n}行"))
    return rows


def load_docx(path: Path) -> list[Row]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several kinds for a broken package
        raise ImportError_(f"Word 文件无法打开（{type(exc).__name__}）") from None
    rows: list[Row] = []
    paragraphs = tables = 0
    for block in document.element.body.iterchildren():
        if block.tag.endswith("}p"):
            paragraphs += 1
            text = Paragraph(block, document).text
            if text.strip():
                rows.append(split_line(text, f"第{paragraphs}段"))
        elif block.tag.endswith("}tbl"):
            tables += 1
            for r, row in enumerate(Table(block, document).rows, 1):
                cells, last = [], None
                for c, cell in enumerate(row.cells, 1):
                    if cell._tc is last:  # a merged cell is returned once per grid column it covers
                        continue
                    last = cell._tc
                    # A vertically merged cell shows its text only in its first row.
                    merged = cell._tc.tcPr is not None and cell._tc.tcPr.vMerge is not None and cell._tc.tcPr.vMerge.val != "restart"
                    cells.append(Cell("" if merged else " ".join(cell.text.split()), f"第{tables}个表格第{r}行第{c}格"))
                rows.append(cells)
    return rows


def load_pdf(path: Path) -> list[Row]:
    import pdfplumber

    rows: list[Row] = []
    try:
        with pdfplumber.open(str(path)) as pdf:
            for p, page in enumerate(pdf.pages, 1):
                text = _PAGE_NUMBER.sub("", page.extract_text() or "")
                rows.extend(from_text(text, f"第{p}页第{{n}}行"))
    except Exception as exc:  # pdfminer raises many kinds for a damaged file
        raise ImportError_(f"PDF 文件无法读取（{type(exc).__name__}）") from None
    if not any(c.text for row in rows for c in row):
        raise ImportError_("PDF 没有文字层（可能是扫描件），无法导入")
    return rows


LOADERS = {".txt": load_txt, ".text": load_txt, ".html": load_html, ".htm": load_html, ".docx": load_docx, ".pdf": load_pdf}


def load(path: Path) -> list[Row]:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ImportError_(f"不支持的文件类型 {path.suffix}（可导入 {', '.join(sorted(LOADERS))}）")
    try:
        return loader(path)
    except OSError as exc:
        raise ImportError_(f"无法打开文件：{exc.strerror or exc}") from None
