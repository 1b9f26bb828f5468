"""A table's rows in a published document, found by their labels, never by position alone.

The cells of a region are read in order. Text cells gather into a label; a run of value cells
then belongs to the label that ends the text before it. A row's values are on the label's own
line (the cells' positions are evidence: a blank cell is a blank value) or, when the label stands
alone, on the following lines. A value row is given to a label only when nothing else could claim
it: not after a label left without values (labels printed as loose lines, values on rows of their
own, as scrambled PDF-to-Markdown text prints them), not where values stand with no label at all.
A label printed inside a sentence ("……上年结转政府信息公开申请2件") is a mention, not the row.
Anything else is not guessed: the row's cells are listed as missing, with what was seen.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from functools import cache
from itertools import accumulate, takewhile

from nianbao.findings import Hit
from nianbao.importers.document import Cell
from nianbao.importers.runs import Sums, split_groups
from nianbao.importers.text import is_value, norm
from nianbao.spec import Column, FormSpec, Table
from nianbao.values import MAX_DIGITS

_MIN_PREFIX = 10  # a label wrapped over lines is recognised by a unique prefix this long
_LONGEST_PREFIX = 300  # characters before a label in its cell that are looked at (more is prose)
_KEPT = 2000  # characters of text kept before values: labels with headers run on before them are far shorter
NEAR = 0.8  # how alike (difflib ratio) a printed label must be to an official one to be read as it
NEAR_MARGIN = 0.15  # and by how much more than to any other label
NEAR_LENGTH = 8  # characters: shorter labels differ too little to tell a typo from another row
LOOSE = "标签单独成行，其后的数值也可能属于别的行"


@dataclass(frozen=True)
class Flat:
    row: int
    col: int
    cell: Cell


@dataclass(frozen=True)
class _Label:
    key: str
    k: int
    at: int  # flat index of the label's last text cell
    first: int  # flat index of its first
    exact: bool  # printed as the label (or an alias), not recognised by a piece or a typo
    note: str | None = None  # I004: a typo read as the official label


@dataclass
class _Claim:
    label: _Label
    cells: list[Cell] | None
    seen: str
    weak: bool = False  # the values are on the lines after a label standing alone
    after_loose: bool = False  # the label follows a label left without values
    columns: list[tuple[int, Cell]] = field(default_factory=list)  # the cells after the label on its line, by column

    def first_column(self) -> int | None:
        """The column of the row's first value, when its values are cells of the line."""
        if self.cells is None or self.weak:
            return None
        return next((col for col, cell in self.columns if cell is self.cells[0]), None)


@dataclass
class _Scan:
    """What one pass over a region found."""

    claims: list[_Claim] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)  # flat indices of value runs with no text before them
    odd: list[str] = field(default_factory=list)  # I003: text rows with values that are no row of the table


@cache
def vocabulary(spec: FormSpec) -> frozenset[str]:
    """Every label, caption, heading and note the format prints, normalised."""
    words = set()
    for table in spec.tables:
        words |= {norm(table.title), norm(table.note or "")}
        for block in table.blocks:
            words |= {norm(block.caption or ""), norm(block.corner or "")}
            words |= {norm(c.label) for c in block.columns} | {norm(g) for c in block.columns for g in c.group}
            words |= {norm(x) for r in block.rows for x in (r.label or "", *r.aliases, *r.group) if x}
        words |= {norm(t.label) for t in table.printed_totals}
    words |= {norm(s.label) for s in spec.sections}
    return frozenset(words - {""})


def composed(text: str, words: frozenset[str]) -> bool:
    """``text`` is nothing but printed labels one after another (a table's header run on before a row's label)."""
    if len(text) > _LONGEST_PREFIX:
        return False
    longest = max(map(len, words))
    ends = {0}
    for end in range(1, len(text) + 1):
        if any(start in ends and text[start:end] in words for start in range(max(0, end - longest), end)):
            ends.add(end)
    return len(text) in ends


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|[0-9]+[.．、])")
_UNNUMBERED_LENGTH = 4  # characters a label keeps without its numbering to be known by it alone


