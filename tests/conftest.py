"""Shared fixtures: a real (in-memory DuckDB) store and a pseudonymisation key; the markers'
rules (docs/testing.md)."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The web tests' shared fixtures (tests/webapp.py) are a plugin module: rewrite its asserts too.
pytest.register_assert_rewrite("webapp")

from insyn.store import open_store  # noqa: E402

# Markers that make a test slow as well: `pytest -m "not slow"` leaves out browsers and backends.
SLOW_TOO = ("browser", "backends")
# Slow tests in files that are otherwise quick, by file: a test is slow when its own name or a
# fixture it uses (directly or through another) is listed. "*": in every file — web_data builds
# the web tests' data folder (tests/webapp.py), about 20 s once per process. A whole slow file
# says so itself (pytestmark = pytest.mark.slow); a single test may carry @pytest.mark.slow.
SLOW = {
    "*": ("web_data",),
    "test_case_flow_properties.py": ("test_assessments_pair_with_the_earliest_undecided_report",
                                     "test_interventions_pair_as_the_rule_says"),
    "test_compiled_cache.py": ("test_cached_sql_gives_the_same_results",),
    "test_damaged_files.py": ("test_damaged_protection_caches_are_made_again",),
    "test_disclosure.py": ("region_results",),  # the demo region, computed, protected and published
    "test_import.py": ("test_no_clear_personal_identity_number_anywhere",),
    "test_noise.py": ("changed", "test_the_same_results_get_the_same_noise"),
    "test_profiles.py": ("test_the_terminal_imports_with_a_data_folder_profile_by_name",
                         "test_the_web_form_offers_the_data_folder_profile_and_an_upload_with_it_loads"),
    "test_publish.py": ("generated",),  # a generated data folder, imported
    "test_recipes.py": ("test_a_backend_added_as_a_scheme_computes_the_library",),
    "test_scb_population.py": ("test_insyn_import_stores_scbs_file_as_populations",),
    "test_workforce.py": ("test_staff_data_alone_cover_from_the_first_end_of_employment",
                          "test_no_workforce_rows_without_staff_data",
                          "test_a_future_degree_two_posts_at_once_and_a_report_taken_up_the_same_day",
                          "test_planned_dates_are_accepted_and_change_nothing_after_the_data"),
}


def pytest_collection_modifyitems(config, items):
    checked = set()
    for item in items:
        module = getattr(item, "module", None)
        listed = SLOW.get(Path(str(item.fspath)).name, ())
        if module is not None and module.__name__ not in checked:
            checked.add(module.__name__)
            gone = [name for name in listed if not hasattr(module, name)]
            if gone:  # renamed or removed: a warning, not an error, so that nobody's run stops for it
                warnings.warn(pytest.PytestConfigWarning(
                    f"tests/conftest.py SLOW names what {module.__name__} no longer has: {gone}"), stacklevel=1)
        names = {getattr(item, "originalname", item.name), *getattr(item, "fixturenames", ())}
        if any(item.get_closest_marker(m) for m in SLOW_TOO) or names & {*SLOW["*"], *listed}:
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the longest files first
        items[:] = _longest_files_first(items)


def _longest_files_first(items):
    """With --dist loadfile each file runs whole on one worker: the files with a browser or a
    backend start first, then the others by their number of slow tests, so that the quick files
    fill the gaps at the end (within a file the order stays; every worker sorts alike)."""
    weight: dict[str, tuple[int, int]] = {}
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        heavy, slow = weight.get(_file(item), (0, 0))
        weight[_file(item)] = (heavy or bool(marks & set(SLOW_TOO)), slow + ("slow" in marks))
    return sorted(items, key=lambda item: tuple(-w for w in weight[_file(item)]))


def _file(item) -> str:
    return item.nodeid.split("::")[0]


def pytest_configure(config):
    # Keep the order above: xdist would otherwise send the files with the most tests first.
    if getattr(config.option, "dist", "no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False


@pytest.fixture
def key() -> bytes:
    return b"test-key-0123456789abcdef0123456"


@pytest.fixture
def store():
    s = open_store(None)
    yield s
    s.close()


# Debian's Chromium for Playwright (pytest-playwright's `page` fixture), for the browser tests
# and the printed report's.
CHROMIUM = os.environ.get("INSYN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium saknas ({CHROMIUM}): apt-get install chromium (.ci/run gör det), "
                    "eller sätt INSYN_CHROMIUM.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
