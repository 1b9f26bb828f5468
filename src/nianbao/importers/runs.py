"""Numbers printed with their delimiters lost ("3100004", "20 0 00 0 121"): split only where
exactly one reading fits.

A run is given as its groups (the pieces between the spaces that survived: a space is a cell
boundary, but not every boundary kept its space). A reading puts each of the row's ``k`` cells in
one piece of one group, with no number starting with 0 (other than 0 itself), and meets the
row's sums (a 总计 column equal to the sum of others). One reading: it is the printed one. None
or several: the row is not read.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_RUN = 48  # digits in one run: a longer one is not split
MAX_STEPS = 20_000  # pieces tried for one run: past this the run is left unread (bounded on hostile pages)

Sums = tuple[tuple[int, tuple[int, ...]], ...]  # (total's position, the positions it sums)


@dataclass
class _Search:
    groups: list[str]
    k: int
    sums: dict[int, tuple[int, ...]]
    found: list[list[str]]
    steps: int = 0

    def __post_init__(self) -> None:
        # digits left after each group: what the cells still to place can take
        self.after = [sum(map(len, self.groups[g + 1:])) for g in range(len(self.groups))]
        self.pending = {m: [t for t, ms in self.sums.items() if m in ms and t > m] for m in range(self.k)}

    def exhausted(self) -> bool:
        return len(self.found) > 1 or self.steps > MAX_STEPS

    def fits(self, parts: list[str], left: int) -> bool:
        """The sum whose total is the part just placed holds, and every total still to come has
        digits enough left for the sum so far (``left``: digits after this part)."""
        n = len(parts) - 1
        members = self.sums.get(n)
        if members is not None and int(parts[-1]) != sum(int(parts[m]) for m in members):
            return False
        cells_after = self.k - len(parts)
        for t in self.pending[n]:
            partial = sum(int(parts[m]) for m in self.sums[t] if m <= n)
            if len(str(partial)) > left - (cells_after - 1):
                return False
        return True

    def place(self, g: int, start: int, parts: list[str]) -> None:
        """Cells from ``groups[g][start:]`` on, ``parts`` placed so far."""
        if self.exhausted():
            return
        if g == len(self.groups):
            if len(parts) == self.k:
                self.found.append(parts)
            return
        group = self.groups[g]
        if self.k - len(parts) < len(self.groups) - g:
            return  # every group holds at least one cell
        for end in range(start + 1, len(group) + 1):
            self.steps += 1
            piece = group[start:end]
            if piece[0] == "0" and len(piece) > 1:
                break
            placed = [*parts, piece]
            if not self.fits(placed, len(group) - end + self.after[g]):
                continue
            if end == len(group):
                self.place(g + 1, 0, placed)
            elif len(placed) < self.k:
                self.place(g, end, placed)


def split_groups(groups: list[str], k: int, sums: Sums = ()) -> list[str] | None:
    """The one reading of ``groups`` (ASCII digit strings) as ``k`` numbers meeting ``sums``, or None."""
    if not groups or not all(g.isascii() and g.isdigit() for g in groups):
        return None
    digits = sum(map(len, groups))
    if not len(groups) <= k <= digits or digits > MAX_RUN:
        return None
    if len(groups) == k:
        return groups if all(g == "0" or g[0] != "0" for g in groups) and _meets(groups, sums) else None
    search = _Search(groups, k, dict(sums), [])
    search.place(0, 0, [])
    return search.found[0] if len(search.found) == 1 and search.steps <= MAX_STEPS else None


def _meets(parts: list[str], sums: Sums) -> bool:
    return all(int(parts[t]) == sum(int(parts[m]) for m in members) for t, members in sums)


def split_run(digits: str, k: int, sums: Sums | None = None) -> list[str] | None:
    """A row's k numbers printed with no delimiter ("3100004"); by default the last is the sum of the others."""
    if sums is None:
        sums = ((k - 1, tuple(range(k - 1))),) if k >= 3 else ()
    return split_groups([digits], k, sums)
