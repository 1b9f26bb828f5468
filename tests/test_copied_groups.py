"""Y403 in a county round (issue 19): offices sharing one standard text form a group and get one
提示 each naming it, not one per other office; a standard paragraph inside otherwise different
sections is what the batch has in common, not copying. Y402 has a floor: small tables repeat."""

from __future__ import annotations

import random

from nianbao.batch import check_many
from nianbao.rules.catalogue import ruleset
from nianbao.rules.kinds.base import BatchReport
from nianbao.rules.similarity import batch_repeats
from nianbao.samples import base_values
from nianbao.spec import load_spec
from nianbao.template import build
from nianbao.values import Values

SPEC = load_spec("2021")
RULES = ruleset(SPEC)


def repeats(data: list[dict]) -> dict:
    """Y403 over reports with these cells, as the batch stage sees them."""
    return batch_repeats([BatchReport(RULES, Values(SPEC, d), f"{i}.xlsx") for i, d in enumerate(data)])

STANDARD = ("本年度，我单位在县委、县政府的坚强领导下，坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的二十大精神，"
            "认真贯彻落实《中华人民共和国政府信息公开条例》和上级关于政务公开工作的部署要求，围绕中心、服务大局，"
            "以公开促落实、以公开强监管、以公开优服务，持续深化决策、执行、管理、服务、结果公开，不断提升政务公开标准化规范化水平，"
            "切实保障人民群众的知情权、参与权、表达权和监督权，为推动全县经济社会高质量发展营造了良好环境。")
WORDS = "教育卫生民政交通水利农业林业住建财政审计统计市场监管生态环境应急管理文化旅游人力社保医疗保障自然资源退役军人"


def own_text(rng: random.Random) -> str:
    """A sentence of an office's own, made of random words, numbers and all (longer than 100 characters)."""
    return "".join(rng.choice(WORDS) + rng.choice("工作项目制度平台事项专栏") + rng.choice("，；。") for _ in range(40))


def test_one_standard_text_makes_one_group_and_one_hit_per_office():
    rng = random.Random(19)
    texts = [STANDARD] * 28 + [own_text(rng), own_text(rng)]
    data = [{"meta.office": f"某县第{i + 1}局", "text.s1": t} for i, t in enumerate(texts)]
    found = repeats(data)
    assert sorted(found) == list(range(28))
    assert all(len(hits) == 1 for hits in found.values())
    (hit,) = found[0]
    assert hit.params["count"] == 27 and hit.params["detail"].count("、") == 9 and "等 27 个" in hit.params["detail"]
    assert hit.params["found"].count("、") == 27  # the whole group, for the summary


def test_a_standard_paragraph_in_otherwise_different_sections_is_no_copy():
    rng = random.Random(7)
    paragraph = STANDARD * 3  # long enough that whole sections are over 80% alike
    texts = [paragraph + own_text(rng)[:90] for _ in range(10)]
    data = [{"meta.office": f"某县第{i + 1}局", "text.s1": t} for i, t in enumerate(texts)]
    assert repeats(data) == {}
    texts[3] = texts[2]  # two of them the same beyond it too: those two are copies
    data = [{"meta.office": f"某县第{i + 1}局", "text.s1": t} for i, t in enumerate(texts)]
    found = repeats(data)
    assert sorted(found) == [2, 3] and found[2][0].params["detail"] == "某县第4局"


def test_y402_leaves_small_tables_alone(tmp_path):
    small = {"t4.cases.review_upheld": 2, "t4.cases.review_total": 2}
    for year in (2024, 2025):
        build(SPEC, tmp_path / f"{year}.xlsx", values=base_values(SPEC, year) | {"meta.office": "某县林业局"} | small)
    results = check_many([tmp_path], copies="none", jobs=1)
    assert not [f for r in results for f in r.findings if f.rule == "Y402"]
    assert RULES.get("Y402").min_count == 5
