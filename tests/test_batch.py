"""Batch checking for supervising offices, against generated reports with known errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from nianbao.layout import form_layout
from nianbao.samples import generate, plan
from nianbao.spec import load_spec


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    folder = tmp_path_factory.mktemp("returned")
    manifest = generate(plan(48, seed=7, corrupt=3), folder)
    return folder, manifest


@pytest.fixture(scope="module")
def batch(collection, tmp_path_factory):
    from tests.conftest import run_cli

    folder, manifest = collection
    out = tmp_path_factory.mktemp("out")
    run = run_cli("check", folder, "--out", out, "--json", "--jobs", "2")
    return run, out, {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(run.stdout)["files"]}


def test_every_injected_error_is_found_at_its_cell_and_nothing_else(collection, batch):
    _, manifest = collection
    run, _, reports = batch
    assert set(reports) == set(manifest)
    kinds = set()
    for name, expected in manifest.items():
        report = reports[name]
        if expected["corrupt"]:
            assert report["status"] == "failed" and report["reason"], name
            continue
        cells = form_layout(load_spec(expected["format"])).inputs
        got = sorted((f["rule"], f["key"], f["cell"]) for f in report["findings"])
        want = sorted((rule, key, cells[key].address) for rule, key in expected["expected"])
        assert got == want, name
        assert (report["office"], report["year"]) == (expected["office"], expected["year"])
        kinds |= {rule for rule, _ in expected["expected"]}
    assert {"C001", "C003", "C008", "B401", "B301", "Y301"} <= kinds  # the fixture exercises every kind
    assert run.returncode == 2  # corrupt files were listed


def test_summary_files(collection, batch):
    _, manifest = collection
    _, out, reports = batch
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["files"]["total"] == len(manifest) and summary["totals"]["files"]["failed"] == 3
    broken = {r for r in reports if reports[r]["status"] in ("errors", "warnings")}
    assert {p.name.replace(".检查", "") for p in out.rglob("*.xlsx") if p.name != "汇总.xlsx"} == broken  # copies only where findings
    csv_text = (out / "summary.csv").read_text(encoding="utf-8-sig")
    assert len(csv_text.strip().splitlines()) == len(manifest) + 1

    wb = load_workbook(out / "汇总.xlsx")
    assert wb.sheetnames[:3] == ["汇总", "按规则", "图表"] and "问题明细" in wb.sheetnames and "B301" not in wb.sheetnames
    overview = wb["汇总"]
    links = [c.hyperlink.target for row in overview.iter_rows(min_row=5) for c in row if c.hyperlink]
    assert len(links) == len(broken) and all((out / link).exists() for link in links)
    with zipfile.ZipFile(out / "汇总.xlsx") as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())


def test_summary_opens_in_libreoffice(batch, soffice, tmp_path):
    _, out, _ = batch
    run = soffice(out / "汇总.xlsx", tmp_path, "pdf")
    assert run.returncode == 0 and (tmp_path / "汇总.pdf").stat().st_size > 0, run.stderr
    # It prints: every sheet one page wide, so a page per sheet (a few for the long overview), not dozens.
    import pdfplumber

    with pdfplumber.open(tmp_path / "汇总.pdf") as pdf:
        pages = [page.width > page.height for page in pdf.pages]
    sheets = len(load_workbook(out / "汇总.xlsx").sheetnames)
    assert all(pages) and len(pages) <= sheets + 4, (len(pages), sheets)  # landscape throughout
    # Re-saved by LibreOffice, the chart and the links to the annotated copies are still there.
    assert soffice(out / "汇总.xlsx", tmp_path / "x", "xlsx").returncode == 0
    converted = tmp_path / "x" / "汇总.xlsx"
    with zipfile.ZipFile(converted) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    links = [c.hyperlink for row in load_workbook(converted)["汇总"].iter_rows(min_row=5) for c in row if c.hyperlink]
    assert links


def test_fail_on_sets_the_exit_code(tmp_path, cli):
    from nianbao.samples import fill

    spec = load_spec("2021")
    clean = fill(spec, tmp_path / "in" / "clean.xlsx", year=2022)
    assert cli("check", clean, "--copies", "none").returncode == 0
    hinted = fill(spec, tmp_path / "in" / "hinted.xlsx", {"t3.r1.natural": "0件"}, year=2022)  # a 提示 only
    assert cli("check", hinted, "--copies", "none").returncode == 0
    assert cli("check", hinted, "--copies", "none", "--fail-on", "warning").returncode == 1
    assert cli("check", tmp_path / "in", "--copies", "none", "--fail-on", "error").returncode == 0


def test_pairs_by_office_and_year_across_folders(tmp_path, cli):
    from nianbao.samples import fill

    spec = load_spec("2021")
    fill(spec, tmp_path / "2021" / "a.xlsx", {"t3.new.natural": 2, "t3.new.total": 2, "t3.carry_out.natural": 2,
                                               "t3.carry_out.total": 2}, year=2021)
    fill(spec, tmp_path / "2022" / "b.xlsx", year=2022)  # 上年结转 0, last year carried 2
    run = cli("check", tmp_path / "2022", "--previous-dir", tmp_path / "2021", "--json", "--copies", "none")
    findings = json.loads(run.stdout)["files"][0]["findings"]
    assert [(f["rule"], f["key"]) for f in findings] == [("Y301", "t3.carry_in.natural"), ("Y301", "t3.carry_in.total")]
    alone = cli("check", tmp_path / "2022", "--json", "--copies", "none")
    assert json.loads(alone.stdout)["files"][0]["findings"] == []


def test_pairs_an_office_named_with_its_superior_areas_and_says_how(tmp_path, cli):
    from nianbao.samples import fill

    spec = load_spec("2021")
    carried = {"t3.new.natural": 2, "t3.new.total": 2, "t3.carry_out.natural": 2, "t3.carry_out.total": 2}
    fill(spec, tmp_path / "2021" / "a.xlsx", carried | {"meta.office": "洪泽区人民政府办公室"}, year=2021)
    fill(spec, tmp_path / "2022" / "b.xlsx", {"meta.office": "淮安市洪泽区人民政府办公室"}, year=2022)
    fill(spec, tmp_path / "2022" / "c.xlsx", {"meta.office": "清河区人民政府办公室"}, year=2022)  # no report last year
    run = cli("check", tmp_path / "2022", "--previous-dir", tmp_path / "2021", "--json", "--copies", "none")
    files = {Path(f["path"]).name: f for f in json.loads(run.stdout)["files"]}
    assert files["b.xlsx"]["previous"] == {"path": str(tmp_path / "2021" / "a.xlsx"), "match": "area"}
    assert {f["rule"] for f in files["b.xlsx"]["findings"]} >= {"Y301", "Y002"}  # checked across years; the names differ
    assert files["c.xlsx"]["previous"] is None and "清河区人民政府办公室" in files["c.xlsx"]["previous_note"]
    text = cli("check", tmp_path / "2022", "--previous-dir", tmp_path / "2021", "--copies", "none").stdout
    assert "去掉上级行政区划后一致" in text and "未配对上一年度报告" in text
    # A folder of last year's reports with nothing readable is an error, not silence.
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.xlsx").write_text("not a workbook")
    broken = cli("check", tmp_path / "2022", "--previous-dir", tmp_path / "empty", "--copies", "none")
    assert broken.returncode == 2 and "没有能读取的上一年度报告" in broken.stderr


def test_progress_bar_on_a_terminal_only(collection, tmp_path, cli):
    """A progress bar when a person watches (a terminal), plain lines when a script reads the output."""
    import shutil
    import subprocess
    import sys

    folder, manifest = collection
    assert shutil.which("script"), "util-linux `script` gives the command a terminal"
    command = f"{sys.executable} -m nianbao check {folder} --copies none --jobs 1"
    on_tty = subprocess.run(["script", "-q", "-c", command, "/dev/null"], capture_output=True, text=True, timeout=300)
    assert f"/{len(manifest)}" in on_tty.stdout and "━" in on_tty.stdout
    piped = cli("check", folder, "--copies", "none", "--jobs", "1")
    assert "━" not in piped.stdout and f"共 {len(manifest)} 个文件" in piped.stdout


def test_old_xls_files_in_a_folder_are_listed_not_skipped(tmp_path, cli):
    from nianbao.samples import fill

    fill(load_spec("2021"), tmp_path / "in" / "good.xlsx", year=2022)
    (tmp_path / "in" / "旧格式.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    run = cli("check", tmp_path / "in", "--copies", "none")
    assert run.returncode == 2
    assert "旧格式.xls：这是旧版 .xls 文件，请用 Excel 或 WPS 另存为 .xlsx 后再检查" in run.stdout


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("淮安市洪泽区人民政府", "洪泽区人民政府", True),
        ("江苏省淮安市洪泽区人民政府办公室", "洪泽区政府办", True),
        ("示例县（区）管理委员会", "示例县(区)管委会", True),
        ("洪泽区人民政府", "清河区人民政府", False),
        ("洪泽区教育局", "洪泽区人民政府", False),
        ("淮安市人民政府", "淮安市洪泽区人民政府", False),  # the city is not its district
    ],
)
def test_office_names_compare_as_people_write_them(one, other, same):
    from nianbao.roster import office_key, same_office

    a, b = office_key(one), office_key(other)
    assert (a == b or same_office(a, b)) is same


COPIED = ("存在的主要问题：一是政策解读的形式还不够丰富，图解、视频等解读方式运用较少；二是依申请公开答复的规范性有待提高，"
          "个别答复书引用条款不够准确；三是政务新媒体更新不够及时。改进情况：{year}年我们将组织专题培训{n}次，完善答复书模板。")


def test_copied_sections_are_found_across_years_and_offices_in_one_batch(tmp_path):
    """Y401 (this year's 五 repeats last year's, numbers changed), Y403 (another office's 五 is the
    same), through the batch's own pairing of years and its fingerprints."""
    from nianbao.batch import check_many
    from nianbao.samples import base_values
    from nianbao.template import build

    for name, office, year, n in (("a-2024", "东城区教育局", 2024, 3), ("a-2025", "东城区教育局", 2025, 5), ("b-2025", "西城区教育局", 2025, 2)):
        build(load_spec("2021"), tmp_path / f"{name}.xlsx",
              values=base_values(load_spec("2021"), year) | {"meta.office": office, "text.s5": COPIED.format(year=year, n=n)})
    results = {r.path.stem: r for r in check_many([tmp_path], copies="none", jobs=1)}
    rules = {name: sorted(f.rule for f in r.findings) for name, r in results.items()}
    assert rules["a-2025"] == ["Y401", "Y403"]  # last year's, and one Y403 for its group (b-2025, and a-2024 with the same text)
    assert rules["b-2025"] == ["Y403"] and rules["a-2024"] == ["Y403"]
    (y401,) = [f for f in results["a-2025"].findings if f.rule == "Y401"]
    assert "100%" in y401.message and "最长的相同段落" in y401.message
    (y403,) = results["b-2025"].findings
    assert "另外 1 个机关" in y403.message and "东城区教育局" in y403.message  # its two years are one office


