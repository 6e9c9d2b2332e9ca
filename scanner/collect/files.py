"""Manifest input: files, directories (recursive) and stdin; YAML (multi-document) and JSON.

Owns decoding with limits, `List` unpacking, namespace placement and source locations. Snapshot files found
among the inputs are handed to `scanner.collect.snapshot`. Objects are projected at once
(`scanner.collect.project`) so memory follows what the analysis keeps, not the input size.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scanner.collect import RawObject, RawSnapshot
from scanner.collect.project import CLUSTER, project, scope_of
from scanner.errors import InputError, type_name
from scanner.model import Source
from scanner.progress import Progress

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".yaml.gz", ".yml.gz", ".json.gz")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one input may cost. Every one is a command-line option."""

    max_file_bytes: int = 1 << 30  # after decompression
    max_documents: int = 500_000
    max_depth: int = 200  # YAML nesting (Kubernetes objects need about 20)
    max_alias_nodes: int | None = None  # YAML alias expansion; None: 100,000 or 4 per byte, whichever is more


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loading that refuses duplicate keys, as kubectl does (the last one would silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key_node.value!r}",
                                                            key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


_BOM = b"\xef\xbb\xbf"
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")


_ANCHOR_RE = re.compile(rb"(^|[\s\[{,:-])&[^\s\[\]{},]+")


def expansion_problem(doc: Any, budget: int) -> str | None:
    """Aliases share nodes, so a small file can stand for an exponential tree ("billion laughs") that explodes
    when walked or written out. Count the nodes the document expands to, stopping at `budget`."""
    stack = [doc]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > budget:
            return f"YAML aliases expand it beyond {budget} nodes (an alias bomb?)"
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def nesting_problem(data: bytes, limit: int) -> str | None:
    """Refuse input nested deeper than `limit` before the C parser sees it (libyaml recurses without bound)."""
    depth = deepest = 0
    for c in data.translate(None, _BRACKETS):
        if c in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    if deepest > limit:
        return f"nested {deepest} levels deep (the limit is {limit})"
    if re.search(rb"^[ \t]{%d,}\S" % (limit * 4), data, re.MULTILINE):
        return f"indented more than {limit * 4} columns (nesting beyond the limit of {limit})"
    return None
_SEPARATOR_RE = re.compile(rb"^---(?:[ \t].*)?$", re.MULTILINE)


def iter_input_files(path: str) -> Iterator[str]:
    """The files behind one INPUT argument: itself, or the manifest files below a directory, sorted."""
    if path == "-":
        yield path
        return
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", file=path)
    if p.is_dir():
        found = []
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in files:
                if f.lower().endswith(MANIFEST_SUFFIXES) and not f.startswith("."):
                    found.append(os.path.join(root, f))
        yield from sorted(found)
    else:
        yield path


def read_bytes(path: str, limits: Limits) -> bytes:
    """The (decompressed) bytes of a file or stdin, refusing more than `limits.max_file_bytes`."""
    cap = limits.max_file_bytes
    try:
        if path == "-":
            data = sys.stdin.buffer.read(cap + 1)
        elif path.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(cap + 1)
        else:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > cap:  # a regular file says its size: refuse before reading a byte
                    raise InputError(f"{size} bytes, larger than the limit of {cap} bytes (see --max-file-size)",
                                     file=path)
                data = fh.read(cap + 1)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", file=path) from None
    except EOFError as e:
        raise InputError(f"cannot read: truncated compressed file ({e})", file=path) from None
    except zlib.error as e:  # a damaged deflate stream inside a valid gzip header
        raise InputError(f"cannot read: damaged compressed data ({e})", file=path) from None
    if len(data) > cap:
        raise InputError(f"larger than the limit of {cap} bytes (see --max-file-size)", file=path)
    return data


