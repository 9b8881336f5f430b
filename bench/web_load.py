"""Web load benchmark: the web app (`insyn serve`) on national-scale synthetic data, driven from a
second process on loopback by Locust with concurrent users mixing page views and downloads.

1. Data: a data folder holding all 290 municipalities for the chosen years, made as a user
   would: `insyn generate --municipalities alla` and `insyn import` (which computes the indicator
   results and the monthly workload), each in a fresh process. Kept between runs with --reuse.
2. Accounts: a regional analyst, four municipalities' and two unit managers' accounts in the
   folder's app state: seven scopes, each its own publication in the server.
3. For each --workers: start `insyn serve` in its own process group (as deployed on localhost,
   with Secure cookies: the Locust users set the Cookie header themselves), sign every account
   in and warm every scope on every worker process, timing the first page. The first page after
   a start builds the disclosure-protected publication; unless --keep-cache the disclosure cache
   is emptied first, so the very first request is the cold figure users feel after an import.
4. Load: `locust --headless` in a second process, --users users (round robin over the accounts)
   spawned at --spawn-rate, for --seconds, once per --think setting (seconds between a user's
   clicks, "1-3"; "0" is no pause: the server's capacity). 85 % page views, 15 % downloads.
   Page views and downloads are timed separately over the steady part of the run (every user
   signed in), from every request's own timing; the server's peak RSS (all its processes) and
   CPU, and the load generator's CPU, are recorded.

Usage: python bench/web_load.py [--years 2024,2025] [--users 50] [--seconds 60] [--workers 1,2]
       [--think 1-3,0] [--reuse] [--keep-cache] [--out bench/out]
Writes bench/out/web_load.json (working files, logs and Locust's CSVs in bench/out/web_load/)
and prints a table; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import psutil

BENCH = Path(__file__).resolve().parent
PASSWORD = "bench-losenord-web-load"
# (username, role, municipality, units): one scope each in the server (insyn.web.scope.Scope.key).
ACCOUNTS = [
    ("bench.analytiker", "analytiker", None, ()),
    ("bench.kommun.0180", "kommun", "0180", ()),        # Stockholm
    ("bench.kommun.1480", "kommun", "1480", ()),        # Göteborg
    ("bench.kommun.1280", "kommun", "1280", ()),        # Malmö
    ("bench.kommun.0884", "kommun", "0884", ()),        # Vimmerby
    ("bench.enhet.1480", "enhetschef", "1480", ("Mottagning",)),
    ("bench.enhet.0884", "enhetschef", "0884", ("Utredning",)),
]
# Users are given accounts in turn from this list: the analyst twice, so that 50 users are about
# 12 analysts, 25 municipality users and 13 unit managers.
USER_ACCOUNTS = [ACCOUNTS[0], *ACCOUNTS[1:5], ACCOUNTS[0], *ACCOUNTS[5:]]
TABLES = ["events", "staff", "trainings", "mentorships", "workload_ratings", "courses",
          "indicator_results", "workload_monthly"]
WARM_PAGES = ["/oversikt", "/omrade/arendeflode", "/omrade/personal", "/jamforelse"]
SELECT = re.compile(r'<select id="val-(\w+)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"')


# --- machine and processes -------------------------------------------------------------------------

def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    versions = {}
    for package in ("duckdb", "fastapi", "starlette", "uvicorn", "locust", "pandas", "jinja2"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": model,
            "cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "versions": versions}


def run_timed(command: list[str], log: Path, env: dict | None = None) -> dict:
    """Run a command in a fresh process: wall seconds and its peak RSS (MB)."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}); see {log}")
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024)}


def insyn(data_dir: Path, *args: str) -> list[str]:
    """The `insyn` command, run by this Python (not through a version manager's shim)."""
    return [sys.executable, "-c", "from insyn.cli import app; app()", "--data-dir", str(data_dir), *args]


# --- 1. data --------------------------------------------------------------------------------------