def matchers(table: Table) -> list[tuple[str, str, int]]:
    """(normalised label, row key, columns) for every way a row's label may be printed: as in the
    spec, with an alias, without a trailing remark in brackets, without its numbering."""
    out = []
    labels = [(row.key, len(block.columns), (row.label, *row.aliases)) for block in table.blocks for row in block.rows if row.label]
    labels += [(t.key, len(block_of(table, t.rows[0]).columns), (t.label,)) for t in table.printed_totals]
    for key, k, printed in labels:
        for label in printed:
            short = re.sub(r"[（(][^（）()]*[）)]$", "", label)
            out += [(norm(label), key, k), *([(norm(short), key, k)] if short != label else [])]
    full = {m[0] for m in out}
    bare = [(norm(_NUMBERING.sub("", text)), key, k) for key, k, printed in labels for text in printed if _NUMBERING.match(text)]
    for form, key, k in bare:
        unique = sum(1 for f, other, _ in bare if f == form and other != key) == 0
        if len(form) >= _UNNUMBERED_LENGTH and unique and form not in full:
            out.append((form, key, k))
    return sorted(set(out), key=lambda m: (-len(m[0]), m[1]))


def block_of(table: Table, row_key: str):
    return next(b for b in table.blocks if any(r.key == row_key for r in b.rows))


@cache
def _against(label: str) -> SequenceMatcher:
    """A matcher with ``label`` as its second sequence, indexed once: comparing text with a label
    then costs only the text (SequenceMatcher indexes its second sequence, the costly part)."""
    return SequenceMatcher(None, "", label, autojunk=False)


def _compare(text: str, label: str) -> SequenceMatcher:
    matcher = _against(label)
    matcher.set_seq1(text)
    return matcher


def _exact(buffer: str, found: list[tuple[str, str, int]]) -> tuple[str, int, int] | None:
    for label, key, k in found:
        if buffer.endswith(label):
            return key, k, len(buffer) - len(label)
    return None


def _prefix(buffer: str, found: list[tuple[str, str, int]]) -> tuple[str, int, int] | None:
    """A long label wrapped over lines, its first lines only: a unique prefix of it."""
    for label, key, k in found:
        for cut in range(len(label) - 1, _MIN_PREFIX - 1, -1):
            if buffer.endswith(label[:cut]):
                if sum(other.startswith(label[:cut]) for other, _, _ in found) == 1:
                    return key, k, len(buffer) - cut
                break
    return None


def _piece(buffer: str, found: list[tuple[str, str, int]]) -> tuple[str, int, int] | None:
    """A wrapped label interleaved with its group's label (PDF text): a long piece found in no other label."""
    best, best_len = None, _MIN_PREFIX - 1
    for label, key, k in found:
        match = _compare(buffer, label).find_longest_match(0, len(buffer), 0, len(label))
        piece = label[match.b: match.b + match.size]
        if match.size > best_len and not any(piece in other for other, other_key, _ in found if other_key != key):
            best, best_len = (key, k, match.a), match.size
    return best


def near(printed: str, table: Table) -> tuple[tuple[str, int], str] | None:
    """The one official row label ``printed`` is a typo of ("其他法律行政止公开"), if there is one:
    ((row key, columns), official label)."""
    folded = norm(printed)
    if len(folded) < NEAR_LENGTH:
        return None
    scores = []
    for block in table.blocks:
        for row in block.rows:
            if not row.label:
                continue
            matcher = _compare(folded, norm(row.label))
            # A label whose upper bounds are below NEAR - NEAR_MARGIN can be neither the match nor
            # a rival to it: the full ratio, which makes this costly on long text, is not needed.
            if matcher.real_quick_ratio() >= NEAR - NEAR_MARGIN and matcher.quick_ratio() >= NEAR - NEAR_MARGIN:
                scores.append((matcher.ratio(), row.label, row.key, len(block.columns)))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < NEAR or (len(scores) > 1 and scores[1][0] > scores[0][0] - NEAR_MARGIN):
        return None
    _, label, key, k = scores[0]
    return (key, k), label


