"""Published reports as one shape: a list of rows of cells, each cell knowing where it came from.

Text lines are split into cells at tabs, pipes and runs of spaces; HTML and Word tables give their
rows (a merged cell appears once, in its first row and column); PDF text is read line by line.
The extractor works on this shape only, so every source format is read the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser, locatestarttagend_tolerant
from pathlib import Path

from nianbao.files import describe_os_error
from nianbao.limits import (
    LIMITS,
    LimitError,
    check_line,
    check_package,
    check_pdf,
    check_pdf_page,
    check_size,
    check_tag,
    check_word,
    pdf_content,
    read_file,
)


class ImportError_(Exception):  # noqa: N801 - "ImportError" is a builtin
    """The report cannot be read at all; the message is one line of Chinese for the user."""


class NoTextLayer(ImportError_):
    """A PDF of page images (图片版, a scan): nothing to read, and a report its readers cannot search or have read aloud."""


IMAGE_ONLY = "I005"  # the reported rule for a PDF with no text layer


@dataclass(frozen=True)
class Cell:
    text: str
    origin: str  # where it is in the source, in words: "第12行", "第2个表格第5行第3格", "第3页第7行"
    run_on: bool = False  # digits printed straight after words ("申请数量3100004"): only a row's total can vouch for them
    loose: bool = False  # a number among words set off by single spaces: it may be several numbers whose spaces were lost


Row = list[Cell]

_PAGE_NUMBER = re.compile(r"^\s*[-—–]+\s*\d{1,3}\s*[-—–]+\s*$", re.MULTILINE)  # "- 3 -", "— 5 —" at a page foot
_OUTER_PIPES = re.compile(r"^\s*\|(?=.*\|)|\|\s*$")
_SPLIT = re.compile(r"\t|\s*\|\s*|\s{2,}|\u3000+")
# A value printed among words with single spaces ("规章 0 0 0", "… 2 0 0 ✓" in PDF text).
_UNITS = {"件", "条", "项", "个", "次", "万元", "元"}
_VALUE_WORD = re.compile(r"^(?:[+-]?[\d０-９][\d０-９.,]*(?:件|条|项|个|次|万元|元)?|/|-|—{1,2}|－)$")


# Where the next label starts: "二、", "（二）", "2.其他…" (the label brings its own number).
_NEXT = r"[0-9][.．][\u4e00-\u9fff]|[一二三四五六七八九十]、|[（(]"
# A run of digits printed straight after a Chinese label and before the next one, as crawlers flatten
# tables: "申请数量3100004二、上年结转" is the label, the digits, the next label. Only where the next
# label starts, a space follows or the line ends, so a label with a number in it (保留4位小数) stays
# whole; the next label may bring its own number: "…秘密00000002.其他法律…" is 0000000 and "2.其他法律…".
_RUN = re.compile(rf"(?<=[\u4e00-\u9fff）)”])([0-9]+?(?:\.[0-9]+)?)(?={_NEXT}|\s|$)")
# Digits that a space sets off before them and the next label follows straight: "0 121四、结转…".
_LEADING = re.compile(rf"(?:(?<=\s)|^)([0-9]+(?:\.[0-9]+)?)(?={_NEXT})")


def _words(part: str) -> list[str]:
    """The words of one cell's text, digits run on between words set apart (marked with a NUL)."""
    return _LEADING.sub("\\1 ", _RUN.sub(" \x00\\1 ", part)).split()


def _part_cells(part: str, origin: str, cells: Row) -> None:
    """Append the cells of one delimited part of a line: its values, and the words between them together."""
    words = _words(part)
    if not words:
        cells.append(Cell("", origin))
        return
    loose = len(words) > 1
    text: list[str] = []
    for word in words:
        if word in _UNITS and cells and _VALUE_WORD.match(cells[-1].text) and not text:  # "165 条"
            last = cells[-1]
            cells[-1] = Cell(f"{last.text} {word}", origin, last.run_on, last.loose)
            continue
        value = word.lstrip("\x00")
        if _VALUE_WORD.match(value):
            if text:
                cells.append(Cell(" ".join(text), origin))
                text = []
            cells.append(Cell(value, origin, run_on=word.startswith("\x00"), loose=loose))
        else:
            text.append(word)
    if text:
        cells.append(Cell(" ".join(text), origin))


