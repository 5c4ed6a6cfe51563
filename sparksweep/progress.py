"""Progress you can follow, as a rich bar on a terminal and as plain lines elsewhere: a
sweep's, from ansible-runner's events, and a download's.

Both forms of a sweep's progress read the same events through one SweepState, so a test
feeds recorded events to either and sees what a person would.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column
from rich.text import Text

from sparksweep.plan import worker_list

# The sweep's phases, as roles/spark_sweep marks them: a debug task whose msg holds
# sparksweep_phase and the fields each line names. Markers, not task names, so renaming a
# task cannot silently end its progress line (tests/unit/test_runner.py checks both sides).
PHASES = {
    "sweep_started": "sweep {sweep_id} started",
    "cluster_ready": "image built or reused, master ALIVE",
    "data_preparing": "data: preparing (written or converted to Parquet once per data set)",
    "planned": "data ready; {runs} runs planned, already done: {done}",
    "workers_removed": "workers removed with their volumes",
    "workers_alive": "workers ALIVE",
    "job_running": "job running",
    "run_done": "{run_id}: {status} {text}",
}
# The widest time left, "about 0:00:00 left", up to 10 hours.
_LEFT_WIDTH = 18
_UNKNOWN_SIZE_STEP = 100_000_000
# The phases that stay on screen above the bar; the others only change the bar's text.
_MILESTONES = {"planned", "run_done"}
_RUN_ID = re.compile(r"w([0-9]+)-r([0-9]+)")

Event = dict[str, Any]


def ansible_warnings(event: Event) -> list[str]:
    """The [WARNING] and [DEPRECATION WARNING] lines Ansible printed with this event."""
    return [
        line.strip() for line in str(event.get("stdout", "")).splitlines() if "WARNING]" in line
    ]


def phase_marker(event: Event) -> dict[str, Any] | None:
    """The msg of a sweep phase marker, or None when the event is anything else."""
    if event.get("event") != "runner_on_ok":
        return None
    marker = (event.get("event_data", {}).get("res") or {}).get("msg")
    if isinstance(marker, dict) and marker.get("sparksweep_phase") in PHASES:
        return marker
    return None


def clock_text(seconds: float) -> str:
    """H:MM:SS, the form rich's elapsed column uses."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class SweepState:
    """Where a sweep is: runs done of its worker counts x repeats, the current run and
    phase, and an estimate of the time left. workers is N for 1..N, or the counts.

    The estimate is the median length of the runs finished in this process (from the plan
    or the previous run's end to this run's end, so the worker restarts count), times the
    runs left, less the time the current run has already taken. Runs that a resume skips
    count as done but not toward the estimate: they took no time here.
    """

    def __init__(
        self, workers: int | Sequence[int], repeats: int, clock: Callable[[], float]
    ) -> None:
        self.workers = worker_list(workers)
        self.repeats = repeats
        self.total = len(self.workers) * repeats
        self.done = 0
        self.run = ""
        self.phase = "starting: image and master"
        self._clock = clock
        self._start = clock()
        self._run_start: float | None = None
        self._durations: list[float] = []

    def elapsed(self) -> float:
        return self._clock() - self._start

    def left(self) -> float | None:
        """Seconds left, or None until a run of this process has finished."""
        if not self._durations:
            return None
        remaining = max(self.total - self.done, 0)
        if remaining == 0:
            return 0.0
        current = self._clock() - self._run_start if self._run_start is not None else 0.0
        return max(statistics.median(self._durations) * remaining - current, 0.0)

    def left_text(self) -> str:
        left = self.left()
        return "left: estimating" if left is None else f"about {clock_text(left)} left"

    def advance(self, marker: dict[str, Any]) -> str:
        """Take in one phase marker; return its line of text."""
        phase = marker["sparksweep_phase"]
        self.run = str(marker.get("run_id", self.run))
        fields = {key: value for key, value in marker.items() if key != "sparksweep_phase"}
        if phase == "planned":
            done = fields.get("done")
            done = done if isinstance(done, list) else []
            self.done = min(sum(self._in_sweep(str(run_id)) for run_id in done), self.total)
            fields["done"] = ", ".join(str(run_id) for run_id in done) or "none"
            self._run_start = self._clock()
        elif phase == "run_done":
            now = self._clock()
            if self._run_start is not None:
                self._durations.append(now - self._run_start)
            self._run_start = now
            self.done = min(self.done + 1, self.total)
        text = PHASES[phase].format_map(_Blank(fields)).strip()
        self.phase = text
        return text

    def _in_sweep(self, run_id: str) -> bool:
        match = _RUN_ID.fullmatch(run_id)
        return bool(match) and int(match[1]) in self.workers and int(match[2]) <= self.repeats


class _Blank(dict[str, Any]):
    """A marker without a field its line names still gives a line."""

    def __missing__(self, key: str) -> str:
        return "?"


def print_line(line: str) -> None:
    """print, flushed."""
    # Piped to a file or a CI log, stdout is block-buffered: flush so each line shows when
    # its phase starts, not minutes later.
    print(line, flush=True)


