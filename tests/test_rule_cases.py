"""Every rule's pass/fail cases, run through real workbooks (like sqlfluff's rule fixtures)."""

from __future__ import annotations

import pytest

from nianbao.rulecases import all_cases, run_case
from nianbao.rules.catalogue import all_rules

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(case):
    assert run_case(case) is None


def test_every_rule_has_a_passing_and_a_failing_case():
    for rule in all_rules():
        outcomes = {c.outcome for c in CASES if c.rule.id == rule.id and c.rule.file == rule.file}
        assert outcomes == {"pass", "fail"}, rule.id


def test_every_rule_runs_in_some_format():
    covered = {(c.rule.id, c.rule.file) for c in CASES}
    assert covered == {(r.id, r.file) for r in all_rules()}
