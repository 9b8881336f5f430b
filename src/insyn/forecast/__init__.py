"""Forecasts: each municipality's and unit's next twelve months of reports, assessments,
investigations and caseload, with intervals, the staff needed to carry the caseload, and a
backtest of how well the forecasts did on the municipality's own history (docs/forecast.md)."""
