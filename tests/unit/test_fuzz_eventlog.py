"""Damaged event logs, generated rather than listed: each read ends in EventLogError (one line
naming the file) or a whole application, never a traceback; `sparksweep predict` exits 2 or 0."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparksweep import eventlog
from sparksweep.cli import main
from sparksweep.errors import EventLogError
from tests.eventlogs import EventLog, encode, stage_info


def small_log() -> bytes:
    log = EventLog()
    log.executor("1", 2)
    for job in range(2):
        info = stage_info(job, 3)
        log.job(job, 1.0 + 2 * job, 2.5 + 2 * job, [info])
        log.stage(info, 1.0 + 2 * job, 2.5 + 2 * job)
        for index in range(3):
            log.task(job, index, "1", 1.0 + 2 * job + 0.4 * index, 1.5 + 2 * job + 0.4 * index)
    log.end(6.0)
    return log.text()


PLAIN = small_log()
CODECS = [None, "zstd", "lz4", "snappy", "lzf"]


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str | None, bytes]:
    codec = draw(st.sampled_from(CODECS))
    data = bytearray(encode(PLAIN, codec))
    kind = draw(st.sampled_from(["cut", "flip", "insert", "both"]))
    if kind in ("flip", "both"):
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    if kind in ("cut", "both"):
        data = data[: draw(st.integers(0, len(data)))]
    return codec, bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_log_is_read_whole_or_refused_in_one_line(case: tuple[str | None, bytes]) -> None:
    codec, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "app-1" + (f".{codec}" if codec else ""))
        path.write_bytes(data)
        try:
            app = eventlog.read(path)
        except EventLogError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message
        else:
            assert app.tasks and app.end >= app.start


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.sampled_from([[], ["--workers", "1,3"], ["--cores", "2"], ["--json"]]))
def test_predict_on_a_damaged_log_exits_0_or_2_with_one_line(
    case: tuple[str | None, bytes], args: list[str]
) -> None:
    codec, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "app-1" + (f".{codec}" if codec else ""))
        path.write_bytes(data)
        with pytest.MonkeyPatch.context() as patch:
            errors: list[str] = []
            patch.setattr("sys.stderr.write", lambda text: errors.append(text) or len(text))
            code = main(["predict", str(path), *args])
    assert code in (0, 2)
    if code == 2:
        assert "".join(errors).count("\n") == 1
