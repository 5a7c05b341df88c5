"""Sampling helpers of bench/bench_scale.py: the machine's load, the workers' memory and niceness, and a probe of
a trivial route (``GET /healthz``) timed while the load runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_api import percentile

__all__ = ["Probe", "Sampler", "nice_of", "rss_mb", "uptime"]


def uptime() -> str:
    """``uptime``'s line (load averages), for the record."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def nice_of(pid: int) -> str | None:
    """A process's niceness and its autogroup's (Linux /proc), e.g. "10/10"; None if it is gone."""
    try:
        own = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16]
    except (OSError, IndexError):
        return None
    try:
        group = Path(f"/proc/{pid}/autogroup").read_text().split("nice")[-1].strip()
    except OSError:
        group = "-"
    return f"{own}/{group}"


class Probe:
    """A thread sending GET ``url`` at ``rate`` per second for ``seconds`` (open loop, own connection), timing each."""

    def __init__(self, url: str, rate: float, seconds: float) -> None:
        self.url, self.rate, self.seconds = url, rate, seconds
        self.times: list[float] = []
        self.errors = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        with httpx.Client(timeout=30) as client:
            start = time.perf_counter()
            for i in range(int(self.rate * self.seconds)):
                scheduled = start + i / self.rate
                time.sleep(max(0.0, scheduled - time.perf_counter()))
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.times.append((time.perf_counter() - scheduled) * 1000)
                self.errors += not ok

    def result(self) -> dict[str, Any]:
        self._thread.join(60)
        t = self.times or [0.0]
        return {"requests": len(self.times), "errors": self.errors, "rate": self.rate,
                "latency_ms": {"p50": round(percentile(t, 50), 2), "p95": round(percentile(t, 95), 2),
                               "p99": round(percentile(t, 99), 2), "max": round(max(t), 2)}}


class Sampler:
    """A thread that samples the workers' RSS (peak kept) and the machine's 1-minute load average every second."""

    def __init__(self, pids: list[int]) -> None:
        self.peak = {pid: 0.0 for pid in pids}
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid) or 0.0)
            self.loads.append(os.getloadavg()[0])

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(5)
        loads = self.loads or [os.getloadavg()[0]]
        return {"worker_peak_rss_mb": [round(v, 1) for v in self.peak.values()],
                "load_1min": {"min": min(loads), "mean": round(statistics.fmean(loads), 2), "max": max(loads)}}