def split_line(line: str, origin: str) -> Row:
    """Cells at tabs, pipes and runs of spaces; within a cell, values set off by single spaces
    (or run on between Chinese words) become cells of their own, and the words between them stay
    together."""
    check_line(line, origin)  # before splitting: a 30 MB line would split into gigabytes of cells
    cells: Row = []
    # The pipes around a row ("| 规章 | 0 |") are no cells: only the pipes between cells divide.
    for part in _SPLIT.split(_OUTER_PIPES.sub("", line.rstrip("\n"))):
        _part_cells(part, origin, cells)
    return cells


class Rows(list):
    """A document's rows, refusing to grow past LIMITS.document_cells: a page of a million tiny
    cells is small on disk and would take gigabytes as objects."""

    def __init__(self) -> None:
        super().__init__()
        self.cells = 0

    def charge(self, cells: int) -> None:
        self.cells += cells
        if self.cells > LIMITS.document_cells:
            raise LimitError(f"报告中的单元格和文字行超过 {LIMITS.document_cells} 个")

    def add(self, row: Row) -> None:
        self.charge(max(1, len(row)))
        self.append(row)


def from_text(text: str, where: str = "第{n}行", rows: Rows | None = None) -> Rows:
    rows = Rows() if rows is None else rows
    for n, line in enumerate(text.splitlines(), 1):
        if not _PAGE_NUMBER.match(line):  # a page foot printed inside a table is no value of it
            rows.add(split_line(line, where.format(n=n)))
    return rows


_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.IGNORECASE)
_CODECS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "big5": "big5hkscs", "big5-hkscs": "big5hkscs",
           "utf-8": "utf-8", "utf8": "utf-8"}


def _read_text(path: Path) -> str:
    """A text or web page as text: UTF-8, the charset the page declares, or whichever of GB18030
    and Big5 reads as Chinese (GB18030 accepts almost any bytes, so trying it first turns a Big5
    page into nonsense)."""
    check_size(path, LIMITS.text_bytes)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    declared = _DECLARED.search(data[:4096])
    codec = _CODECS.get(declared.group(1).decode("ascii").lower()) if declared else None
    for encoding in filter(None, (codec, "utf-8")):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    if best is None:
        raise ImportError_("无法识别文本编码（应为 UTF-8、GBK 或 Big5）")
    return str(best)


def load_txt(path: Path) -> list[Row]:
    return from_text(_read_text(path))


_MD_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")  # | --- | :---: |
_MD_MARKUP = re.compile(r"\*\*|__|`|^\s{0,3}#{1,6}\s+|^\s*>\s?|<br\s*/?>", re.IGNORECASE | re.MULTILINE)


def load_markdown(path: Path) -> list[Row]:
    """Markdown (as PDF-to-Markdown and OCR tools write reports): pipe tables are rows of cells,
    the rest lines of text; the table rules, emphasis and heading marks are dropped."""
    # A table rule becomes an empty line, so that every line keeps its number in the file. Each line
    # is measured before the rules and the markup are taken out: those make three more copies of the text.
    lines = _read_text(path).splitlines()
    for n, line in enumerate(lines, 1):
        check_line(line, f"第{n}行")
    return from_text(_MD_MARKUP.sub(" ", "\n".join("" if _MD_RULE.match(line) else line for line in lines)))


_SKIPPED = {"script", "style", "head", "template", "noscript"}


