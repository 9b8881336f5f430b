"""Why a published cell is shown or hidden: one status per result row, as sdcTable keeps one
per cell, so that every output can say why a figure is missing.

The codes are sdcTable's letters; the labels are what users read (legends, the Status column).
"""

from __future__ import annotations

SUPPRESSED = ".."  # what a hidden figure is shown as, as Kolada and SCB do

PUBLISHABLE = "s"           # may be shown
MUST_PUBLISH = "z"          # shown whatever secondary suppression would prefer (a forced cell)
PRIMARY = "u"               # hidden: itself too small to show
SECONDARY = "x"             # hidden: it would let a hidden figure be recomputed from totals
NEVER_PUBLISHED = "w"       # never shown (a period the data do not yet cover)

LABELS = {
    PUBLISHABLE: "publicerad",
    MUST_PUBLISH: "publiceras alltid",
    PRIMARY: "dold: för få",
    SECONDARY: "dold: skyddar en annan dold uppgift",
    NEVER_PUBLISHED: "publiceras inte",
}

HIDDEN = frozenset({PRIMARY, SECONDARY, NEVER_PUBLISHED})


def is_hidden(status: str | None) -> bool:
    """True when the row's numerator, denominator and value may not be shown."""
    return status in HIDDEN