class _Buffer:
    """The text cells since the last values, normalised and joined, remembering where each began.
    Only the last cells (up to _KEPT characters, the last cell whole) are kept: a label and the
    header run on before it are far shorter, and a page of text with no values stays linear."""

    def __init__(self) -> None:
        self.pieces: deque[tuple[int, str]] = deque()  # (flat index, normalised text)
        self.length = 0
        self.text, self.starts, self.cells = "", [], []

    def add(self, at: int, text: str) -> None:
        folded = norm(text)
        self.pieces.append((at, folded))
        self.length += len(folded)
        dropped = False
        while len(self.pieces) > 1 and self.length > _KEPT:
            self.length -= len(self.pieces.popleft()[1])
            dropped = True
        if dropped:
            self.cells = [a for a, _ in self.pieces]
            self.starts = list(accumulate((len(t) for _, t in self.pieces), initial=0))[:-1]
            self.text = "".join(t for _, t in self.pieces)
        else:
            self.cells.append(at)
            self.starts.append(len(self.text))
            self.text += folded

    def after(self, at: int) -> int | None:
        """The flat index of the text cell after the one at ``at``."""
        later = [c for c in self.cells if c > at]
        return later[0] if later else None

    def cell_start(self, offset: int) -> int:
        return max(s for s in self.starts if s <= offset)


