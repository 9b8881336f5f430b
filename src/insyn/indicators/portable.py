"""Arithmetic that gives the same bits on DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

ROUNDED_BELOW = 1e9  # |values| from here on are left as they are: sums of whole numbers, exact anyway


def rounded(value: ir.NumericValue, decimals: int) -> ir.FloatingValue:
    """`value` rounded half up to `decimals` (at most 9) decimals, bit for bit alike on every
    backend.

    The backends' own round() differ: PostgreSQL's rounds a numeric, and its cast from a double
    keeps 15 significant digits, so 5775047 / 93 = 62097.27956989247… becomes 62097.2795698925
    there and rounds to …893 where DuckDB gives …892. The floor of the scaled value plus a half is
    IEEE arithmetic, which every backend does alike. Spark's floor is a bigint, so only values
    below ROUNDED_BELOW are rounded (scaled by 10**9 they stay below 2**63)."""
    scale = 10.0**decimals
    value = value.cast("float64")
    return ibis.cases((value.abs() < ROUNDED_BELOW, (value * scale + 0.5).floor().cast("float64") / scale),
                      else_=value)
