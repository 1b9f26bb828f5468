"""The round as a store (issue 18): distribute creates it, `check --round` adds collections to it, and
each office's latest submission counts. Real workbooks, filled as a clerk would, through the real CLI."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from nianbao.discovery import copy_name
from nianbao.distribute import file_name
from nianbao.roster import Office
from nianbao.round import Round, RoundError
from nianbao.round.store import STORE_FILE, hash_password, password_ok
from nianbao.round.view import result_from_dict
from nianbao.samples import realistic_values
from nianbao.spec import load_spec

from .test_distribution import OFFICES as NAMED
from .test_distribution import explain_in, type_into, write_roster

SPEC = load_spec("2021")
OFFICES = NAMED[:30]
MISSING = 29  # never reports
ERRORS = set(range(7))  # an unbalanced 表三 at first; 0..4 fix it in the second collection, 5 and 6 do not
STILL_WRONG = {5, 6}
LATE = {7, 8, 9, 10}  # publish late (F101 提示), and explain it in the copy sent back


def _values(n: int, year: int = 2025) -> dict:
    values = realistic_values(SPEC, random.Random(n), OFFICES[n][1], year)
    return {k: v for k, v in values.items() if k not in ("meta.office", "meta.year")}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from .conftest import run_cli

    base = tmp_path_factory.mktemp("round")
    roster = write_roster(base / "名单.xlsx", OFFICES)
    rnd = base / "轮次"
    sent = run_cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", rnd / "下发", "--round", rnd,
                   "--url", "http://10.1.2.3:8000", "--deadline", "2026-01-31")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    files = {n: rnd / "下发" / file_name(Office(name, code), 2025, macro=False) for n, (code, name) in enumerate(OFFICES)}
    first_in, second_in = base / "收回", base / "再收回"
    for n in range(len(OFFICES)):
        if n == MISSING:
            continue
        values = _values(n)
        if n in ERRORS:
            values["t3.new.natural"] += 1
        if n in LATE:
            values["meta.published"] = values["meta.published"].replace(month=3, day=1)
        type_into(files[n], first_in / files[n].name, values)
    first = run_cli("check", first_in, "--round", rnd, "--out", base / "第一轮")
    # Only the offices sent back return a file; the others' first files still count.
    for n in ERRORS - STILL_WRONG:
        type_into(files[n], second_in / files[n].name, _values(n))
    for n in STILL_WRONG:
        type_into(first_in / files[n].name, second_in / files[n].name, {"t3.new.legal": 3})  # something else changed, still wrong
    for n in LATE:
        explain_in(base / "第一轮" / copy_name(files[n]), second_in / files[n].name, "F101", "本机关为县人民政府，依条例第四十九条应于3月31日前公布")
    second = run_cli("check", second_in, "--round", rnd, "--out", base / "第二轮")
    again = run_cli("check", second_in, "--round", rnd, "--out", base / "第三轮")
    return {"base": base, "round": rnd, "files": files, "sent": sent, "first": first, "second": second, "again": again}


def _document(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def test_distribute_creates_the_round_with_a_link_per_office(scenario):
    rnd = scenario["round"]
    store = Round.open(rnd)
    assert store.settings()["year"] == "2025" and store.settings()["deadline"] == "2026-01-31"
    assert [o.office.name for o in store.offices()] == [name for _, name in OFFICES]
    listing = load_workbook(rnd / "下发" / "下发清单.xlsx")["下发清单"]
    assert listing.cell(4, 10).value == "上传链接"
    links = {r[2]: r[9] for r in listing.iter_rows(min_row=5, values_only=True)}
    token = links[OFFICES[3][1]].rsplit("/o/", 1)[1]
    assert links[OFFICES[3][1]].startswith("http://10.1.2.3:8000/o/") and len(token) >= 22  # >= 128 bits, url-safe
    assert store.office_by_token(token).office.name == OFFICES[3][1]
    assert store.office_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    # Only hashes of the tokens are stored.
    db = sqlite3.connect(rnd / STORE_FILE)
    assert not any(token in str(row) for row in db.execute("select * from tokens"))
    instructions = load_workbook(scenario["files"][3])["说明"]
    assert any(links[OFFICES[3][1]] in str(c.value) for c in instructions["A"])
    # The distributed workbook is kept for the office's page.
    record = store.offices()[3]
    assert store.blob(record.template) == scenario["files"][3].read_bytes()


def test_first_collection(scenario):
    first = scenario["first"]
    assert first.returncode == 1, first.stdout + first.stderr
    roster = {e["office"]: e for e in _document(scenario["base"] / "第一轮")["roster"]}
    assert roster[OFFICES[MISSING][1]]["status"] == "missing"
    assert {n for n, (_, name) in enumerate(OFFICES) if roster[name]["status"] == "errors"} == ERRORS
    assert {n for n, (_, name) in enumerate(OFFICES) if roster[name]["status"] == "warnings"} == LATE
    assert f"名单 {len(OFFICES)} 个机关：未报送 1 个，需要修改 11 个" in first.stdout
    # The copies exported to send back are marked 检查: an office never gets a file named like the one it sent.
    sent = {p.name for p in (scenario["base"] / "收回").iterdir()}
    exported = {p.name for p in (scenario["base"] / "第一轮").glob("*.xlsx")}
    assert not sent & exported and {copy_name(scenario["files"][n]) for n in ERRORS | LATE} <= exported, exported
    assert {Path(e["output"]).name for e in roster.values() if e["output"]} <= exported


def test_second_collection_counts_each_offices_latest_submission(scenario):
    second = scenario["second"]
    document = _document(scenario["base"] / "第二轮")
    roster = {e["office"]: e for e in document["roster"]}
    status = {n: roster[name]["status"] for n, (_, name) in enumerate(OFFICES)}
    assert {n for n, s in status.items() if s == "errors"} == STILL_WRONG
    assert {n for n, s in status.items() if s == "explained"} == LATE
    assert all(s == "clean" for n, s in status.items() if n not in STILL_WRONG | LATE | {MISSING}), status  # passed before: still passed
    assert f"名单 {len(OFFICES)} 个机关：未报送 1 个，需要修改 2 个" in second.stdout, second.stdout
    # An office's own earlier version is history: never a twin (Y003) or a copy (Y403) of its latest.
    rules = {f["rule"] for f in document["files"] for f in f["findings"]}
    assert not rules & {"Y003", "Y403"}, rules
    assert len(document["files"]) == len(OFFICES) - 1
    # Same shape as check --roster: files, roster, unmatched, identity_problems, with the 报送情况 sheet.
    assert set(document) >= {"version", "year", "totals", "files", "roster", "unmatched", "identity_problems"}
    assert set(roster[OFFICES[0][1]]) >= {"office", "code", "status", "files", "newest", "output", "errors", "warnings", "explained"}
    assert Path(roster[OFFICES[5][1]]["output"]).is_file()
    sheet = load_workbook(scenario["base"] / "第二轮" / "汇总.xlsx")["报送情况"]
    assert sheet.cell(5, 3).value == OFFICES[0][1]
    assert (scenario["base"] / "第二轮" / "summary.csv").is_file()
    reminders = load_workbook(scenario["base"] / "第二轮" / "催报.xlsx")["催报"]
    due = [r[2] for r in reminders.iter_rows(min_row=4, values_only=True)]
    assert sorted(due) == sorted([OFFICES[n][1] for n in STILL_WRONG | {MISSING}])


def test_every_version_is_kept_and_a_collection_checked_again_adds_nothing(scenario):
    store = Round.open(scenario["round"])
    versions = store.versions()
    ids = {o.office.name: o.id for o in store.offices()}
    assert versions[ids[OFFICES[0][1]]] == 2 and versions[ids[OFFICES[20][1]]] == 1 and ids[OFFICES[MISSING][1]] not in versions
    assert "新加入轮次 0 份" in scenario["again"].stdout
    def entries(folder):
        return [{k: v for k, v in e.items() if k != "output"} for e in _document(scenario["base"] / folder)["roster"]]

    assert entries("第三轮") == entries("第二轮")
    kinds = [e["kind"] for e in store.events()]
    assert kinds.count("collection") == 3 and "distributed" in kinds
    # The event log is append-only.
    db = sqlite3.connect(scenario["round"] / STORE_FILE)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("delete from events")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("update events set kind = 'x'")


def test_a_stored_result_is_the_result_again(scenario):
    store = Round.open(scenario["round"])
    for sub in store.submissions()[:10]:
        assert result_from_dict(sub.result).to_dict() == sub.result


def test_a_store_of_a_newer_nianbao_is_refused_and_a_folder_without_one_is_named(tmp_path):
    store = Round.open(tmp_path, create=True)
    store.configure(schema_version=99)
    with pytest.raises(RoundError, match="更新版本的 nianbao"):
        Round.open(tmp_path)
    with pytest.raises(RoundError, match="不是一个轮次文件夹"):
        Round.open(tmp_path / "别处")


def test_passwords_are_slow_salted_hashes():
    stored = hash_password("正确的密码 1")
    assert stored.startswith("scrypt$") and "正确的密码" not in stored and stored != hash_password("正确的密码 1")
    assert password_ok("正确的密码 1", stored) and not password_ok("错误的密码", stored) and not password_ok("x", None)


def test_the_readme_round_on_the_bundled_example(tmp_path, cli):
    """README: distribute the bundled roster with --url (the round in the output folder), prefilled from examples/."""
    from .conftest import EXAMPLE_SOURCES, EXAMPLES

    out = tmp_path / "轮次" / "下发"
    run = cli("distribute", EXAMPLE_SOURCES / "名单.csv", "--format", "2021", "--year", "2023", "--previous-dir", EXAMPLES, "-o", out,
              "--url", "http://127.0.0.1:8000", "--deadline", "2024-01-31")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"nianbao serve {out}" in run.stdout
    store = Round.open(out)
    assert [(o.office.name, o.office.kind) for o in store.offices()] == [("示例县人民政府办公室", "政府办"), ("示例县教育局", "部门"),
                                                                           ("示例县公安局", "部门")]
    assert store.settings()["previous_dir"] == str(EXAMPLES.resolve())
    listing = load_workbook(out / "下发清单.xlsx")["下发清单"]
    first = next(listing.iter_rows(min_row=5, values_only=True))
    assert first[4] == "是" and first[9].startswith("http://127.0.0.1:8000/o/")  # prefilled from shixian-2022, with its link
    env = {k: v for k, v in os.environ.items() if k != "NIANBAO_ADMIN_PASSWORD"}
    missing = subprocess.run([sys.executable, "-m", "nianbao", "serve", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2 and "NIANBAO_ADMIN_PASSWORD" in missing.stderr  # no password yet: says how to set one


def test_check_round_with_nothing_to_add_says_so(tmp_path, cli):
    Round.open(tmp_path / "轮次", create=True)
    run = cli("check", tmp_path / "没有这个文件夹", "--round", tmp_path / "轮次")
    assert run.returncode == 2 and "没有找到要检查的文件" in run.stderr and "Traceback" not in run.stderr
    run = cli("check", tmp_path, "--round", tmp_path / "不是轮次")
    assert run.returncode == 2 and "不是一个轮次文件夹" in run.stderr


def test_the_schema_is_portable_sql():
    """The same tables for PostgreSQL (a province-wide server): every column type has a PostgreSQL form."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from nianbao.round.tables import metadata

    ddl = [str(CreateTable(table).compile(dialect=postgresql.dialect())) for table in metadata.sorted_tables]
    assert any("BYTEA" in d for d in ddl) and len(ddl) == 8
