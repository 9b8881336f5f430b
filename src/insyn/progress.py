"""Progress display for long work, shared by the CLI commands."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console()


@contextmanager
def steps(total: int):
    """A progress bar of `total` steps; yields `advance(description)`."""
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("Startar", total=total)

        def advance(description: str) -> None:
            progress.update(task, description=description, advance=1)

        yield advance
        progress.update(task, description="Klart", completed=total)
