"""A Spark application from its event log, in every form Spark 3 and 4 write it.

Forms: one file `<app>[.<codec>]`, or the rolled folder that Spark 4 writes by default,
`eventlog_v2_<app>/events_<N>_<app>[.<codec>]` read in N order, beside a zero-byte
`appstatus_<app>[.inprogress]`. A log still being written carries `.inprogress`.

Codecs, as Spark's CompressionCodec streams write them (spark.eventLog.compression.codec):

- zstd (Spark 4's default): zstd frames, one per flush, so a run's log holds a hundred;
  every frame is read, and a log that ends inside one is cut off.
- lz4: lz4-java's LZ4BlockOutputStream, blocks of at most 32 KiB each behind a 21-byte
  header (magic `LZ4Block`, a token whose high nibble says raw 0x10 or LZ4 0x20, then
  little-endian compressed length, decompressed length and checksum), and an empty block
  at the end of the stream. The xxhash32 checksums are not verified: a corrupt block fails
  its decompression, its length or its JSON.
- snappy: snappy-java's SnappyOutputStream, a header (`\\x82SNAPPY\\x00`, two big-endian
  int32 versions), then raw snappy blocks each behind its big-endian int32 length.
- lzf: compress-lzf's LZFOutputStream, chunks `ZV` + 0 (stored: 2-byte length) or
  1 (compressed: 2-byte compressed and decompressed lengths), decoded here: the format is
  small, and Spark's other codecs need a package for speed that lzf does not.

Only what Spark's own status store keeps is modelled; unknown events are passed over, so
logs of newer Sparks and of SQL applications read the same. Every failure is one
EventLogError line that names the file.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cramjam
import lz4.block
import zstandard

from sparksweep.errors import EventLogError

CODECS = ("zstd", "lz4", "snappy", "lzf")
IN_PROGRESS = ".inprogress"
_ROLLED_PART = re.compile(r"events_(\d+)_")
_MAGICS = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"LZ4Block": "lz4",
    b"\x82SNAPPY\x00": "snappy",
    b"ZV": "lzf",
}
_LZ4_HEADER = struct.Struct("<8sBiii")
_LZ4_RAW, _LZ4_COMPRESSED = 0x10, 0x20
# lz4-java's largest block (32 MiB); a longer one is a corrupt header.
_LZ4_MAX_BLOCK = 1 << 25
_SNAPPY_HEADER_LEN = 16
# Feeding zstd a bounded piece at a time keeps the bytes after each of a log's frames from
# being copied whole once per frame.
_ZSTD_PIECE = 1 << 20
_LOCAL_MASTER = re.compile(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?$")


@dataclass(frozen=True)
class TaskMetrics:
    """A task attempt's metrics, in Spark's own units (named in each field)."""

    executor_deserialize_ms: int = 0
    executor_deserialize_cpu_ns: int = 0
    executor_run_ms: int = 0
    executor_cpu_ns: int = 0
    result_size_bytes: int = 0
    jvm_gc_ms: int = 0
    result_serialization_ms: int = 0
    memory_spilled_bytes: int = 0
    disk_spilled_bytes: int = 0
    peak_execution_memory_bytes: int = 0
    shuffle_fetch_wait_ms: int = 0
    shuffle_remote_blocks: int = 0
    shuffle_local_blocks: int = 0
    shuffle_remote_bytes: int = 0
    shuffle_local_bytes: int = 0
    shuffle_records_read: int = 0
    shuffle_write_ns: int = 0
    shuffle_bytes_written: int = 0
    shuffle_records_written: int = 0
    input_bytes: int = 0
    input_records: int = 0
    output_bytes: int = 0
    output_records: int = 0


_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "executor_deserialize_ms": ("Executor Deserialize Time",),
    "executor_deserialize_cpu_ns": ("Executor Deserialize CPU Time",),
    "executor_run_ms": ("Executor Run Time",),
    "executor_cpu_ns": ("Executor CPU Time",),
    "result_size_bytes": ("Result Size",),
    "jvm_gc_ms": ("JVM GC Time",),
    "result_serialization_ms": ("Result Serialization Time",),
    "memory_spilled_bytes": ("Memory Bytes Spilled",),
    "disk_spilled_bytes": ("Disk Bytes Spilled",),
    "peak_execution_memory_bytes": ("Peak Execution Memory",),
    "shuffle_fetch_wait_ms": ("Shuffle Read Metrics", "Fetch Wait Time"),
    "shuffle_remote_blocks": ("Shuffle Read Metrics", "Remote Blocks Fetched"),
    "shuffle_local_blocks": ("Shuffle Read Metrics", "Local Blocks Fetched"),
    "shuffle_remote_bytes": ("Shuffle Read Metrics", "Remote Bytes Read"),
    "shuffle_local_bytes": ("Shuffle Read Metrics", "Local Bytes Read"),
    "shuffle_records_read": ("Shuffle Read Metrics", "Total Records Read"),
    "shuffle_write_ns": ("Shuffle Write Metrics", "Shuffle Write Time"),
    "shuffle_bytes_written": ("Shuffle Write Metrics", "Shuffle Bytes Written"),
    "shuffle_records_written": ("Shuffle Write Metrics", "Shuffle Records Written"),
    "input_bytes": ("Input Metrics", "Bytes Read"),
    "input_records": ("Input Metrics", "Records Read"),
    "output_bytes": ("Output Metrics", "Bytes Written"),
    "output_records": ("Output Metrics", "Records Written"),
}


@dataclass(frozen=True)
class Task:
    """One task attempt. Times are epoch seconds."""

    stage_id: int
    stage_attempt: int
    task_id: int
    index: int
    attempt: int
    partition: int
    executor_id: str
    host: str
    launch: float
    finish: float
    # When the driver started fetching a large result from the block manager; 0 if never.
    getting_result: float
    locality: str
    speculative: bool
    successful: bool
    # "Success", or why the attempt failed or was killed ("FetchFailed", "TaskKilled", ...).
    end_reason: str
    # None when the attempt ended without reporting metrics (a lost executor).
    metrics: TaskMetrics | None

    @property
    def duration(self) -> float:
        return self.finish - self.launch

    @property
    def killed(self) -> bool:
        return self.end_reason == "TaskKilled"

    @property
    def scheduler_delay_ms(self) -> int:
        """Spark's own schedulerDelay (AppStatusUtils), as the REST API and the UI show it."""
        if self.metrics is None:
            return 0
        duration = round((self.finish - self.launch) * 1e3)
        fetching = round((self.finish - self.getting_result) * 1e3) if self.getting_result else 0
        metrics = self.metrics
        busy = (
            metrics.executor_run_ms
            + metrics.executor_deserialize_ms
            + metrics.result_serialization_ms
            + fetching
        )
        return max(0, duration - busy)


