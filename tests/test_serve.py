"""nianbao serve, in-process: a whole round through the web app (distribute → uploads, including a zip
bomb and another office's workbook → 退回 with a comment → a fixed upload → an explanation rejected →
fixed → approved → export), and its defences. Real workbooks, the real store and checker; the app is
driven through Starlette's test client (the real-browser and load tests run it on loopback)."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from nianbao.distribute import file_name
from nianbao.roster import Office
from nianbao.round import Round
from nianbao.round.store import hash_password
from nianbao.samples import realistic_values
from nianbao.serve.app import create_app
from nianbao.spec import load_spec

from .test_distribution import type_into, write_roster

SPEC = load_spec("2021")
OFFICES = [("101", "南湖县教育局"), ("102", "南湖县公安局"), ("103", "南湖县民政局")]
PASSWORD = "supervisor-pass-1"


def values_of(n: int) -> dict:
    import random

    values = realistic_values(SPEC, random.Random(n), OFFICES[n][1], 2025)
    return {k: v for k, v in values.items() if k not in ("meta.office", "meta.year")}


def zip_bomb(path) -> bytes:
    """A workbook-looking package whose one sheet inflates to 40 MB (above the 32 MB a part may take)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(40):
                member.write(b"\0" * (1 << 20))
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from .conftest import run_cli

    base = tmp_path_factory.mktemp("serve")
    roster = write_roster(base / "名单.xlsx", OFFICES)
    sent = run_cli("distribute", roster, "--format", "2021", "--year", "2025", "-o", base / "轮次" / "下发", "--round", base / "轮次",
                   "--url", "http://testserver", "--deadline", "2026-01-31")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    listing = load_workbook(base / "轮次" / "下发" / "下发清单.xlsx")["下发清单"]
    links = {r[2]: r[9] for r in listing.iter_rows(min_row=5, values_only=True)}
    store = Round.open(base / "轮次")
    store.configure(admin_password=hash_password(PASSWORD))
    files = {n: base / "轮次" / "下发" / file_name(Office(name, code), 2025, macro=False) for n, (code, name) in enumerate(OFFICES)}
    with TestClient(create_app(store, upload_bytes=1 << 20)) as client:
        yield {"base": base, "store": store, "client": client, "files": files,
               "paths": {n: links[name].removeprefix("http://testserver") for n, (_, name) in enumerate(OFFICES)}}


def upload(client, path: str, data: bytes, name: str = "报告.xlsx", json_answer: bool = True):
    headers = {"Accept": "application/json"} if json_answer else {}
    return client.post(path, files={"file": (name, data, "application/octet-stream")}, headers=headers, follow_redirects=False)


