"""Spark event logs made by hand for the unit tests, in the JSON Spark 4 writes.

A test adds the events it needs in any order, in seconds; the log is written sorted by
time, as Spark writes it. Only the fields sparksweep.eventlog reads, and a few it must
pass over, are filled in.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cramjam
import lz4.block
import zstandard

# At one instant Spark posts these in this order.
_RANK = {
    "SparkListenerLogStart": 0,
    "SparkListenerEnvironmentUpdate": 1,
    "SparkListenerApplicationStart": 2,
    "SparkListenerExecutorAdded": 3,
    "SparkListenerBlockManagerAdded": 3,
    "SparkListenerJobStart": 4,
    "SparkListenerStageSubmitted": 5,
    "SparkListenerTaskStart": 6,
    "SparkListenerTaskEnd": 7,
    "SparkListenerStageCompleted": 8,
    "SparkListenerJobEnd": 9,
    "SparkListenerApplicationEnd": 10,
}


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def rdd(rdd_id: int, partitions: int, *, cached: bool = False) -> dict[str, Any]:
    return {
        "RDD ID": rdd_id,
        "Name": f"rdd{rdd_id}",
        "Callsite": "map at Test.scala:1",
        "Parent IDs": [],
        "Storage Level": {
            "Use Disk": False,
            "Use Memory": cached,
            "Use Off Heap": False,
            "Deserialized": cached,
            "Replication": 1,
        },
        "Number of Partitions": partitions,
        "Number of Cached Partitions": 0,
        "Memory Size": 0,
        "Disk Size": 0,
    }


def stage_info(
    stage_id: int,
    tasks: int,
    *,
    parents: Sequence[int] = (),
    name: str | None = None,
    rdds: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "Stage ID": stage_id,
        "Stage Attempt ID": 0,
        "Stage Name": name or f"stage{stage_id} at Test.scala:{stage_id}",
        "Number of Tasks": tasks,
        "RDD Info": list(rdds) or [rdd(1000 + stage_id, tasks)],
        "Parent IDs": list(parents),
        "Details": "",
        "Accumulables": [],
        "Resource Profile Id": 0,
    }


class EventLog:
    """A Spark application's events, added in any order."""

    def __init__(
        self,
        *,
        start: float = 0.0,
        app_id: str = "app-20260101000000-0000",
        name: str = "sparksweep-test",
        properties: dict[str, str] | None = None,
        version: str = "4.0.1",
    ) -> None:
        self.app_id = app_id
        self.events: list[tuple[float, int, int, dict[str, Any]]] = []
        self.order = itertools.count()
        self.task_ids = itertools.count()
        self.add(start, {"Event": "SparkListenerLogStart", "Spark Version": version})
        self.add(
            start,
            {
                "Event": "SparkListenerEnvironmentUpdate",
                "JVM Information": {"Java Version": "17"},
                "Spark Properties": {"spark.master": "spark://master:7077", **(properties or {})},
                "Hadoop Properties": {},
                "System Properties": {},
                "Classpath Entries": {},
            },
        )
        self.add(
            start,
            {
                "Event": "SparkListenerApplicationStart",
                "App Name": name,
                "App ID": app_id,
                "Timestamp": ms(start),
                "User": "spark",
            },
        )

    def add(self, at: float, event: dict[str, Any]) -> None:
        self.events.append((at, _RANK.get(event["Event"], 5), next(self.order), event))

    def executor(self, executor_id: str, cores: int, *, at: float = 0.0) -> None:
        self.add(
            at,
            {
                "Event": "SparkListenerExecutorAdded",
                "Timestamp": ms(at),
                "Executor ID": executor_id,
                "Executor Info": {
                    "Host": f"worker-{executor_id}",
                    "Total Cores": cores,
                    "Log Urls": {},
                    "Attributes": {},
                    "Resources": {},
                    "Resource Profile Id": 0,
                },
            },
        )

    def job(
        self,
        job_id: int,
        submitted: float,
        completed: float,
        stages: Sequence[dict[str, Any]],
        *,
        group: str | None = None,
    ) -> None:
        properties = {"spark.rdd.scope": "{}", "callSite.short": "x at Test.scala:1"}
        if group is not None:
            properties["spark.jobGroup.id"] = group
        self.add(
            submitted,
            {
                "Event": "SparkListenerJobStart",
                "Job ID": job_id,
                "Submission Time": ms(submitted),
                "Stage Infos": list(stages),
                "Stage IDs": [info["Stage ID"] for info in stages],
                "Properties": properties,
            },
        )
        self.add(
            completed,
            {
                "Event": "SparkListenerJobEnd",
                "Job ID": job_id,
                "Completion Time": ms(completed),
                "Job Result": {"Result": "JobSucceeded"},
            },
        )

    def stage(
        self,
        info: dict[str, Any],
        submitted: float,
        completed: float,
        *,
        attempt: int = 0,
        failure: str | None = None,
    ) -> None:
        ran = {**info, "Stage Attempt ID": attempt, "Submission Time": ms(submitted)}
        self.add(
            submitted,
            {"Event": "SparkListenerStageSubmitted", "Stage Info": ran, "Properties": {}},
        )
        done = {**ran, "Completion Time": ms(completed)}
        if failure:
            done["Failure Reason"] = failure
        self.add(completed, {"Event": "SparkListenerStageCompleted", "Stage Info": done})

    def task(
        self,
        stage_id: int,
        index: int,
        executor_id: str,
        launch: float,
        finish: float,
        *,
        attempt: int = 0,
        stage_attempt: int = 0,
        partition: int | None = None,
        locality: str = "PROCESS_LOCAL",
        reason: str = "Success",
        speculative: bool = False,
        metrics: dict[str, Any] | None = None,
    ) -> int:
        task_id = next(self.task_ids)
        duration = ms(finish) - ms(launch)
        info = {
            "Task ID": task_id,
            "Index": index,
            "Attempt": attempt,
            "Partition ID": index if partition is None else partition,
            "Launch Time": ms(launch),
            "Executor ID": executor_id,
            "Host": f"worker-{executor_id}",
            "Locality": locality,
            "Speculative": speculative,
            "Getting Result Time": 0,
            "Finish Time": ms(finish),
            "Failed": reason not in ("Success", "TaskKilled"),
            "Killed": reason == "TaskKilled",
            "Accumulables": [],
        }
        task_metrics = {
            "Executor Deserialize Time": 1,
            "Executor Deserialize CPU Time": 1_000_000,
            "Executor Run Time": max(duration - 3, 0),
            "Executor CPU Time": max(duration - 3, 0) * 500_000,
            "Result Size": 1500,
            "JVM GC Time": 0,
            "Result Serialization Time": 0,
            "Memory Bytes Spilled": 0,
            "Disk Bytes Spilled": 0,
            "Shuffle Read Metrics": {
                "Remote Blocks Fetched": 0,
                "Local Blocks Fetched": 0,
                "Fetch Wait Time": 0,
                "Remote Bytes Read": 0,
                "Local Bytes Read": 0,
                "Total Records Read": 0,
            },
            "Shuffle Write Metrics": {
                "Shuffle Bytes Written": 0,
                "Shuffle Write Time": 0,
                "Shuffle Records Written": 0,
            },
            "Input Metrics": {"Bytes Read": 0, "Records Read": 0},
            "Output Metrics": {"Bytes Written": 0, "Records Written": 0},
            "Updated Blocks": [],
            **(metrics or {}),
        }
        self.add(
            launch,
            {
                "Event": "SparkListenerTaskStart",
                "Stage ID": stage_id,
                "Stage Attempt ID": stage_attempt,
                "Task Info": {**info, "Finish Time": 0},
            },
        )
        self.add(
            finish,
            {
                "Event": "SparkListenerTaskEnd",
                "Stage ID": stage_id,
                "Stage Attempt ID": stage_attempt,
                "Task Type": "ResultTask",
                "Task End Reason": {"Reason": reason},
                "Task Info": info,
                "Task Metrics": task_metrics,
            },
        )
        return task_id

    def end(self, at: float) -> None:
        self.add(at, {"Event": "SparkListenerApplicationEnd", "Timestamp": ms(at), "ExitCode": 0})

    def text(self) -> bytes:
        ordered = sorted(self.events, key=lambda e: (e[0], e[1], e[2]))
        return "".join(json.dumps(event) + "\n" for *_, event in ordered).encode()

    def write(self, folder: Path, codec: str | None = None) -> Path:
        """The log as one file `<app id>[.<codec>]` in folder."""
        path = folder / (self.app_id + (f".{codec}" if codec else ""))
        path.write_bytes(encode(self.text(), codec))
        return path

    def write_rolled(self, folder: Path, parts: int, codec: str | None = None) -> Path:
        """The log as Spark 4 rolls it: eventlog_v2_<app>/events_<N>_<app>[.<codec>]."""
        root = folder / f"eventlog_v2_{self.app_id}"
        root.mkdir()
        (root / f"appstatus_{self.app_id}").write_bytes(b"")
        lines = self.text().splitlines(keepends=True)
        size = -(-len(lines) // parts)
        for n in range(parts):
            chunk = b"".join(lines[n * size : (n + 1) * size])
            name = f"events_{n + 1}_{self.app_id}" + (f".{codec}" if codec else "")
            (root / name).write_bytes(encode(chunk, codec))
        return root


def encode(data: bytes, codec: str | None, *, piece: int = 4096) -> bytes:
    """data as Spark's codec streams write it, flushed every `piece` bytes."""
    pieces = [data[i : i + piece] for i in range(0, len(data), piece)] or [b""]
    if codec is None:
        return data
    if codec == "zstd":
        # One frame per flush, as Spark's zstd stream writes a log.
        compressor = zstandard.ZstdCompressor()
        return b"".join(compressor.compress(p) for p in pieces)
    if codec == "lz4":
        out = bytearray()
        for p in pieces:
            body = lz4.block.compress(p, store_size=False)
            out += struct.pack("<8sBiii", b"LZ4Block", 0x25, len(body), len(p), 0) + body
        return bytes(out + struct.pack("<8sBiii", b"LZ4Block", 0x15, 0, 0, 0))
    if codec == "snappy":
        out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
        for p in pieces:
            body = bytes(cramjam.snappy.compress_raw(p))
            out += struct.pack(">i", len(body)) + body
        return bytes(out)
    if codec == "lzf":
        # A stored chunk first, then compressed ones, as compress-lzf writes them.
        out = bytearray(b"ZV\x00" + struct.pack(">H", len(pieces[0])) + pieces[0])
        for p in pieces[1:]:
            body = lzf_compress(p)
            out += b"ZV\x01" + struct.pack(">HH", len(body), len(p)) + body
        return bytes(out)
    raise ValueError(codec)


def lzf_compress(data: bytes) -> bytes:
    """LZF's format by a greedy encoder: literal runs of up to 32 bytes, and back-references
    of 3 to 264 bytes up to 8 KiB back (overlapping their own output where they repeat)."""
    out = bytearray()
    literals = bytearray()
    last: dict[bytes, int] = {}

    def flush() -> None:
        for start in range(0, len(literals), 32):
            run = literals[start : start + 32]
            out.append(len(run) - 1)
            out.extend(run)
        literals.clear()

    i = 0
    while i < len(data):
        key = data[i : i + 3]
        ref = last.get(key) if len(key) == 3 else None
        if len(key) == 3:
            last[key] = i
        if ref is None or i - ref - 1 >= 8192:
            literals.append(data[i])
            i += 1
            continue
        length = 3
        while i + length < len(data) and length < 264 and data[ref + length] == data[i + length]:
            length += 1
        flush()
        offset, run = i - ref - 1, length - 2
        if run < 7:
            out.append((run << 5) | (offset >> 8))
        else:
            out.append((7 << 5) | (offset >> 8))
            out.append(run - 7)
        out.append(offset & 0xFF)
        i += length
    flush()
    return bytes(out)


def failures() -> EventLog:
    """One executor of 3 cores. Job 0 (0-2): task 0 fails after 1 s and its retry runs
    1 s; task 1 runs 1.2 s, a speculative copy of it 0.1 s (killed). Job 1 (2-5.2): a map
    stage (1 s) and its child, whose fetch fails (0.5 s); Spark resubmits the map stage
    0.2 s later, then the child."""
    log = EventLog()
    log.executor("1", 3)
    first = stage_info(0, 2)
    log.job(0, 0.0, 2.0, [first])
    log.stage(first, 0.0, 2.0)
    log.task(0, 0, "1", 0.0, 1.0, reason="ExceptionFailure")
    log.task(0, 0, "1", 1.0, 2.0, attempt=1)
    log.task(0, 1, "1", 0.0, 1.2)
    log.task(0, 1, "1", 1.0, 1.1, attempt=1, speculative=True, reason="TaskKilled")
    mapped, result = stage_info(1, 1), stage_info(2, 1, parents=[1])
    log.job(1, 2.0, 5.2, [mapped, result])
    log.stage(mapped, 2.0, 3.0)
    log.task(1, 0, "1", 2.0, 3.0)
    log.stage(result, 3.0, 3.5, failure="FetchFailed(BlockManagerId(1, worker-1))\nat ...")
    log.task(2, 0, "1", 3.0, 3.5, reason="FetchFailed")
    log.stage(mapped, 3.7, 4.7, attempt=1)
    log.task(1, 0, "1", 3.7, 4.7, stage_attempt=1)
    log.stage(result, 4.7, 5.2, attempt=1)
    log.task(2, 0, "1", 4.7, 5.2, stage_attempt=1)
    log.end(5.5)
    return log
