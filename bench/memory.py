"""Peak memory as the benches measure it: the summed resident set of a group of processes,
sampled five times a second, overall and per named step."""

from __future__ import annotations

import contextlib
import threading

import psutil


class PeakMemory:
    """The peak summed RSS of the processes `processes()` gives (the server's processes, or a
    phase's own with its children: Spark's JVM, the protection's pool), in MB; `step(name)`
    starts a step whose own peak lands in `step_peaks_mb`."""

    def __init__(self, processes) -> None:
        self.processes = processes
        self.peak_mb, self._stop = 0.0, threading.Event()
        self.step_peaks_mb: dict[str, float] = {}
        self._step: str | None = None
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def step(self, name: str) -> None:
        self._step = name

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            rss = 0
            for process in self.processes():
                with contextlib.suppress(psutil.Error):  # ended between listing and reading
                    rss += process.memory_info().rss
            self.peak_mb = max(self.peak_mb, rss / 2**20)
            if self._step is not None:
                self.step_peaks_mb[self._step] = max(self.step_peaks_mb.get(self._step, 0.0), rss / 2**20)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]


def own_processes() -> list[psutil.Process]:
    me = psutil.Process()
    return [me, *me.children(recursive=True)]
