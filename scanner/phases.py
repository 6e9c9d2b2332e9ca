"""Per-phase cost of one run, for the benchmarks: process CPU time, wall time and resident memory.

Off unless the environment variable NETPOL_AUDIT_PHASES names a file; then every `phase()` appends one JSON
line to it: {"phase", "cpu", "wall", "rss_mb", "peak_rss_mb"} (peak: the process's high-water mark so far).
bench/run.py reads these lines. Recording costs two clock reads and one /proc read per phase.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PATH = os.environ.get("NETPOL_AUDIT_PHASES")


def _status_mb(field: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@contextmanager
def phase(name: str) -> Iterator[None]:
    if not _PATH:
        yield
        return
    cpu0, wall0 = time.process_time(), time.perf_counter()
    yield
    record = {"phase": name, "cpu": round(time.process_time() - cpu0, 3),
              "wall": round(time.perf_counter() - wall0, 3), "rss_mb": round(_status_mb("VmRSS"), 1),
              "peak_rss_mb": round(_status_mb("VmHWM"), 1)}
    with open(_PATH, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
