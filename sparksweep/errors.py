"""Exceptions a user can cause. The CLI prints them as one line and exits non-zero."""


class SparksweepError(Exception):
    """Base of every error a user can cause and fix."""

    exit_code = 2


class DataError(SparksweepError):
    """A data file is missing, malformed or empty."""


class ResultsError(SparksweepError):
    """A results folder or a run JSON cannot be read or does not match the schema."""


class FitError(SparksweepError):
    """The timings cannot support an Amdahl fit (for example fewer than two worker counts)."""


class EventLogError(SparksweepError):
    """A Spark event log is missing, cut off, corrupt, unfinished or holds no tasks."""


class PlanError(SparksweepError):
    """A sweep's worker counts or run order cannot be planned, or differ from the plan its
    runs were measured under."""


class PlaybookError(SparksweepError):
    """An ansible-runner playbook run failed."""

    exit_code = 1


class HistoryError(SparksweepError):
    """The History Server does not answer, or does not list the sweep's applications."""

    exit_code = 1


class SweepBusyError(SparksweepError):
    """Another sweep holds this machine's cluster."""

    exit_code = 3


class RunsFailedError(SparksweepError):
    """A sweep holds failed runs: its report is written, but the sweep is not complete."""

    exit_code = 4


class SweepInterruptedError(SparksweepError):
    """The sweep was stopped by the user (Ctrl-C); what it started was stopped with it."""

    exit_code = 130

    def __init__(self, sweep_id: str, message: str) -> None:
        super().__init__(message)
        self.sweep_id = sweep_id
