"""The kinds of subject of the cost of care (docs/costs.md): care days of out-of-home
placements, valued at the price list, and the rows of a cost ledger, spread over the periods
they cover. Registered with the case-data kinds (case_kinds.register): care costs are read
beside a municipality's case data."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from insyn.indicators.deadlines import days_between
from insyn.indicators.definitions import SpellsSubject, Strict
from insyn.indicators.kinds import SubjectKind, always
from insyn.indicators.portable import rounded
from insyn.indicators.subjects import Sources, spells, without_right

# The forms of out-of-home care (heldygnsinsatser) whose days are care days (vårddygn).
OUT_OF_HOME = ["familjehem", "jourhem", "hvb", "stodboende", "sis"]
OPEN_END = ibis.date(9999, 12, 30)  # a price without an end: the day after it still exists
# Identifies one placed care spell within a period: spells are joined back to their price pieces.
# The first never null (events require case and person, a spell has a start); the last may be.
_SPELL_KEY = ["municipality", "case_id", "person_key", "intervention", "start_date", "period", "period_type"]
_SPELL_NULLABLE = ["provider", "end_date"]
_SPELL_ROW = [*_SPELL_KEY, *_SPELL_NULLABLE]


class CareDaysSubject(Strict):
    """Out-of-home placements of these forms (intervention spells, paired as `spells` pair
    them), in every period they overlap, with the period's `care_days` and their `list_cost`."""

    forms: list[str] = OUT_OF_HOME

    def values_of(self, column: str) -> list[str] | None:
        return self.forms if column == "intervention" else None

    def widened(self) -> tuple[BaseModel, dict[str, list[str]]]:
        if not set(self.forms) <= set(OUT_OF_HOME):  # öppenvård has no care days among the five's
            return self, {}
        return CareDaysSubject(), ({} if set(self.forms) == set(OUT_OF_HOME) else {"intervention": self.forms})


class CareCostsSubject(Strict):
    """Rows of the cost ledger (care_costs) of these forms (all when empty), in every period they
    overlap, with the period's part of the amount as `cost`."""

    forms: list[str] = []

    def values_of(self, column: str) -> list[str] | None:
        return (self.forms or None) if column == "intervention" else None

    def widened(self) -> tuple[BaseModel, dict[str, list[str]]]:
        return CareCostsSubject(), ({"intervention": self.forms} if self.forms else {})


def care_spells(spec: CareDaysSubject, sources: Sources) -> ir.Table:
    """The placements: each form's intervention spells, paired by decision id where given."""
    return spells(SpellsSubject(start="intervention_start", end="intervention_end", same=["intervention"],
                                id="intervention_id", where={"intervention": spec.forms}), sources)


def nights(first: ir.DateValue, after_last: ir.DateValue) -> ir.IntegerValue:
    """Care days from `first` to the day before `after_last`: the day of arrival counts, the day
    of leaving does not (as a placement is billed); none when the span is empty."""
    return ibis.greatest(days_between(first, after_last), 0)


def care_days_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """A placement's care days within the period (up to the day the data reach for one still
    ongoing), and their `list_cost`: each day priced by the price list in force that day for the
    form and provider (a placement without a provider by the form's price without one). Days no
    price covers have no list cost; `priced_days` counts those that have."""
    after_period = placed.period_end + ibis.interval(days=1)
    after_data = placed.data_end + ibis.interval(days=1)
    after_last = ibis.least(placed.end_date.fill_null(after_data), after_period, after_data)
    placed = placed.mutate(care_from=ibis.greatest(placed.start_date, placed.period_start),
                           care_until=after_last)
    placed = placed.mutate(care_days=nights(placed.care_from, placed.care_until).cast("float64"))
    prices = sources.care_prices
    if prices is None:
        return placed.mutate(list_cost=ibis.null().cast("float64"), priced_days=ibis.literal(0.0))
    spans = placed.select(*_SPELL_ROW, "care_from", "care_until")
    prices = prices.select("municipality", "intervention", "provider", "price_per_day", price_from=prices.start_date,
                           price_after=prices.end_date.fill_null(OPEN_END) + ibis.interval(days=1))
    pieces = spans.join(prices, [spans.municipality == prices.municipality,
                                 spans.intervention == prices.intervention,
                                 spans.provider.identical_to(prices.provider),
                                 prices.price_from < spans.care_until,
                                 prices.price_after > spans.care_from])
    days = nights(ibis.greatest(pieces.care_from, pieces.price_from), ibis.least(pieces.care_until, pieces.price_after))
    valued = pieces.group_by(_SPELL_ROW).aggregate(list_cost=rounded((days * pieces.price_per_day).sum(), 0),
                                                   priced_days=days.sum().cast("float64"))
    # Equality where no value is null: PostgreSQL can hash or merge only on `=`, and joins on
    # `IS NOT DISTINCT FROM` alone by comparing every pair (72 s for one national year).
    joined = placed.left_join(valued, [*(placed[c] == valued[c] for c in _SPELL_KEY),
                                       *(placed[c].identical_to(valued[c]) for c in _SPELL_NULLABLE)])
    joined = without_right(joined)
    return joined.mutate(priced_days=joined.priced_days.fill_null(0.0))


