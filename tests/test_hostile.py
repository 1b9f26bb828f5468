"""Whatever offices and web pages send, a batch answers every file and loses nothing.

Each hostile case (tests/hostile.py: damaged packages, zip bombs, values no report holds, text
that would be a formula, pages that would hang a parser) is checked alone and in one batch with
good files: no traceback, no changed input, a reason per failed file, a complete summary.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

import nianbao
from nianbao.annotate import annotate
from nianbao.samples import fill

from .hostile import CASES, HYPERLINK, INJECTION, NEW_NATURAL, SPEC, _part, check_alone, named, rewrite, run_measured

SMALL = [c for c in CASES if not c.bomb]
BOMBS = [c for c in CASES if c.bomb]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return fill(SPEC, tmp_path_factory.mktemp("good") / "good.xlsx", year=2025)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", SMALL, ids=[c.name for c in SMALL])
def test_each_damaged_or_odd_file_gets_its_answer(case, good, tmp_path):
    path = case.make(good, tmp_path)
    result = nianbao.check(path)  # never raises
    if case.reason:
        assert result.status == "failed" and case.reason in result.reason, result.reason
        assert "\n" not in result.reason
    else:
        assert result.reason is None, result.reason
    if case.rule:
        assert case.rule in {f.rule for f in result.findings}, [f.rule for f in result.findings]
    if case.office:
        assert result.office == case.office
    if case.partial:
        assert result.unread and not result.complete


@pytest.mark.parametrize("case", BOMBS, ids=[c.name for c in BOMBS])
def test_bombs_are_refused_with_little_memory(case, good, tmp_path):
    path = case.make(good, tmp_path)
    alone = check_alone(path)
    assert alone.peak_mib < 500, f"{case.name}: peak {alone.peak_mib} MiB"
    if case.copy:
        assert alone.status != "failed" and case.copy in alone.copy, alone.copy
    elif alone.status != "failed":
        assert alone.copy == "ok", alone.copy
    if case.reason:
        assert alone.status == "failed" and case.reason in alone.reason, alone.reason
    else:
        assert alone.status != "failed"  # a page without tables is checked (its tables are unread: test_each_case_alone)


@pytest.fixture(scope="module")
def hostile_batch(good, tmp_path_factory):
    """Every hostile case and five good files in one folder, checked by one command."""
    folder = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        case.make(good, folder)
    for n in range(5):  # five offices: one office's several reports would each get Y003
        fill(SPEC, folder / f"good-{n}.xlsx", {"meta.office": f"示例县第{n}局"}, year=2025)
    (folder / "report.docx").unlink(missing_ok=True)  # the bomb's carrier, not a case of its own
    before = _digest(folder)
    out = tmp_path_factory.mktemp("out")
    run, seconds, peak, _ = run_measured([sys.executable, "-m", "nianbao", "check", str(folder), "--out", str(out), "--copies", "all", "--json"],
                                      timeout=600)
    return folder, out, run, before, peak


def test_a_hostile_batch_answers_every_file_and_changes_none(hostile_batch):
    folder, out, run, before, peak = hostile_batch
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-2000:]
    assert peak < 500, f"the batch's processes together peaked at {peak} MiB"
    assert run.returncode == 2  # some files could not be checked
    assert _digest(folder) == before  # every input byte-identical
    files = {Path(f["path"]).name: f for f in json.loads(run.stdout)["files"]}
    assert len(files) == len(list(folder.iterdir()))
    for n in range(5):
        assert files[f"good-{n}.xlsx"]["status"] == "clean" and (out / f"good-{n}.检查.xlsx").exists()
    assert all(f["output"] and Path(f["output"]).exists() for f in files.values() if f["status"] != "failed")  # long and odd names too
    failed = {n: f for n, f in files.items() if f["status"] == "failed"}
    assert all(f["reason"] and "\n" not in f["reason"] and f["error"] for f in failed.values())
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["files"]["total"] == len(files) and summary["totals"]["files"]["failed"] == len(failed)
    assert (out / "汇总.xlsx").exists() and (out / "summary.csv").exists()


@pytest.mark.slow
def test_each_case_has_its_answer_in_the_batch(hostile_batch, good, tmp_path):
    _, _, run, _, _ = hostile_batch
    files = {Path(f["path"]).name: f for f in json.loads(run.stdout)["files"]}
    for case in CASES:
        name = case.make(good, tmp_path).name
        result = files[name]
        if case.reason or case.listed:
            assert result["status"] == "failed" and (case.reason or case.listed) in result["reason"], (name, result["reason"])
        else:  # checked; a workbook openpyxl cannot copy (a NaN number) keeps its findings and says why it has no copy
            assert result["status"] != "failed" or result["reason"].startswith("无法写出批注副本"), (name, result["reason"])
        if case.rule:
            assert case.rule in {f["rule"] for f in result["findings"]}, name
        if case.partial:
            assert result["checked"] == "partial" and result["unread"], name


def test_text_from_files_is_never_written_as_a_formula(hostile_batch):
    _, out, _, _, _ = hostile_batch
    results = load_workbook(out / "injected.检查.xlsx")["检查结果"]
    actual = [row[8] for row in results.iter_rows(min_row=4) if row[8].value == INJECTION]
    assert actual and all(cell.data_type == "s" for cell in actual)
    summary = load_workbook(out / "汇总.xlsx")["汇总"]
    offices = [row[2] for row in summary.iter_rows(min_row=5) if row[2].value == HYPERLINK]
    assert offices and all(cell.data_type == "s" for cell in offices)
    with (out / "summary.csv").open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["path"].endswith("office.xlsx"))
    assert row["office"] == "'" + HYPERLINK
    # An imported report's text lands in its template as text, and is not lost.
    copy = load_workbook(out / "injected-report.txt.检查.xlsx")
    texts = [c for ws in copy.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str) and HYPERLINK in c.value]
    assert texts and all(c.data_type == "s" for c in texts)


def _formulas_reaching_out(copy: Path) -> list[bytes]:
    with zipfile.ZipFile(copy) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    formulas = [f for xml in sheets for f in re.findall(rb"<f\b[^>]*>([^<]*)</f>", xml)]
    return [f for f in formulas if re.search(rb"\||WEBSERVICE", re.sub(rb'"[^"]*"', b"", f))]  # outside its string literals


def test_a_formula_in_an_input_cell_is_text_in_the_copy_and_nothing_in_it_runs(hostile_batch):
    """The DDE formula of an input cell is not read (C007) and its copy holds it as text; the one
    outside the input cells keeps its last value without the formula; nothing recalculates on opening."""
    folder, out, run, _, _ = hostile_batch
    files = {Path(f["path"]).name: f for f in json.loads(run.stdout)["files"]}
    assert "C007" in {f["rule"] for f in files["dde.xlsx"]["findings"]}
    copy = out / "dde.检查.xlsx"
    assert _formulas_reaching_out(folder / "dde.xlsx") and not _formulas_reaching_out(copy)
    with zipfile.ZipFile(copy) as z:
        assert b"fullCalcOnLoad" not in z.read("xl/workbook.xml")
    book = load_workbook(copy)
    assert book[NEW_NATURAL.sheet][NEW_NATURAL.address].value == INJECTION and book[NEW_NATURAL.sheet][NEW_NATURAL.address].data_type == "s"
    assert book["说明"]["Z1000"].value == 0
    assert "C005" in {f.rule for f in nianbao.check(copy).findings}  # checked again: text that looks like a formula, still not read


def test_the_copy_of_a_web_formula_fetches_nothing_in_libreoffice(good, tmp_path, soffice):
    """A workbook whose input cell and another cell would fetch a page (WEBSERVICE, recalculated
    on opening): its copy, opened and saved by LibreOffice, shows the formula as text and asks
    nothing of a server listening on this machine."""
    import http.server
    import threading

    hits = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"7")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetch = f'WEBSERVICE("http://127.0.0.1:{server.server_address[1]}/leak")'
    source = rewrite(good, tmp_path / "web.xlsx", {
        _part(good, NEW_NATURAL.sheet): lambda d: re.sub(rf'<c r="{NEW_NATURAL.address}"[^>]*?(?:/>|>.*?</c>)'.encode(),
                                                         f'<c r="{NEW_NATURAL.address}" t="str"><f>{fetch}</f><v>7</v></c>'.encode(), d, count=1),
        _part(good, "说明"): lambda d: d.replace(b"</sheetData>", f'<row r="1000"><c r="Z1000" t="str"><f>{fetch}</f><v>7</v></c></row>'
                                                                  "</sheetData>".encode()),
        "xl/workbook.xml": lambda d: d.replace(b"</workbook>", b'<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')})
    result = nianbao.check(source)
    copy = annotate(source, result.findings, tmp_path / "web.检查.xlsx", formulas=result.formulas)
    assert not _formulas_reaching_out(copy)
    run = soffice(copy, tmp_path / "lo")
    assert run.returncode == 0, run.stderr
    server.shutdown()
    assert hits == []
    opened = load_workbook(tmp_path / "lo" / copy.name)
    assert opened[NEW_NATURAL.sheet][NEW_NATURAL.address].value == "=" + fetch


_SWAP = """
import os, sys
from pathlib import Path
import nianbao
from nianbao.batch import _annotate_one

