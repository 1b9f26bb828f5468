"""Loaded once into the server's forkserver (``multiprocessing.set_forkserver_preload``): every
form's spec and rules are compiled and one template is checked and annotated here, so that each
worker forked for an upload starts with these caches warm instead of compiling them again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nianbao.annotate import annotate
from nianbao.pipeline import check
from nianbao.rules.catalogue import ruleset
from nianbao.samples import base_values
from nianbao.spec import all_specs
from nianbao.template import build


def warm() -> None:
    for spec in all_specs():
        ruleset(spec)
        with tempfile.TemporaryDirectory(prefix="nianbao-warm-") as tmp:
            path = build(spec, Path(tmp, "warm.xlsx"), values=base_values(spec, spec.year_from) | {"meta.office": "某县人民政府"})
            result = check(path)
            annotate(path, result.findings, Path(tmp, "warm.检查.xlsx"), result.stale, result.reading)


try:
    warm()
except Exception:  # noqa: BLE001 - only a head start: a worker that starts cold compiles what it needs itself
    pass
