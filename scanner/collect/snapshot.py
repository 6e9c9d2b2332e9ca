"""The snapshot format: what was collected, kept as audit evidence and re-read by every command.

Owns writing, reading and verifying snapshots. A snapshot is one JSON object (optionally gzip-compressed):

    format           "netpol-audit-snapshot"
    format_version   1
    tool_version     the netpol-audit version that wrote it
    created_at       RFC 3339 UTC (SOURCE_DATE_EPOCH fixes it, for reproducible evidence)
    source           {"type": "manifests" | "cluster" | ..., "inputs": [...]}
    collection       {"complete": bool, "problems": [{"kind", "namespace", "reason"}]}
    skipped_kinds    {"apiVersion, kind": count} of objects read but not kept
    objects          the kept objects, projected (scanner.collect.project)
    provenance       parallel to objects: [file, document, line, namespace_defaulted] or null
    sha256           SHA-256 over the canonical encoding of every other member

The canonical encoding is UTF-8 JSON with keys sorted and no whitespace (`json.dumps(x, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`), so anyone can recompute the digest without this tool.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import orjson

from scanner import __version__
from scanner.collect import CollectionStatus, RawObject, RawSnapshot
from scanner.errors import InputError
from scanner.model import Source

FORMAT = "netpol-audit-snapshot"
FORMAT_VERSION = 1
_MAGIC = FORMAT.encode()


def canonical_bytes(content: dict[str, Any]) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def digest(content: dict[str, Any]) -> str:
    body = {k: v for k, v in content.items() if k != "sha256"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def now_utc() -> dt.datetime:
    """The current time, or SOURCE_DATE_EPOCH when set (reproducible output)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime.now(tz=dt.UTC).replace(microsecond=0)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(snap: RawSnapshot, created_at: dt.datetime | None = None) -> dict[str, Any]:
    """The snapshot document (with its digest) for a raw snapshot."""
    provenance: list[list[Any] | None] = []
    for o in snap.objects:
        if o.source is None and not o.namespace_defaulted:
            provenance.append(None)
        else:
            s = o.source
            provenance.append([s.file if s else None, s.document if s else None, s.line if s else None,
                               o.namespace_defaulted])
    content: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "created_at": rfc3339(created_at or now_utc()),
        "source": {"type": snap.source_type, "inputs": list(snap.inputs)},
        "collection": snap.collection.to_json(),
        "skipped_kinds": dict(sorted(snap.skipped_kinds.items())),
        "objects": [o.obj for o in snap.objects],
        "provenance": provenance,
    }
    content["sha256"] = digest(content)
    return content


def write(content: dict[str, Any], path: str) -> None:
    data = canonical_bytes(content) + b"\n"
    try:
        if path == "-":
            import sys

            sys.stdout.buffer.write(data)
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if path.endswith(".gz"):
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
                gz.write(data)
            data = buf.getvalue()
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", file=path) from None


def looks_like_snapshot(data: bytes) -> bool:
    return data.lstrip()[:1] == b"{" and _MAGIC in data[:4096]


def load_document(data: bytes, path: str) -> dict[str, Any]:
    try:
        content = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(f"invalid JSON in snapshot: {e}", file=path) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError("not a netpol-audit snapshot", file=path, field="format")
    version = content.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(f"unsupported snapshot format_version {version!r} (this tool reads {FORMAT_VERSION})",
                         file=path, field="format_version")
    return content


def verify(content: dict[str, Any]) -> tuple[bool, str, str]:
    """(matches, recorded digest, computed digest)."""
    recorded = str(content.get("sha256", ""))
    computed = digest(content)
    return recorded == computed, recorded, computed


def parse_snapshot(data: bytes, path: str) -> RawSnapshot:
    content = load_document(data, path)
    ok, recorded, computed = verify(content)
    if not ok:
        raise InputError(f"sha256 mismatch: recorded {recorded[:16]}..., content hashes to {computed[:16]}... "
                         "(the snapshot was changed after it was written)", file=path, field="sha256")
    objects = content.get("objects")
    provenance = content.get("provenance") or []
    if not isinstance(objects, list):
        raise InputError("must be a list", file=path, field="objects")
    if not isinstance(provenance, list):
        raise InputError("must be a list", file=path, field="provenance")
    src = content.get("source") or {}
    coll = content.get("collection") or {}
    skipped = content.get("skipped_kinds") or {}
    for name, value in (("source", src), ("collection", coll), ("skipped_kinds", skipped)):
        if not isinstance(value, dict):
            raise InputError("must be an object", file=path, field=name)
    if not isinstance(coll.get("problems") or [], list) or not all(
            isinstance(p, dict) for p in coll.get("problems") or []):
        raise InputError("must be a list of objects", file=path, field="collection.problems")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in skipped.values()):
        raise InputError("counts must be whole numbers", file=path, field="skipped_kinds")
    from scanner.collect.project import CLUSTER, scope_of

    snap = RawSnapshot(objects=[])
    for i, obj in enumerate(objects):
        where = f"objects[{i}]"
        if not isinstance(obj, dict):
            raise InputError("must be an object", file=path, field=where)
        okind, api_version, md = obj.get("kind"), obj.get("apiVersion"), obj.get("metadata")
        if not isinstance(okind, str) or not isinstance(api_version, str) or scope_of(api_version, okind) is None:
            raise InputError("not an object of a kind snapshots keep (apiVersion and kind)", file=path,
                             field=where)
        if not isinstance(md, dict) or not isinstance(md.get("name"), str) or not md["name"]:
            raise InputError("has no metadata.name", file=path, field=f"{where}.metadata")
        if scope_of(api_version, okind) != CLUSTER and not isinstance(md.get("namespace"), str):
            raise InputError("a namespaced object needs metadata.namespace", file=path,
                             field=f"{where}.metadata.namespace")
        prov = provenance[i] if i < len(provenance) else None
        if prov is not None and (not isinstance(prov, list) or len(prov) != 4):
            raise InputError("must be [file, document, line, namespace_defaulted] or null", file=path,
                             field=f"provenance[{i}]")
        source = Source(str(prov[0]), prov[1] if isinstance(prov[1], int) else None,
                        prov[2] if isinstance(prov[2], int) else None) if prov and prov[0] else Source(path)
        snap.objects.append(RawObject(obj, source, bool(prov[3]) if prov else False))
    snap.source_type = str(src.get("type", "snapshot"))
    snap.inputs = [f"{path} (snapshot of {', '.join(map(str, src.get('inputs') or [])) or snap.source_type})"]
    snap.collection = CollectionStatus(bool(coll.get("complete", False)), list(coll.get("problems") or []))
    snap.skipped_kinds.update({str(k): int(v) for k, v in skipped.items()})
    snap.snapshot_sha256.append(recorded)
    if isinstance(content.get("created_at"), str):
        snap.snapshot_created_at.append(content["created_at"])
    return snap


def merge_into(target: RawSnapshot, other: RawSnapshot) -> None:
    target.objects.extend(other.objects)
    target.inputs.extend(other.inputs)
    target.skipped_kinds.update(other.skipped_kinds)
    target.snapshot_sha256.extend(other.snapshot_sha256)
    target.snapshot_created_at.extend(other.snapshot_created_at)
    if not other.collection.complete:
        target.collection.complete = False
    target.collection.problems.extend(other.collection.problems)
    if other.source_type != "manifests":
        target.source_type = other.source_type