@dataclass(frozen=True)
class Rdd:
    """An RDD a stage computes or reads; cached when its storage level uses memory or disk."""

    id: int
    name: str
    partitions: int
    cached: bool
    parent_ids: tuple[int, ...]


@dataclass
class Stage:
    """One attempt of a stage that ran (a skipped stage has none). Times are epoch seconds."""

    id: int
    attempt: int
    name: str
    parent_ids: tuple[int, ...]
    num_tasks: int
    submitted: float
    completed: float | None
    # Why the attempt failed (a fetch failure, an abort); None when it succeeded.
    failure: str | None
    rdds: tuple[Rdd, ...]
    # The job that submitted it: the latest running job whose stages include it.
    job_id: int | None
    tasks: list[Task] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.completed is not None and self.failure is None


@dataclass
class Job:
    """One job. Its name follows the REST API's: the name of its last stage."""

    id: int
    name: str
    group: str | None
    description: str | None
    submitted: float
    completed: float | None
    # Every stage of the job's DAG, the skipped ones too.
    stage_ids: tuple[int, ...]
    # "JobSucceeded" or "JobFailed"; None when the log has no end for it.
    result: str | None


@dataclass(frozen=True)
class Executor:
    id: str
    host: str
    cores: int
    added: float | None
    removed: float | None


