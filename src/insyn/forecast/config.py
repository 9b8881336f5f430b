"""The forecast's data file (forecast.yaml): horizon, history, intervals, the recruitment lead
time and the measures forecast. Ships with a default; a copy in the data folder wins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from insyn import config_files
from insyn.config_files import Strict, load_model

PACKAGE = "insyn.forecast"
FORECAST_FILE = "forecast.yaml"


class Measure(Strict):
    id: str
    label: str
    kind: Literal["flow", "stock"]
    event: str | None = None
    phase: Literal["forhandsbedomning", "utredning", "insats"] | None = None
    staffing_only: bool = False

    @model_validator(mode="after")
    def _source(self):
        if (self.kind == "flow") != (self.event is not None) or (self.kind == "stock") != (self.phase is not None):
            raise ValueError(f"{self.id}: ett flöde anger event, ett bestånd phase")
        return self


class ForecastConfig(Strict):
    horizon_months: Annotated[int, Field(ge=1, le=24)]
    fit_months: Annotated[int, Field(ge=12)]
    min_history_months: Annotated[int, Field(ge=13)]
    interval_levels: list[Annotated[float, Field(gt=0, lt=1)]]
    draws: Annotated[int, Field(ge=100)]
    seed: int
    backtest_draws: Annotated[int, Field(ge=100)]
    recruitment_lead_months: Annotated[int, Field(ge=0, le=24)]
    smallest_recruitment_fte: Annotated[float, Field(ge=0, le=5)] = 0.5  # absent from older copies
    measures: list[Measure]

    @model_validator(mode="after")
    def _stocks_for_staffing(self):
        phases = {m.phase for m in self.measures}
        if not {"forhandsbedomning", "utredning", "insats"} <= phases:
            raise ValueError("measures: bemanningsbehovet behöver ett bestånd för varje fas "
                             "(forhandsbedomning, utredning, insats)")
        return self

    def measure(self, measure_id: str) -> Measure:
        return next(m for m in self.measures if m.id == measure_id)

    @property
    def shown(self) -> list[Measure]:
        return [m for m in self.measures if not m.staffing_only]


def load_forecast(data_dir: Path | None = None) -> ForecastConfig:
    path = config_files.resolve(data_dir, PACKAGE, FORECAST_FILE)
    return load_model(path, ForecastConfig, sections_from=config_files.shipped(PACKAGE, FORECAST_FILE))