def test_years_pair_by_roster_code_when_the_office_was_renamed(tmp_path):
    """Workbooks distributed to one roster code pair across years even when the office's name changed."""
    from nianbao.batch import check_many
    from nianbao.roster import MATCHES
    from nianbao.samples import base_values
    from nianbao.template import build

    spec = load_spec("2021")
    for year, office in ((2024, "东城区教育局"), (2025, "东城区教育和体育局")):
        build(spec, tmp_path / f"{year}.xlsx", values=base_values(spec, year) | {"meta.office": office},
              identity={"roster_code": "3203", "roster_office": office, "roster_year": str(year)})
    results = {r.path.stem: r for r in check_many([tmp_path], copies="none", jobs=1)}
    assert results["2025"].previous == {"path": str(tmp_path / "2024.xlsx"), "match": "code"}
    assert MATCHES["code"] == "下发标识中的名单编码一致"


def test_a_forwarded_template_is_paired_with_last_year_of_the_office_it_is_for(tmp_path):
    """林业局 filled 住建局's forwarded template: its own 2024 report is its last year, not 住建局's."""
    from nianbao.batch import check_many
    from nianbao.samples import base_values
    from nianbao.template import build

    spec = load_spec("2021")

    def report(name: str, office: str, year: int, carry_out: int, code: str | None = None, meant: str | None = None) -> Path:
        values = base_values(spec, year) | {"meta.office": office, "t3.carry_out.natural": carry_out, "t3.carry_out.total": carry_out,
                                            "t3.new.natural": carry_out, "t3.new.total": carry_out}
        identity = {"roster_code": code, "roster_office": meant, "roster_year": str(year)} if code else None
        return build(spec, tmp_path / name, values=values, identity=identity)

    report("住建局-2024.xlsx", "示例县住房和城乡建设局", 2024, 0, code="007", meant="示例县住房和城乡建设局")
    own = report("林业局-2024.xlsx", "示例县林业局", 2024, 0)
    forwarded = report("林业局-2025.xlsx", "示例县林业局", 2025, 0, code="007", meant="示例县住房和城乡建设局")
    results = {r.path.name: r for r in check_many([tmp_path], copies="none", jobs=1)}
    assert results[forwarded.name].previous == {"path": str(own), "match": "exact"}


