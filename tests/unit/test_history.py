"""What `sparksweep history` serves and waits for, without Docker: the folder checks, the
applications a sweep's records expect, and the wait on a REST API served by a local server."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from sparksweep import history
from sparksweep.cli import main
from sparksweep.errors import HistoryError, ResultsError
from sparksweep.job import runrecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def write_run(sweep: Path, run_id: str, application_id: str, event_log: str | None) -> None:
    workers = run_id[1 : run_id.index("-")]
    args = runrecord.job_parser("test").parse_args(
        [
            *("--data", "/d", "--cores-per-worker", "1", "--executor-memory", "2g"),
            *("--dataset-source", "synthetic", "--dataset-fingerprint", "sha256:ab"),
            *("--out", "x", "--sweep-id", sweep.name, "--run-id", run_id, "--workers", workers),
        ]
    )
    record = runrecord.new_record(args)
    record.update(application_id=application_id, event_log=event_log)
    runrecord.set_error(record, "exit", "the test needs no fit")
    (sweep / "runs").mkdir(parents=True, exist_ok=True)
    runrecord.write_json(str(sweep / "runs" / f"{run_id}.json"), record)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """w1-r1, w1-r2 and w2-r1 with their logs kept, w2-r2 without (its driver was killed)."""
    folder = tmp_path / "s1"
    (folder / "events").mkdir(parents=True)
    for run_id, app in (("w2-r1", "app-3"), ("w1-r2", "app-2"), ("w1-r1", "app-1")):
        log = f"events/{run_id}_{app}.zstd"
        (folder / log).write_bytes(b"\x28\xb5\x2f\xfd")
        write_run(folder, run_id, app, log)
    write_run(folder, "w2-r2", "app-4", None)
    return folder


class _Applications(http.server.BaseHTTPRequestHandler):
    listing: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        body = json.dumps(self.listing).encode()
        self.send_response(200 if self.path == "/api/v1/applications" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def rest_api() -> Iterator[tuple[str, type[_Applications]]]:
    """A local server that answers /api/v1/applications as the History Server does."""
    handler = type("Handler", (_Applications,), {"listing": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_sweep_without_event_logs_is_refused_in_one_line_before_any_playbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = Path(shutil.copytree(FIXTURES / "good", tmp_path / "good"))

    assert main(["history", str(sweep)]) == 2

    line = one_error_line(capsys)
    assert f"{sweep} has no Spark event logs in events/" in line


def test_history_needs_a_folder_or_stop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 2

    assert "sparksweep history --stop" in one_error_line(capsys)


def test_only_finished_visible_logs_count(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    for name in ("w1-r1_app-1.zstd", "app-2.zstd.inprogress", ".w1-r2_app-3.zstd"):
        (events / name).write_bytes(b"")

    assert [path.name for path in history.finished_logs(events)] == ["w1-r1_app-1.zstd"]
    (events / "w1-r1_app-1.zstd").unlink()
    with pytest.raises(ResultsError, match="no Spark event logs"):
        history.events_folder(tmp_path)


def test_expected_applications_are_the_runs_with_a_kept_log_in_run_order(sweep: Path) -> None:
    (sweep / "events" / "w1-r2_app-2.zstd").unlink()

    expected = history.expected_applications(sweep)

    assert expected == [
        history.Application("app-1", "w1-r1"),
        history.Application("app-3", "w2-r1"),
    ]
    assert history.events_folder(sweep) == sweep / "events"


def test_wait_returns_once_every_application_is_listed(
    rest_api: tuple[str, type[_Applications]],
) -> None:
    base, handler = rest_api
    handler.listing = [{"id": "app-1"}, {"id": "app-9"}, {"id": "app-3"}]
    expected = [history.Application("app-1", "w1-r1"), history.Application("app-3", "w2-r1")]

    listed = history.wait_for_applications(["app-1", "app-3"], base=base, timeout_s=5)

    assert listed == ["app-1", "app-9", "app-3"]
    assert history.served_lines(expected, listed, base) == [
        f"  w1-r1  app-1  {base}/history/app-1/jobs/",
        f"  w2-r1  app-3  {base}/history/app-3/jobs/",
        f"  -      app-9  {base}/history/app-9/jobs/",
    ]


def test_wait_names_the_applications_still_missing(
    rest_api: tuple[str, type[_Applications]],
) -> None:
    base, handler = rest_api
    handler.listing = [{"id": "app-1"}]
    ticks = iter(range(100))

    with pytest.raises(HistoryError, match=r"lists 1 applications but not app-2, app-3"):
        history.wait_for_applications(
            ["app-3", "app-1", "app-2"],
            base=base,
            timeout_s=3,
            clock=lambda: float(next(ticks)),
            sleep=lambda _: None,
        )


def test_wait_says_when_the_server_does_not_answer(tmp_path: Path) -> None:
    ticks = iter(range(100))

    with pytest.raises(HistoryError, match="does not answer"):
        history.wait_for_applications(
            ["app-1"],
            # Port 9 (discard) has no listener here: the connection is refused at once.
            base="http://127.0.0.1:9",
            timeout_s=2,
            clock=lambda: float(next(ticks)),
            sleep=lambda _: None,
        )
