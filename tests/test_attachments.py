"""Not every file is a report (issue 19): under --roster, a text with none of the official tables (a
three-line 情况说明.txt in the returned folder) is listed as an attachment of its office, or as
belonging to none, not checked, with no annotated copy, and it does not change the exit code.
Without a roster it is checked as a published report, as before."""

from __future__ import annotations

import json

from openpyxl import load_workbook

from nianbao.samples import fill
from nianbao.spec import load_spec

from .test_distribution import write_roster

SPEC = load_spec("2021")
OFFICES = [("3201", "东城区人民政府办公室"), ("3202", "东城区教育局"), ("3203", "东城区公安局")]
NOTE = "情况说明\n我单位2025年度报告已按时报送，因人员调整，联系人变更为张三。\n特此说明。\n"


def _returned(base):
    folder = base / "收回"
    for code, name in OFFICES:
        fill(SPEC, folder / f"{code}-{name}-2025年度报告.xlsx", {"meta.office": name}, year=2025)
    (folder / "东城区教育局").mkdir()
    (folder / "东城区教育局" / "情况说明.txt").write_text(NOTE, encoding="utf-8")  # in the office's own folder
    (folder / "3203-东城区公安局-说明.md").write_text(NOTE, encoding="utf-8")  # named like the office's file
    (folder / "备注.txt").write_text("收到，谢谢。\n", encoding="utf-8")  # nobody's
    return folder


def test_a_cover_note_is_an_attachment_of_its_office_not_a_report(tmp_path, cli):
    folder = _returned(tmp_path)
    roster = write_roster(tmp_path / "名单.xlsx", OFFICES)
    run = cli("check", folder, "--roster", roster, "--out", tmp_path / "out", "--json")
    assert run.returncode == 0, run.stdout + run.stderr  # three clean reports; the notes change nothing
    document = json.loads(run.stdout)
    assert len(document["files"]) == 3 and all(f["status"] == "clean" for f in document["files"])
    attached = {a["path"].rsplit("/", 1)[-1]: a["office"] for a in document["attachments"]}
    assert attached == {"情况说明.txt": "东城区教育局", "3203-东城区公安局-说明.md": "东城区公安局", "备注.txt": None}
    out = tmp_path / "out"
    assert not [p.name for p in out.rglob("*.检查.xlsx")]  # no annotated copy of a note (nor of the clean reports)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["files"]["total"] == 3 and summary["totals"]["roster"]["clean"] == 3
    assert {a["office"] for a in summary["attachments"]} == {"东城区教育局", "东城区公安局", None}
    others = [r for r in load_workbook(out / "汇总.xlsx")["其他情况"].iter_rows(min_row=4, values_only=True) if r[1] == "附件"]
    assert sorted(r[3] for r in others) == sorted(["东城区教育局", "东城区公安局", "（不属于名单）"])
    shown = cli("check", folder, "--roster", roster, "--out", tmp_path / "out2")
    assert shown.returncode == 0 and "3 个附件不是年度报告" in shown.stdout, shown.stdout


def test_without_a_roster_a_text_is_checked_as_a_published_report(tmp_path, cli):
    folder = _returned(tmp_path)
    run = cli("check", folder, "--out", tmp_path / "out", "--json")
    document = json.loads(run.stdout)
    assert run.returncode == 2 and len(document["files"]) == 6 and "attachments" not in document
    assert (tmp_path / "out" / "备注.txt.检查.xlsx").exists()


def test_a_scanned_report_is_checked_not_set_aside_as_an_attachment(tmp_path, cli):
    """A PDF of page images has no table read either, but it may be the office's report itself: it
    gets its I005 hint and counts, it is no cover note."""
    from PIL import Image

    folder = _returned(tmp_path)
    Image.new("1", (420, 594), 1).save(folder / "3202-东城区教育局-2025年度报告（扫描件）.pdf")
    roster = write_roster(tmp_path / "名单.xlsx", OFFICES)
    document = json.loads(cli("check", folder, "--roster", roster, "--out", tmp_path / "out", "--json").stdout)
    (scanned,) = [f for f in document["files"] if f["path"].endswith(".pdf")]
    assert [f["rule"] for f in scanned["findings"]] == ["I005"]
    assert not any(a["path"].endswith(".pdf") for a in document["attachments"])