def test_a_batch_holds_its_reports_on_disk_privately_and_removes_them_when_done(tmp_path, monkeypatch):
    """A batch of 20,000 reports keeps each result on disk while it runs, not in memory: in a folder
    only this user can read, gone once nobody holds the results (reports are not left in /tmp)."""
    import gc
    import stat
    import tempfile

    from nianbao.batch import check_many
    from nianbao.samples import fill

    scratch, inputs = tmp_path / "scratch", tmp_path / "in"
    scratch.mkdir()
    inputs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for n in range(3):
        fill(load_spec("gov-2021"), inputs / f"r{n}.xlsx", {"meta.office": f"示例县第{n}局"}, year=2025)
    results = check_many([inputs], copies="none", jobs=1)
    (held,) = scratch.iterdir()
    assert held.name.startswith("nianbao-batch-") and stat.S_IMODE(held.stat().st_mode) == 0o700
    assert [(r.path.name, r.office, r.status) for r in results] == [(f"r{n}.xlsx", f"示例县第{n}局", "clean") for n in range(3)]
    assert [r.office for r in results.where(lambda r: r.office.endswith("1局"))] == ["示例县第1局"]
    del results
    gc.collect()
    assert list(scratch.iterdir()) == []


def test_a_temporary_folder_that_fills_up_stops_the_run_with_one_line(tmp_path):
    """The batch keeps its results in the temporary folder: when that fills up, one Chinese line
    says which folder and what to do, never a traceback (a file-size limit stands in for a full disk)."""
    import os
    import resource
    import shutil
    import subprocess
    import sys

    from nianbao.samples import fill

    inputs, scratch = tmp_path / "in", tmp_path / "scratch"
    inputs.mkdir()
    scratch.mkdir()
    first = fill(load_spec("gov-2021"), inputs / "r00.xlsx", year=2025)
    for n in range(1, 60):  # about 3 KB each on disk: more than the 64 KB a file may grow to
        shutil.copy(first, inputs / f"r{n:02d}.xlsx")
    run = subprocess.run([sys.executable, "-m", "nianbao", "check", str(inputs), "--copies", "none", "--jobs", "1"],
                         capture_output=True, text=True, timeout=300, env=os.environ | {"TMPDIR": str(scratch)},
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024)))
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"临时文件夹 {scratch} 无法写入" in run.stderr and "TMPDIR" in run.stderr, run.stderr
    assert list(scratch.iterdir()) == []  # what it held is removed all the same
