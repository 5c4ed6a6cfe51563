"""Where a Lloyd iteration's time goes inside Spark: a Java Flight Recorder profile of the job.

    .venv/bin/python bench/profile_iteration.py [--rows 5000000] [--threads 1]

The profile behind bench/kmeans_iteration.py's ratio. It runs the job as that benchmark
does, in Spark local mode on the host (spark-submit of sparksweep/job/kmeans.py with
local[T] and the sweep's settings, over the Parquet cache of the synthetic set of --rows
rows), with JFR recording in the driver's JVM, which in local mode also runs every task.
Then it reads the recording's execution samples with the JDK's `jfr` tool and keeps those
taken inside a Lloyd iteration's tasks (a stack through MLlib's
KMeans.runAlgorithmWithWeight), and prints the methods at the top of those stacks (self
time) and the share of samples inside MLlib's distance code
(EuclideanDistanceMeasure.findClosest, the algorithm itself), beside the run's median
iteration and its executors' GC and CPU time from the run's anatomy.

Not part of `make bench`: it compares nothing with a baseline; it shows what holds the
iteration ratio where it is. Needs pyspark and a JDK with `jfr` (Java 17: beside `java`,
or $JAVA_HOME/bin/jfr); no Docker. The recording (open it in JDK Mission Control, or
`jfr print`) and the run's JSON stay in bench/results/profile_iteration-<time>/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
import localspark
from benchlib import BenchError

BENCHMARK = "profile_iteration"
# A sample is inside a Lloyd iteration when this frame is on its stack: the closure of
# MLlib's iteration loop that each task runs over its partition.
ITERATION_FRAME = "KMeans.runAlgorithmWithWeight"
DISTANCE_FRAME = "EuclideanDistanceMeasure.findClosest"
TOP = 12


def jfr_tool() -> Path:
    """The JDK's jfr command: $JAVA_HOME/bin/jfr, or the one beside java on the PATH."""
    home = os.environ.get("JAVA_HOME")
    candidates = [Path(home) / "bin" / "jfr"] if home else []
    java = shutil.which("java")
    if java:
        candidates.append(Path(java).resolve().parent / "jfr")
    found = shutil.which("jfr")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BenchError("no jfr tool: install a JDK 17 (not a JRE) or set JAVA_HOME to one")


def frame_name(frame: dict[str, Any]) -> str:
    """A JFR frame as Class.method, the class without its package."""
    method = frame["method"]
    return f"{method['type']['name'].rsplit('/', 1)[-1]}.{method['name']}"


def iteration_stacks(events: Iterable[dict[str, Any]]) -> list[list[str]]:
    """The stacks (top first) of the execution samples taken inside a Lloyd iteration.

    Scala's closures are named like KMeans.$anonfun$runAlgorithmWithWeight$6: the frame
    matches by the method it was written in.
    """
    stacks = []
    for event in events:
        trace = event.get("values", {}).get("stackTrace")
        if not trace:
            continue
        frames = [frame_name(frame) for frame in trace["frames"]]
        if any(_written_in(name, ITERATION_FRAME) for name in frames):
            stacks.append(frames)
    return stacks


def _written_in(name: str, wanted: str) -> bool:
    cls, _, method = wanted.partition(".")
    own_cls, _, own_method = name.partition(".")
    return own_cls == cls and (own_method == method or f"${method}$" in own_method)


def profile(stacks: Sequence[list[str]]) -> dict[str, Any]:
    """Self shares of the top methods and the share inside MLlib's distance code."""
    if not stacks:
        raise BenchError(
            "the recording holds no execution sample inside a Lloyd iteration: was the fit "
            "too short for JFR's sampling (use more --rows)?"
        )
    tops = Counter(stack[0] for stack in stacks)
    distance = sum(1 for stack in stacks if any(_written_in(f, DISTANCE_FRAME) for f in stack))
    return {
        "samples": len(stacks),
        "self": [
            {"method": method, "share": count / len(stacks)}
            for method, count in tops.most_common(TOP)
        ],
        "distance_share": distance / len(stacks),
    }


