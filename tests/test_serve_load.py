"""nianbao serve under load and killed: bounded, on loopback only.

- 300 offices upload over 60 s, at most 20 at a time: every upload is answered and recorded; the
  response times' p50 and p95 are printed (speed is stated, not asserted).
- The server is killed with SIGKILL in the middle of uploads and started again: every upload that
  was answered is there with its result, and nothing half-written is kept.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import signal
import sqlite3
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nianbao.round import Round
from nianbao.round.store import STORE_FILE
from nianbao.samples import realistic_values
from nianbao.spec import load_spec
from nianbao.template import build

from .serving import distribute_round, free_port, start, stop

pytestmark = pytest.mark.slow
SPEC = load_spec("2021")
AREAS = ["东城区", "西城区", "南湖县", "北山县", "青河县", "白云区", "金水区", "临江市", "安宁县", "平阳县"]
UNITS = ["教育局", "公安局", "民政局", "财政局", "审计局", "统计局", "水利局", "商务局", "林业局", "体育局", "档案馆", "信访局",
         "司法局", "应急管理局", "医疗保障局", "城市管理局", "农业农村局", "交通运输局", "生态环境局", "自然资源局", "文化和旅游局",
         "市场监督管理局", "退役军人事务局", "住房和城乡建设局", "人力资源和社会保障局", "发展和改革局", "科学技术局", "数据局",
         "行政审批局", "综合执法局"]


def offices(n: int) -> list[tuple[str, str]]:
    return [(f"{5000 + i}", f"{AREAS[i // len(UNITS)]}{UNITS[i % len(UNITS)]}") for i in range(n)]


def reports(folder: Path, named: list[tuple[str, str]]) -> list[bytes]:
    """Each office's filled report (a consistent one, a third of them with an 错误)."""
    rng = random.Random(18)
    out = []
    for i, (_, name) in enumerate(named):
        values = realistic_values(SPEC, rng, name, 2025)
        if i % 3 == 0:
            values["t3.new.natural"] += 1
        out.append(build(SPEC, folder / f"{i}.xlsx", values=values).read_bytes())
    return out


def post(link: str, data: bytes, timeout: float = 120, pause: float = 0) -> tuple[int, dict]:
    """An upload as a browser or script sends it (multipart, Accept JSON); with ``pause``, the body is
    sent in pieces over that many seconds."""
    url = urlsplit(link)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.xlsx\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.putrequest("POST", url.path)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Accept", "application/json")
        conn.endheaders()
        pieces = 10 if pause else 1
        size = -(-len(body) // pieces)
        for i in range(pieces):
            conn.send(body[i * size:(i + 1) * size])
            time.sleep(pause / pieces)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def test_300_offices_upload_over_60_seconds_20_at_a_time(tmp_path):
    port = free_port()
    named = offices(300)
    links = distribute_round(tmp_path, named, port)
    data = reports(tmp_path, named)
    process = start(tmp_path / "轮次", port, tmp_path / "serve.log")
    timings: list[float] = []
    answers: list[tuple[int, dict]] = []
    begin = time.monotonic()

    def one(i: int) -> None:
        time.sleep(max(0.0, begin + i * 0.2 - time.monotonic()))  # 5 a second: 300 over 60 s
        sent = time.monotonic()
        answers.append(post(links[named[i][1]], data[i]))
        timings.append(time.monotonic() - sent)

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:  # at most 20 at a time
            list(pool.map(one, range(len(named))))
    finally:
        stop(process)
    took = time.monotonic() - begin
    assert len(answers) == 300 and all(status == 200 for status, _ in answers), [a for a in answers if a[0] != 200][:3]
    assert sum(a["status"] == "errors" for _, a in answers) == 100
    store = Round.open(tmp_path / "轮次")
    assert sorted(store.versions().values()) == [1] * 300  # every upload recorded, each for its office
    cuts = statistics.quantiles(timings, n=20)
    print(f"\n300 uploads in {took:.1f} s (20 at a time): p50 {statistics.median(timings):.2f} s, p95 {cuts[18]:.2f} s, "
          f"max {max(timings):.2f} s")


def test_killed_mid_upload_the_server_loses_no_recorded_submission_and_keeps_no_half_one(tmp_path):
    port = free_port()
    named = offices(12)
    links = distribute_round(tmp_path, named, port)
    data = reports(tmp_path, named)
    log = tmp_path / "serve.log"
    process = start(tmp_path / "轮次", port, log)
    answered: dict[int, bytes] = {}
    for i in range(3):  # recorded before the crash
        status, answer = post(links[named[i][1]], data[i])
        assert status == 200
        answered[answer["submission"]] = data[i]

    def upload(i: int, pause: float) -> None:
        try:
            status, answer = post(links[named[i][1]], data[i], timeout=30, pause=pause)
            if status == 200:
                answered[answer["submission"]] = data[i]
        except OSError:
            pass  # the server died under it: never answered

    threads = [threading.Thread(target=upload, args=(i, 3.0 if i % 2 else 0.0)) for i in range(3, 12)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the slow ones are halfway through their bodies, the others being checked or stored
    stop(process, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=60)

    db = sqlite3.connect(tmp_path / "轮次" / STORE_FILE)
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    db.close()
    process = start(tmp_path / "轮次", port, log)  # started again on the same store
    try:
        store = Round.open(tmp_path / "轮次")
        kept = {s.id: s for s in store.submissions()}
        assert set(answered) <= set(kept)  # no answered upload is lost
        sent = {hashlib.sha256(d).hexdigest() for d in data}
        for sub in kept.values():  # nothing half-kept: whole bytes of a file sent, with its check result
            assert sub.digest in sent and hashlib.sha256(store.blob(sub.digest)).hexdigest() == sub.digest
            assert sub.result is not None and sub.result["status"] in ("clean", "errors", "warnings", "explained")
        for sub_id, sent_data in answered.items():
            assert store.blob(kept[sub_id].digest) == sent_data
        status, answer = post(links[named[11][1]], data[11])  # and the restarted server takes uploads
        assert status == 200 and answer["submission"] > max(kept)
        print(f"\nkilled with {len(answered)} uploads answered and {len(kept)} kept; {len(kept) - len(answered)} kept but unanswered")
    finally:
        stop(process)
