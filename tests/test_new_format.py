"""A new official revision is two YAML files and no code: the synthetic format in tests/formats (gov-2021
copied to 2099, with a seventh section and its table 表五), loaded through NIANBAO_FORMATS, builds its
templates, reads back, compiles, passes its rule cases and is recognised by the importer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FORMATS = Path(__file__).parent / "formats"
ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh process: formats, rule files and their compiled forms are cached per process.
SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from nianbao.importers import read_report
from nianbao.pipeline import check
from nianbao.read import read_workbook
from nianbao.rules.catalogue import ruleset
from nianbao.samples import base_values, fill
from nianbao.spec import all_specs, load_spec, spec_for_year
from tests.render import to_text

tmp = Path(sys.argv[1])
spec = load_spec("2099")
assert [s.id for s in all_specs()] == ["gov-2019", "gov-2021", "gov-2099"], [s.id for s in all_specs()]
assert spec_for_year(2099) is spec and spec_for_year(2025).id == "gov-2021"
assert len(ruleset(spec).instances["B901"]) == 2
values = base_values(spec) | {{"t5.own.sessions": 2, "t5.higher.sessions": 1, "t5.total.sessions": 3}}
zero = fill(spec, tmp / "zero.xlsx", values)
read = read_workbook(zero)
assert read.spec is spec and not read.issues, read.issues
assert {{k: read.data[k] for k in values}} == values
assert check(zero).findings == []
wrong = check(fill(spec, tmp / "wrong.xlsx", values | {{"t5.total.sessions": 4}}))
assert [f.rule for f in wrong.findings] == ["B901"], [f.rule for f in wrong.findings]
imported = read_report(to_text(spec, values, tmp / "report.txt"))
assert imported.spec is spec and imported.data["t5.total.sessions"] == 3 and not imported.unread, imported.unread
print("ok")
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"NIANBAO_FORMATS": str(FORMATS)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def test_a_format_from_two_yaml_files_builds_reads_checks_and_imports(tmp_path):
    run = _run("-c", SCRIPT.format(root=str(ROOT)), str(tmp_path), cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


def test_its_templates_build_with_and_without_buttons(tmp_path):
    for name, extra in (("t.xlsx", ()), ("t.xlsm", ("--macro",))):
        run = _run("-m", "nianbao", "template", "--format", "2099", *extra, "-o", str(tmp_path / name), cwd=tmp_path)
        assert run.returncode == 0 and (tmp_path / name).stat().st_size > 0, run.stderr


@pytest.mark.slow
def test_its_rule_cases_pass(tmp_path):
    run = _run("-m", "nianbao", "rules", "test", cwd=tmp_path)
    assert run.returncode == 0 and "0 failed" in run.stdout, run.stdout[-3000:]
