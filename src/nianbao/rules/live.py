"""Rules as live formulas: what the template itself can check as the clerk types, in Excel 2010+,
WPS and LibreOffice, with no macro.

Each rule kind that can be a formula compiles its rules into ``LiveCheck``s (its ``live`` hook calls
the compiler below for its kind). A check is data: the rule, its severity, the cells it is shown on, an Excel
boolean formula that is TRUE when the check fails and an Excel text formula for its message. The
formulas speak of cells by placeholder, never by address; the template layer places the cells
and substitutes:

- ``{v:KEY}``: the value the reader would take from cell KEY ("" when it would read none);
- ``{p:KEY}``: last year's value of KEY, written into the template by distribution ("" if none);
- ``{started}``: TRUE once any number of the tables was entered (a blank cell is flagged only
  then, as the checker reports one C000 instead of every blank cell of an untouched template);
- ``{col:NAME}``: the whole column NAME of the per-cell reading table, in array formulas.

A per-cell check (``per_cell``) is one check on each of its ``keys``, written once as an array
formula over the reading table: its formulas use ``{col:...}`` and only array-safe functions
(IF rather than AND/OR). The reading table (``READING``) mirrors ``nianbao.values.interpret``: for
every input cell, the text as typed, what the number part says, the issue the reader would report
(blank, "/", "15件", full-width digits, ...) and the value it would read.

Everything here uses only functions that Excel 2010, WPS and LibreOffice all have (no TEXTJOIN,
CONCAT, IFS, LET, FILTER, XLOOKUP, dynamic arrays): see ``FUNCTIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nianbao.rules.catalogue import Instance, Rule, RuleSet
from nianbao.rules.expr import Compare, DateOf, Ref, refs, single_refs, to_excel
from nianbao.rules.kinds import kind_of
from nianbao.values import _DASHES, _OTHER_UNITS, _SLASHES, _UNITS, MAX_DIGITS, NORMALISED

# The functions a template formula may use: in Excel 2010, every WPS and LibreOffice alike.
FUNCTIONS = frozenset({
    "ABS", "AND", "CHAR", "CHOOSE", "COLUMN", "COUNT", "DATE", "DAY", "ERROR.TYPE", "EXACT", "FIND", "HYPERLINK", "IF",
    "IFERROR", "INDEX", "INT", "ISBLANK", "ISERROR", "ISLOGICAL", "ISNUMBER", "ISTEXT", "LEFT", "LEN", "MAX", "MID", "MOD",
    "MONTH", "NOT", "OR", "RIGHT", "ROUND", "ROW", "SMALL", "SUBSTITUTE", "SUM", "SUMPRODUCT", "TEXT", "TRIM", "VALUE", "YEAR",
})


@dataclass(frozen=True)
class LiveCheck:
    """One check the template makes as the clerk types."""

    rule: str
    severity: str
    keys: tuple[str, ...]  # the cells it is shown on, main cell first; per_cell: every cell it is made on, one check each
    fails: str  # Excel boolean formula, TRUE when the check fails
    message: str  # Excel text formula: what the 自查结果 line says (both sides and which is larger)
    per_cell: bool = False
    known: str = "TRUE"  # Excel boolean: the check can be assessed (its cells are filled)
    short: str = '""'  # Excel text for a verdict cell when failing, e.g. "左边多 1"
    pending: str = '""'  # Excel text for a verdict cell that cannot be assessed yet, e.g. "未提供上年数据"


def _text(s: str) -> str:
    """A string literal in a formula."""
    return '"' + s.replace('"', '""') + '"'


def _any(terms: list[str]) -> str:
    """Array-safe OR of boolean terms (AND/OR aggregate an array)."""
    return "((" + ")+(".join(terms) + "))>0"


_CONTROL = {"\n": "CHAR(10)", "\r": "CHAR(13)", "\t": "CHAR(9)"}  # line breaks and tabs, never literal in a formula


def _literal(s: str) -> str:
    return _CONTROL.get(s) or _text(s)


def _substitute_all(expr: str, pairs) -> str:
    for old, new in pairs:
        expr = f"SUBSTITUTE({expr},{_literal(old)},{_literal(new)})"
    return expr


def _no_digits(expr: str) -> str:
    return _substitute_all(expr, ((d, "") for d in "0123456789"))


_FOLD = [(chr(0xFF10 + i), str(i)) for i in range(10)] + [("．", "."), ("－", "-"), ("＋", "+"), ("，", ""), ("　", ""), ("％", "%")]
_OWN = {"count": "件条项个次", "delta": "件条项个"}  # checked against values._UNITS below


def _one_of(expr: str, options) -> str:
    return _any([f"{expr}={_text(o)}" for o in sorted(options)])


def _own_unit(type_col: str) -> str:
    """1 where the unit found is the one the cell's type takes (values._UNITS): "15件" in a count cell."""
    parts = []
    for cell_type, units in _UNITS.items():
        singles = "".join(u for u in units if len(u) == 1)
        longer = [u for u in units if len(u) > 1]
        tests = ([f'({{col:ulen}}=1)*ISNUMBER(FIND(RIGHT({{col:folded}},1),{_text(singles)}))'] if singles else [])
        tests += [f'({{col:ulen}}={len(u)})*(RIGHT({{col:folded}},{len(u)})={_text(u)})' for u in longer]
        parts.append(f'IF({type_col}={_text(cell_type)},{"+".join(tests)},0)')
    return "(" + "+".join(parts) + ")>0"