@dataclass
class _Reader:
    """One table read from one region of flattened cells."""

    flat: list[Flat]
    table: Table
    spec: FormSpec
    read: set[str]  # rows already read (from an earlier region): not split again
    scan: _Scan = field(default_factory=_Scan)

    def __post_init__(self) -> None:
        self.found = matchers(self.table)
        self.words = vocabulary(self.spec)
        self.rows = {r.key for r in self.table.rows}
        self.tried: set[str] = set()

    def blank_row(self, label: _Label) -> _Claim | None:
        """A label whose line has at least as many blank cells after it as the row has: printed blank."""
        row = self.flat[label.at].row
        after = [f.cell for f in takewhile(lambda f: f.row == row, self.flat[label.at + 1:label.at + 2 + label.k])]
        if len(after) >= label.k and not any(c.text for c in after):
            return _Claim(label, after[:label.k], "")
        return None

    def identify(self, buffer: _Buffer) -> _Label | None:
        """The row whose label ends the text, when it is printed as a table's label (not inside a sentence)."""
        last = buffer.cells[-1]
        for how in (_exact, _prefix, _piece):
            if (hit := how(buffer.text, self.found)) is not None:
                key, k, start = hit
                if not self.in_table(buffer, start):
                    return None
                return _Label(key, k, last, buffer.cells[buffer.starts.index(buffer.cell_start(start))], how is _exact)
        if (typo := near(self.flat[last].cell.text, self.table)) is not None:
            (key, k), official = typo
            note = f"{self.flat[last].cell.origin}“{self.flat[last].cell.text}”按“{official}”读取"
            return _Label(key, k, last, last, False, note)
        return None

    def in_table(self, buffer: _Buffer, start: int) -> bool:
        """The label starts its cell, or only printed labels come before it there (a header run on)."""
        before = buffer.text[buffer.cell_start(start):start]
        return not before or composed(before, self.words)

    def run(self) -> _Scan:
        flat, i = self.flat, 0
        buffer, previous = _Buffer(), None  # previous: the last label, while no values followed it
        while i < len(flat):
            text = flat[i].cell.text
            if not text:
                i += 1
                continue
            if not is_value(text):
                previous = self.held(buffer) or previous
                buffer.add(i, text)
                i += 1
                continue
            label = self.identify(buffer) if buffer.cells else None
            if label is None:
                i = self.unclaimed(buffer, i)
            else:
                claim, i = self.collect(label, i)
                # labels printed one after another, the values after both: either could claim them
                claim.after_loose = previous is not None and previous.key != label.key and buffer.after(previous.at) == label.first
                self.scan.claims.append(claim)
            buffer, previous = _Buffer(), None
        self.held(buffer)
        return self.scan

    def held(self, buffer: _Buffer) -> _Label | None:
        """The row label ending the text when more text (or the region's end) follows it: printed
        without values here, or printed blank (as many blank cells after it on its line as it has)."""
        hit = _exact(buffer.text, self.found) if buffer.cells else None  # exact only: this runs after every text cell
        if hit is None or hit[0] not in self.rows or not self.in_table(buffer, hit[2]):
            return None
        start = buffer.cells[buffer.starts.index(buffer.cell_start(hit[2]))]
        label = _Label(hit[0], hit[1], buffer.cells[-1], start, True)
        if (blank := self.blank_row(label)) is not None:
            self.scan.claims.append(blank)
        return label

    def unclaimed(self, buffer: _Buffer, i: int) -> int:
        """Values no label claims: after an unknown row's text (I003), or after nothing (an orphan)."""
        if buffer.cells:
            cell = self.flat[buffer.cells[-1]].cell
            self.scan.odd.append(f"{cell.origin}“{cell.text}”")
        else:
            self.scan.orphans.append(i)
        while i < len(self.flat) and (not self.flat[i].cell.text or is_value(self.flat[i].cell.text)):
            i += 1
        return i

    def sums(self, key: str, k: int) -> Sums:
        block = next((b for b in self.table.blocks if any(r.key == key for r in b.rows)), None)
        columns = list(block.columns) if block is not None else self.table.columns[:k]
        return column_sums(self.table, columns)

    def collect(self, label: _Label, i: int) -> tuple[_Claim, int]:
        """The label's values from flat[i] on: on its own line, or on the lines after it."""
        flat = self.flat
        row = flat[i].row
        if row == flat[label.at].row:
            end = i
            while end < len(flat) and flat[end].row == row and (not flat[end].cell.text or is_value(flat[end].cell.text)):
                end += 1
            before = label.at + 1  # blank cells between the label and its first value are positions too
            cells = [f.cell for f in flat[before:end]]
            split = label.key not in self.read | self.tried  # a run is split once per row, however often a page repeats it
            self.tried.add(label.key)
            got, seen = on_row(cells, label.k, self.sums(label.key, label.k) if split else None, label.exact)
            claim = _Claim(label, got, seen, columns=[(f.col, f.cell) for f in flat[before:end]])
            return claim, end
        # The label stands alone on its line: take the values one per cell from the following lines.
        values, end = [], i
        while end < len(flat) and len(values) < label.k and (not flat[end].cell.text or is_value(flat[end].cell.text)):
            if flat[end].cell.text:
                values.append(flat[end].cell)
            end += 1
        if len(values) == label.k and not any(c.run_on for c in values):
            return _Claim(label, values, "", weak=True), end
        return _Claim(label, None, f"标签后只找到 {len(values)} 个数值，应为 {label.k} 个", weak=True), end


def column_sums(table: Table, columns: list[Column]) -> Sums:
    """The sums a row's cells meet: the row total (表三), each group's total (表四)."""
    keys = [c.key for c in columns]
    sums = []
    if table.row_total in keys:
        t = keys.index(table.row_total)
        sums.append((t, tuple(n for n in range(len(keys)) if n != t)))
    for total in table.group_totals:
        if total in keys:
            t = keys.index(total)
            group = columns[t].group
            sums.append((t, tuple(n for n, c in enumerate(columns) if n != t and c.group == group)))
    return tuple(sorted(sums))


