"""Scheduled runs: the drift from the previous run and the trend of the last runs (`scan --archive-dir`,
`scan --previous`), as the `drift` and `history` keys of the result.

Owns the archive's layout as this reads it (`DIR/<UTC time>/netpol-audit.json`, `snapshot.json.gz`), which
earlier runs a run compares with and follows, and the shape of the two keys. The comparison itself is
`scanner.diff` (the same meaning as `netpol-audit diff`), on the canonical JSON results. It must not scan,
write or prune: the CLI scans a `--previous` snapshot and archives the run. An archived result that cannot be
read is left out with a warning, never a crash: a scheduled run must still write its own report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from scanner.collect.files import Limits, read_bytes
from scanner.diff import Side, diff, is_result, posture
from scanner.errors import InputError
from scanner.findings import Subject

log = logging.getLogger(__name__)

RUN_DIR_FORMAT = "%Y%m%dT%H%M%SZ"
RESULT_FILE = "netpol-audit.json"
SNAPSHOT_FILE = "snapshot.json.gz"
DEFAULT_TREND = 12
# Workload-level connections of an archived run are computed from its snapshot (a second model) only while
# both sides have at most this many pairs of pod classes; beyond, the drift is at namespace level and says so.
ARCHIVE_WORKLOAD_PAIRS = 250_000
COUNTS = ("namespace_connections_opened", "namespace_connections_closed", "workload_connections_opened",
          "workload_connections_closed", "findings_new", "findings_resolved", "findings_severity_changed",
          "policies_added", "policies_removed", "policies_changed", "policies_became_invalid",
          "policies_became_valid")


def is_run_dir(name: str) -> bool:
    try:
        dt.datetime.strptime(name, RUN_DIR_FORMAT)
    except ValueError:
        return False
    return True


def run_name(started_at: str) -> str:
    """The archive directory of a run that started at `started_at` (RFC 3339, UTC, whole seconds)."""
    return dt.datetime.strptime(started_at, "%Y-%m-%dT%H:%M:%SZ").strftime(RUN_DIR_FORMAT)


def earlier_runs(base: Path, current: str) -> list[str]:
    """The run directories of the archive older than `current`, oldest first (none when there is no archive)."""
    try:
        names = [d.name for d in base.iterdir() if d.is_dir() and not d.is_symlink() and is_run_dir(d.name)]
    except OSError:
        return []
    return sorted(n for n in names if n < current)


@dataclasses.dataclass
class PreviousRun:
    """The newest readable run before this one: its directory name, result and snapshot (when archived)."""

    run: str
    result: dict[str, Any]
    snapshot: Path | None


@dataclasses.dataclass
class Archive:
    """What a run reads from the archive: the run to compare with, the earlier points of the trend (oldest
    first) and the runs left out because they could not be read."""

    previous: PreviousRun | None = None
    entries: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)


def read_archive(base: Path, current: str, keep: int, trend: int, limits: Limits) -> Archive:
    """Read the earlier runs this run needs: the newest readable one (for the drift, even when this run's
    `--keep` prunes it afterwards) and those of the last `trend` runs that stay in the archive after pruning
    (so the trend shows what the archive holds). Each result is read once and only the numbers are kept."""
    earlier = earlier_runs(base, current)
    kept = sorted([*earlier, current])[-max(keep, 1):]
    window = set([n for n in kept if n < current][-(trend - 1):] if trend > 1 else [])
    out = Archive()
    for name in reversed(earlier):  # newest first: the window is the newest part of the earlier runs
        if out.previous is not None and name not in window:
            break
        path = base / name / RESULT_FILE
        doc, reason = _read_result(path, limits)
        if doc is None:
            log.warning("archived run %s: %s: left out of the drift and the trend", path, reason)
            out.skipped.append({"run": name, "reason": str(reason)})
            continue
        if out.previous is None:
            snapshot = base / name / SNAPSHOT_FILE
            out.previous = PreviousRun(name, doc, snapshot if snapshot.is_file() else None)
        if name in window:
            out.entries.append(entry(doc, name))
    out.entries.reverse()
    out.skipped.sort(key=lambda s: s["run"])
    return out


def _read_result(path: Path, limits: Limits) -> tuple[dict[str, Any] | None, str | None]:
    """The result in `path`, or None and why not. Checked for the shape the drift and the trend read (the
    full schema check costs a minute on a 100,000-finding result: too slow for each archived run)."""
    if not path.is_file():
        return None, f"no {RESULT_FILE}"
    try:
        doc = orjson.loads(read_bytes(str(path), limits))
    except InputError as e:
        return None, e.detail
    except orjson.JSONDecodeError as e:
        return None, f"invalid JSON ({e})"
    problem = usable(doc)
    return (doc, None) if problem is None else (None, problem)


def usable(doc: Any) -> str | None:
    """Why `doc` cannot be compared or followed (None when it can): a scan result with schema_version 1 that
    the drift can read, tried by diffing it with itself and reading each failing finding as the drift does."""
    from scanner.render.report_model import check

    if not is_result(doc):
        return "not a netpol-audit scan result"
    try:
        check(doc)
        _started(doc)
        orjson.dumps(diff(Side("", doc, None), Side("", doc, None)))  # a count of 1e300 cannot be written back
        orjson.dumps(posture(doc))
        for f in doc["findings"]:
            if f["status"] in ("FAIL", "ERROR"):
                Subject(**f["subject"])
                if not (isinstance(f["title"], str) and isinstance(f["message"], str)):
                    raise TypeError("a finding's title or message is not text")
    except InputError as e:
        return e.detail
    except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as e:
        return f"not a netpol-audit scan result ({type(e).__name__}: {str(e)[:100]})"
    return None


def _started(result: Mapping[str, Any]) -> str | None:
    started = (result.get("run") or {}).get("started_at")
    if started is not None and not isinstance(started, str):
        raise TypeError("run.started_at is not a string")
    return started


def entry(result: Mapping[str, Any], run: str | None) -> dict[str, Any]:
    """One point of the trend: the run's directory and start time with its posture (scanner.diff.posture:
    grade and score, isolated shares, failed findings by severity, pods, policies, namespaces, verdict)."""
    return {"run": run, "started_at": _started(result), **posture(result)}


def drift(previous: Side | None, current: Side, about: Mapping[str, Any] | None,
          skipped: list[dict[str, str]]) -> dict[str, Any]:
    """The `drift` key: `scanner.diff.diff` from the previous side to this run, without the diff's own
    labels, with counts; `about` says where the previous side came from (None: there is none)."""
    if previous is None or about is None:
        empty: dict[str, list[Any]] = {"became_allowed": [], "became_denied": []}
        return {"previous": None, "changed": False, "incomplete": [], "counts": dict.fromkeys(COUNTS, 0),
                "posture": {"before": None, "after": posture(current.result)},
                "connections": {"namespace": empty, "workload": {"computed": False, "note": "no earlier scan",
                                                                 **empty}},
                "findings": {"new": [], "resolved": [], "severity_changed": []},
                "policies": {"added": [], "removed": [], "changed": [], "became_invalid": [], "became_valid": []},
                "skipped": skipped}
    d = diff(previous, current)
    ns, wl = d["connections"]["namespace"], d["connections"]["workload"]
    f, p = d["findings"], d["policies"]
    counts = {"namespace_connections_opened": len(ns["became_allowed"]),
              "namespace_connections_closed": len(ns["became_denied"]),
              "workload_connections_opened": len(wl["became_allowed"]),
              "workload_connections_closed": len(wl["became_denied"]),
              "findings_new": len(f["new"]), "findings_resolved": len(f["resolved"]),
              "findings_severity_changed": len(f["severity_changed"]),
              **{f"policies_{k}": len(p[k]) for k in ("added", "removed", "changed", "became_invalid",
                                                      "became_valid")}}
    return {"previous": {**about, "started_at": previous.time,
                         "inputs": list(previous.result["run"]["input"].get("inputs") or [])},
            "changed": d["changed"], "incomplete": d["incomplete"], "counts": counts,
            "posture": {"before": d["old"]["posture"], "after": d["new"]["posture"]},
            "connections": d["connections"], "findings": f, "policies": p, "skipped": skipped}