@dataclass
class Application:
    """A finished Spark application as its event log tells it. Times are epoch seconds."""

    path: Path
    id: str
    name: str
    spark_version: str
    start: float
    end: float
    executors: dict[str, Executor]
    properties: dict[str, str]
    jobs: list[Job]
    # Every stage attempt that ran, by stage id then attempt.
    stages: list[Stage]

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def tasks(self) -> list[Task]:
        return [task for stage in self.stages for task in stage.tasks]

    @property
    def failed_tasks(self) -> int:
        """Task attempts that failed (not those killed because another attempt won)."""
        return sum(1 for task in self.tasks if not task.successful and not task.killed)

    @property
    def killed_tasks(self) -> int:
        return sum(1 for task in self.tasks if task.killed)

    @property
    def stage_retries(self) -> int:
        """Stage attempts after a stage's first."""
        return sum(1 for stage in self.stages if stage.attempt > 0)

    @property
    def task_executors(self) -> list[str]:
        """The executors that ran tasks, in Spark's order (numeric ids by number)."""
        used = {task.executor_id for task in self.tasks}
        return sorted(used, key=_executor_order)

    @property
    def cluster_executors(self) -> list[str]:
        """The executors that gave the application cores: every executor the cluster added
        (one that ran no task was still a free slot), or the driver in local mode."""
        added = [e for e in self.executors if e != "driver"]
        return sorted(added, key=_executor_order) if added else self.task_executors

    @property
    def executor_count(self) -> int:
        """How many executors were there at once at most (a lost one's stand-in is not extra)."""
        spans = []
        for executor_id in self.cluster_executors:
            executor = self.executors[executor_id]
            spans.append((executor.added if executor.added is not None else self.start, 1))
            spans.append((executor.removed if executor.removed is not None else self.end, -1))
        alive = most = 0
        for _, step in sorted(spans, key=lambda span: (span[0], span[1])):
            alive += step
            most = max(most, alive)
        return most

    @property
    def executor_cores(self) -> int:
        """The cores of the executors that ran tasks (the most common, if they differ)."""
        counts = Counter(self.executors[e].cores for e in self.task_executors)
        return counts.most_common(1)[0][0]


def _executor_order(executor_id: str) -> tuple[int, int, str]:
    return (0, int(executor_id), "") if executor_id.isdigit() else (1, 0, executor_id)