def on_row(cells: list[Cell], k: int, sums: Sums | None, exact: bool) -> tuple[list[Cell] | None, str]:
    """A row's k values from the cells after its label on its line (blank cells have empty text);
    ``sums`` None: a row read before, whose run is not split again."""
    filled = [c for c in cells if c.text]
    if not filled:
        return ([Cell("", cells[0].origin)] * k, "") if len(cells) >= k else (None, "该行没有数值")
    run_on = any(c.run_on for c in filled)
    if run_on and not exact:
        return None, f"数字“{filled[0].text}”与文字连写，无法确认属于这一行"
    if any(c.loose for c in filled) and (len(filled) != k or run_on):
        return _split(filled, k, sums)
    return placed_cells(cells, filled, k)


def _split(filled: list[Cell], k: int, sums: Sums | None) -> tuple[list[Cell] | None, str]:
    """Numbers whose spaces were lost: the one reading that gives k numbers meeting the row's sums."""
    groups = [c.text for c in filled]
    shown = " ".join(groups)
    parts = split_groups(groups, k, sums) if sums is not None else None
    if parts is None:
        if len(filled) == 1 and "." in groups[0] and k == 1:
            return filled, ""
        return None, f"数字“{shown[:40]}”连写，拆分不唯一，无法确认各格"
    if parts == groups:
        return filled, ""
    return [Cell(p, f"{filled[0].origin}（连写的数字“{shown}”按唯一可能的拆法拆分）") for p in parts], ""


def placed_cells(cells: list[Cell], filled: list[Cell], k: int) -> tuple[list[Cell] | None, str]:
    """Cells in their places: exactly k of them, or k filled ones, or k after blanks standing for
    a label's merged cells (or before blanks trailing a row)."""
    if len(cells) == k:
        return cells, ""
    if len(filled) == k:  # empty cells between the label and its values: a shifted row
        return filled, ""
    if len(cells) > k:
        extra = len(cells) - k
        leading = not any(c.text for c in cells[:extra])
        trailing = not any(c.text for c in cells[k:])
        if leading != trailing or cells[extra:] == cells[:k]:
            return (cells[extra:] if leading else cells[:k]), ""
    return None, f"该行有 {len(filled)} 个数值，应为 {k} 个"


def resolve(scan: _Scan, table: Table) -> dict[str, _Claim]:
    """Each row's claim that holds: the first one read that nothing else could claim.
    Failed claims are kept (for their reason) unless a later one holds."""
    doubt = _doubted(scan)
    out: dict[str, _Claim] = {}
    starts = _starts(scan, table)
    for claim in scan.claims:
        if claim.cells is None and claim.columns:
            claim = _by_column(claim, starts.get(_block_index(table, claim.label.key)))
        if claim.cells is not None and claim.weak and (doubt or claim.after_loose):
            claim = _Claim(claim.label, None, LOOSE, weak=True)
        key = claim.label.key
        if key not in out or (out[key].cells is None and claim.cells is not None):
            out[key] = claim
    return out


def _starts(scan: _Scan, table: Table) -> dict:
    """For each block, the one column where every row placed unambiguously starts its values (a
    table whose cells are all in their columns: Markdown, a web page's full grid); none where rows
    disagree. A block with no such row takes the table's, if all its blocks agree (key None)."""
    seen: dict[int | None, set[int]] = {}
    for claim in scan.claims:
        if (col := claim.first_column()) is not None and (block := _block_index(table, claim.label.key)) is not None:
            seen.setdefault(block, set()).add(col)
    starts = {block: next(iter(cols)) for block, cols in seen.items() if len(cols) == 1}
    everywhere = set().union(*seen.values()) if seen else set()
    if len(everywhere) == 1:
        starts.update({n: next(iter(everywhere)) for n in range(len(table.blocks))})
    return starts


def _block_index(table: Table, key: str) -> int | None:
    """The block a row is in (None for a printed total, which is in none)."""
    return next((n for n, b in enumerate(table.blocks) if any(r.key == key for r in b.rows)), None)


