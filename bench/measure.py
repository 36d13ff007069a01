"""What the box and a process tree did during a run: CPU shares, load, peak memory.

Read from ``/proc`` (Linux only), no dependencies: a process tree is walked
through ``/proc/<pid>/task/*/children``.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (those alive now)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # gone meanwhile
                todo.extend(int(child) for child in task.read_text().split())
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def box_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # guest time is already inside user/nice
    return float(total - idle), float(total)


@dataclass
class Span:
    """Wall time, a process tree's CPU and the box's busy cores over a stretch of time."""

    pid: int | None = None
    started: float = 0.0
    cpu: float = 0.0
    busy: tuple[float, float] = (0.0, 0.0)
    wall: float = 0.0
    share: float = 0.0  # the tree's CPU seconds per wall second (1.0 = one core)
    box: float = 0.0  # busy cores of the whole box (2.0 = both of two)

    def __enter__(self) -> Span:
        self.started = time.perf_counter()
        self.cpu = tree_cpu_seconds(self.pid) if self.pid else 0.0
        self.busy = box_busy()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self.started
        if self.pid:
            self.share = (tree_cpu_seconds(self.pid) - self.cpu) / self.wall
        busy, total = box_busy()
        cores = os.cpu_count() or 1
        spent = total - self.busy[1]
        self.box = cores * (busy - self.busy[0]) / spent if spent else 0.0


def peak_memory(pid: int) -> list[dict[str, Any]]:
    """VmHWM (peak resident set, KiB) of ``pid`` and each descendant, with its command."""
    rows: list[dict[str, Any]] = []
    for member in tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        hwm = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
        if hwm is not None:
            rows.append(
                {
                    "pid": member,
                    "vmhwm_kib": int(hwm.split()[1]),
                    "command": command.decode(errors="replace").strip()[:120],
                }
            )
    return rows