def read(path: str | os.PathLike[str]) -> Application:
    """The application in an event log file or rolled folder; EventLogError when it can't be."""
    path = Path(path)
    builder = _Builder(path)
    for where, number, line, last in _lines(path):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            if last and not line.endswith(b"\n"):
                raise EventLogError(
                    f"{where}: cut off inside its last event (line {number}): was it copied "
                    "while Spark was still writing it? Read the log of a finished application"
                ) from None
            raise EventLogError(
                f"{where}: line {number} is not a JSON event ({exc}); the log is corrupt"
            ) from None
        if not isinstance(event, dict) or not isinstance(event.get("Event"), str):
            raise EventLogError(f"{where}: line {number} is not a Spark listener event")
        try:
            builder.add(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EventLogError(
                f"{where}: line {number}, a {event['Event']}, lacks or garbles {detail}"
            ) from None
    return builder.finish()


def anatomy_data(app: Application) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Jobs and stages in the shape sparksweep.job.anatomy.split() takes from the REST API.

    As anatomy.measure() keeps them: jobs with epoch start and end, and the stages that
    completed, a stage that completed twice (resubmitted in a later job) with both
    attempts summed. Stage metrics sum every task attempt that reported metrics, as
    Spark's status store does.
    """
    jobs = [
        {
            "jobId": job.id,
            "jobGroup": job.group,
            "name": job.name,
            "stageIds": list(job.stage_ids),
            "start": job.submitted,
            "end": job.completed if job.completed is not None else job.submitted,
        }
        for job in app.jobs
    ]
    stages: dict[int, dict[str, Any]] = {}
    for stage in app.stages:
        if not stage.succeeded:
            continue
        measured = [task.metrics for task in stage.tasks if task.metrics is not None]
        row = stages.setdefault(
            stage.id,
            {
                "stageId": stage.id,
                "name": stage.name,
                "numTasks": 0,
                "executorRunTime": 0,
                "executorCpuTime": 0,
                "jvmGcTime": 0,
                "executorDeserializeTime": 0,
                "schedulerDelay": 0,
            },
        )
        row["numTasks"] += stage.num_tasks
        row["executorRunTime"] += sum(m.executor_run_ms for m in measured)
        row["executorCpuTime"] += sum(m.executor_cpu_ns for m in measured)
        row["jvmGcTime"] += sum(m.jvm_gc_ms for m in measured)
        row["executorDeserializeTime"] += sum(m.executor_deserialize_ms for m in measured)
        row["schedulerDelay"] += sum(task.scheduler_delay_ms for task in stage.tasks)
    return jobs, stages


# Reading the bytes.


def _lines(path: Path) -> Iterator[tuple[Path, int, bytes, bool]]:
    """(file, line number, line, whether it is the log's last line) for every line."""
    try:
        parts = _parts(path)
    except OSError as exc:
        raise EventLogError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for position, part in enumerate(parts):
        lines = _decoded(part).splitlines(keepends=True)
        for number, line in enumerate(lines, start=1):
            yield part, number, line, position == len(parts) - 1 and number == len(lines)


def _parts(path: Path) -> list[Path]:
    if path.name.endswith(IN_PROGRESS):
        raise _unfinished(path, "Spark still names it .inprogress")
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise EventLogError(
            f"{path}: no such event log; give a log file or an eventlog_v2_* folder of "
            "spark.eventLog.dir"
        )
    if any(
        child.name.startswith("appstatus_") and child.name.endswith(IN_PROGRESS)
        for child in path.iterdir()
    ):
        raise _unfinished(path, "its appstatus file is .inprogress")
    numbered = []
    for child in path.iterdir():
        match = _ROLLED_PART.match(child.name)
        if match and child.is_file():
            if child.name.endswith(".compact"):
                raise EventLogError(
                    f"{child}: compacted by the History Server, which drops finished jobs' "
                    "tasks; read a log written with spark.history.fs.eventLog.rolling."
                    "maxFilesToRetain unset"
                )
            numbered.append((int(match.group(1)), child))
    if not numbered:
        raise EventLogError(
            f"{path}: a folder with no events_<N>_* files, so not a rolled Spark event log; "
            "give a log file or an eventlog_v2_* folder"
        )
    return [child for _, child in sorted(numbered)]


def _unfinished(path: Path, why: str) -> EventLogError:
    return EventLogError(
        f"{path}: the application never finished ({why}); read its log once it has stopped"
    )


def _decoded(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EventLogError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not raw or raw.isspace():
        raise EventLogError(f"{path}: empty, no events; is it the log of a run that started?")
    codec = _codec(path, raw)
    try:
        if codec == "zstd":
            return _zstd(raw)
        if codec == "lz4":
            return _lz4(raw)
        if codec == "snappy":
            return _snappy(raw)
        if codec == "lzf":
            return _lzf(raw)
        return raw
    except _Truncated as exc:
        raise EventLogError(
            f"{path}: truncated {codec} data ({exc}): was it copied while Spark was still "
            "writing it? Read the log of a finished application"
        ) from None
    except (
        _Corrupt,
        zstandard.ZstdError,
        lz4.block.LZ4BlockError,
        cramjam.DecompressionError,
    ) as exc:
        raise EventLogError(f"{path}: corrupt {codec} data ({exc})") from None


def _codec(path: Path, raw: bytes) -> str | None:
    """The codec the name says, else the one the bytes start with; None for JSON lines."""
    suffix = path.suffix.removeprefix(".")
    if suffix in CODECS:
        return suffix
    for magic, codec in _MAGICS.items():
        if raw.startswith(magic):
            return codec
    if raw.lstrip()[:1] == b"{":
        return None
    if suffix:
        raise EventLogError(
            f"{path}: unknown compression codec {suffix!r}; Spark writes "
            f"{', '.join(CODECS)} or plain JSON lines"
        )
    raise EventLogError(
        f"{path}: neither JSON lines nor {', '.join(CODECS)} data: not a Spark event log"
    )


class _Truncated(Exception):
    pass


class _Corrupt(Exception):
    pass


def _zstd(raw: bytes) -> bytes:
    context = zstandard.ZstdDecompressor()
    out: list[bytes] = []
    frame = context.decompressobj()
    inside = False
    view = memoryview(raw)
    for start in range(0, len(raw), _ZSTD_PIECE):
        piece: bytes | memoryview = view[start : start + _ZSTD_PIECE]
        while piece:
            out.append(frame.decompress(piece))
            inside = True
            if not frame.eof:
                break
            piece = frame.unused_data
            frame = context.decompressobj()
            inside = False
    if inside:
        raise _Truncated("the last zstd frame ends early")
    return b"".join(out)


def _lz4(raw: bytes) -> bytes:
    out: list[bytes] = []
    position, ended = 0, False
    while position < len(raw):
        if len(raw) - position < _LZ4_HEADER.size:
            raise _Truncated(f"a block header cut off at byte {position}")
        magic, token, compressed, length, _checksum = _LZ4_HEADER.unpack_from(raw, position)
        if magic != b"LZ4Block":
            raise _Corrupt(f"no LZ4Block header at byte {position}")
        method = token & 0xF0
        if not (0 <= compressed <= _LZ4_MAX_BLOCK and 0 <= length <= _LZ4_MAX_BLOCK) or (
            method not in (_LZ4_RAW, _LZ4_COMPRESSED)
        ):
            raise _Corrupt(f"a bad block header at byte {position}")
        position += _LZ4_HEADER.size
        body = raw[position : position + compressed]
        if len(body) < compressed:
            raise _Truncated(f"a block cut off at byte {len(raw)}")
        position += compressed
        # An empty block ends a stream; another may follow it (appended streams).
        ended = length == 0
        if method == _LZ4_RAW:
            if compressed != length:
                raise _Corrupt(f"a stored block of the wrong length at byte {position}")
            out.append(body)
        elif length:
            out.append(lz4.block.decompress(body, uncompressed_size=length))
    if not ended:
        raise _Truncated("no end-of-stream block")
    return b"".join(out)


def _snappy(raw: bytes) -> bytes:
    out: list[bytes] = []
    position = 0
    if not raw.startswith(b"\x82SNAPPY\x00"):
        raise _Corrupt("no snappy-java stream header")
    while position < len(raw):
        # snappy-java writes a header at each stream's start, appended streams included.
        if raw.startswith(b"\x82SNAPPY\x00", position):
            if len(raw) - position < _SNAPPY_HEADER_LEN:
                raise _Truncated("a stream header cut off")
            position += _SNAPPY_HEADER_LEN
            continue
        if len(raw) - position < 4:
            raise _Truncated(f"a block length cut off at byte {position}")
        (length,) = struct.unpack_from(">i", raw, position)
        position += 4
        if length < 0:
            raise _Corrupt(f"a negative block length at byte {position - 4}")
        block = raw[position : position + length]
        if len(block) < length:
            raise _Truncated(f"a block cut off at byte {len(raw)}")
        position += length
        out.append(bytes(cramjam.snappy.decompress_raw(block)))
    return b"".join(out)


def _lzf(raw: bytes) -> bytes:
    out: list[bytes] = []
    position = 0
    while position < len(raw):
        header = raw[position : position + 7]
        if len(header) < 5 or (header[2] == 1 and len(header) < 7):
            raise _Truncated(f"a chunk header cut off at byte {position}")
        if header[:2] != b"ZV" or header[2] not in (0, 1):
            raise _Corrupt(f"no ZV chunk header at byte {position}")
        if header[2] == 0:
            (length,) = struct.unpack_from(">H", header, 3)
            start, size = position + 5, length
        else:
            size, length = struct.unpack_from(">HH", header, 3)
            start = position + 7
        body = raw[start : start + size]
        if len(body) < size:
            raise _Truncated(f"a chunk cut off at byte {len(raw)}")
        out.append(body if header[2] == 0 else _lzf_chunk(body, length, position))
        position = start + size
    return b"".join(out)


def _lzf_chunk(body: bytes, length: int, at: int) -> bytes:
    """One LZF chunk: literal runs (control < 32) and back-references into the output."""
    out = bytearray()
    position = 0
    try:
        while position < len(body):
            control = body[position]
            position += 1
            if control < 32:
                out += body[position : position + control + 1]
                position += control + 1
                continue
            run = control >> 5
            if run == 7:
                run += body[position]
                position += 1
            source = len(out) - ((control & 0x1F) << 8) - body[position] - 1
            position += 1
            run += 2
            if source < 0:
                raise _Corrupt(f"a back-reference before the chunk at byte {at}")
            if source + run <= len(out):
                out += out[source : source + run]
            else:
                # An overlapping reference repeats what it is copying, a byte at a time.
                for offset in range(run):
                    out.append(out[source + offset])
    except IndexError:
        raise _Corrupt(f"a chunk ends inside a token at byte {at}") from None
    if len(out) != length:
        raise _Corrupt(f"a chunk decodes to {len(out)} bytes, not {length}, at byte {at}")
    return bytes(out)


# Building the application.


def _seconds(ms: Any) -> float:
    return float(ms) / 1e3


def _nested(raw: dict[str, Any], keys: tuple[str, ...]) -> int:
    value: Any = raw
    for key in keys:
        if not isinstance(value, dict):
            return 0
        value = value.get(key)
    return int(value) if isinstance(value, int | float) else 0


def _rdd(info: dict[str, Any]) -> Rdd:
    level = info.get("Storage Level") or {}
    return Rdd(
        id=int(info["RDD ID"]),
        name=str(info.get("Name", "")),
        partitions=int(info.get("Number of Partitions", 0)),
        cached=bool(level.get("Use Memory") or level.get("Use Disk")),
        parent_ids=tuple(int(p) for p in info.get("Parent IDs", ())),
    )


def _properties(raw: Any) -> dict[str, str]:
    """Spark writes a JSON object; some older writers a list of [key, value] pairs."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(k): str(v) for k, v in raw or ()}


class _Builder:
    """Folds the events, in the log's order, into an Application."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events = 0
        self.version = ""
        self.app: dict[str, Any] = {}
        self.end: float | None = None
        self.properties: dict[str, str] = {}
        self.executors: dict[str, Executor] = {}
        self.block_managers: dict[str, str] = {}
        self.jobs: dict[int, Job] = {}
        self.running_jobs: set[int] = set()
        self.stage_names: dict[int, str] = {}
        self.stages: dict[tuple[int, int], Stage] = {}
        self.orphans = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "SparkListenerLogStart": self._log_start,
            "SparkListenerApplicationStart": self._application_start,
            "SparkListenerApplicationEnd": self._application_end,
            "SparkListenerEnvironmentUpdate": self._environment_update,
            "SparkListenerExecutorAdded": self._executor_added,
            "SparkListenerExecutorRemoved": self._executor_removed,
            "SparkListenerBlockManagerAdded": self._block_manager_added,
            "SparkListenerJobStart": self._job_start,
            "SparkListenerJobEnd": self._job_end,
            "SparkListenerStageSubmitted": self._stage_submitted,
            "SparkListenerStageCompleted": self._stage_completed,
            "SparkListenerTaskEnd": self._task_end,
        }

    def add(self, event: dict[str, Any]) -> None:
        self.events += 1
        handler = self.handlers.get(event["Event"])
        if handler is not None:
            handler(event)

    def _log_start(self, event: dict[str, Any]) -> None:
        self.version = str(event.get("Spark Version", ""))

    def _application_start(self, event: dict[str, Any]) -> None:
        self.app = {
            "id": str(event.get("App ID", "")),
            "name": str(event.get("App Name", "")),
            "start": _seconds(event["Timestamp"]),
        }

    def _application_end(self, event: dict[str, Any]) -> None:
        self.end = _seconds(event["Timestamp"])

    def _environment_update(self, event: dict[str, Any]) -> None:
        self.properties.update(_properties(event.get("Spark Properties")))

    def _executor_added(self, event: dict[str, Any]) -> None:
        info = event["Executor Info"]
        executor_id = str(event["Executor ID"])
        self.executors[executor_id] = Executor(
            id=executor_id,
            host=str(info.get("Host", "")),
            cores=int(info["Total Cores"]),
            added=_seconds(event["Timestamp"]) if "Timestamp" in event else None,
            removed=None,
        )

    def _executor_removed(self, event: dict[str, Any]) -> None:
        executor_id = str(event["Executor ID"])
        executor = self.executors.get(executor_id)
        if executor is not None and "Timestamp" in event:
            self.executors[executor_id] = Executor(
                executor.id,
                executor.host,
                executor.cores,
                executor.added,
                _seconds(event["Timestamp"]),
            )

    def _block_manager_added(self, event: dict[str, Any]) -> None:
        manager = event["Block Manager ID"]
        self.block_managers[str(manager["Executor ID"])] = str(manager.get("Host", ""))

    def _job_start(self, event: dict[str, Any]) -> None:
        infos = event.get("Stage Infos") or []
        for info in infos:
            self.stage_names[int(info["Stage ID"])] = str(info.get("Stage Name", ""))
        stage_ids = event.get("Stage IDs") or [info["Stage ID"] for info in infos]
        last = max(infos, key=lambda info: int(info["Stage ID"]), default=None)
        properties = _properties(event.get("Properties"))
        job_id = int(event["Job ID"])
        self.jobs[job_id] = Job(
            id=job_id,
            name=str(last.get("Stage Name", "")) if last else "",
            group=properties.get("spark.jobGroup.id"),
            description=properties.get("spark.job.description"),
            submitted=_seconds(event["Submission Time"]),
            completed=None,
            stage_ids=tuple(int(s) for s in stage_ids),
            result=None,
        )
        self.running_jobs.add(job_id)

    def _job_end(self, event: dict[str, Any]) -> None:
        job = self.jobs.get(int(event["Job ID"]))
        if job is None:
            return
        job.completed = _seconds(event["Completion Time"])
        job.result = str((event.get("Job Result") or {}).get("Result", "")) or None
        self.running_jobs.discard(job.id)

    def _stage(self, info: dict[str, Any]) -> Stage | None:
        key = (int(info["Stage ID"]), int(info.get("Stage Attempt ID", 0)))
        stage = self.stages.get(key)
        if stage is None and info.get("Submission Time") is not None:
            owners = [self.jobs[j] for j in self.running_jobs if key[0] in self.jobs[j].stage_ids]
            owner = max(owners, key=lambda job: (job.submitted, job.id), default=None)
            stage = Stage(
                id=key[0],
                attempt=key[1],
                name=str(info.get("Stage Name", "")),
                parent_ids=tuple(int(p) for p in info.get("Parent IDs", ())),
                num_tasks=int(info.get("Number of Tasks", 0)),
                submitted=_seconds(info["Submission Time"]),
                completed=None,
                failure=None,
                rdds=tuple(_rdd(rdd) for rdd in info.get("RDD Info", ())),
                job_id=owner.id if owner else None,
            )
            self.stages[key] = stage
        return stage

    def _stage_submitted(self, event: dict[str, Any]) -> None:
        self._stage(event["Stage Info"])

    def _stage_completed(self, event: dict[str, Any]) -> None:
        info = event["Stage Info"]
        stage = self._stage(info)
        if stage is None:
            return
        if info.get("Completion Time") is not None:
            stage.completed = _seconds(info["Completion Time"])
        if info.get("Failure Reason"):
            stage.failure = str(info["Failure Reason"]).splitlines()[0]

    def _task_end(self, event: dict[str, Any]) -> None:
        info = event["Task Info"]
        key = (int(event["Stage ID"]), int(event.get("Stage Attempt ID", 0)))
        stage = self.stages.get(key)
        if stage is None:
            self.orphans += 1
            return
        raw_metrics = event.get("Task Metrics")
        reason = str((event.get("Task End Reason") or {}).get("Reason", "Success"))
        stage.tasks.append(
            Task(
                stage_id=key[0],
                stage_attempt=key[1],
                task_id=int(info["Task ID"]),
                index=int(info["Index"]),
                attempt=int(info.get("Attempt", 0)),
                partition=int(info.get("Partition ID", info["Index"])),
                executor_id=str(info["Executor ID"]),
                host=str(info.get("Host", "")),
                launch=_seconds(info["Launch Time"]),
                finish=_seconds(info["Finish Time"]),
                getting_result=_seconds(info.get("Getting Result Time") or 0),
                locality=str(info.get("Locality", "")),
                speculative=bool(info.get("Speculative", False)),
                successful=reason == "Success"
                and not info.get("Failed", False)
                and not info.get("Killed", False),
                end_reason=reason,
                metrics=TaskMetrics(
                    **{name: _nested(raw_metrics, keys) for name, keys in _METRIC_KEYS.items()}
                )
                if isinstance(raw_metrics, dict)
                else None,
            )
        )

    def finish(self) -> Application:
        path = self.path
        if not self.events:
            raise EventLogError(f"{path}: empty, no events; is it the log of a run that started?")
        if not self.app:
            raise EventLogError(
                f"{path}: no SparkListenerApplicationStart event, so not a Spark "
                "application's event log"
            )
        if self.end is None:
            raise _unfinished(path, "no SparkListenerApplicationEnd event")
        stages = sorted(self.stages.values(), key=lambda stage: (stage.id, stage.attempt))
        for stage in stages:
            stage.tasks.sort(key=lambda task: (task.launch, task.task_id))
        if not any(stage.tasks for stage in stages):
            raise EventLogError(
                f"{path}: the application ran no task, so there is nothing to measure"
            )
        self._executors_of_tasks(stages)
        return Application(
            path=path,
            id=self.app["id"],
            name=self.app["name"],
            spark_version=self.version,
            start=self.app["start"],
            end=self.end,
            executors=self.executors,
            properties=self.properties,
            jobs=sorted(self.jobs.values(), key=lambda job: job.id),
            stages=stages,
        )

    def _executors_of_tasks(self, stages: list[Stage]) -> None:
        """Executors that ran tasks but were never announced: local mode before Spark added
        its driver as an executor, or a log that starts late. Cores from spark.master's
        local[N], else the most tasks the executor ran at once."""
        tasks = [task for stage in stages for task in stage.tasks]
        for executor_id in sorted({task.executor_id for task in tasks} - set(self.executors)):
            own = [task for task in tasks if task.executor_id == executor_id]
            self.executors[executor_id] = Executor(
                id=executor_id,
                host=self.block_managers.get(executor_id, own[0].host),
                cores=_local_cores(self.properties.get("spark.master", "")) or _concurrency(own),
                added=None,
                removed=None,
            )


def _local_cores(master: str) -> int | None:
    match = _LOCAL_MASTER.match(master.strip())
    if not match:
        return None
    if match.group(1) is None:
        return 1
    return None if match.group(1) == "*" else int(match.group(1))


def _concurrency(tasks: list[Task]) -> int:
    """The most of these tasks that ran at once."""
    edges = sorted([(t.launch, 1) for t in tasks] + [(t.finish, -1) for t in tasks])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return max(most, 1)
