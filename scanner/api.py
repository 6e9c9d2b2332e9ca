"""The Python API: load inputs into a model and an index. The CLI and the tests use these entry points."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.bulk import bulk_load
from scanner.collect import RawSnapshot
from scanner.collect.files import Limits, load_files
from scanner.engine import Index
from scanner.model import Cluster
from scanner.parse import parse
from scanner.progress import QUIET, Progress


@dataclass(slots=True)
class Loaded:
    raw: RawSnapshot
    cluster: Cluster
    index: Index


def load(paths: list[str], default_namespace: str = "default", limits: Limits | None = None,
         progress: Progress = QUIET) -> Loaded:
    """Read manifests and snapshots, parse them, and index the result."""
    with bulk_load():
        raw = load_files(paths, default_namespace, limits or Limits(), progress)
        cluster = parse(raw)
        return Loaded(raw, cluster, Index(cluster))