def prepare_data(work: Path, years: list[int], seed: int, reuse: bool) -> dict:
    """The data folder with all municipalities imported; its description (kept in the folder)."""
    data_dir = work / "data"
    manifest = data_dir / "bench-web-load.json"
    if reuse and manifest.exists() and (data_dir / "insyn.duckdb").exists():
        described = json.loads(manifest.read_text())
        if described["years"] == years and described["seed"] == seed:
            print(f"data: reusing {data_dir} ({len(years)} years, made {described['made']})", flush=True)
            return described | {"reused": True}
        print("data: the kept folder has other years or seed: making it again", flush=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    export = work / "export"
    shutil.rmtree(export, ignore_errors=True)
    years_text = ",".join(map(str, years))
    print(f"data: generating {years_text} for all municipalities …", flush=True)
    generate = run_timed(insyn(data_dir, "generate", "--municipalities", "alla", "--years", years_text,
                               "--seed", str(seed), "--out", str(export)), work / "generate.log")
    print(f"data: generated in {generate['seconds']:.1f} s; importing (with indicators and workload) …", flush=True)
    imported = run_timed(insyn(data_dir, "import", *map(str, sorted(export.glob("*.csv")))), work / "import.log")
    print(f"data: imported in {imported['seconds']:.1f} s", flush=True)
    shutil.rmtree(export)
    described = {"years": years, "seed": seed, "made": time.strftime("%Y-%m-%d %H:%M"),
                 "generate": generate, "import": imported, "rows": count_rows(data_dir / "insyn.duckdb")}
    manifest.write_text(json.dumps(described, indent=2))
    return described | {"reused": False}


def count_rows(database: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        rows["municipalities"] = con.execute("SELECT count(DISTINCT municipality) FROM events").fetchone()[0]
        rows["reports"] = con.execute("SELECT count(*) FROM events WHERE event = 'report'").fetchone()[0]
        for _, role, municipality, units in ACCOUNTS:
            for unit in units:
                if not con.execute("SELECT count(*) FROM staff WHERE municipality = ? AND unit = ?",
                                   [municipality, unit]).fetchone()[0]:
                    print(f"warning: no unit {unit} in {municipality}: its {role} account sees no own unit")
        return rows
    finally:
        con.close()


# --- 2. accounts ----------------------------------------------------------------------------------

def ensure_accounts(data_dir: Path) -> None:
    """The benchmark's accounts, as `insyn users add` makes them (same function)."""
    from insyn.web.accounts import add_user, find_user
    from insyn.web.appstate import open_app_state

    con = open_app_state(data_dir)
    try:
        for username, role, municipality, units in ACCOUNTS:
            if find_user(con, username) is None:
                add_user(con, username, PASSWORD, role, municipality=municipality, units=units)
    finally:
        con.close()


# --- 3. the server --------------------------------------------------------------------------------

class Sampler(threading.Thread):
    """The server's memory (RSS summed over its processes) every 0.2 s, peak per phase."""

    def __init__(self, root: psutil.Process):
        super().__init__(daemon=True)
        self.root, self.phase, self.peaks, self.process_peak = root, "start", {}, 0
        self.timeline: list[tuple[float, int]] = []  # (time, RSS of all the server's processes)
        self.running = True

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def run(self) -> None:
        while self.running:
            total = 0
            for process in self.processes():
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.process_peak = max(self.process_peak, rss)
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), total)
            self.timeline.append((time.time(), total))
            time.sleep(0.2)

    def peak_mb(self, start: float, stop: float) -> int:
        return round(max((rss for t, rss in self.timeline if start <= t <= stop), default=0) / 2**20)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds (user and system) so far of each of the server's processes."""
        seconds = {}
        for process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seconds[process.pid] = times.user + times.system
        return seconds


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    workers: int
    sampler: Sampler
    log: Path
    data_dir: Path
    worker_pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        self.sampler.running = False
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group this script started for the server
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, workers: int, log: Path) -> Server:
    port = free_port()
    out = log.open("w")
    process = subprocess.Popen(insyn(data_dir, "serve", "--port", str(port), "--workers", str(workers)),
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    sampler = Sampler(psutil.Process(process.pid))
    sampler.start()
    server = Server(process, port, workers, sampler, log, data_dir)
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped ({process.returncode}); see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/static/favicon.svg")
            if connection.getresponse().status == 200:
                connection.close()
                break
        except OSError:
            time.sleep(0.3)
    else:
        server.stop()
        raise SystemExit(f"the server did not answer in 120 s; see {log}")
    server.worker_pids = find_workers(server)
    return server


class WorkerConnection:
    """A keep-alive connection to one given worker process of the server (found by asking the
    kernel which process holds the other end), so that every worker's memory can be warmed."""

    def __init__(self, server: Server, pid: int | None = None):
        self.server, self.pid = server, pid
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        for _ in range(200):
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=1800)
            connection.request("GET", "/static/favicon.svg")
            connection.getresponse().read()
            holder = worker_holding(self.server, connection.sock.getsockname()[1])
            if self.pid is None or holder == self.pid:
                self.pid = holder
                return connection
            connection.close()
        raise RuntimeError(f"no connection reached worker {self.pid}")

    def get(self, path: str, cookie: str) -> tuple[int, str, float]:
        for attempt in range(2):
            try:
                start = time.perf_counter()
                self.connection.request("GET", path, headers={"Cookie": cookie})
                response = self.connection.getresponse()
                body = response.read().decode("utf-8", "replace")
                return response.status, body, time.perf_counter() - start
            except (http.client.HTTPException, ConnectionError):  # the keep-alive ran out
                self.connection.close()
                if attempt:
                    raise
                self.connection = self._connect()
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def worker_holding(server: Server, client_port: int) -> int | None:
    for process in server.sampler.processes():
        try:
            for c in process.net_connections("tcp"):
                if c.raddr and c.raddr.port == client_port and c.laddr.port == server.port:
                    return process.pid
        except psutil.Error:
            continue
    return None


