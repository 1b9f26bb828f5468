"""``peer``: a report's share (``value`` / ``per``) far above the median of the other reports of a
batch (``factor``, ``min_count``, ``min_peers``). The BATCH stage; the comparison is in rules/peers.py."""

from __future__ import annotations

from nianbao.rules.compile import check_syntax, compile_expressions
from nianbao.rules.kinds.base import Field, Kind, Stage, register


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


@register
class Peer(Kind):
    name = "peer"
    title = "与同一批报告比较"
    fields = {
        "value": Field((str,), required=True, doc="分子：表达式"),
        "per": Field((str,), required=True, doc="分母：表达式（value / per 为比例）"),
        "factor": Field((int, float), required=True, convert=float, doc="比例超过同批中位数的多少倍"),
        "min_count": Field((int,), required=True, doc="分子小于此数时不提示"),
        "min_peers": Field((int,), required=True, doc="同批报告少于此数时不比较"),
        "cells": Field((list,), default=(), convert=tuple, doc="发现标在哪些单元格"),
    }
    placeholders = frozenset({"left", "share", "median", "peers", "times"})

    def validate(self, rule):
        for name in ("factor", "min_count", "min_peers"):
            if not _positive(getattr(rule, name)):
                return f"peer 规则需要 {name}（正数）"
        return check_syntax(rule, [f"{rule.value} == {rule.per}"])

    def stage(self, rule):
        return Stage.BATCH

    def compile(self, rule, spec):
        return tuple(compile_expressions(rule, spec, f"{rule.value} == {rule.per}", cells=rule.cells))

    def batch(self, reports):
        from nianbao.rules.peers import peer_outliers

        return peer_outliers(reports)

    def expression(self, rule):
        return "\n".join([f"value: {rule.value}", f"per: {rule.per}",
                          f"factor: {rule.factor:g}; min_count: {rule.min_count}; min_peers: {rule.min_peers}"])