def _reading() -> list[tuple[str, str]]:
    """The reading table's columns (name, array formula), in order; ``{col:gather}`` is the cell's
    content as typed (the template's own column), ``{col:type}`` its type."""
    g, f = "{col:gather}", "{col:folded}"
    longest = max(len(u) for u in _OTHER_UNITS)
    unit_chars = "".join(sorted({u for u in _OTHER_UNITS if len(u) == 1} | {"%"}))
    ulen = f"IF(RIGHT({f},2)=\"万元\",2,IF(ISNUMBER(FIND(RIGHT({f},1),{_text(unit_chars)})),1,0))"
    assert longest == 2 and all(len(u) == 1 or u == "万元" for u in _OTHER_UNITS)
    unsigned = "{col:unsigned}"
    one_dot = f'SUBSTITUTE({unsigned},".","",1)'
    valid = (f'IF(LEN({unsigned})=0,FALSE,IF(LEN({{col:num}})>{2 * MAX_DIGITS},FALSE,IF(LEFT({unsigned},1)=".",FALSE,'
             f'IF(RIGHT({unsigned},1)=".",FALSE,LEN({_no_digits(one_dot)})=0))))')
    ds0 = _substitute_all(f, (("年", "-"), ("月", "-"), ("/", "-"), (".", "-")))
    ds = "{col:ds}"
    no_dash = f'SUBSTITUTE({ds},"-","")'
    dvalid = (f'IF(LEN({ds})<8,FALSE,IF(LEN({ds})>10,FALSE,IF(MID({ds},5,1)<>"-",FALSE,IF(LEN({ds})-LEN(SUBSTITUTE({ds},"-",""))<>2,'
              f'FALSE,IF(LEN({_no_digits(no_dash)})>0,FALSE,'
              f'IF({{col:dsep}}<7,FALSE,IF({{col:dsep}}>8,FALSE,IF(LEN({ds})-{{col:dsep}}<1,FALSE,LEN({ds})-{{col:dsep}}<=2))))))))')
    date = (f'IF({{col:dvalid}},DATE(LEFT({ds},4),MID({ds},6,{{col:dsep}}-6),MID({ds},{{col:dsep}}+1,2)),"")')
    dval = (f'IF(ISNUMBER({{col:dparse}}),IF(YEAR({{col:dparse}})<>VALUE(LEFT({ds},4)),"",IF(MONTH({{col:dparse}})<>'
            f'VALUE(MID({ds},6,{{col:dsep}}-6)),"",IF(DAY({{col:dparse}})<>VALUE(MID({ds},{{col:dsep}}+1,2)),"",{{col:dparse}}))),"")')
    slash, dash = _one_of("{col:trim}", _SLASHES), _one_of("{col:trim}", _DASHES)
    nonnum = f'IF(({{col:digits}}>{MAX_DIGITS})*({{col:digits}}>=LEN({f})-2),"too_large","text")'
    number_issue = (f'IF(ISNUMBER({g}),IF(ABS({g})>=1E{MAX_DIGITS},"too_large",""),IF({slash},"slash",IF({dash},"dash",'
                    f'IF({{col:ulen}}>0,IF({{col:valid}},IF({{col:own}},"unit","wrong_unit"),{nonnum}),'
                    f'IF({{col:valid}},IF(ABS({{col:number}})>=1E{MAX_DIGITS},"too_large",IF(EXACT({{col:text}},{f}),"text_number","fullwidth")),'
                    f'{nonnum})))))')
    date_issue = (f'IF(ISNUMBER({g}),IF(({g}>20000)*({g}<80000),"","text"),IF(ISNUMBER({{col:dvalue}}),"text_date",'
                  f'IF({slash},"slash",IF({dash},"dash","text"))))')
    issue = (f'IF(ISERROR({g}),"error_value",IF(ISLOGICAL({g}),IF({{col:type}}="text","","text"),'
             f'IF(IF(ISTEXT({g}),{{col:trim}}="",FALSE),"blank",IF(ISBLANK({g}),"blank",IF({g}="","blank",'
             f'IF({{col:type}}="text","",IF({{col:type}}="date",{date_issue},{number_issue})))))))')
    read = _any(['{col:issue}=""'] + [f"{{col:issue}}={_text(i)}" for i in sorted(NORMALISED)])
    value = (f'IF({read},IF({{col:type}}="text",{g},IF({{col:type}}="date",IF(ISNUMBER({g}),INT({g}),{{col:dvalue}}),'
             f'IF(ISNUMBER({g}),{g},{{col:number}}))),"")')
    codes = ",".join(_text(c) for c in ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
    raw = f'IF(ISERROR({g}),IFERROR(CHOOSE(ERROR.TYPE({g}),{codes}),"错误值"),{g}&"")'
    unit = 'RIGHT({col:folded},{col:ulen})'
    detail = ('IF({col:issue}="unit","“"&{col:raw}&"”按 "&{col:value}&" 读取（去掉单位“"&' + unit + '&"”）",'
              'IF({col:issue}="fullwidth","全角字符“"&{col:raw}&"”按 "&{col:value}&" 读取",'
              'IF({col:issue}="text_number","以文本形式填写的“"&{col:raw}&"”按 "&{col:value}&" 读取",'
              'IF({col:issue}="text_date","以文本形式填写的日期“"&{col:raw}&"”已按日期读取",'
              'IF({col:issue}="wrong_unit","“"&{col:raw}&"”带单位“"&' + unit + '&"”，与本栏要求不符",{col:raw})))))')
    blanks = _substitute_all(f"IF(ISTEXT({g}),{g},\"\")", (("　", " "), ("\n", " "), ("\r", " "), ("\t", " ")))
    return [
        ("text", f'IF(ISTEXT({g}),SUBSTITUTE(SUBSTITUTE({g}," ",""),",",""),"")'),
        ("trim", f"TRIM({blanks})"),
        ("folded", _substitute_all("{col:text}", _FOLD)),
        ("ulen", f'IF(LEN({f})=0,0,{ulen})'),
        ("num", f"LEFT({f},LEN({f})-{{col:ulen}})"),
        ("unsigned", 'MID({col:num},1+(LEFT({col:num},1)="+")+(LEFT({col:num},1)="-"),99)'),
        ("valid", valid),
        ("number", 'IF({col:valid},VALUE({col:num}),"")'),
        ("own", _own_unit("{col:type}")),
        ("digits", f"LEN({f})-LEN({_no_digits(f)})"),
        ("ds0", ds0),
        ("ds", 'IF(RIGHT({col:ds0},1)="日",LEFT({col:ds0},LEN({col:ds0})-1),{col:ds0})'),
        ("dsep", 'IFERROR(FIND("-",{col:ds},6),0)'),
        ("dvalid", dvalid),
        ("dparse", f"IFERROR({date},\"\")"),
        ("dvalue", f"IFERROR({dval},\"\")"),
        ("issue", issue),
        ("value", value),
        ("raw", raw),
        ("detail", detail),
    ]


def _date_text(expr: str) -> str:
    """A date serial as 2025-01-31, whatever the locale (TEXT with a date code is not portable)."""
    return f'YEAR({expr})&"-"&TEXT(MONTH({expr}),"00")&"-"&TEXT(DAY({expr}),"00")'


assert all(set(_UNITS[t]) == set(_OWN[t]) for t in _OWN)
READING = _reading()


# ------------------------------------------------------------------------------------------ relation


def _kind_of(ruleset: RuleSet, ref: Ref) -> str:
    cell = ruleset.spec.cells[ref.key]
    return "date" if cell.type == "date" else "text" if cell.type == "text" else "number"


def _place(ref: Ref) -> str:
    return f"{{{'p' if ref.prev else 'v'}:{ref.key}}}"


def _years(node) -> list:
    if isinstance(node, DateOf):
        return [node.year]
    if isinstance(node, Compare):
        return _years(node.left) + _years(node.right)
    return []


def _known(node, ruleset: RuleSet) -> str:
    """TRUE when every cell the comparison reads has a value (numbers and dates by one COUNT)."""
    cells = list(dict.fromkeys(refs(node)))
    numbers = [_place(r) for r in cells if _kind_of(ruleset, r) != "text"]
    terms = [f"COUNT({','.join(numbers)})={len(numbers)}"] if numbers else []
    terms += [f"LEN({_place(r)})>0" for r in cells if _kind_of(ruleset, r) == "text"]
    terms += [f"INT({to_excel(y, _place)})>=1" for y in _years(node)] + [f"INT({to_excel(y, _place)})<=9999" for y in _years(node)]
    return "TRUE" if not terms else terms[0] if len(terms) == 1 else f"AND({','.join(terms)})"


def _is_date(ruleset: RuleSet, node) -> bool:
    return isinstance(node, DateOf) or (isinstance(node, Ref) and _kind_of(ruleset, node) == "date")


class _NotLive(Exception):
    """A rule a formula cannot check as the engine does."""


def _day_number(ruleset: RuleSet, node) -> str:
    """A date as the number yyyymmdd: dates compare so for any year (the engine's dates reach year 1,
    a spreadsheet's DATE() does not)."""
    if isinstance(node, DateOf):
        return f"INT({to_excel(node.year, _place)})*10000+{node.month * 100 + node.day}"
    if isinstance(node, Ref):
        v = _place(node)
        return f"(YEAR({v})*10000+MONTH({v})*100+DAY({v}))"
    raise _NotLive


def _sides(part: Compare, ruleset: RuleSet) -> tuple[str, str, bool]:
    """(left, right, text comparison) of a comparison, as formulas."""
    kinds = {_kind_of(ruleset, r) for r in refs(part)}
    if _is_date(ruleset, part.left) or _is_date(ruleset, part.right):
        return _day_number(ruleset, part.left), _day_number(ruleset, part.right), False
    if "text" not in kinds:
        return to_excel(part.left, _place), to_excel(part.right, _place), False
    if part.op in ("==", "!=") and isinstance(part.left, Ref) and isinstance(part.right, Ref) and kinds == {"text"}:
        return f"TRIM({_place(part.left)})", f"TRIM({_place(part.right)})", True
    raise _NotLive


def _holds(part: Compare, ruleset: RuleSet, tolerance: str) -> str:
    left, right, text = _sides(part, ruleset)
    if text:
        same = f"EXACT({left},{right})"
        return same if part.op == "==" else f"NOT({same})"
    diff = f"(({left})-({right}))"
    return {"==": f"ABS{diff}<={tolerance}", "!=": f"ABS{diff}>{tolerance}", "<=": f"{diff}<={tolerance}",
            ">=": f"{diff}>=-{tolerance}", "<": f"{diff}<-{tolerance}", ">": f"{diff}>{tolerance}"}[part.op]


def _fires(parts: tuple[Compare, ...], ruleset: RuleSet, tolerance: str) -> str:
    """As the engine assesses ``a and b``: the first comparison that fails, once its cells are known."""
    if not parts:
        return "FALSE"
    head = parts[0]
    return f"IF({_known(head, ruleset)},IF({_holds(head, ruleset, tolerance)},{_fires(parts[1:], ruleset, tolerance)},TRUE),FALSE)"


def _guard(instance: Instance, ruleset: RuleSet, tolerance: str) -> str:
    """TRUE when every ``when`` of the instance holds (and its cells are known)."""
    formula = "TRUE"
    for part in reversed([p for w in instance.when for p in w.parts]):
        formula = f"IF({_known(part, ruleset)},IF({_holds(part, ruleset, tolerance)},{formula},FALSE),FALSE)"
    return formula


def _shown(ruleset: RuleSet, node) -> str:
    """A side of a comparison as a message shows it."""
    if isinstance(node, DateOf):
        return f'INT({to_excel(node.year, _place)})&"-{node.month:02d}-{node.day:02d}"'
    if _is_date(ruleset, node):
        return _date_text(to_excel(node, _place))
    if isinstance(node, Ref) and _kind_of(ruleset, node) == "text":
        return _place(node)
    return f"({to_excel(node, _place)})&\"\""


def _message(template: str, params: dict[str, str]) -> str:
    """A rule's message as a text formula: literal parts and ``params`` (formulas) for placeholders."""
    import re

    pieces, pos = [], 0
    for match in re.finditer(r"\{([A-Za-z_][\w.]*)\}", template):
        if match.start() > pos:
            pieces.append(_text(template[pos:match.start()]))
        pieces.append(params.get(match.group(1), _text(match.group(0))))
        pos = match.end()
    if pos < len(template):
        pieces.append(_text(template[pos:]))
    return "&".join(pieces) or '""'


def _first_failing(instance: Instance) -> Compare:
    return instance.condition.parts[0]


def _relation_check(rule: Rule, instance: Instance, ruleset: RuleSet) -> LiveCheck:
    tolerance = format(rule.tolerance, "f")
    fires = _fires(instance.condition.parts, ruleset, tolerance)
    guard = _guard(instance, ruleset, tolerance)
    part = _first_failing(instance)
    left, right, text = _sides(part, ruleset)
    labels = {k: _text(str(v)) for k, v in instance.labels.items()}
    params = labels | {"left": _shown(ruleset, part.left), "right": _shown(ruleset, part.right)}
    short = '"不成立"'
    if not text and not _is_date(ruleset, part.left):
        d = f"(({left})-({right}))"
        params["diff"] = f'ABS{d}&IF({d}>0,"（左边多）","（右边多）")'
        short = f'IF({d}>0,"左边多 ","右边多 ")&ABS{d}'
    every = [part for w in instance.when for part in w.parts] + list(instance.condition.parts)
    known = "AND(" + ",".join(_known(p, ruleset) for p in every) + ")" if len(every) > 1 else _known(every[0], ruleset)
    prev = [r for p in every for r in refs(p) if r.prev]
    pending = (f'IF(AND({",".join(f"LEN({_place(r)})>0" for r in dict.fromkeys(prev))}),"","未提供上年数据")' if prev else '""')
    return LiveCheck(rule.id, rule.severity, instance.show, f"IF({guard},{fires},FALSE)", _message(rule.message, params),
                     known=f"IF({guard},{known},FALSE)" if instance.when else known, short=short, pending=pending)


def live_relation(rule: Rule, ruleset: RuleSet) -> list[LiveCheck]:
    """A relation (B rules; Y301 and the other cross-year rules against last year's values written
    into the template; F rules on the year and the publication date)."""
    try:
        return [_relation_check(rule, i, ruleset) for i in ruleset.instances[rule.id]]
    except _NotLive:
        return []


# ------------------------------------------------------------------------------------------ cell, schema


def _applies(rule: Rule, ruleset: RuleSet) -> tuple[str, ...]:
    return tuple(k for k, c in ruleset.spec.cells.items()
                 if (not rule.types or c.type in rule.types) and (c.required or not rule.required_only))


_NOT_LIVE_ISSUES = {"formula_no_cache", "missing", "absent", "structure", "unfilled"}  # never in a template being typed in


def live_cell(rule: Rule, ruleset: RuleSet) -> list[LiveCheck]:
    """A cell rule: the reader's issue in one cell ("/", "15件", a blank once the table is started)."""
    if set(rule.issue) & _NOT_LIVE_ISSUES or not rule.issue:
        return []
    keys = _applies(rule, ruleset)
    fails = "+".join(f'({{col:issue}}={_text(i)})' + ("*{started}" if i == "blank" else "") for i in rule.issue)
    message = _message(rule.message, {"label": "{col:label}", "raw": "{col:raw}", "detail": "{col:detail}"})
    return [LiveCheck(rule.id, rule.severity, keys, f"({fails})>0", message, per_cell=True)] if keys else []


def _schema_fails(rule: Rule) -> str:
    v = "{col:value}"
    if rule.schema == "integer":
        test = f"ABS({v}-ROUND({v},0))>=1E-9"
    elif rule.schema == "non_negative":
        test = f"{v}<0"
    elif rule.schema == "max_decimals":
        scale = 10 ** int(rule.param)
        test = f"ABS({v}*{scale}-ROUND({v}*{scale},0))>=1E-6"
    else:  # year_range
        low, high = rule.param
        test = f"(({v}<{low})+({v}>{high}))>0"
    return f"IF(ISNUMBER({v}),{test},FALSE)"


def live_schema(rule: Rule, ruleset: RuleSet) -> list[LiveCheck]:
    """A value-range rule (V): on every number of its types the reader reads."""
    keys = tuple(k for k in _applies(rule, ruleset) if ruleset.spec.cells[k].numeric)
    message = _message(rule.message, {"label": "{col:label}", "actual": '{col:value}&""'})
    return [LiveCheck(rule.id, rule.severity, keys, _schema_fails(rule), message, per_cell=True)] if keys else []


# ------------------------------------------------------------------------------------------ mention

_PUNCTUATION = "，。、；：？！“”‘’（）《》〈〉【】—…·「」『』,.;:?!\"'()[]{}<>-/\\%*#@&+=~^|`_"


def _plain(keys: tuple[str, ...]) -> str:
    """The text of sections as the engine reads words in it: without spaces and line breaks."""
    joined = "&".join(f"{{v:{k}}}&\"\"" for k in keys)
    return _substitute_all(f"({joined})", ((" ", ""), ("\n", ""), ("\r", ""), ("\t", ""), ("　", "")))


def live_mention(rule: Rule, ruleset: RuleSet) -> list[LiveCheck]:
    """A mention rule (N102, N103): the section says too little, or none of the words."""
    (instance,) = ruleset.instances[rule.id]
    text = _plain(rule.text)
    marks = "{" + ",".join(_text(c) for c in _PUNCTUATION) + "}"
    said = f"LEN({text})-SUMPRODUCT(LEN({text})-LEN(SUBSTITUTE({text},{marks},\"\")))"
    found = f"SUMPRODUCT(--ISNUMBER(FIND({{{','.join(_text(w) for w in rule.words)}}},{text})))>0"
    silent = f"OR({said}<{rule.min_chars},NOT({found}))" if rule.min_chars else f"NOT({found})"
    filled = "OR(" + ",".join(f"LEN({{v:{k}}})>0" for k in rule.text) + ")"
    try:
        guard = _guard(instance, ruleset, "0")  # a mention rule's guard is compared exactly
    except _NotLive:
        return []
    keys = (rule.text[0], *(r.key for r in (single_refs(instance.when[0].parts[0]) if instance.when else ())))
    params = {"text": _text(ruleset.spec.cells[rule.text[0]].label)}
    if instance.when:
        params["left"] = _shown(ruleset, instance.when[0].parts[0].left)
    fails = f"IF({filled},IF({guard},{silent},FALSE),FALSE)"
    return [LiveCheck(rule.id, rule.severity, keys, fails, _message(rule.message, params))]


def live_checks(ruleset: RuleSet) -> list[LiveCheck]:
    """Every live check of a rule set, rule by rule in the rule files' order."""
    checks: list[LiveCheck] = []
    for rule in ruleset.rules:
        checks += kind_of(rule).live(rule, ruleset)
    return checks


def previous_keys(checks: list[LiveCheck]) -> list[str]:
    """Last year's cells the checks read: what distribution writes into the template."""
    import re

    found: dict[str, None] = {}
    for check in checks:
        for text in (check.fails, check.message, check.known, check.pending):
            found.update(dict.fromkeys(re.findall(r"\{p:([\w.]+)\}", text)))
    return list(found)