class _Tables(HTMLParser):
    """Web page text and tables in one pass, in time linear in the page however deeply its tables
    nest or however many are left unclosed: each table gives its own rows (a table inside a cell
    gives its rows just before the row that holds it), and text outside tables gives lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows = Rows()
        self.tables: list[dict] = []  # open tables, innermost last: number, rows so far, open row, open cell
        self.count = 0
        self.skip = 0
        self.line = 0

    def parse_starttag(self, i: int) -> int:
        # Measured in a window first: the parser's own pattern takes 450 MB for a tag of a million attributes.
        # The window is given as positions, not sliced: a copy of 64 KB per tag made a page of 300,000 tags take seconds.
        end = locatestarttagend_tolerant.match(self.rawdata, i, i + LIMITS.markup_chars + 1)
        check_tag(end.end() - i if end else 0)
        return super().parse_starttag(i)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self.skip += 1
        elif tag == "table":
            self.count += 1
            self.tables.append({"n": self.count, "r": 0, "row": None, "cell": None})
        elif self.tables and tag == "tr":
            self._end_row(self.tables[-1])
            table = self.tables[-1]
            table["r"] += 1
            table["row"] = []
        elif self.tables and tag in ("td", "th"):
            table = self.tables[-1]
            self._end_cell(table)
            if table["row"] is None:
                table["r"] += 1
                table["row"] = []
            table["cell"] = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag == "table" and self.tables:
            self._end_row(self.tables.pop())
        elif self.tables and tag == "tr":
            self._end_row(self.tables[-1])
        elif self.tables and tag in ("td", "th"):
            self._end_cell(self.tables[-1])

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.tables and self.tables[-1]["cell"] is not None:
            self.tables[-1]["cell"].append(data)
            return
        if self.tables:  # text between a table's cells belongs to no cell
            return
        for line in data.splitlines():
            self.line += 1
            if line.strip() and not _PAGE_NUMBER.match(line):
                self.rows.add(split_line(line, f"网页文字第{self.line}行"))

    def _end_cell(self, table: dict) -> None:
        if table["cell"] is not None:
            self.rows.charge(1)  # counted as it is made: one <tr> may hold a million cells
            row, text, where = table["row"], "".join(table["cell"]), f"第{table['n']}个表格第{table['r']}行第{len(table['row']) + 1}格"
            check_line(text, where)
            row.append(Cell(" ".join(text.split()), where))
            table["cell"] = None

    def _end_row(self, table: dict) -> None:
        self._end_cell(table)
        if table["row"] is not None:
            self.rows.append(table["row"])  # its cells were counted one by one
            table["row"] = None

    def close(self) -> None:
        super().close()
        while self.tables:
            self._end_row(self.tables.pop())


def load_html(path: Path) -> list[Row]:
    parser = _Tables()
    parser.feed(_read_text(path))
    parser.close()
    return parser.rows


def load_docx(path: Path) -> list[Row]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        check_word(check_package(path, keep=lambda name: name == "word/document.xml").get("word/document.xml", b""))
        document = docx.Document(str(path))
    except LimitError:
        raise
    except Exception as exc:  # python-docx raises several kinds for a broken package
        raise ImportError_(f"Word 文件无法打开（{type(exc).__name__}）") from None
    rows = Rows()
    paragraphs = tables = 0
    for block in document.element.body.iterchildren():
        if block.tag.endswith("}p"):
            paragraphs += 1
            text = Paragraph(block, document).text
            if text.strip():
                rows.add(split_line(text, f"第{paragraphs}段"))
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
                rows.add(cells)
    return rows


def _cell_text(text: str | None) -> str:
    """A table cell's text: the lines of a label wrapped inside its cell joined again (without a
    space between Chinese characters, as printed), spaces inside normalised."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    joined = ""
    for line in filter(None, lines):
        ascii_join = joined[-1:].isascii() and joined[-1:].isalnum() and line[:1].isascii() and line[:1].isalnum()
        joined += (" " if ascii_join else "") + line
    return joined