def _by_column(claim: _Claim, start: int | None) -> _Claim:
    """A row whose blank cells leave its values' places open, placed by the column its block's rows start at."""
    if start is None:
        return claim
    k = claim.label.k
    inside = [cell for col, cell in claim.columns if start <= col < start + k]
    outside = [cell for col, cell in claim.columns if not start <= col < start + k]
    if len(inside) != k or any(c.text for c in outside) or any(c.run_on or c.loose for c in inside):
        return claim
    return _Claim(claim.label, inside, "", columns=claim.columns)


def _doubted(scan: _Scan) -> bool:
    """Values stand with no label within the table (between its first label and just after its
    last): rows and values are not in step, so no value on a line of its own can be placed."""
    if not scan.claims or not scan.orphans:
        return False
    first = scan.claims[0].label.at
    return any(first < o for o in scan.orphans)


def read_table(flat: list[Flat], table: Table, spec: FormSpec, imported, bounded: bool) -> bool:
    """Read one labelled table from ``flat`` into ``imported``; False when none of it is there.
    Odd rows are reported only when the region is the table's own section (otherwise they may
    belong to another table)."""
    read = {k.split(".")[1] for k in imported.values if k.startswith(f"{table.key}.")}
    scan = _Reader(flat, table, spec, read).run()
    claims = resolve(scan, table)
    if bounded:
        imported.hits += [Hit("I003", params={"detail": d}) for d in scan.odd]
    printed = {t.key: t for t in table.printed_totals}
    columns = {row.key: block.columns for block in table.blocks for row in block.rows}
    for key, claim in claims.items():
        if claim.label.note and claim.cells is not None:
            imported.hits.append(Hit("I004", params={"detail": claim.label.note}))
        if key in printed:
            _printed_total(imported, table, printed[key], claim)
        else:
            assign(imported, [f"{table.key}.{key}.{c.key}" for c in columns[key]], claim.cells, claim.seen)
    found = set(claims) | {r for t in printed.values() if t.key in claims for r in t.rows}
    return _close(imported, table, found)


def _printed_total(imported, table: Table, total, claim: _Claim) -> None:
    """Rows printed as one: their total is read, the rows stay unread, saying why."""
    columns = block_of(table, total.rows[0]).columns
    for c in columns:
        for row in total.rows:
            imported.missing[f"{table.key}.{row}.{c.key}"] = f"原文将“{total.label}”印为一行，只有合计，分项未列出"
    if claim.cells is not None:
        for c, cell in zip(columns, claim.cells, strict=True):
            imported.totals[f"{table.key}.{total.key}.{c.key}"] = raw(cell.text) if cell.text else None
            imported.origins[f"{table.key}.{total.key}.{c.key}"] = cell.origin


def _close(imported, table: Table, found: set[str]) -> bool:
    """Rows not found are missing; a table with no row found is absent."""
    if not found:
        for b in table.blocks:
            for r in b.rows:
                for c in b.columns:
                    imported.missing.pop(f"{table.key}.{r.key}.{c.key}", None)
        if table.key not in imported.absent:
            imported.absent.append(table.key)
        return False
    for b in table.blocks:
        for r in b.rows:
            if r.key not in found:
                for c in b.columns:
                    imported.missing.setdefault(f"{table.key}.{r.key}.{c.key}", f"原文中未找到“{r.label or table.title}”")
    return True


def assign(imported, keys: list[str], cells: list[Cell] | None, seen: str) -> None:
    for n, key in enumerate(keys):
        if cells is None:
            if key not in imported.values:
                imported.missing[key] = seen
        else:
            imported.values[key] = raw(cells[n].text) if cells[n].text else None
            imported.origins[key] = cells[n].origin
            imported.missing.pop(key, None)


_PLAIN = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")  # ASCII only: full-width digits are kept as printed


def raw(text: str) -> object:
    """A printed value as the template receives it: plain ASCII numbers as numbers, the rest as
    printed (a number too long to be one, as text, which the reader reports as C013)."""
    text = text.strip()
    if _PLAIN.match(text) and len(text) <= 2 * MAX_DIGITS:
        return Decimal(text) if "." in text else int(text)
    return text
