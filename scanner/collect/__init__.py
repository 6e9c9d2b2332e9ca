"""Collection: turning files, snapshots (and later a live cluster) into one raw snapshot.

Owns reading bytes, decoding YAML/JSON, unpacking lists, placing namespace-less objects, keeping only the
kinds and fields the analysis needs (`scanner.collect.project`), and recording where each object came from.
It must not interpret objects: defaulting and validation belong to `scanner.parse`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scanner.model import Source


@dataclass(slots=True)
class RawObject:
    obj: dict[str, Any]
    source: Source | None = None
    namespace_defaulted: bool = False


@dataclass(slots=True)
class CollectionStatus:
    """What could and could not be collected. `complete` False means no verdict may pass."""

    complete: bool = True
    problems: list[dict[str, str | None]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"complete": self.complete, "problems": list(self.problems)}


@dataclass(slots=True)
class RawSnapshot:
    objects: list[RawObject]
    inputs: list[str] = field(default_factory=list)
    skipped_kinds: Counter[str] = field(default_factory=Counter)
    collection: CollectionStatus = field(default_factory=CollectionStatus)
    source_type: str = "manifests"
    snapshot_sha256: list[str] = field(default_factory=list)  # of snapshots read as input
    snapshot_created_at: list[str] = field(default_factory=list)  # their creation times, in the same order
    warnings: list[str] = field(default_factory=list)