def ledger_rows(spec: CareCostsSubject, sources: Sources) -> ir.Table:
    """The ledger's rows, each with the first day the child had a cost of care in the
    municipality (`first_cost_date`) and the case, when the ledger names it."""
    ledger = sources.care_costs
    if ledger is None:
        raise ValueError("care_costs subjects need the store's care_costs table")
    first = ibis.window(group_by=[ledger.municipality, ledger.person_key])
    rows = ledger.mutate(first_cost_date=ledger.start_date.min().over(first))
    if spec.forms:
        rows = rows.filter(rows.intervention.isin(spec.forms))
    return rows.select("municipality", "case_id", "person_key", "birth_year", "birth_month", "sex",
                       "intervention", "provider", "start_date", "end_date", "amount", "first_cost_date",
                       date=rows.start_date, unit=ibis.null().cast("string"))


def share_in_period(placed: ir.Table) -> ir.FloatingValue:
    """The part of a row from `start_date` to `end_date` (both days counted) that falls in its
    period, by days: how a ledger row or a grant decision is shared between periods."""
    first = ibis.greatest(placed.start_date, placed.period_start)
    last = ibis.least(placed.end_date, placed.period_end)
    return (days_between(first, last) + 1).cast("float64") / (days_between(placed.start_date, placed.end_date) + 1)


def ledger_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """One row per child, form and period: the period's part of each ledger row's amount, by
    its days (both ends counted: a ledger row covers its first and last day), added up. So a sum
    adds up children's costs, not invoices, and the disclosure rules count and weigh children
    (per form). `earlier_years` marks a child whose costs began in a year before the period's."""
    placed = placed.mutate(cost=placed.amount * share_in_period(placed),
                           earlier_years=ibis.cases((placed.first_cost_date.year() < placed.period_start.year(), "ja"),
                                                    else_="nej"))
    per_child = ["municipality", "period", "period_type", "period_start", "period_end", "data_end", "person_key",
                 "birth_year", "birth_month", "sex", "intervention", "earlier_years", "unit"]
    # Whole kronor: sums of them are exact in any order, so totals equal their parts exactly
    # (the disclosure control's equations) on every backend.
    return placed.group_by(per_child).aggregate(
        cost=rounded(placed.cost.sum(), 0), case_id=placed.case_id.min(), start_date=placed.start_date.min(),
        end_date=placed.end_date.max(), date=placed.date.min(), reference_date=placed.reference_date.min())


_CARE_COLUMNS = frozenset({"person_key", "intervention", "intervention_id", "provider"})

KINDS = (
    SubjectKind("care_days", CareDaysSubject, care_spells, always("overlap"), data=frozenset({"events"}),
                at_period=care_days_at_period, event_columns=_CARE_COLUMNS),
    # The same placements where a definition reads their list cost: counted only where the
    # municipality has a price list.
    SubjectKind("priced_care_days", CareDaysSubject, care_spells, always("overlap"),
                data=frozenset({"events", "prices"}), at_period=care_days_at_period, event_columns=_CARE_COLUMNS),
    SubjectKind("care_costs", CareCostsSubject, ledger_rows, always("overlap"), data=frozenset({"costs"}),
                at_period=ledger_at_period, rows_from_events=False),
)