def find_workers(server: Server) -> list[int]:
    found: set[int] = set()
    for _ in range(200):
        connection = WorkerConnection(server)
        connection.close()
        found.add(connection.pid)
        if len(found - {None}) >= server.workers:
            break
    return sorted(found - {None})


def sign_in(port: int, username: str) -> str:
    """The session cookie of a fresh login, as the form does it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/logga-in")
    form = connection.getresponse().read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    body = urlencode({"anvandarnamn": username, "losenord": PASSWORD, "csrf": token, "nasta": "/oversikt"})
    connection.request("POST", "/logga-in", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Cookie": f"insyn_login_csrf={token}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    session = next((m.group(1) for c in response.headers.get_all("Set-Cookie") or []
                    if (m := re.match(r"insyn_session=([^;]+)", c))), None)
    if response.status != 303 or session is None:
        raise SystemExit(f"could not sign in as {username}: HTTP {response.status}")
    return f"insyn_session={session}"


def warm(server: Server, cookies: dict[str, str], first: bool) -> dict:
    """Every scope's pages once on every worker. With `first`, the analyst's Översikt alone first:
    the first page after a start, which builds the publication (and, when the disclosure cache
    is empty, as after an import, runs the disclosure LP: the cold figure)."""
    found: dict = {"per_worker": {}, "choices": {}}
    first_worker = WorkerConnection(server, server.worker_pids[0])
    if first:
        cached = any((server.data_dir / "cache").glob("disclosure-*"))
        status, body, seconds = first_worker.get("/oversikt", cookies[ACCOUNTS[0][0]])
        if status != 200:
            raise SystemExit(f"the first page failed: HTTP {status}; see {server.log}")
        found["first_page"] = {"seconds": round(seconds, 2), "disclosure_cache": cached}
        print(f"  first page after start ({'disclosure cache kept' if cached else 'cold: no disclosure cache'}): "
              f"{seconds:.1f} s", flush=True)

    def warm_worker(pid: int) -> dict:
        connection = first_worker if pid == first_worker.pid else WorkerConnection(server, pid)
        times = {}
        for username, *_ in ACCOUNTS:
            pages = {}
            for path in WARM_PAGES:
                status, body, seconds = connection.get(path, cookies[username])
                if status != 200:
                    raise SystemExit(f"warm-up {path} as {username}: HTTP {status}; see {server.log}")
                pages[path] = round(seconds, 3)
                for name, options in SELECT.findall(body):
                    found["choices"].setdefault(name, OPTION.findall(options))
            times[username] = pages
        connection.close()
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(len(server.worker_pids)) as pool:
        for pid, times in zip(server.worker_pids, pool.map(warm_worker, server.worker_pids), strict=True):
            found["per_worker"][str(pid)] = times
    found["seconds"] = round(time.perf_counter() - start, 1)
    firsts = [t[WARM_PAGES[0]] for w in found["per_worker"].values() for t in w.values()]
    found["scope_first_page_seconds"] = {"median": round(float(np.median(firsts)), 2), "max": round(max(firsts), 2)}
    return found


# --- 4. load --------------------------------------------------------------------------------------

def run_locust(server: Server, work: Path, name: str, args, think: tuple[float, float], choices: dict) -> dict:
    samples = work / f"samples-{name}.json"
    config = work / f"locust-{name}.json"
    config.write_text(json.dumps({
        "accounts": [{"username": u, "password": PASSWORD, "role": r, "municipality": m} for u, r, m, _ in
                     USER_ACCOUNTS],
        "municipalities": choices["kommun"], "indicators": choices["indikator"],
        "groups": [g for g in choices["grupp"] if g != "alla"], "think": list(think),
        "download_share": args.download_share, "own_share": 0.7, "all_share": 0.25, "samples": str(samples),
    }, indent=2))
    command = [sys.executable, "-m", "locust", "-f", str(BENCH / "locustfile.py"), "--headless",
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s",
               "--host", f"http://127.0.0.1:{server.port}", "--csv", str(work / f"locust-{name}"),
               "--only-summary", "--loglevel", "WARNING"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server.sampler.cpu_seconds()
    server.sampler.phase = f"load {name}"
    with (work / f"locust-{name}.log").open("w") as log:
        locust = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=args.seconds + 300,
                                env=os.environ | {"INSYN_BENCH_CONFIG": str(config)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = {pid: seconds - server_cpu.get(pid, 0) for pid, seconds in server.sampler.cpu_seconds().items()}
    server.sampler.phase = "between"
    if not samples.exists():
        raise SystemExit(f"Locust wrote no samples (exit {locust.returncode}); see {work / f'locust-{name}.log'}")
    figures = summarise(json.loads(samples.read_text()))
    window = figures.pop("window")
    figures["peak_rss_mb"] = {"sign-in": server.sampler.peak_mb(window["start"], window["steady"]),
                              "steady": server.sampler.peak_mb(window["steady"], window["stop"])}
    figures["server_cpu_cores"] = round(sum(server_cpu.values()) / figures["whole_run_seconds"], 2)
    # How evenly the kernel spread the users' connections over the worker processes.
    figures["worker_cpu_cores"] = [round(server_cpu.get(pid, 0) / figures["whole_run_seconds"], 2)
                                   for pid in server.worker_pids]
    figures["locust_cpu_cores"] = round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                                        / figures["whole_run_seconds"], 2)
    return figures


def latency(times: list[float], seconds: float) -> dict:
    if not times:
        return {"requests": 0}
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return {"requests": len(times), "per_second": round(len(times) / seconds, 1), "p50_ms": round(float(p50)),
            "p95_ms": round(float(p95)), "p99_ms": round(float(p99)), "max_ms": round(max(times))}


def summarise(recorded: dict) -> dict:
    """Latencies over the steady part (from when every user is spawned and signed in), errors over all."""
    marks, samples = recorded["marks"], recorded["samples"]
    logins = [s[0] + s[2] / 1000 for s in samples if s[1].startswith("login")]
    start = max([marks.get("spawned", marks["start"]), *logins])
    stop = marks["stop"]
    steady = [s for s in samples if start <= s[0] <= stop]
    seconds = stop - start
    ok = [s for s in steady if s[4] is None]
    kinds = sorted({s[1] for s in samples})
    errors = [s for s in samples if s[4] is not None]
    messages: dict[str, int] = {}
    for s in errors:
        messages[f"{s[1]}: {s[4]}"[:160]] = messages.get(f"{s[1]}: {s[4]}"[:160], 0) + 1
    return {
        "window": {"start": marks["start"], "steady": start, "stop": stop},
        "steady_seconds": round(seconds, 1), "whole_run_seconds": round(stop - marks["start"], 1),
        "requests": len(samples), "errors": len(errors), "error_messages": messages,
        "all": latency([s[2] for s in ok], seconds),
        "pages": latency([s[2] for s in ok if s[1].startswith("page")], seconds),
        "downloads": latency([s[2] for s in ok if s[1].startswith("download")], seconds),
        "logins": latency([s[2] for s in samples if s[1] == "login" and s[4] is None], stop - marks["start"]),
        "by_name": {k: latency([s[2] for s in ok if s[1] == k], seconds) for k in kinds if not k.startswith("login")},
    }


# --- output ---------------------------------------------------------------------------------------

def think_label(think: tuple[float, float]) -> str:
    return "none" if think[1] == 0 else f"{think[0]:g}–{think[1]:g} s"


def print_table(figures: dict) -> None:
    data, m = figures["data"], figures["machine"]
    rows = data["rows"]
    print(f"\nWeb load benchmark: {rows['municipalities']} municipalities, years {data['years'][0]}–"
          f"{data['years'][-1]}, {rows['events']:,} events, {rows['indicator_results']:,} indicator results; "
          f"{figures['users']} users, {figures['seconds']} s each, 85/15 pages/downloads")
    print(f"machine: {m['cpu']}, {m['cpus']} cores, {m['memory_gib']} GiB, Python {m['python']}")
    if not data.get("reused"):
        print(f"data: generate {data['generate']['seconds']:.1f} s, import with indicators and workload "
              f"{data['import']['seconds']:.1f} s ({data['import']['peak_mb']:,} MB)")
    header = (f"{'workers':>7} {'think':>9} {'req/s':>6} | {'pages/s':>7} {'p50':>5} {'p95':>6} {'p99':>6} | "
              f"{'dl/s':>5} {'p50':>5} {'p95':>6} {'p99':>6} | {'errors':>6} {'srv CPU':>7} {'locust':>6} "
              f"{'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for run in figures["runs"]:
        for name, r in run["load"].items():
            p, d = r["pages"], r["downloads"]
            print(f"{run['workers']:>7} {name:>9} {r['all']['per_second']:>6.1f} | {p['per_second']:>7.1f} "
                  f"{p['p50_ms']:>5} {p['p95_ms']:>6} {p['p99_ms']:>6} | {d.get('per_second', 0):>5.1f} "
                  f"{d.get('p50_ms', '')!s:>5} {d.get('p95_ms', '')!s:>6} {d.get('p99_ms', '')!s:>6} | "
                  f"{r['errors']:>6} {r['server_cpu_cores']:>7.2f} {r['locust_cpu_cores']:>6.2f} "
                  f"{r['peak_rss_mb']['steady']:>8,}")
    print("(latencies in ms over the steady part, every user signed in; CPU: cores busy on average over the run; "
          "peak MB: the server's processes together, steady part)")
    for run in figures["runs"]:
        for name, r in run["load"].items():
            login, ramp = r["logins"], r["whole_run_seconds"] - r["steady_seconds"]
            print(f"workers {run['workers']}, think {name}: {login['requests']} sign-ins while users start, "
                  f"p50 {login.get('p50_ms')} ms, p95 {login.get('p95_ms')} ms (Argon2); server peak "
                  f"{r['peak_rss_mb']['sign-in']:,} MB while signing in; steady after {ramp:.1f} s; "
                  f"CPU per worker {r['worker_cpu_cores']}")
    for run in figures["runs"]:
        w = run["warm_up"]
        page = w.get("first_page")
        cold = (f"first page after start {page['seconds']:.1f} s "
                f"({'disclosure cache kept' if page['disclosure_cache'] else 'cold'}); " if page else "")
        print(f"workers {run['workers']}: {cold}first page of each of {len(ACCOUNTS)} scopes on each worker: "
              f"median {w['scope_first_page_seconds']['median']:.1f} s, max {w['scope_first_page_seconds']['max']:.1f}"
              f" s; warm-up {w['seconds']:.0f} s; peak RSS after warm-up {run['peak_rss_mb']['warm-up']:,} MB, "
              f"largest process {run['peak_rss_mb']['largest_process']:,} MB")
    for run in figures["runs"]:
        for name, r in run["load"].items():
            for message, n in list(r["error_messages"].items())[:5]:
                print(f"  error (workers {run['workers']}, think {name}) ×{n}: {message}")
    goal = all(r["errors"] == 0 and r["pages"].get("p95_ms", 1e9) < 200
               for run in figures["runs"] for name, r in run["load"].items() if name != "none")
    print(f"goal (p95 of page views under 200 ms, no error, users pausing between clicks): "
          f"{'met' if goal else 'missed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2024,2025")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--think", default="1-3,0",
                        help="seconds between a user's clicks, min-max; several comma-separated; 0: no pause")
    parser.add_argument("--download-share", type=float, default=0.15)
    parser.add_argument("--reuse", action="store_true", help="keep the data folder of an earlier run")
    parser.add_argument("--keep-cache", action="store_true",
                        help="keep the disclosure cache (no cold first page: skips several minutes)")
    parser.add_argument("--out", default=str(BENCH / "out"))
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    thinks = [tuple(float(x) for x in (t.split("-") if "-" in t else (t, t))) for t in args.think.split(",")]
    out = Path(args.out).resolve()
    work = out / "web_load"
    work.mkdir(parents=True, exist_ok=True)

    figures = {"machine": machine(), "users": args.users, "seconds": args.seconds, "spawn_rate": args.spawn_rate,
               "download_share": args.download_share,
               "accounts": [{"username": u, "role": r, "municipality": m, "units": list(n)} for u, r, m, n in ACCOUNTS],
               "data": prepare_data(work, years, args.seed, args.reuse), "runs": []}
    data_dir = work / "data"
    ensure_accounts(data_dir)
    first = True  # the first server's first page is timed alone
    if not args.keep_cache:
        for cached in (data_dir / "cache").glob("disclosure-*"):
            cached.unlink()
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"workers {workers}: starting the server …", flush=True)
        server = start_server(data_dir, workers, work / f"server-w{workers}.log")
        try:
            print(f"  worker processes {server.worker_pids}; signing in and warming {len(ACCOUNTS)} scopes …",
                  flush=True)
            server.sampler.phase = "warm-up"
            cookies = {username: sign_in(server.port, username) for username, *_ in ACCOUNTS}
            warmed = warm(server, cookies, first)
            first = False
            print(f"  warm in {warmed['seconds']:.0f} s", flush=True)
            run = {"workers": workers, "worker_pids": server.worker_pids, "load": {},
                   "warm_up": {k: v for k, v in warmed.items() if k != "choices"}}
            for think in thinks:
                name = think_label(think)
                print(f"  load: {args.users} users, think {name}, {args.seconds} s …", flush=True)
                load = run_locust(server, work, f"w{workers}-think{think[0]:g}-{think[1]:g}", args, think,
                                  warmed["choices"])
                run["load"][name] = load
                p = load["pages"]
                print(f"  {load['all'].get('per_second', 0)} req/s, pages p50/p95/p99 {p.get('p50_ms')}/"
                      f"{p.get('p95_ms')}/{p.get('p99_ms')} ms, {load['errors']} errors", flush=True)
            peaks = server.sampler.peaks
            run["peak_rss_mb"] = {"warm-up": round(peaks.get("warm-up", 0) / 2**20),
                                  "load": round(max(v for k, v in peaks.items() if k.startswith("load")) / 2**20),
                                  "largest_process": round(server.sampler.process_peak / 2**20)}
            figures["runs"].append(run)
        finally:
            server.stop()
    (out / "web_load.json").write_text(json.dumps(figures, indent=2))
    print_table(figures)


if __name__ == "__main__":
    main()