def login(client, guess_first: bool = False) -> str:
    if guess_first:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        wrong = client.post("/login", data={"user": "admin", "password": "guess", "csrf": csrf}, follow_redirects=False)
        assert wrong.status_code == 401 and "密码不正确" in wrong.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    done = client.post("/login", data={"user": "admin", "password": PASSWORD, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303, done.text
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie, cookie
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/admin").text).group(1)


def api(client) -> dict:
    auth = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    answer = client.get("/api/round", headers={"Authorization": f"Basic {auth}"})
    assert answer.status_code == 200, answer.text
    return {e["office"]: e for e in answer.json()["roster"]}


def test_a_whole_round_through_the_server(served, tmp_path):
    client, paths, files = served["client"], served["paths"], served["files"]
    me = paths[0]
    page = client.get(me)
    assert page.status_code == 200 and OFFICES[0][1] in page.text and "2026-01-31" in page.text
    template = client.get(me + "/template")
    assert template.content == files[0].read_bytes() and "attachment" in template.headers["content-disposition"]

    # A zip bomb: kept, and refused by the checker's limits in its worker, within the time budget.
    bomb = upload(client, me, zip_bomb(tmp_path / "bomb.xlsx"))
    assert bomb.status_code == 200 and bomb.json()["status"] == "failed" and "超出处理上限" in bomb.json()["reason"], bomb.json()
    # Another office's workbook through this office's link: not counted as this office's report.
    other = type_into(files[1], tmp_path / "公安局.xlsx", values_of(1))
    wrong = upload(client, me, other.read_bytes()).json()
    assert wrong["status"] == "failed" and f"不是本链接所属的“{OFFICES[0][1]}”" in wrong["reason"], wrong

    # The office's own report, with an unbalanced 表三: errors, with the findings and the annotated copy.
    broken = values_of(0) | {"t3.new.natural": values_of(0)["t3.new.natural"] + 1}
    first = upload(client, me, type_into(files[0], tmp_path / "一.xlsx", broken).read_bytes()).json()
    assert first["status"] == "errors" and any(f["severity"] == "错误" for f in first["findings"])
    assert set(first["findings"][0]) >= {"id", "rule", "severity", "message", "sheet", "cell"}
    copy = client.get(first["annotated_copy"])
    assert copy.status_code == 200 and copy.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in copy.headers["content-disposition"] and "sandbox" in copy.headers["content-security-policy"]
    assert "检查结果" in load_workbook(io.BytesIO(copy.content)).sheetnames

    csrf = login(client, guess_first=True)
    roster_page = client.get("/admin", params={"q": "教育"})
    assert OFFICES[0][1] in roster_page.text and OFFICES[1][1] not in roster_page.text
    office_id = served["store"].offices()[0].id
    assert client.post(f"/admin/office/{office_id}/review", data={"decision": "returned", "comment": "x"}).status_code == 403  # no CSRF token
    returned = client.post(f"/admin/office/{office_id}/review", data={"decision": "returned", "comment": "表三不平衡，请核对后重报", "csrf": csrf})
    assert returned.status_code == 200 and "退回修改" in returned.text
    assert "表三不平衡，请核对后重报" in client.get(me).text  # the office sees the comment

    # Fixed, but published late: one 提示, explained on the page, the explanation rejected, then fixed.
    late = values_of(0) | {"meta.published": values_of(0)["meta.published"].replace(month=3, day=1)}
    second = upload(client, me, type_into(files[0], tmp_path / "二.xlsx", late).read_bytes(), json_answer=False)
    assert second.status_code == 303
    page = client.get(me)
    (finding,) = re.findall(r'name="explain-([A-Z]\d{3}-[0-9a-f]{8})"', page.text)
    client.post(me + "/explain", data={f"explain-{finding}": "本机关 3 月 1 日才收到通知"})
    assert api(client)[OFFICES[0][1]]["status"] == "explained"
    (explanation,) = served["store"].explanations(office_id).values()
    client.post(f"/admin/explanation/{explanation.id}", data={"decision": "rejected", "comment": "理由不成立，请按期公布", "csrf": csrf})
    assert api(client)[OFFICES[0][1]]["status"] == "warnings"  # the 提示 is open again
    assert "说明未被接受：理由不成立，请按期公布" in client.get(me).text
    third = upload(client, me, type_into(files[0], tmp_path / "三.xlsx", values_of(0)).read_bytes()).json()
    assert third["status"] == "clean" and third["findings"] == []
    client.post(f"/admin/office/{office_id}/review", data={"decision": "approved", "comment": "", "csrf": csrf})

    entry = api(client)[OFFICES[0][1]]
    assert (entry["status"], entry["review"], entry["versions"]) == ("clean", "approved", 5)
    assert entry["received_at"] and set(entry) >= {"office", "code", "status", "files", "errors", "warnings", "contact", "phone"}
    assert api(client)[OFFICES[1][1]]["status"] == "missing"  # the other office's workbook did not count for it

    exported = client.get("/admin/export/summary.json")
    assert "attachment" in exported.headers["content-disposition"]
    document = json.loads(exported.content)
    assert {e["office"]: e["status"] for e in document["roster"]} == {OFFICES[0][1]: "clean", OFFICES[1][1]: "missing", OFFICES[2][1]: "missing"}
    reminders = load_workbook(io.BytesIO(client.get("/admin/export/催报.xlsx").content))["催报"]
    assert sorted(r[2] for r in reminders.iter_rows(min_row=4, values_only=True)) == sorted([OFFICES[1][1], OFFICES[2][1]])
    assert client.get("/admin/export/汇总.xlsx").status_code == 200
    kinds = [e["kind"] for e in served["store"].events(office_id)]
    assert {"received", "returned", "explained", "explanation_rejected", "approved"} <= set(kinds)


def test_wrong_or_revoked_links_get_404_and_are_logged(served):
    client, store = served["client"], served["store"]
    before = len(store.events_of_kind("bad_token"))
    assert client.get("/o/not-a-token").status_code == 404
    assert upload(client, "/o/not-a-token", b"PK\x03\x04").status_code == 404
    assert len(store.events_of_kind("bad_token")) == before + 2
    assert "not-a-token" not in json.dumps(store.events_of_kind("bad_token"))  # the token itself is not written down
    csrf = login(client)
    office = store.offices()[2]
    page = client.post(f"/admin/office/{office.id}/link", data={"csrf": csrf})
    new = re.search(r'id="new-link">http://testserver(/o/[^<]+)<', page.text).group(1)
    assert client.get(served["paths"][2]).status_code == 404 and client.get(new).status_code == 200
    client.post(f"/admin/office/{office.id}/revoke", data={"csrf": csrf})
    assert client.get(new).status_code == 404  # revoked: no link works until a new one is made
    page = client.post(f"/admin/office/{office.id}/link", data={"csrf": csrf})
    served["paths"][2] = re.search(r'id="new-link">http://testserver(/o/[^<]+)<', page.text).group(1)
    assert {"link_revoked", "link_issued"} <= {e["kind"] for e in store.events(office.id)}


def test_uploads_are_capped_before_parsing_and_sniffed(served):
    client, me = served["client"], served["paths"][1]
    big = upload(client, me, b"PK\x03\x04" + b"\0" * (2 << 20))
    assert big.status_code == 413 and "不能超过 1 MB" in big.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536

    streamed = client.post(me, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x", "Accept": "application/json"})
    assert streamed.status_code == 413
    form = client.post(me + "/explain", content=b"x" * (2 << 20), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413  # every body is capped, not only uploads
    assert client.post("/login", content=iter([b"password=x"]), headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 411
    pdf = upload(client, me, b"%PDF-1.4 not a workbook", name="报告.xlsx")
    assert pdf.status_code == 415 and "不是 Excel 工作簿" in pdf.json()["error"]
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert upload(client, me, docx.getvalue()).status_code == 415
    assert upload(client, me, b"").status_code in (400, 415)
    assert served["store"].submissions(served["store"].offices()[1].id) == []  # nothing refused was kept


def test_pages_need_nothing_from_elsewhere_and_say_so_in_their_headers(served):
    client = served["client"]
    login(client)
    for path in ("/admin", served["paths"][1], "/login", f"/admin/office/{served['store'].offices()[0].id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "default-src 'none'" in page.headers["content-security-policy"] and page.headers["referrer-policy"] == "no-referrer"
        assert not re.search(r'(src|href)="(https?:)?//', page.text), path  # no CDN, nothing from another host
        assert "<script" not in page.text
    client.cookies.clear()
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/round").status_code == 401
    wrong = base64.b64encode(b"admin:guess").decode()
    assert client.get("/api/round", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert len(api(client)) == len(OFFICES)  # HTTP Basic alone, no session