def document_lines(data: bytes) -> list[int]:
    """The 1-based line on which each YAML document starts (first non-blank, non-comment line)."""
    lines = data.split(b"\n")
    seps = [i for i, ln in enumerate(lines) if _SEPARATOR_RE.match(ln)]
    starts: list[int] = []
    first_sep = seps[0] if seps else len(lines)
    if any(ln.strip() and not ln.lstrip().startswith(b"#") for ln in lines[:first_sep]):
        starts.append(0)
    starts += [s + 1 for s in seps]
    out = []
    for s in starts:
        i = s
        while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith(b"#")):
            i += 1
        out.append(i + 1)
    return out


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(f"duplicate key {k!r}")
            seen.add(k)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(data: bytes | str) -> Any:
    """JSON as the API server's strict decoding reads it: a duplicate key is an error (the last one would
    silently win, so a reviewer and the cluster could read different values), NaN and Infinity are not numbers.
    The standard parser, not orjson: orjson keeps the last duplicate without a word. Raises ValueError."""
    return json.loads(data, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _value_problem(e: ValueError) -> str:
    if "integer string conversion" in str(e):
        return "a number of more than 4,300 digits"
    return str(e)


def decode(data: bytes, path: str, limits: Limits) -> Iterator[tuple[int, int | None, Any]]:
    """(document index, line, parsed document) for each document of a file."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]  # kubectl reads a UTF-8 byte order mark as nothing
    head = data.lstrip()[:1]
    if path.endswith((".json", ".json.gz")) or head in (b"{", b"["):
        is_json = path.endswith((".json", ".json.gz"))
        try:
            yield 1, 1, strict_json(data)
            return
        except _DuplicateKey as e:
            raise InputError(f"invalid JSON: {e} (kubectl refuses duplicate fields)", file=path) from None
        except RecursionError:  # the parser's own bound, about 1,000 levels
            why = nesting_problem(data, limits.max_depth) or "nested too deeply"
            raise InputError(f"refused: {why}", file=path) from None
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start})", file=path) from None
        except ValueError as e:  # JSONDecodeError, a number of more than 4,300 digits, NaN
            if is_json or not isinstance(e, json.JSONDecodeError):
                raise InputError(f"invalid JSON: {_value_problem(e)}", file=path) from None
            # not JSON after all: YAML flow style, read below
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        hint = (" (gzip data: name the file *.gz)" if data[:2] == b"\x1f\x8b"
                else " (UTF-16 text: save it as UTF-8)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "")
        raise InputError(f"not UTF-8 text (byte {e.start}){hint}", file=path) from None
    deep = nesting_problem(data, limits.max_depth)
    if deep:
        raise InputError(f"refused: {deep}", file=path)
    lines = document_lines(data)
    anchors = _ANCHOR_RE.search(data) is not None
    budget = limits.max_alias_nodes or max(100_000, 4 * len(data))
    index = 0
    try:
        for doc in yaml.load_all(text, Loader=_SafeLoader):
            index += 1
            if index > limits.max_documents:
                raise InputError(f"more than {limits.max_documents} documents (see --max-documents)", file=path)
            line = lines[index - 1] if index - 1 < len(lines) else None
            if anchors:
                bomb = expansion_problem(doc, budget)
                if bomb:
                    raise InputError(f"refused: {bomb}", file=path, obj=f"document {index}")
            yield index, line, doc
    except ValueError as e:  # an integer of more than 4,300 digits, which Python refuses to convert
        raise InputError(f"invalid YAML: {_value_problem(e)}", file=path, obj=f"document {index + 1}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"invalid YAML: {where}{problem}", file=path, obj=f"document {index + 1}") from None


def _describe(doc: dict[str, Any]) -> str:
    md = doc.get("metadata")
    name = md.get("name") if isinstance(md, dict) else None
    return f"{doc.get('kind', '?')}/{name}" if name else str(doc.get("kind", "object"))


def _missing(field: str, value: Any) -> str:
    """Why a required string field is unusable: absent, empty, or of another type."""
    if value is None:
        return f"object has no {field}"
    if value == "":
        return f"object has an empty {field}"
    return f"must be a string, not {type_name(value)}"


def objects_from_document(doc: Any, source: Source, default_namespace: str, snap: RawSnapshot,
                          where: str) -> None:
    """Unpack one document (an object or a List of objects) into `snap`."""
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise InputError(f"a Kubernetes object must be a mapping, not {type_name(doc)}", file=source.file,
                         obj=where)
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise InputError(_missing("kind", kind), file=source.file, obj=where, field="kind")
    if not isinstance(api_version, str) or not api_version:
        raise InputError(_missing("apiVersion", api_version), file=source.file, obj=f"{where} {_describe(doc)}",
                         field="apiVersion")
    if kind == "List" or (kind.endswith("List") and "items" in doc):
        items = doc.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            raise InputError("must be a list", file=source.file, obj=f"{where} {kind}", field="items")
        item_kind = kind[: -len("List")] if kind != "List" else None
        for i, item in enumerate(items):
            if isinstance(item, dict) and item_kind and "kind" not in item:
                item = {**item, "kind": item_kind, "apiVersion": item.get("apiVersion", api_version)}
            objects_from_document(item, source, default_namespace, snap, f"{where} items[{i}]")
        return
    scope = scope_of(api_version, kind)
    if scope is None:
        snap.skipped_kinds[f"{api_version}/{kind}" if "/" not in api_version else f"{api_version}, {kind}"] += 1
        return
    md = doc.get("metadata")
    if not isinstance(md, dict):
        message = "object has no metadata" if md is None else f"must be an object, not {type_name(md)}"
        raise InputError(message, file=source.file, obj=f"{where} {kind}", field="metadata")
    name = md.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(_missing("name", name), file=source.file, obj=f"{where} {kind}", field="metadata.name")
    obj = project(doc)
    defaulted = False
    if scope != CLUSTER:
        ns = md.get("namespace")
        if ns is None or ns == "":
            obj["metadata"]["namespace"] = default_namespace
            defaulted = True
        elif not isinstance(ns, str):
            raise InputError(f"must be a string, not {type_name(ns)}", file=source.file,
                             obj=f"{where} {kind}/{name}", field="metadata.namespace")
    snap.objects.append(RawObject(obj, source, defaulted))


def load_files(paths: list[str], default_namespace: str, limits: Limits, progress: Progress) -> RawSnapshot:
    """Read manifest files and snapshots into one raw snapshot."""
    from scanner.collect import snapshot as snapshot_io

    snap = RawSnapshot(objects=[])
    files = [(p, f) for p in paths for f in iter_input_files(p)]
    documents = 0
    for n, (arg, path) in enumerate(files, 1):
        progress.update(f"reading {n}/{len(files)} files, {len(snap.objects)} objects")
        data = read_bytes(path, limits)
        if snapshot_io.looks_like_snapshot(data):
            snapshot_io.merge_into(snap, snapshot_io.parse_snapshot(data, path))
            continue
        shown = "<stdin>" if path == "-" else path
        if (arg_shown := "<stdin>" if arg == "-" else arg) not in snap.inputs:
            snap.inputs.append(arg_shown)
        docs = list(decode(data, shown, limits))
        if arg != path and not any(isinstance(d, dict) and "kind" in d and "apiVersion" in d for _, _, d in docs):
            # found by walking a directory and not a manifest at all (Chart.yaml, values.yaml, a config file)
            snap.warnings.append(f"{shown}: not a Kubernetes manifest (no apiVersion/kind), skipped")
            continue
        for index, line, doc in docs:
            documents += doc is not None
            objects_from_document(doc, Source(shown, index, line), default_namespace, snap, f"document {index}")
    progress.done()
    snap.inputs.sort()  # the result names the inputs in one order, whatever order they were given in
    if not snap.objects and not snap.snapshot_sha256:
        skipped = ", ".join(f"{k} x{v}" for k, v in sorted(snap.skipped_kinds.items()))
        what = f"only objects of kinds the analysis does not use ({skipped})" if skipped else "no Kubernetes objects"
        raise InputError(f"{what}: nothing to analyse (a failed `helm template` or an empty directory?)",
                         file=", ".join("<stdin>" if p == "-" else p for p in paths))
    return snap
