"""Measure copied-report detection (rules Y403) on a batch of N reports: the time to find the
nearly identical sections among all of them, against comparing every pair, and whether exactly
the planted copies are found.

    python benchmarks/similarity.py --reports 3000 --copies 30
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

from nianbao.rules.catalogue import ruleset
from nianbao.rules.kinds.base import BatchReport
from nianbao.rules.similarity import batch_repeats, jaccard
from nianbao.spec import load_spec
from nianbao.values import Values

# Phrases of the kind these sections are made of; each report strings its own random choice together.
SUBJECTS = ["政策解读", "依申请公开", "政务新媒体", "政府网站", "基层政务公开", "重点领域信息公开", "公开目录", "答复书",
            "政务公开专区", "政府开放日", "公众参与", "建议提案办理结果", "行政执法公示", "财政预决算", "重大行政决策"]
PROBLEMS = ["的形式还不够丰富", "的规范性有待提高", "更新不够及时", "的标准化建设推进不平衡", "的内容深度不够",
            "的时效性有待加强", "的覆盖面还不够广", "的审核把关还需加强", "的渠道利用不足", "的队伍专业化水平不高"]
ACTIONS = ["组织专题培训", "完善工作制度", "开展专项检查", "建立通报机制", "优化栏目设置", "加强督促指导", "细化公开清单",
           "强化考核评估", "推进标准化建设", "拓展解读形式"]


def section(rng: random.Random) -> str:
    """A 五 section of 100–200 characters (shorter ones are not compared: min_chars)."""
    problems = "；".join(f"{rng.choice(SUBJECTS)}{rng.choice(PROBLEMS)}" for _ in range(rng.randint(4, 6)))
    actions = "，".join(f"{rng.choice(ACTIONS)}{rng.randint(1, 12)}次" for _ in range(rng.randint(4, 6)))
    return f"存在的主要问题：{problems}。改进情况：{rng.randint(2021, 2025)}年将{actions}，{rng.choice(SUBJECTS)}工作将进一步加强。"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--copies", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(3)
    texts = [section(rng) for _ in range(args.reports)]
    planted = set()
    chosen = rng.sample(range(args.reports), 2 * args.copies)  # each report in at most one planted pair
    for source, target in zip(chosen[::2], chosen[1::2], strict=True):  # a copy with its numbers changed
        texts[target] = "".join(str(rng.randint(1, 9)) if ch.isdigit() else ch for ch in texts[source])
        planted.add((min(source, target), max(source, target)))
    rules = ruleset(load_spec("2021"))
    spec = load_spec("2021")
    reports = [BatchReport(rules, Values(spec, {"text.s5": t}), f"r{i}") for i, t in enumerate(texts)]
    start = time.perf_counter()
    found = batch_repeats(reports)
    seconds = time.perf_counter() - start
    pairs = {tuple(sorted((i, int(other[1:])))) for i, hits in found.items() for h in hits for other in h.params["detail"].split("、")}
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.reports} reports, {args.copies} copies planted")
    print(f"find nearly identical 五 sections (MinHash + LSH, then exact): {seconds:.2f} s")
    print(f"pairs found {len(pairs)}: planted found {len(planted & pairs)} of {len(planted)}, others {len(pairs - planted)}")
    sample = rng.sample(range(args.reports), 200)
    start = time.perf_counter()
    for i in sample:
        for j in sample:
            if i < j:
                jaccard(texts[i], texts[j])
    per_pair = (time.perf_counter() - start) / (len(sample) * (len(sample) - 1) / 2)
    every = per_pair * args.reports * (args.reports - 1) / 2
    print(f"comparing every pair instead: {per_pair * 1e6:.1f} µs a pair, {every:.0f} s for all {args.reports * (args.reports - 1) // 2} pairs")


if __name__ == "__main__":
    main()
