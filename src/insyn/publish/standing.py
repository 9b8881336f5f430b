"""One municipality's standing per indicator in its latest year: against the target, against its
comparison group's published median and against the year before, each with the n it rests on,
and whether it needs attention. The web app's Översikt and the municipal brief show the same.

A change or a distance from the median counts for attention only when it is larger than chance
allows for its n (insyn.publish.chance): one more late investigation of twelve is not news.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from insyn.indicators.definitions import Definition
from insyn.publish.cells import MISSING, PERCENTAGE_POINTS, Cell
from insyn.publish.chance import Counts, change_beyond_chance, differs_beyond_chance
from insyn.publish.publication import Publication
from insyn.publish.views import GroupMedian, group_median, place
from insyn.swedish import format_count, format_number, format_value

BEYOND_CHANCE = "mer än slumpen förklarar"
WITHIN_CHANCE = "inom vad slumpen kan ge"


def subjects_counted(definition: Definition, row: dict | None) -> float | None:
    """The n of a published figure: the subjects a share or a median is of (its denominator),
    else what is counted (the reports of a rate per residents, the count itself)."""
    if row is None:
        return None
    denominator = definition.denominator
    if denominator is not None and denominator.population is None:
        return row.get("denominator")
    return row.get("numerator")


def n_text(n: float | None) -> str:
    if n is None:
        return MISSING
    return format_count(int(n)) if float(n).is_integer() else format_number(n)


@dataclass(frozen=True)
class Change:
    """Latest year against the year before, in words as well as an arrow, and whether it is more
    than chance allows for its n (None: cannot be told, as for a median)."""

    arrow: str
    amount: str  # "−8,3 procentenheter"
    direction: str  # "bättre", "sämre", "ökat", "minskat", "oförändrat", or MISSING
    beyond_chance: bool | None
    n_before: float | None
    n_now: float | None

    @staticmethod
    def between(definition: Definition, before: dict | None, now: dict | None,
                before_cell: Cell, now_cell: Cell) -> Change:
        n_before, n_now = subjects_counted(definition, before), subjects_counted(definition, now)
        if before_cell.value is None or now_cell.value is None:
            return Change("", "", MISSING, None, n_before, n_now)
        difference = now_cell.value - before_cell.value
        unit = PERCENTAGE_POINTS if definition.unit == "%" else definition.unit
        sign = "+" if difference > 0 else "−" if difference < 0 else "±"
        amount = f"{sign}{format_number(abs(difference))} {unit}"
        chance = change_beyond_chance(definition, Counts.of(before), Counts.of(now))
        if abs(difference) < 0.05:
            return Change("→", amount, "oförändrat", chance, n_before, n_now)
        up = difference > 0
        if definition.higher_is_better is None:
            direction = "ökat" if up else "minskat"
        else:
            direction = "bättre" if up == definition.higher_is_better else "sämre"
        return Change("▲" if up else "▼", amount, direction, chance, n_before, n_now)

    @property
    def worse(self) -> bool:
        """Worse than the year before by more than chance allows."""
        return self.direction == "sämre" and self.beyond_chance is True

    @property
    def chance_text(self) -> str:
        return "" if self.beyond_chance is None else BEYOND_CHANCE if self.beyond_chance else WITHIN_CHANCE

    @property
    def label(self) -> str:
        """"▼ sämre, −8,3 procentenheter (n 12 → 12, inom vad slumpen kan ge)"."""
        if self.direction == MISSING:
            return MISSING
        said = self.direction if self.direction == "oförändrat" else f"{self.direction}, {self.amount}"
        details = [f"n {n_text(self.n_before)} → {n_text(self.n_now)}", *([self.chance_text] if self.chance_text
                                                                           else [])]
        return f"{self.arrow} {said} ({', '.join(details)})"


@dataclass(frozen=True)
class Standing:
    """One indicator for one municipality in its latest year: against target, peers and last year."""

    definition: Definition
    year: str
    cell: Cell
    n: float | None
    in_full_only: bool  # the figure is the reader's own, seen in full; everyone else sees ".."
    median: GroupMedian
    place: tuple[int, int] | None
    change: Change
    pooled: tuple[str, Cell] | None  # the latest three years pooled, for an indicator pooled
    median_beyond_chance: bool | None

    @property
    def worse_than_median(self) -> bool:
        """Worse than the group's published median by more than chance allows for the n."""
        value, median = self.cell.value, self.median.value
        if value is None or median is None or self.definition.higher_is_better is None:
            return False
        worse = (value < median) if self.definition.higher_is_better else (value > median)
        return worse and self.median_beyond_chance is True

    @property
    def attention(self) -> int:
        """2 for a missed target, 1 each for worse than the group's median and than last year
        (each by more than chance allows)."""
        return 2 * self.cell.misses_target + self.worse_than_median + self.change.worse

    @property
    def reasons(self) -> str:
        found = [text for flag, text in ((self.cell.misses_target, "når inte målet"),
                                         (self.worse_than_median, "sämre än jämförelsegruppens median"),
                                         (self.change.worse, "sämre än året innan")) if flag]
        return ", ".join(found) or MISSING

    @property
    def place_text(self) -> str:
        if self.in_full_only:
            return "visas bara för er, placeras inte"
        return MISSING if self.place is None else f"plats {self.place[0]} av {self.place[1]}"

    def sentence(self, municipality_name: str) -> str:
        """What changed, in plain Swedish, and whether it is more than chance (under a heading
        that names the indicator)."""
        unit = self.definition.unit
        if self.cell.value is None:
            hidden = "visas inte: för få" if self.cell.suppressed else "saknas"
            return f"{self.year} {hidden} för {municipality_name}."
        now = f"{self.year} var det {format_value(self.cell.value, unit)} (n {n_text(self.n)})"
        change = self.change
        if change.direction == MISSING:
            told = "Året innan går inte att jämföra med."
        elif change.direction == "oförändrat":
            told = "Det är samma som året innan."
        else:
            moved = {"bättre": "blev bättre", "sämre": "blev sämre", "ökat": "ökade", "minskat": "minskade"}
            chance = f", men {WITHIN_CHANCE}" if change.beyond_chance is False else (
                f", {BEYOND_CHANCE}" if change.beyond_chance else "")
            told = f"Det {moved[change.direction]} med {change.amount.lstrip('+−±')} sedan året innan{chance}."
        target = " Målet nås inte." if self.cell.misses_target else ""
        return f"{now}. {told}{target}"


def standings(pub: Publication, municipality: str, peers: Collection[str]) -> list[Standing]:
    """Every indicator's standing for the municipality, its median and place among `peers`."""
    found = []
    peers = tuple(peers)
    for definition in pub.summary_definitions:
        year = pub.latest_year(definition)
        if year is None:
            continue
        earlier = [y for y in pub.years if y < year]
        before_row = pub.row(definition, municipality, earlier[-1]) if earlier else None
        now_row = pub.row(definition, municipality, year)
        before = pub.cell(definition, municipality, earlier[-1]) if earlier else Cell(None, definition.unit)
        now = pub.cell(definition, municipality, year)
        median = group_median(pub, definition, year, peers)
        visible_now = now_row if now.value is not None else None
        found.append(Standing(
            definition, year, now, subjects_counted(definition, visible_now),
            pub.shown_in_full_only(definition, municipality, year), median,
            place(pub, definition, municipality, year, peers),
            Change.between(definition, before_row if before.value is not None else None, visible_now, before, now),
            pub.pooled(definition, municipality),
            differs_beyond_chance(definition, Counts.of(visible_now), median.value)))
    return found