def read_samples(jfr: Path, recording: Path, out: Path) -> list[dict[str, Any]]:
    """The recording's jdk.ExecutionSample events, through `jfr print --json`."""
    with out.open("w", encoding="utf-8") as stream:
        finished = subprocess.run(
            [str(jfr), "print", "--json", "--events", "jdk.ExecutionSample", str(recording)],
            stdout=stream,
            stderr=subprocess.PIPE,
            text=True,
        )
    if finished.returncode != 0:
        raise BenchError(f"jfr print failed: {finished.stderr.strip()[-800:]}")
    try:
        with out.open(encoding="utf-8") as stream:
            return json.load(stream)["recording"]["events"]
    finally:
        # Tens of MB of text for a minute's recording; the recording itself is kept.
        out.unlink()


def with_recording(argv: list[str], recording: Path) -> list[str]:
    """spark-submit's command line with JFR on in the driver's JVM (local mode: the tasks')."""
    # After spark-submit and --master local[T], before the first --conf.
    return [
        *argv[:3],
        "--conf",
        f"spark.driver.extraJavaOptions=-XX:StartFlightRecording=filename={recording},"
        "settings=profile",
        *argv[3:],
    ]


def summary_line(result: dict[str, Any], median_s: float) -> str:
    return (
        f"share of a Lloyd iteration's samples in MLlib's distance code ({DISTANCE_FRAME}): "
        f"{result['distance_share']:.0%} of {result['samples']} samples; "
        f"median iteration {median_s:.3f} s"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Runs on the host in Spark local mode; needs no Docker.",
    )
    parser.add_argument("--rows", type=int, default=5_000_000, help="default %(default)s")
    parser.add_argument("--threads", type=int, default=1, help="local[T] (default 1)")
    localspark.add_local_arguments(parser)
    benchlib.add_results_dir(parser)
    args = parser.parse_args(argv)
    if args.rows < 1 or args.threads < 1:
        parser.error("--rows and --threads must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    machine = benchlib.this_machine()
    print(machine.line())
    warning = benchlib.oversubscription(1, args.threads, machine.nproc, "local mode's cores")
    if warning:
        print(warning)
    jfr = jfr_tool()
    data_set = localspark.dataset(args.rows, data_dir=args.data_dir)
    folder = benchlib.result_path(BENCHMARK, started, args.results_dir).with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    recording = folder / "job.jfr"
    out = folder / "runs" / "w1-r1.json"
    print(f"Spark local[{args.threads}], {data_set.rows} rows: running the job with JFR ...")
    record = localspark.run_job(
        with_recording(
            localspark.job_argv(
                data_set.parquet,
                out,
                threads=args.threads,
                memory=args.memory,
                fingerprint=data_set.fingerprint,
                rows=data_set.rows,
                sweep_id=folder.name,
                run_id="w1-r1",
            ),
            recording.resolve(),
        ),
        out,
    )
    anatomy = record.get("anatomy") or localspark.event_log_anatomy(record, out.parent.parent)
    if not anatomy:
        raise BenchError("the run has no anatomy and no event log to read it from")
    iterations = anatomy["phases"]["iterations"]
    median_s = float(iterations["median_iteration_s"])
    result = profile(iteration_stacks(read_samples(jfr, recording, folder / "samples.json")))
    print(f"  median iteration {median_s:.3f} s over {record['iterations']} iterations")
    if "executor_run_s" in iterations:
        print(
            f"  iterations: executors' run {iterations['executor_run_s']:.1f} s, "
            f"CPU {iterations['executor_cpu_s']:.1f} s, GC {iterations['gc_s']:.1f} s"
        )
    print(f"  {result['samples']} samples inside the iterations; at the top of their stacks:")
    for entry in result["self"]:
        print(f"    {entry['share']:6.1%}  {entry['method']}")
    return benchlib.finish(
        BENCHMARK,
        {
            "mode": f"Spark local mode on the host, local[{args.threads}]",
            "threads": args.threads,
            "rows": data_set.rows,
            "warnings": [warning] if warning else [],
            "run": str(out),
            "recording": str(recording),
            "median_iteration_s": median_s,
            "iterations_phase": {
                key: iterations[key]
                for key in ("wall_s", "executor_run_s", "executor_cpu_s", "gc_s")
                if key in iterations
            },
            "profile": result,
            "summary": summary_line(result, median_s),
        },
        machine,
        started=started,
        results_dir=args.results_dir,
    )


if __name__ == "__main__":
    raise SystemExit(benchlib.run(main, "profile_iteration.py"))
