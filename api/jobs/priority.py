"""A worker process's CPU priority: scoring is background work that should give way to ingest on a shared host.

On Linux a process's niceness only ranks it against the processes of its own *autogroup* when the kernel groups
tasks by session (``/proc/sys/kernel/sched_autogroup_enabled``, the default on desktop and many server kernels):
the CPU is first shared fairly between sessions, whatever their processes' niceness. A worker started in its own
session (a service, ``setsid``, a process spawned with ``start_new_session``) is alone in its autogroup, so it lowers
the group's priority too; one started from a shell shares the shell's group and leaves it alone (lowering it would
lower the priority of everything started from that shell, the API included).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AUTOGROUP", "lower_priority"]

AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(level: int, autogroup: Path = AUTOGROUP) -> tuple[int, int | None]:
    """Raise this process's niceness to ``level`` (never lower it), and its autogroup's when the process leads its
    own session; returns both niceness values now (the autogroup's None when it was not ours or there is none).

    Call it before any thread starts: on Linux niceness belongs to each thread, and new threads inherit their
    creator's. Where the platform has no niceness (Windows) nothing changes and ``(0, None)`` is returned."""
    if not hasattr(os, "nice"):
        return 0, None
    current = os.nice(0)
    if level > current:
        current = os.nice(level - current)
    return current, _lower_autogroup(level, autogroup)


def _lower_autogroup(level: int, autogroup: Path) -> int | None:
    if os.getsid(0) != os.getpid():  # the group is shared with the session that started us: not ours to change
        return None
    try:
        group = int(autogroup.read_text().split("nice")[-1])
        if level > group:
            autogroup.write_text(str(level))
            group = int(autogroup.read_text().split("nice")[-1])
    except (OSError, ValueError):  # no autogroups in this kernel, or /proc is read-only here
        return None
    return group
