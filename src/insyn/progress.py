"""Progress display for long work, shared by the CLI commands."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

# No text printed is read as Rich markup: values from files (a unit named "[link=…]x[/link]")
# print as they are, and the few styled words carry their style (`style=`, rich.text.Text).
console = Console(markup=False)


@contextmanager
def steps(total: int):
    """A progress bar of `total` steps; yields `advance(description)`."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("Startar", total=total)

        def advance(description: str) -> None:
            progress.update(task, description=description, advance=1)

        yield advance
        progress.update(task, description="Klart", completed=total)
