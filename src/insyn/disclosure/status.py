"""Why a published cell is shown or hidden: one status per result row, as sdcTable keeps one
per cell.

The codes are sdcTable's letters. A reader is told only *that* a figure is hidden
(`READER_LABELS`): telling "too few" (so 1–4) from "protects another" (so 0 or at least 5) would
narrow the hidden count itself. Why a row is hidden (`REASONS`) is for the analyst who runs the
protection (the codes in `Publication.rows.status` and the data folder's cache), never in
anything published.
"""

from __future__ import annotations

SUPPRESSED = ".."  # what a hidden figure is shown as, as Kolada and SCB do

PUBLISHABLE = "s"           # may be shown
MUST_PUBLISH = "z"          # shown whatever secondary suppression would prefer (a forced cell)
PRIMARY = "u"               # hidden: itself too small to show
SECONDARY = "x"             # hidden: it would let a hidden figure be recomputed from totals
NEVER_PUBLISHED = "w"       # never shown (a period the data do not yet cover)

REASONS = {
    PUBLISHABLE: "publicerad",
    MUST_PUBLISH: "publiceras alltid",
    PRIMARY: "dold: för få",
    SECONDARY: "dold: skyddar en annan dold uppgift",
    NEVER_PUBLISHED: "publiceras inte: perioden är inte täckt av data",
}

HIDDEN_LABEL = "dold"
READER_LABELS = {
    PUBLISHABLE: "publicerad",
    MUST_PUBLISH: "publicerad",
    PRIMARY: HIDDEN_LABEL,
    SECONDARY: HIDDEN_LABEL,
    NEVER_PUBLISHED: "publiceras inte",
}

HIDDEN = frozenset({PRIMARY, SECONDARY, NEVER_PUBLISHED})


def is_hidden(status: str | None) -> bool:
    """True when the row's numerator, denominator and value may not be shown."""
    return status in HIDDEN
