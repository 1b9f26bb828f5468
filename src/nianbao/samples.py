"""Complete sample reports: every number 0 unless given. Rule cases, examples and benchmarks
start from these, so a sample differs from a clean report only where it says so."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from pathlib import Path

from nianbao.spec import FormSpec

_ZERO = {"count": 0, "delta": 0, "amount": 0, "text": "示例文字"}


def base_values(spec: FormSpec, year: int | None = None) -> dict[str, object]:
    """A complete, consistent report of ``spec`` with every number 0."""
    year = year or spec.year_from
    values: dict[str, object] = {}
    for key, cell in spec.cells.items():
        values[key] = {"year": year, "date": dt.date(year + 1, 1, 20)}.get(cell.type, _ZERO.get(cell.type))
    values["meta.office"] = "示例县人民政府办公室"
    # Sections that say what the notice asks for, so a sample differs from a clean report only where told.
    values |= {k: v for k, v in SECTIONS.items() if k in values}
    return values


SECTIONS = {
    "text.s5": "存在的主要问题：公开内容的规范性有待提高。改进情况：加强业务培训，完善审核制度。",
    "text.s6": "本年度未收取信息处理费。",
}


def fill(spec: FormSpec, path: Path, overrides: dict | None = None, year: int | None = None) -> Path:
    """Build a filled template: the zero report of ``year`` with ``overrides`` by key (None = blank)."""
    from nianbao.template import build

    return build(spec, path, values={k: as_typed(v) for k, v in (base_values(spec, year) | dict(overrides or {})).items()})


ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def as_typed(value: object) -> object:
    """A value as a user types it into Excel: "=1+2" is a formula (saved without its result, as
    by a program that does not calculate) and "#REF!" a formula whose cached result is that error."""
    from nianbao.template import Formula

    if isinstance(value, str) and value.startswith("="):
        return Formula(value)
    if isinstance(value, str) and value in ERROR_CODES:
        return Formula(f"={value}", value)
    return value


# --- Realistic reports with known errors, for batch tests and benchmarks -------------------------

OFFICES = ["人民政府办公室", "发展和改革局", "教育局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局",
           "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "卫生健康委员会",
           "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "城市管理局"]
PLACES = ["东城区", "西城区", "南湖县", "北山县", "青河县", "白云区", "金水区", "临江市", "安宁县", "平阳县"]


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` spread at random over ``parts`` counts."""
    counts = [0] * parts
    for _ in range(total):
        counts[rng.randrange(parts)] += 1
    return counts


def realistic_values(spec: FormSpec, rng: random.Random, office: str, year: int, carry_in: dict | None = None) -> dict:
    """A consistent report: every relation of the rule files holds. ``carry_in`` (column -> count)
    continues last year's report."""
    values = base_values(spec, year)
    values["meta.office"] = office
    values["text.s1"] = f"{year}年，{office}认真贯彻落实《中华人民共和国政府信息公开条例》，依法做好政府信息公开工作。"
    values["text.s5"] = "存在的主要问题：公开的规范性有待提高。改进情况：加强培训，完善制度。"
    t3 = spec.table("t3")
    applicants = [c.key for c in t3.columns if c.key != "total"]
    results = [r.key for r in t3.rows if r.key not in ("new", "carry_in", "r7", "carry_out")]
    for col in applicants:
        # At most 19 in all: consecutive years never differ by the 20 cases the plausibility rules (P1xx) look at.
        new = rng.choice([0, 0, 1, 2, 5, 9]) if col == "natural" else rng.choice([0, 0, 0, 0, 1, 2])
        carried = (carry_in or {}).get(col, 0)
        handled = new + carried
        carry_out = rng.randint(0, min(2, handled))
        values[f"t3.new.{col}"], values[f"t3.carry_in.{col}"] = new, carried
        values[f"t3.r7.{col}"], values[f"t3.carry_out.{col}"] = handled - carry_out, carry_out
        for row, count in zip(results, _split(rng, handled - carry_out, len(results)), strict=True):
            values[f"t3.{row}.{col}"] = count
    for row in t3.rows:
        values[f"t3.{row.key}.total"] = sum(values[f"t3.{row.key}.{c}"] for c in applicants)
    for group in ("review", "direct", "after"):  # no cases where no application came (P103)
        parts = [rng.choice([0, 0, 0, 1, 2]) if values["t3.new.total"] else 0 for _ in range(4)]
        for part, count in zip(("upheld", "corrected", "other", "pending"), parts, strict=True):
            values[f"t4.cases.{group}_{part}"] = count
        values[f"t4.cases.{group}_total"] = sum(parts)
    for key, cell in spec.cells.items():
        if key.startswith("t2."):
            values[key] = {"count": rng.randint(0, 60), "delta": rng.randint(-5, 5),
                           "amount": Decimal(rng.randint(0, 999999)) / 10000}[cell.type]
    if "t2.rules.total_public" in spec.cells:  # 2019 format
        for row in ("rules", "norms"):  # the cumulative count includes this year's
            values[f"t2.{row}.total_public"] += values[f"t2.{row}.published"]
        for row in ("permit", "services", "penalty", "coercion", "fees"):  # no more removed than there were
            values[f"t2.{row}.change"] = max(values[f"t2.{row}.change"], -values[f"t2.{row}.prev_items"])
        if rng.random() < 0.5 or values["t2.procurement.projects"] == 0:
            values["t2.procurement.projects"], values["t2.procurement.amount"] = 0, 0
    return values


