"""下发清单.xlsx and 催报.xlsx print like 汇总.xlsx (issue 19): every column as wide as its content
(within its cap), every row as tall as its wrapped text, A4 landscape one page wide. Both are
written through listing.Listing, as 汇总's sheets are."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from nianbao.distribute import file_name
from nianbao.listing import LINE, LINK_CAP, lines, text_width
from nianbao.roster import Office

from .test_distribution import type_into

OFFICES = [("3201", "东城区人民政府办公室"), ("3202", "东城区住房和城乡建设局（东城区人民防空办公室、东城区地震局）"),
           ("3203", "东城区卫生健康委员会")]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    from openpyxl import Workbook

    from .conftest import run_cli

    base = tmp_path_factory.mktemp("listings")
    wb = Workbook()
    wb.active.append(["编码", "机关名称", "联系人", "联系电话"])
    for code, name in OFFICES:
        wb.active.append([code, name, "欧阳明远", "0371-60010001"])
    wb.save(base / "名单.xlsx")
    rnd = base / "轮次"
    sent = run_cli("distribute", base / "名单.xlsx", "--format", "2021", "--year", "2025", "-o", rnd / "下发", "--round", rnd,
                   "--url", "http://10.1.2.3:8000", "--deadline", "2026-01-31")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    first = rnd / "下发" / file_name(Office(OFFICES[0][1], OFFICES[0][0]), 2025, macro=False)
    type_into(first, base / "收回" / first.name, {"t3.new.natural": 1})  # 表三 unbalanced: to fix
    run_cli("check", base / "收回", "--round", rnd, "--out", base / "第一轮")
    return {"下发清单": rnd / "下发" / "下发清单.xlsx", "催报": base / "第一轮" / "催报.xlsx"}


def _sized(path, name):
    ws = load_workbook(path)[name]
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "序号")
    return ws, header_row


@pytest.mark.parametrize("name", ["下发清单", "催报"])
def test_columns_fit_their_content_and_rows_their_wrapped_text(sheets, name):
    ws, header_row = _sized(sheets[name], name)
    rows = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    assert rows and any(OFFICES[1][1] in r for r in rows)
    for col in range(1, ws.max_column + 1):
        width = ws.column_dimensions[get_column_letter(col)].width
        values = [str(r[col - 1] or "") for r in [[c.value for c in ws[header_row]], *rows]]
        content = max(map(text_width, values))
        assert width >= min(content + 1, 20), (name, ws.cell(header_row, col).value, width, content)
        # What cannot wrap (a telephone number, a link) fits whole: 0371-60010001 is not cut.
        whole = max((text_width(v) for v in values if v.isascii() and " " not in v), default=0)
        assert width >= whole + 1, (name, ws.cell(header_row, col).value, width, whole)
    for n, row in enumerate(rows, header_row + 1):
        height = ws.row_dimensions[n].height
        needed = max(lines(v or "", ws.column_dimensions[get_column_letter(c)].width) for c, v in enumerate(row, 1))
        assert height is not None and height >= needed * LINE, (name, n, height, needed)
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    _links_fit(ws)


def _links_fit(ws) -> int:
    """Every link's text fits its column whole: LibreOffice does not wrap a link, and clips it
    or runs it into the next column. Returns how many links there are."""
    links = [c for row in ws.iter_rows() for c in row if c.hyperlink and c.value]
    for cell in links:
        width = ws.column_dimensions[cell.column_letter].width
        assert width >= min(text_width(cell.value) + 1, LINK_CAP), (ws.title, cell.coordinate, cell.value, width)
    return len(links)


def test_a_link_to_a_copy_is_printed_whole_in_every_sheet_of_the_summary(tmp_path):
    """汇总.xlsx's 汇总 and 问题明细 sheets link each copy by its file name, which holds the office's name."""
    from nianbao.samples import fill
    from nianbao.spec import load_spec

    from .conftest import run_cli

    name = "东城区住房和城乡建设局（东城区人民防空办公室）"
    fill(load_spec("2021"), tmp_path / "收回" / f"{name}.xlsx", {"meta.office": name, "t3.new.natural": 1}, year=2025)
    run = run_cli("check", tmp_path / "收回", "--out", tmp_path / "结果")
    assert run.returncode == 1, run.stdout + run.stderr
    book = load_workbook(tmp_path / "结果" / "汇总.xlsx")
    assert sum(_links_fit(ws) for ws in book.worksheets) >= 2


def test_the_sheets_render_one_page_wide_in_libreoffice(sheets, soffice, tmp_path):
    """Rendered as LibreOffice prints them: landscape, one page wide (the PNG beside the PDF is for looking at)."""
    import pdfplumber

    for name, path in sheets.items():
        assert soffice(path, tmp_path, "pdf").returncode == 0
        with pdfplumber.open(tmp_path / f"{path.stem}.pdf") as pdf:
            assert len(pdf.pages) == 1 and pdf.pages[0].width > pdf.pages[0].height, name
            text = pdf.pages[0].extract_text().replace("\n", "")
            page = pdf.pages[0].to_image(resolution=110)
            page.save(tmp_path / f"{path.stem}.png")
        assert all(code in text for code, _ in OFFICES) and "0371-60010001" in text, (name, text)
