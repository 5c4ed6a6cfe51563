"""The CPU a Docker host spent during a run, and how much of it the run's containers spent.

    python hostcpu.py sample [CONTAINER_ID ...]

prints one JSON object: the host's CPU counters from /proc/stat and each named container's
CPU usage from its cgroup, read from outside the containers. Two samples, one before a run
and one after, give usage(): how many CPUs the host was busy on average, how many of those
the run's own containers (driver, master, executors) account for, and what is left: CPU
taken by something else, which a run shares the host with unknowingly.

Standard library only: Ansible runs it on every Docker host, which need not have the
sparksweep package, and runrecord.py beside it imports usage().
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# /proc/stat counts in USER_HZ ticks; Linux fixes USER_HZ at 100 on every architecture.
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# cgroup v1 (cgroupfs and systemd drivers), then cgroup v2 (systemd and cgroupfs drivers).
# The cgroupfs parent is "docker" unless the engine was started with --cgroup-parent (a
# second engine on one machine, as in the several-hosts test): any one folder matches.
_CGROUP_USAGE = (
    ("/sys/fs/cgroup/cpuacct/*/{id}/cpuacct.usage", "ns"),
    ("/sys/fs/cgroup/cpu,cpuacct/*/{id}/cpuacct.usage", "ns"),
    ("/sys/fs/cgroup/cpuacct/system.slice/docker-{id}.scope/cpuacct.usage", "ns"),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", "usage_usec"),
    ("/sys/fs/cgroup/*/{id}/cpu.stat", "usage_usec"),
)


def read_proc_stat(text: str) -> dict[str, float]:
    """Busy and total CPU seconds of the whole host, from /proc/stat's first line."""
    fields = text.splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError("/proc/stat does not start with the all-CPU line")
    ticks = [int(value) for value in fields[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    total = sum(ticks[:8])
    return {"busy_s": (total - idle) / _TICKS_PER_S, "total_s": total / _TICKS_PER_S}


def container_cpu_s(container_id: str, root: str = "") -> float | None:
    """CPU seconds the container's cgroup has used, or None when no cgroup of it is found."""
    for pattern, unit in _CGROUP_USAGE:
        found = sorted(glob.glob(root + pattern.format(id=container_id)))
        try:
            text = Path(found[0]).read_text()
        except (IndexError, OSError):
            continue
        if unit == "ns":
            return int(text.strip()) / 1e9
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
    return None


def machine_id() -> str:
    """This boot of this machine: Docker hosts that print the same id share its CPUs."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def sample(container_ids: list[str]) -> dict[str, Any]:
    stat = read_proc_stat(Path("/proc/stat").read_text())
    return {
        "time": time.time(),
        "machine": machine_id(),
        "cpus": os.cpu_count() or 1,
        **stat,
        "containers": {cid: container_cpu_s(cid) for cid in container_ids},
    }


def usage(start: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
    """Average CPUs busy between two samples of one host: in all, the run's, and the rest.

    A container missing from either sample (removed, or a worker killed in the run), or
    whose counter went back (restarted: a new cgroup counts from zero), is left out of the
    run's share and counted in containers_missing, so `other_cpus` then overstates.
    """
    wall_s = end["time"] - start["time"]
    if wall_s <= 0:
        raise ValueError("the end sample is not later than the start sample")
    busy_cpus = (end["busy_s"] - start["busy_s"]) / wall_s
    ours = 0.0
    missing = 0
    for cid, before in start["containers"].items():
        after = end["containers"].get(cid)
        if before is None or after is None or after < before:
            missing += 1
            continue
        ours += after - before
    ours_cpus = ours / wall_s
    return {
        "wall_s": round(wall_s, 3),
        "cpus": end["cpus"],
        "busy_cpus": round(busy_cpus, 3),
        "ours_cpus": round(ours_cpus, 3),
        # Never negative: counters are read a moment apart, so ours can exceed busy slightly.
        "other_cpus": round(max(busy_cpus - ours_cpus, 0.0), 3),
        "containers": len(start["containers"]),
        "containers_missing": missing,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "sample":
        print("usage: hostcpu.py sample [CONTAINER_ID ...]", file=sys.stderr)
        return 2
    print(json.dumps(sample(args[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
