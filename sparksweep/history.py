"""Spark's History Server over one sweep's event logs: what it should serve, and what it does.

The playbook (playbooks/history.yml, through the runner) starts the server; this module
finds the sweep's event logs beforehand, and asks the server's REST API afterwards until it
lists the sweep's applications. The server scans its folder every
spark_history_update_interval and replays each log before listing it, so a run shows up
seconds after the server answers, not at once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparksweep import settings
from sparksweep.errors import HistoryError, ResultsError
from sparksweep.results import load_runs, run_order

EVENTS_DIRNAME = "events"
# Spark names a log it is still writing <name>.inprogress; the server lists it as an
# incomplete application, which no finished run is.
_IN_PROGRESS = ".inprogress"
# Replaying a sweep's logs takes seconds; a minute more leaves room for a slow disk.
WAIT_S = 120.0
_POLL_S = 1.0


@dataclass(frozen=True)
class Application:
    """One run's Spark application."""

    application_id: str
    run_id: str


def base_url() -> str:
    return settings.history_url()


def application_page(application_id: str, base: str | None = None) -> str:
    """The application's jobs page on the History Server."""
    return f"{base or base_url()}/history/{application_id}/jobs/"


def events_folder(sweep: Path) -> Path:
    """The sweep's events/ folder, or ResultsError when it holds no finished event log."""
    if not sweep.is_dir():
        raise ResultsError(f"{sweep} is not a folder; point at a sweep folder results/<sweep_id>")
    events = sweep / EVENTS_DIRNAME
    if not finished_logs(events):
        raise ResultsError(
            f"{sweep} has no Spark event logs in {EVENTS_DIRNAME}/, so there is nothing to "
            "serve; point at a sweep folder results/<sweep_id> whose runs kept theirs"
        )
    return events


def finished_logs(events: Path) -> list[Path]:
    """The event logs a run finished writing, as the server lists them (not hidden ones)."""
    if not events.is_dir():
        return []
    return sorted(
        path
        for path in events.iterdir()
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(_IN_PROGRESS)
    )


def expected_applications(sweep: Path) -> list[Application]:
    """The runs whose event log is on disk, in run order: what the server must list.

    A run without a kept log (its driver was killed) has an application id the server
    cannot know; a sweep folder without run records is served but expects nothing.
    """
    if not any(sweep.glob("runs/*.json")):
        return []
    runs = load_runs(sweep)
    kept = [
        run
        for run in runs
        if run.get("application_id")
        and run.get("event_log")
        and (sweep / run["event_log"]).is_file()
    ]
    kept.sort(key=run_order)
    return [Application(run["application_id"], run["run_id"]) for run in kept]


def listed_applications(base: str | None = None) -> list[str]:
    """The application ids the server's REST API lists; OSError when it does not answer."""
    url = f"{base or base_url()}/api/v1/applications"
    with urllib.request.urlopen(url, timeout=5) as response:
        listing: list[dict[str, Any]] = json.load(response)
    return [app["id"] for app in listing]


def wait_for_applications(
    wanted: Iterable[str],
    *,
    base: str | None = None,
    timeout_s: float = WAIT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Poll the server until it lists every wanted application id; return what it lists."""
    wanted = set(wanted)
    deadline = clock() + timeout_s
    listed: list[str] = []
    while True:
        try:
            listed = listed_applications(base)
            problem = None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = exc
        missing = sorted(wanted - set(listed))
        if problem is None and not missing:
            return listed
        if clock() >= deadline:
            url = f"{base or base_url()}/api/v1/applications"
            if problem is not None:
                raise HistoryError(f"the History Server at {url} does not answer: {problem}")
            raise HistoryError(
                f"after {timeout_s:g} s the History Server at {url} lists {len(listed)} "
                f"applications but not {', '.join(missing)}; see its log with "
                "'docker logs spark-history'"
            )
        sleep(_POLL_S)


def served_lines(
    expected: list[Application], listed: list[str], base: str | None = None
) -> list[str]:
    """One line per application the server lists, the sweep's runs first, with its page."""
    runs = {app.application_id: app.run_id for app in expected}
    ordered = [app.application_id for app in expected if app.application_id in listed]
    ordered += sorted(set(listed) - set(ordered))
    width = max((len(run or "-") for run in runs.values()), default=1)
    return [
        f"  {runs.get(app) or '-':<{width}}  {app}  {application_page(app, base)}"
        for app in ordered
    ]