def _pdf_page(page, p: int, rows: Rows) -> None:
    """One page: its ruled tables row by row (by the page's lines, so a label and its numbers are
    on one row however they sit in their cells, and a label wrapped over lines is one cell), and
    the text outside them line by line, in the order they are printed."""
    tables = [t for t in page.find_tables() if max((len(r.cells) for r in t.rows), default=0) > 1 and len(t.rows) > 1]
    placed: list[tuple[float, int, Row]] = []  # (top, order, row)
    for t, table in enumerate(tables, 1):
        for r, row in enumerate(table.extract(), 1):
            top = table.rows[r - 1].bbox[1]
            placed.append((top, len(placed), [Cell(_cell_text(c), f"第{p}页第{t}个表格第{r}行第{n}格") for n, c in enumerate(row, 1)]))
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        middle_x, middle_y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= middle_x <= x1 and top <= middle_y <= bottom for x0, top, x1, bottom in boxes)

    text = page.filter(outside) if boxes else page
    for n, line in enumerate(text.extract_text_lines(), 1):
        if not _PAGE_NUMBER.match(line["text"]):
            placed.append((line["top"], len(placed), split_line(line["text"], f"第{p}页第{n}行")))
    for _, _, row in sorted(placed, key=lambda x: (x[0], x[1])):
        rows.add(row)


def _drawn(streams: list, resources, depth: int = 0) -> tuple[int, int]:
    """Text bytes and operators of content ``streams`` with every form they draw counted each time
    it is drawn (a form of 1,000 characters drawn 1,000 times is a page of 1,000,000)."""
    from pdfminer.pdftypes import PDFStream, dict_value, resolve1

    if depth > 8:
        raise LimitError("PDF 的表单对象嵌套超过 8 层，文件结构异常")
    data = b"".join(s.get_data() for s in map(resolve1, streams) if isinstance(s, PDFStream))
    shown, operators, names = pdf_content(data)
    forms = dict_value(dict_value(resources).get("XObject")) if resources else {}
    for name in set(names):
        form = resolve1(forms.get(name.decode("latin-1")))
        if isinstance(form, PDFStream) and getattr(form.get("Subtype"), "name", None) == "Form":
            inner_shown, inner_operators = _drawn([form], form.get("Resources") or resources, depth + 1)
            times = names.count(name)
            shown, operators = shown + times * inner_shown, operators + times * inner_operators
    return shown, operators


def load_pdf(path: Path) -> list[Row]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    rows = Rows()
    try:
        check_pdf(read_file(path, LIMITS.file_bytes))  # streams and pages counted before pdfminer parses any
        with pdfplumber.open(str(path)) as pdf:
            if len(pdf.pages) > LIMITS.pdf_pages:
                raise LimitError(f"PDF 有 {len(pdf.pages)} 页，超过上限 {LIMITS.pdf_pages} 页")
            for p, page in enumerate(pdf.pages, 1):
                check_pdf_page(p, *_drawn(page.page_obj.contents, page.page_obj.resources))  # before pdfminer lays it out
                _pdf_page(page, p, rows)
                page.close()  # pdfplumber keeps every page's objects otherwise
    except LimitError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ImportError_("PDF 设置了密码或加密，无法读取；请取得未加密的版本") from None
    except Exception as exc:  # pdfminer raises many kinds for a damaged file
        if type(exc).__name__ == "PdfminerException" and isinstance(exc.args[0] if exc.args else None, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ImportError_("PDF 设置了密码或加密，无法读取；请取得未加密的版本") from None
        raise ImportError_(f"PDF 文件无法读取（{type(exc).__name__}）") from None
    if not any(c.text for row in rows for c in row):
        raise NoTextLayer("PDF 没有文字层（图片版或扫描件），无法导入")
    return rows


LOADERS = {".txt": load_txt, ".text": load_txt, ".md": load_markdown, ".markdown": load_markdown,
            ".html": load_html, ".htm": load_html, ".docx": load_docx, ".pdf": load_pdf}


def load(path: Path) -> list[Row]:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ImportError_(f"不支持的文件类型 {path.suffix}（可导入 {', '.join(sorted(LOADERS))}）")
    try:
        return loader(path)
    except LimitError as exc:  # every loader's bounds, said alike
        raise ImportError_(str(exc)) from None
    except OSError as exc:
        raise ImportError_(f"无法打开文件：{describe_os_error(exc)}") from None