def follow_on(spec: FormSpec, before: dict, after: dict) -> None:
    """Make ``after`` (next year's report) continue ``before`` where the cross-year rules look."""
    if "t2.rules.in_force" in spec.cells:
        for row in ("rules", "norms"):
            after[f"t2.{row}.in_force"] = before[f"t2.{row}.in_force"] + after[f"t2.{row}.issued"]
            after[f"t2.{row}.repealed"] = min(after[f"t2.{row}.repealed"], after[f"t2.{row}.in_force"])
            after[f"t2.{row}.in_force"] -= after[f"t2.{row}.repealed"]
    else:
        for row in ("permit", "services", "penalty", "coercion", "fees"):
            after[f"t2.{row}.prev_items"] = before[f"t2.{row}.prev_items"] + before[f"t2.{row}.change"]
            after[f"t2.{row}.change"] = max(after[f"t2.{row}.change"], -after[f"t2.{row}.prev_items"])


def inject(spec: FormSpec, rng: random.Random, values: dict, kind: str) -> list[tuple[str, str]]:
    """Break ``values`` in one known way; returns the (rule, key) findings the checker must report."""
    t3 = spec.table("t3")
    col = rng.choice([c.key for c in t3.columns if c.key != "total"])
    row = rng.choice([r.key for r in t3.rows if r.key not in ("new", "carry_in", "r7", "carry_out")])
    key = f"t3.{row}.{col}"
    if kind == "blank":
        values[key] = None
        return [("C001", key)]
    if kind == "slash":
        values[key] = "/"
        return [("C003", key)]
    if kind == "unit":
        values[key] = f"{values[key]}件"
        return [("C008", key)]
    if kind == "t4":
        values["t4.cases.review_total"] += 1
        return [("B401", "t4.cases.review_total")]
    if kind == "balance":
        values[f"t3.new.{col}"] += 1
        values["t3.new.total"] += 1
        return [("B301", f"t3.new.{col}"), ("B301", "t3.new.total")]
    if kind == "carry":  # this year's 上年结转 no longer matches last year's 结转下年度 (balance kept)
        for k in (f"t3.carry_in.{col}", "t3.carry_in.total", f"t3.carry_out.{col}", "t3.carry_out.total"):
            values[k] += 1
        return [("Y301", f"t3.carry_in.{col}"), ("Y301", "t3.carry_in.total")]
    raise ValueError(kind)


KINDS = ("blank", "slash", "unit", "t4", "balance")


def plan(n: int, seed: int = 0, corrupt: int = 0) -> list[dict]:
    """What to generate: ``n`` reports of both formats, about half in consecutive-year pairs of one
    office, a third with one injected error, and ``corrupt`` unreadable files among them."""
    rng = random.Random(seed)
    jobs: list[dict] = []
    kinds = itertools.cycle(KINDS)  # round robin, so even a small set has every kind
    i = 0
    while len(jobs) < n:
        fmt = rng.choice(["2019", "2021"])
        office = f"{rng.choice(PLACES)}第{i}{rng.choice(OFFICES)}"  # unique, and named as offices are
        year = rng.choice([2019] if fmt == "2019" else [2021, 2022, 2023, 2024])
        pair = len(jobs) + 2 <= n and rng.random() < 0.5
        jobs.append({"format": fmt, "office": office, "year": year, "seed": rng.randrange(2**31),
                     "inject": next(kinds) if rng.random() < 0.33 else None, "name": f"{i:05d}-{year}.xlsx"})
        if pair:
            jobs.append({"format": fmt, "office": office, "year": year + 1, "seed": rng.randrange(2**31),
                         "inject": "carry" if rng.random() < 0.3 else None, "name": f"{i:05d}-{year + 1}.xlsx"})
        i += 1
    for job in rng.sample(jobs, min(corrupt, len(jobs))):
        job["corrupt"] = True
    return jobs


def generate(jobs: list[dict], folder: Path) -> dict[str, dict]:
    """Write the planned reports; returns the manifest: file name -> format, office, year, and the
    expected findings (or ``corrupt``). A pair's second report follows on from the first."""
    from nianbao.spec import load_spec

    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    before: dict | None = None
    before_readable = False
    for job in jobs:
        spec = load_spec(job["format"])
        rng = random.Random(job["seed"])
        follows = before is not None and before["meta.office"] == job["office"] and before["meta.year"] == job["year"] - 1
        carry = {c.key: before[f"t3.carry_out.{c.key}"] for c in spec.table("t3").columns} if follows else None
        values = realistic_values(spec, rng, job["office"], job["year"], carry)
        if follows:
            follow_on(spec, before, values)
        clean = dict(values)
        expected = inject(spec, rng, values, job["inject"]) if job["inject"] else []
        if job["inject"] == "carry" and not (follows and before_readable):
            expected = []  # nothing to compare with: last year's report is missing or unreadable
        path = folder / job["name"]
        if job.get("corrupt"):
            path.write_bytes(b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2000)))
        else:
            from nianbao.template import build

            build(spec, path, values=values)
        manifest[job["name"]] = {"format": spec.id, "office": job["office"], "year": job["year"],
                                 "expected": expected, "corrupt": bool(job.get("corrupt"))}
        before, before_readable = clean, not job.get("corrupt")
    return manifest