class SweepProgress:
    """The sweep's progress as plain lines: elapsed time, the run, the phase; each finished
    run adds how many are done and the time left.

    Called with each ansible-runner event (the runner's event handler); `shown` wraps the
    playbook and writes the header: the sweep id, its folder and the command that resumes it.
    """

    def __init__(
        self,
        workers: int | Sequence[int],
        repeats: int,
        resume: str | None = None,
        write: Callable[[str], None] = print_line,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = SweepState(workers, repeats, clock)
        self._resume = resume
        self._write = write

    @contextlib.contextmanager
    def shown(self, sweep_id: str, folder: Path) -> Iterator[None]:
        for line in self._header(sweep_id, folder):
            self._write(line)
        yield

    def __call__(self, event: Event) -> bool:
        # Ansible's warnings are shown, not hidden with the rest of its output: each one is
        # a bug of ours.
        for line in ansible_warnings(event):
            self._note(f"ansible: {line}")
        marker = phase_marker(event)
        if marker is not None:
            text = self.state.advance(marker)
            self._phase(marker["sparksweep_phase"], text)
        return True

    def _header(self, sweep_id: str, folder: Path) -> list[str]:
        lines = [f"sweep {sweep_id}: {self.state.total} runs, results in {folder}"]
        if self._resume:
            lines.append(f"to resume it: {self._resume}")
        return lines

    def _stamp(self, text: str) -> str:
        return f"[{self.state.elapsed():7.1f}s] {self.state.run:<6} {text}"

    def _note(self, text: str) -> None:
        self._write(self._stamp(text))

    def _phase(self, phase: str, text: str) -> None:
        if phase == "run_done":
            text += f" ({self.state.done}/{self.state.total} done, {self.state.left_text()})"
        self._write(self._stamp(text))


class SweepProgressBar(SweepProgress):
    """The sweep's progress on a terminal: one bar with runs done of total, the current run
    and phase, the elapsed time and the time left; finished runs and warnings stay above it.
    """

    def __init__(
        self,
        workers: int | Sequence[int],
        repeats: int,
        console: Console,
        resume: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        auto_refresh: bool = True,
    ) -> None:
        super().__init__(workers, repeats, resume, write=self._print, clock=clock)
        self._console = console
        # Every column but the phase has a fixed width, and the phase takes what is left of
        # the line and is cut, never wrapped: a bar that grows a second line leaves copies of
        # itself in the scrollback.
        self._progress = Progress(
            TextColumn("{task.fields[run]}", table_column=_fixed(6)),
            BarColumn(bar_width=16),
            MofNCompleteColumn(table_column=_fixed(len(f"{self.state.total}/{self.state.total}"))),
            TimeElapsedColumn(table_column=_fixed(7)),
            _TimeLeftColumn(self.state, table_column=_fixed(_LEFT_WIDTH)),
            TextColumn(
                "{task.description}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"),
            ),
            console=console,
            auto_refresh=auto_refresh,
            expand=True,
            get_time=clock,
        )
        self._task: TaskID | None = None

    @contextlib.contextmanager
    def shown(self, sweep_id: str, folder: Path) -> Iterator[None]:
        for line in self._header(sweep_id, folder):
            self._print(line)
        self._task = self._progress.add_task(self.state.phase, total=self.state.total, run="")
        with self._progress:
            try:
                yield
            finally:
                self._update()

    def _print(self, line: str) -> None:
        self._console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _note(self, text: str) -> None:
        self._progress.console.print(
            self._stamp(text), markup=False, highlight=False, soft_wrap=True
        )

    def _phase(self, phase: str, text: str) -> None:
        if phase in _MILESTONES:
            self._progress.console.print(
                self._stamp(text), markup=False, highlight=False, soft_wrap=True
            )
        self._update()

    def _update(self) -> None:
        if self._task is None:
            return
        self._progress.update(
            self._task,
            completed=self.state.done,
            description=self.state.phase,
            run=self.state.run,
            refresh=True,
        )


class _TimeLeftColumn(ProgressColumn):
    """The sweep's own estimate, recomputed at each refresh so that it counts down.

    Rich's own estimate keeps only the last 30 s of progress, much shorter than a run.
    """

    def __init__(self, state: SweepState, table_column: Column) -> None:
        super().__init__(table_column)
        self._state = state

    def render(self, task: Task) -> Text:
        return Text(self._state.left_text(), style="progress.remaining")


def _fixed(width: int) -> Column:
    return Column(width=width, no_wrap=True)


def sweep_progress(
    workers: int | Sequence[int], repeats: int, resume: str | None, console: Console | None = None
) -> SweepProgress:
    """A bar when the console is a terminal, plain flushed lines otherwise."""
    console = console or Console()
    if console.is_terminal and not console.is_dumb_terminal:
        return SweepProgressBar(workers, repeats, console, resume)
    return SweepProgress(workers, repeats, resume)


@contextlib.contextmanager
def download_progress(
    label: str, console: Console | None = None, write: Callable[[str], None] = print_line
) -> Iterator[Callable[[int, int | None], None]]:
    """A callback for bytes received of the total (None when unknown) that shows them: a bar
    with size, speed and time left on a terminal, a line at every tenth elsewhere."""
    console = console or Console()
    if console.is_terminal and not console.is_dumb_terminal:
        with Progress(
            TextColumn(label),
            BarColumn(bar_width=None),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            yield update
        return

    shown = -1
    last = -1

    def line(done: int, total: int | None) -> None:
        nonlocal shown, last
        # A tenth of the file, or every 100 MB when its size is unknown.
        step = max(total // 10 if total else _UNKNOWN_SIZE_STEP, 1)
        if done != last and (done // step > shown or done == total):
            shown, last = done // step, done
            size = f" of {total / 1e6:.1f} MB" if total else " MB"
            write(f"{label}: {done / 1e6:.1f}{size}")

    yield line
