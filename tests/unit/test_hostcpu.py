"""The hosts' CPU use around a run: hostcpu.py's counters and runrecord's host_cpu."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sparksweep.job import hostcpu, runrecord

PROC_STAT = "cpu  1000 20 300 5000 80 0 10 0 0 0\ncpu0 500 10 150 2500 40 0 5 0 0 0\n"


def test_proc_stat_gives_busy_and_total_seconds() -> None:
    stat = hostcpu.read_proc_stat(PROC_STAT)
    ticks = hostcpu._TICKS_PER_S
    # idle and iowait are not busy; user, nice, system, irq, softirq and steal are.
    assert stat["busy_s"] == pytest.approx((1000 + 20 + 300 + 10) / ticks)
    assert stat["total_s"] == pytest.approx((1000 + 20 + 300 + 5000 + 80 + 10) / ticks)


def test_this_host_can_be_sampled() -> None:
    first = hostcpu.sample([])
    second = hostcpu.sample([])
    assert first["cpus"] >= 1
    assert second["busy_s"] >= first["busy_s"] and second["total_s"] > 0


@pytest.mark.parametrize(
    ("relative", "content", "expected"),
    [
        ("sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", "2500000000\n", 2.5),
        ("sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", "usage_usec 1500000\n", 1.5),
        ("sys/fs/cgroup/docker/{id}/cpu.stat", "nr_periods 0\nusage_usec 750000\n", 0.75),
        # A second engine with --cgroup-parent, as in the several-hosts test.
        ("sys/fs/cgroup/cpuacct/sparksweep-node2/{id}/cpuacct.usage", "1000000000\n", 1.0),
    ],
    ids=["cgroup-v1", "cgroup-v2-systemd", "cgroup-v2-cgroupfs", "cgroup-parent"],
)
def test_container_cpu_is_read_from_either_cgroup_version(
    tmp_path: Path, relative: str, content: str, expected: float
) -> None:
    path = tmp_path / relative.format(id="abc")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    assert hostcpu.container_cpu_s("abc", root=str(tmp_path)) == pytest.approx(expected)
    assert hostcpu.container_cpu_s("other", root=str(tmp_path)) is None


def _sample(t: float, busy: float, containers: dict[str, float | None]) -> dict:
    return {"time": t, "cpus": 2, "busy_s": busy, "total_s": 2 * t, "containers": containers}


def test_usage_splits_the_busy_cpus_into_the_runs_and_the_rest() -> None:
    start = _sample(100.0, 50.0, {"a": 10.0, "b": 5.0})
    # 10 s later: the host was busy 18 CPU-seconds, the run's containers 12 of them.
    end = _sample(110.0, 68.0, {"a": 19.0, "b": 8.0})
    use = hostcpu.usage(start, end)
    assert use["busy_cpus"] == pytest.approx(1.8)
    assert use["ours_cpus"] == pytest.approx(1.2)
    assert use["other_cpus"] == pytest.approx(0.6)
    assert (use["containers"], use["containers_missing"]) == (2, 0)


def test_a_container_gone_by_the_end_is_counted_missing() -> None:
    start = _sample(0.0, 0.0, {"a": 1.0, "killed": 1.0})
    end = _sample(10.0, 10.0, {"a": 6.0})
    use = hostcpu.usage(start, end)
    assert use["containers_missing"] == 1
    assert use["ours_cpus"] == pytest.approx(0.5)


def test_the_cli_prints_one_sample_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert hostcpu.main(["sample", "no-such-container"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["containers"] == {"no-such-container": None}


def test_runrecord_adds_host_cpu_to_the_record_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "w2-r1.json"
    run.write_text(json.dumps({"run_id": "w2-r1", "workers": 2, "cores_per_worker": 1}))
    samples = {
        "hosts": ["node1"],
        "start": [_sample(0.0, 0.0, {"a": 0.0})],
        "end": [_sample(20.0, 30.0, {"a": 24.0})],
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(samples)))
    assert runrecord.main(["host-cpu", f"--run={run}"]) == 0
    record = json.loads(run.read_text())
    assert record["host_cpu"]["given_cpus"] == 2
    assert record["host_cpu"]["hosts"][0]["host"] == "node1"
    assert record["host_cpu"]["other_cpus"] == pytest.approx(0.3)
    assert [p.name for p in tmp_path.iterdir()] == ["w2-r1.json"]


def test_runrecord_refuses_a_missing_run(tmp_path: Path) -> None:
    assert runrecord.main(["host-cpu", f"--run={tmp_path / 'none.json'}"]) == 3


def test_a_container_restarted_in_the_run_is_counted_missing_not_negative() -> None:
    """A master brought back after a kill counts from zero in its new cgroup."""
    start = _sample(0.0, 0.0, {"master": 60.0, "worker": 1.0})
    end = _sample(10.0, 10.0, {"master": 2.0, "worker": 6.0})
    use = hostcpu.usage(start, end)
    assert use["containers_missing"] == 1
    assert use["ours_cpus"] == pytest.approx(0.5)


def test_docker_hosts_on_one_machine_count_its_cpus_once() -> None:
    """Two engines on one machine (same boot id): one entry, both hosts' containers ours."""
    start = [
        {**_sample(0.0, 0.0, {"master": 0.0}), "machine": "boot-1"},
        {**_sample(0.1, 0.1, {"worker2": 0.0}), "machine": "boot-1"},
        {**_sample(0.0, 0.0, {"worker3": 0.0}), "machine": "boot-2"},
    ]
    end = [
        {**_sample(10.0, 15.0, {"master": 8.0}), "machine": "boot-1"},
        {**_sample(10.1, 15.1, {"worker2": 5.0}), "machine": "boot-1"},
        {**_sample(10.0, 9.0, {"worker3": 9.0}), "machine": "boot-2"},
    ]
    record = {"workers": 2, "cores_per_worker": 1}
    samples = {"hosts": ["node1", "node2", "node3"], "start": start, "end": end}
    use = runrecord.host_cpu(record, samples)
    assert [h["host"] for h in use["hosts"]] == ["node1+node2", "node3"]
    shared = use["hosts"][0]
    # 15 busy CPU-seconds in 10 s on the shared machine, 13 of them the two hosts' containers:
    # counted once, not as 30 busy with 8 and 5 of them ours.
    assert shared["busy_cpus"] == pytest.approx(1.5)
    assert shared["ours_cpus"] == pytest.approx(1.3)
    assert shared["other_cpus"] == pytest.approx(0.2)
    assert use["other_cpus"] == pytest.approx(0.2)