path, bomb, dest = map(Path, sys.argv[1:])
result = nianbao.check(path)
if bomb.name == "-":  # between the check and its copy, as a batch's two stages are: deleted, or replaced
    path.unlink()
else:
    os.replace(bomb, path)
written = _annotate_one((path, result, dest))
print(result.status, getattr(written, "reason", "written"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("swap", ["bomb", "deleted"])
def test_a_file_swapped_or_deleted_after_its_check_gets_no_copy_and_its_real_cause(swap, good, tmp_path):
    """The copy is made from bytes read once and bounded again: a workbook replaced by a zip bomb
    after its check costs what the bomb costs a check, a deleted one is said to be missing, and
    no copy is written."""
    from .hostile import _bomb

    path = tmp_path / "r.xlsx"
    shutil.copyfile(good, path)
    bomb = _bomb("xl/worksheets/sheet1.xml")(good, tmp_path) if swap == "bomb" else Path("-")
    run, _, peak, _ = run_measured([sys.executable, "-c", _SWAP, str(path), str(bomb), str(tmp_path / "r.检查.xlsx")], timeout=120)
    cause = "超出处理上限" if swap == "bomb" else "找不到文件"
    assert run.stdout.startswith("clean ") and cause in run.stdout, run.stdout + run.stderr
    assert peak < 500 and not (tmp_path / "r.检查.xlsx").exists()


@pytest.mark.parametrize("make", ["fifo", "device-link"])
def test_import_opens_only_regular_files(make, good, tmp_path):
    from .hostile import device_link, fifo

    path = {"fifo": fifo, "device-link": device_link}[make](good, tmp_path)
    run = _cli("import", path, "-o", tmp_path / "out.xlsx", timeout=60)
    assert run.returncode == 2 and ("管道（FIFO）" if make == "fifo" else "设备文件") in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_a_full_disk_fails_the_writes_not_the_run(good, tmp_path):
    """Writes beyond 8 KB fail (RLIMIT_FSIZE, as on a full disk): every copy and the summary fail
    with a reason, and the run says so without a traceback."""
    import resource

    folder = tmp_path / "in"
    folder.mkdir()
    fill(SPEC, folder / "a.xlsx", {"t3.new.natural": None}, year=2025)

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    run = subprocess.run([sys.executable, "-m", "nianbao", "check", str(folder), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300, preexec_fn=small_disk,
                         env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"})  # no cache file cut short by the limit
    assert run.returncode == 2 and "Traceback" not in run.stdout + run.stderr
    assert "无法写出" in run.stdout + run.stderr and "文件超过系统允许的大小" in run.stdout + run.stderr
    assert not [p for p in (tmp_path / "out").rglob("*.xlsx")]  # nothing half-written


def _workers_of(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_stop_with_the_parent(sig, good, tmp_path):
    from .hostile import nested_html

    folder = tmp_path / f"slow-{sig.name}"
    folder.mkdir()
    for n in range(6):  # each takes a worker a few seconds
        nested_html(100_000 + n, closed=False)(good, folder)
    parent = subprocess.Popen([sys.executable, "-m", "nianbao", "check", str(folder), "--out", str(tmp_path / "out"), "--jobs", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_workers_of(str(folder))) < 3 and time.monotonic() < deadline:  # the parent and its two workers
        time.sleep(0.1)
    assert len(_workers_of(str(folder))) >= 3
    parent.send_signal(sig)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _workers_of(str(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(str(folder)) == []
    assert not (tmp_path / "out" / "汇总.xlsx").exists()  # an interrupted run writes no summary
    if sig == signal.SIGTERM:
        assert parent.returncode == 130 and "已中断" in parent.stderr.read()


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                children.setdefault(int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _reader_of(path: Path) -> int | None:
    """The process below this one that has ``path`` open."""
    for pid in _descendants(os.getpid()):
        try:
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:
            continue
    return None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc (Linux)")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_killed_worker_is_blamed_on_the_file_it_was_reading(jobs, good, tmp_path):
    """Whatever process reads one PDF is killed (SIGKILL, as the OOM killer does) every time it
    reads it: that file, and only it, is the one that could not be checked, for that reason."""
    import threading

    from nianbao.batch import check_many

    from .hostile import _pdf_page_of

    for n in range(7):
        fill(SPEC, tmp_path / f"{n}-good.xlsx", {"meta.office": f"示例县第{n}局"}, year=2025)
    deadly = tmp_path / "3-deadly.pdf"  # pdfplumber keeps it open for a second or two while laying out its page
    deadly.write_bytes(_pdf_page_of(b"BT /F1 1 Tf 10 700 Td (" + b"a" * 8000 + b") Tj ET"))
    done, kills = threading.Event(), []

    def killer() -> None:
        while not done.wait(0.02):
            if pid := _reader_of(deadly):
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        results = check_many([tmp_path], copies="none", jobs=jobs)
    finally:
        done.set()
        thread.join()
    assert kills
    status = {r.path.name: (r.status, r.reason) for r in results}
    assert status.pop(deadly.name) == ("failed", "文件过大或结构异常，读取时内存不足")
    assert set(status.values()) == {("clean", None)}, status


def _cli(*args, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nianbao", *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)


def test_names_that_are_not_utf8_long_or_escapes_cost_only_their_own_copy_name(good, tmp_path):
    """One file's name is that file's problem: the batch, its copies and its summary are written,
    a copy's name is cut to what the file system takes, and no escape reaches the terminal raw."""
    folder = tmp_path / "in"
    folder.mkdir()
    for make in (named(b"\xb1\xa8\xb8\xe6-gbk"), named("长" * 82), named("esc\x1b[31m\x1b]0;pwned\x07")):
        make(good, folder)
    for out in (tmp_path / "out", None):  # into --out, and beside the inputs (the copy's name grows by .检查)
        run = _cli("check", folder, *(["--out", out] if out else []), "--copies", "all")
        assert run.returncode in (0, 1) and "Traceback" not in run.stdout + run.stderr and "内部错误" not in run.stderr, run.stderr
        assert "\x1b" not in run.stdout + run.stderr and "\\x1b[31m" in run.stdout
        copies = [p for p in (out or folder).iterdir() if p.name.endswith(".xlsx") and not p.name.startswith("汇总")] if out else \
            list(folder.glob("*.检查.xlsx"))
        assert len(copies) == 3 and all(len(os.fsencode(p.name)) <= 255 for p in copies)
    assert (tmp_path / "out" / "汇总.xlsx").exists() and json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))


def test_distribute_shortens_a_long_office_name_to_a_file_name(tmp_path):
    roster = tmp_path / "名单.csv"
    roster.write_text(f"机关名称,编码\n{'长' * 100},1001\n示例县教育局,1002\n", encoding="utf-8")
    run = _cli("distribute", roster, "-f", "2021", "--year", "2025", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    sent = sorted(p.name for p in (tmp_path / "out").glob("100*.xlsx"))
    assert len(sent) == 2 and sent[0].startswith("1001-长") and all(len(p.encode()) <= 255 for p in sent)


@pytest.mark.parametrize("make", ["far-cell", "device"])
def test_a_roster_is_measured_and_opened_as_the_checker_opens_a_workbook(make, good, tmp_path):
    from nianbao.roster import RosterError, read_roster

    if make == "far-cell":
        roster = tmp_path / "名单.xlsx"
        book = tmp_path / "book.xlsx"
        wb = Workbook()
        wb.active.append(["机关名称"])
        wb.active.append(["示例县教育局"])
        wb.save(book)
        far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        rewrite(book, roster, {"xl/worksheets/sheet1.xml": lambda d: d.replace(b"</sheetData>", far)})
        expected = "超出处理上限"
    else:
        roster = tmp_path / "名单.csv"
        roster.symlink_to("/dev/zero")
        expected = "设备文件"
    with pytest.raises(RosterError, match=expected):
        read_roster(roster)
    run = _cli("check", good, "--out", tmp_path / "out", "--roster", roster, timeout=60)
    assert run.returncode == 2 and expected in run.stderr and "Traceback" not in run.stderr


def test_pairing_a_name_of_millions_of_characters_is_linear(good, tmp_path):
    """Work in the parent has no time budget of its own: pairing by a 5,000,000-character 机关名称
    (inside every limit) takes what one short name takes, a few times over."""
    from nianbao.roster import NameIndex

    name = "淮安市洪泽区" + "局" * 5_000_000
    start = time.monotonic()
    index = NameIndex([(name, 1), ("洪泽区教育局", 2)])
    assert index.find(name)[1] == [1] and index.find("洪泽区教育局")[1] == [2]
    assert time.monotonic() - start < 5


def test_copies_of_one_report_name_the_group_once(good, tmp_path):
    """300 copies of one workbook: each gets one Y003 naming a few of the others and their number."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(300):
        shutil.copyfile(good, folder / f"copy-{n:03d}.xlsx")
    run = _cli("check", folder, "--out", tmp_path / "out", "--copies", "none", "--json")
    files = json.loads(run.stdout)["files"]
    assert len(files) == 300
    for f in files:
        (y003,) = [x for x in f["findings"] if x["rule"] == "Y003"]
        assert "等 299 份" in y003["message"] and y003["message"].count("copy-") <= 10
    assert (tmp_path / "out" / "summary.json").stat().st_size < 5 << 20


def test_a_run_again_after_an_interruption_replaces_its_own_outputs(good, tmp_path):
    """What a run wrote before Ctrl-C (or a killed worker left) is recorded or removed: the next
    run replaces its copies instead of writing -2 copies beside them, and no partial file stays."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for n in range(4):
        shutil.copyfile(good, folder / f"r{n}.xlsx")
    from nianbao.files import Destinations, atomic_path

    destinations = Destinations()
    for n in range(2):  # two copies written, then the run was interrupted while writing a third
        with atomic_path(destinations.choose(out / f"r{n}.检查.xlsx")) as tmp:
            shutil.copyfile(good, tmp)
    partial = out / ".nianbao-abcd1234.xlsx"
    destinations.choose(out / "r2.检查.xlsx")
    partial.write_bytes(b"PK half")
    destinations.settle()
    assert not partial.exists()
    run = _cli("check", folder, "--out", out, "--copies", "all")
    assert run.returncode in (0, 1), run.stderr
    assert sorted(p.name for p in out.glob("r*.xlsx")) == ["r0.检查.xlsx", "r1.检查.xlsx", "r2.检查.xlsx", "r3.检查.xlsx"]


def test_an_out_folder_inside_the_input_folder_is_not_checked_again(good, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(good, folder / "r.xlsx")
    assert _cli("check", folder, "--out", folder / "out", "--copies", "all").returncode in (0, 1)
    again = _cli("check", folder, "--out", tmp_path / "elsewhere", "--json")
    assert [Path(f["path"]).name for f in json.loads(again.stdout)["files"]] == ["r.xlsx"]


def test_a_broken_rule_file_is_one_line_of_its_own_not_a_failure_of_every_workbook(good, tmp_path):
    """A rule without its title in a rule file NIANBAO_FORMATS adds: the run stops before any file
    with one line naming the file, the rule and the field, and its own exit code (3, not the 2 of
    files that could not be checked); through the API, a file's reason names the rule file too."""
    (tmp_path / "formats" / "rules").mkdir(parents=True)
    (tmp_path / "formats" / "rules" / "common.yaml").write_text("rules:\n  - id: B999\n    check: t3.new.natural == 1\n", encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        shutil.copyfile(good, folder / f"r{n}.xlsx")
    env = os.environ | {"NIANBAO_FORMATS": str(tmp_path / "formats")}
    run = _cli("check", folder, "--out", tmp_path / "out", env=env)
    assert run.returncode == 3 and "Traceback" not in run.stdout + run.stderr, run.stderr
    (line,) = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert "common.yaml" in line and "B999" in line and "title" in line and "r0.xlsx" not in line
    assert not (tmp_path / "out" / "汇总.xlsx").exists()
    alone = subprocess.run([sys.executable, "-c", "import sys, nianbao; print(nianbao.check(sys.argv[1]).reason)", str(folder / "r0.xlsx")],
                           capture_output=True, text=True, timeout=120, env=env)
    assert "common.yaml" in alone.stdout and "B999" in alone.stdout and "文件可能已损坏" not in alone.stdout, alone.stdout + alone.stderr


def test_a_rule_file_of_aliases_is_refused_at_once():
    """An alias bomb (nine lines, 10^9 items when expanded) is refused when the file is read."""
    import resource

    from nianbao.rules.catalogue import _NoAliases  # the loader every rule file is read with

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines.append("rules: [{id: X001, kind: relation, for_each: {r: *a8}}]")
    import yaml

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(yaml.YAMLError):
        yaml.load("\n".join(lines), Loader=_NoAliases)  # noqa: S506
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 << 10
