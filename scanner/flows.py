"""Observed flows (`scan --observed-flows FILE`, docs/observed-flows.md): the file format, and what an
observation says about the paths the policies allow between workloads (rule NP039).

Owns: reading a flow file (CSV or JSON, size-limited; every error is one line naming the file, the record and
the field), naming each end of a flow as a workload of the input, an address outside the pod network or
"unresolved", and comparing what was observed with what is allowed. It must not re-implement NetworkPolicy
semantics: the allowed paths come from `scanner.diff.workload_connections` (the engine's PairCache over
classes), single verdicts towards addresses from `scanner.engine.reach.verdict`, the rules that admit a path
from `scanner.engine.exposure.class_admits`.
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from scanner.errors import InputError, type_name
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    PROTOCOLS,
    IntervalSet,
    address_point,
    contains,
    describe_ports,
    intersect,
    port_point,
    port_range,
    subtract,
    union,
)
from scanner.model import WORKLOAD_KINDS, Direction

if TYPE_CHECKING:
    from scanner.context import Context, Workload
    from scanner.engine.index import PodClass

MAX_BYTES = 64 << 20  # aggregate first: one record per source, destination, port and protocol, with a count
MAX_RECORDS = 1_000_000
CSV_COLUMNS = ("source", "destination", "port", "protocol", "count", "last_seen")
_REQUIRED = ("source", "destination", "port")
_JSON_KEYS = ("flows", "window")
_WINDOW_KEYS = ("from", "to")
_KINDS = {k.lower(): k for k in ("Pod", *WORKLOAD_KINDS)}
_PROTOCOL_NUMBERS = {"6": "TCP", "17": "UDP", "132": "SCTP"}  # IANA numbers, as VPC flow logs write them
_NAMESPACE_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_WINDOW_RE = re.compile(r"#\s*window\s*:(.*)\Z", re.IGNORECASE)
_END_HELP = "namespace/workload, namespace/Kind/name or an IP address"


# --- the file -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class FlowEnd:
    """One end of a flow as the file names it. `text` is the normalised spelling (`namespace/name`,
    `namespace/Kind/name` with the canonical Kind, or the address)."""

    text: str
    namespace: str | None = None
    kind: str | None = None  # only when written as namespace/Kind/name
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """The records of one (source, destination, protocol, port), merged."""

    source: FlowEnd
    destination: FlowEnd
    protocol: str
    port: int
    count: int  # what the records stand for (their `count`, 1 each when not given)
    last_seen: str | None  # the latest `last_seen`, as RFC 3339 UTC
    where: str  # the first record: `line 7` (CSV) or `flows[3]` (JSON)

    @property
    def label(self) -> str:
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class ObservedFlows:
    path: str
    sha256: str
    format: str  # "csv" or "json"
    window: tuple[str, str] | None  # (from, to) as RFC 3339 UTC, when the file states one
    flows: tuple[Flow, ...]  # merged and sorted
    records: int  # records in the file

    def window_json(self) -> dict[str, str] | None:
        return None if self.window is None else {"from": self.window[0], "to": self.window[1]}


def load_flows(path: str) -> ObservedFlows:
    """Read a flow file: CSV or JSON, by extension (`.csv`, `.json`) or else by content."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{size:,} bytes, over the limit of {MAX_BYTES:,}: aggregate the flows first (one "
                             "record per source, destination, port and protocol, with a count)", file=path)
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", file=path) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"over the limit of {MAX_BYTES:,} bytes: aggregate the flows first", file=path)
    return parse_flows(data, path)


def parse_flows(data: bytes, path: str) -> ObservedFlows:
    """`load_flows` on bytes already read (`path` names them in errors)."""
    window: tuple[str, str] | None
    records: _Records
    suffix = Path(path).suffix.lower()
    kind = "csv" if suffix == ".csv" else "json" if suffix == ".json" else (
        "json" if data.lstrip()[:1] in (b"{", b"[") else "csv")
    if kind == "json":
        window, records = _json_records(data, path)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start})", file=path) from None
        window, records = _csv_records(text, path)
    merged: dict[tuple[str, str, str, int], Flow] = {}
    ends: dict[str, FlowEnd] = {}
    n = 0
    for where, rec in records:
        n += 1
        if n > MAX_RECORDS:
            raise InputError(f"more than {MAX_RECORDS:,} records: aggregate the flows first (one record per "
                             "source, destination, port and protocol, with a count)", file=path)
        flow = _flow(rec, path, where, ends)
        key = (flow.source.text, flow.destination.text, flow.protocol, flow.port)
        prev = merged.get(key)
        if prev is not None:
            seen = max((t for t in (prev.last_seen, flow.last_seen) if t is not None), default=None)
            flow = Flow(prev.source, prev.destination, prev.protocol, prev.port, prev.count + flow.count, seen,
                        prev.where)
        merged[key] = flow
    if not merged:
        raise InputError("holds no flows", file=path)
    digest = hashlib.sha256(data).hexdigest()
    return ObservedFlows(path, digest, kind, window, tuple(merged[k] for k in sorted(merged)), n)


def _csv_records(text: str, path: str) -> tuple[tuple[str, str] | None, Iterator[tuple[str, dict[str, str]]]]:
    """The window (from a `# window: FROM/TO` comment) and the records, one a line. The window comment must come
    before the header, so it is known before any record is read."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # numbered as editors number them
    window = None
    header: list[str] | None = None
    start = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _WINDOW_RE.match(stripped)
            if m:
                if window is not None:
                    raise InputError("a second window comment", file=path, obj=f"line {i + 1}", field="window")
                window = _window_text(m.group(1), path, f"line {i + 1}")
            continue
        header = [c.strip().lower() for c in _csv_row(line, path, i + 1)]
        _check_header(header, path, i + 1)
        start = i + 1
        break
    if header is None:
        raise InputError(f"no header line ({','.join(CSV_COLUMNS[:4])}[,count][,last_seen])", file=path)
    columns = header

    def records() -> Iterator[tuple[str, dict[str, str]]]:
        for i in range(start, len(lines)):
            line = lines[i]
            stripped = line.strip()
            if stripped.startswith("#") and _WINDOW_RE.match(stripped):
                raise InputError("the window comment must come before the header line", file=path,
                                 obj=f"line {i + 1}", field="window")
            if not stripped or stripped.startswith("#"):
                continue
            row = _csv_row(line, path, i + 1)
            if len(row) != len(columns):
                raise InputError(f"{len(row)} fields, the header has {len(columns)}", file=path,
                                 obj=f"line {i + 1}")
            yield f"line {i + 1}", dict(zip(columns, (c.strip() for c in row), strict=True))

    return window, records()


def _csv_row(line: str, path: str, lineno: int) -> list[str]:
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as e:
        raise InputError(f"not a CSV line: {e}", file=path, obj=f"line {lineno}") from None


def _check_header(header: list[str], path: str, lineno: int) -> None:
    where = f"line {lineno} (header)"
    for c in header:
        if c not in CSV_COLUMNS:
            raise InputError(f"unknown column {c!r} (known: {', '.join(CSV_COLUMNS)})", file=path, obj=where)
        if header.count(c) > 1:
            raise InputError(f"column {c!r} appears twice", file=path, obj=where)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (header: "
                         f"{','.join(CSV_COLUMNS[:4])}[,count][,last_seen])", file=path, obj=where)


_Records = Iterator[tuple[str, Mapping[str, Any]]]  # (where, record)


def _json_records(data: bytes, path: str) -> tuple[tuple[str, str] | None, _Records]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e}", file=path) from None
    if not isinstance(doc, dict):
        raise InputError(f'must be an object {{"flows": [...], "window": {{...}}}}, not {type_name(doc)}',
                         file=path)
    for k in doc:
        if k not in _JSON_KEYS:
            raise InputError(f"unknown key (known: {', '.join(_JSON_KEYS)})", file=path, field=str(k))
    flows = doc.get("flows")
    if not isinstance(flows, list):
        raise InputError(f"must be a list of flows, not {type_name(flows)}", file=path, field="flows")
    window = None
    if doc.get("window") is not None:
        w = doc["window"]
        if not isinstance(w, dict):
            raise InputError(f'must be an object {{"from": ..., "to": ...}}, not {type_name(w)}', file=path,
                             field="window")
        for k in w:
            if k not in _WINDOW_KEYS:
                raise InputError("unknown key (known: from, to)", file=path, field=f"window.{k}")
        window = _window(w.get("from"), w.get("to"), path, None)

    def records() -> _Records:
        for i, rec in enumerate(flows):
            where = f"flows[{i}]"
            if not isinstance(rec, dict):
                raise InputError(f"must be an object, not {type_name(rec)}", file=path, obj=where)
            for k in rec:
                if k not in CSV_COLUMNS:
                    raise InputError(f"unknown key (known: {', '.join(CSV_COLUMNS)})", file=path, obj=where,
                                     field=str(k))
            yield where, rec

    return window, records()


def _window_text(text: str, path: str, where: str) -> tuple[str, str]:
    start, sep, end = text.strip().partition("/")
    if not sep:
        raise InputError(f"{text.strip()!r} is not FROM/TO (two RFC 3339 times)", file=path, obj=where,
                         field="window")
    return _window(start.strip(), end.strip(), path, where)


def _window(start: object, end: object, path: str, where: str | None) -> tuple[str, str]:
    a = _time(start, path, where, "window.from")
    b = _time(end, path, where, "window.to")
    if a > b:
        raise InputError(f"the window ends ({b}) before it starts ({a})", file=path, obj=where, field="window")
    return a, b


def _time(value: object, path: str, where: str | None, what: str) -> str:
    """An RFC 3339 time with a time zone, as `YYYY-MM-DDTHH:MM:SSZ` (UTC; fractions of a second dropped)."""
    bad = InputError(f"{value!r} is not an RFC 3339 time with a time zone (2026-05-01T00:00:00Z)", file=path,
                     obj=where, field=what)
    if not isinstance(value, str) or "T" not in value.upper():
        raise bad
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad from None
    if t.tzinfo is None:
        raise bad
    try:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last representable UTC time
        raise InputError(f"{value!r} is outside the representable range of times", file=path, obj=where,
                         field=what) from None


def _flow(rec: Mapping[str, Any], path: str, where: str, ends: dict[str, FlowEnd]) -> Flow:
    """One record as a Flow; `ends` caches the parsed ends by their spelling (logs repeat them)."""
    for k in _REQUIRED:
        if rec.get(k) in (None, ""):
            raise InputError("required", file=path, obj=where, field=k)
    src = _cached_end(rec["source"], path, where, "source", ends)
    dst = _cached_end(rec["destination"], path, where, "destination", ends)
    proto = _protocol(rec.get("protocol"), path, where)
    port = _int(rec["port"], path, where, "port")
    if not 1 <= port <= 65535:
        raise InputError(f"{port} is outside 1-65535", file=path, obj=where, field="port")
    count = 1 if rec.get("count") in (None, "") else _int(rec["count"], path, where, "count")
    if count < 1:
        raise InputError(f"{count}: must be a positive integer", file=path, obj=where, field="count")
    seen = None if rec.get("last_seen") in (None, "") else _time(rec["last_seen"], path, where, "last_seen")
    return Flow(src, dst, proto, port, count, seen, where)


def _int(value: object, path: str, where: str, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # not '²'
        return int(value.strip())
    raise InputError(f"{value!r} is not a whole number", file=path, obj=where, field=what)


def _protocol(value: object, path: str, where: str) -> str:
    if value in (None, ""):
        return "TCP"
    text = str(value).strip().upper()
    text = _PROTOCOL_NUMBERS.get(text, text)
    if text not in PROTOCOLS:
        raise InputError(f"{value!r}: TCP, UDP or SCTP (NetworkPolicy governs no other protocol: leave such flows "
                         "out)", file=path, obj=where, field="protocol")
    return text


def _cached_end(value: object, path: str, where: str, what: str, ends: dict[str, FlowEnd]) -> FlowEnd:
    got = ends.get(value) if isinstance(value, str) else None
    if got is None:
        got = _end(value, path, where, what)
        if isinstance(value, str):
            ends[value] = got
    return got


def _end(value: object, path: str, where: str, what: str) -> FlowEnd:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{value!r} is not {_END_HELP}", file=path, obj=where, field=what)
    text = value.strip()
    if "/" not in text:  # a name always has one, an address never
        try:
            addr = str(ipaddress.ip_address(text))
        except ValueError:
            raise InputError(f"{text!r} is not {_END_HELP}", file=path, obj=where, field=what) from None
        return FlowEnd(addr, address=addr)
    parts = text.split("/")
    if len(parts) not in (2, 3):
        raise InputError(f"{text!r} is not {_END_HELP}", file=path, obj=where, field=what)
    ns, name = parts[0], parts[-1]
    kind = None
    if len(parts) == 3:
        kind = _KINDS.get(parts[1].lower())
        if kind is None:
            raise InputError(f"{text!r}: unknown kind {parts[1]!r} (Pod, {', '.join(WORKLOAD_KINDS)})", file=path,
                             obj=where, field=what)
    if not _NAMESPACE_RE.match(ns):
        raise InputError(f"{text!r}: {ns!r} is not a namespace name ({_END_HELP})", file=path, obj=where,
                         field=what)
    if not _NAME_RE.match(name):
        raise InputError(f"{text!r}: {name!r} is not a Kubernetes object name ({_END_HELP})", file=path,
                         obj=where, field=what)
    return FlowEnd(f"{ns}/{kind}/{name}" if kind else f"{ns}/{name}", ns, kind, name)


# --- what the observation says --------------------------------------------------------------------------------

LIST_LIMIT = 50  # entries per list in a finding (totals say how many there are)
DENIED_LIMIT = 20
UNRESOLVED_LIMIT = 10


@dataclass(slots=True)
class Use:
    """Observed traffic towards one destination: the ports (inside what is allowed), flows and last sighting."""

    ports: IntervalSet = EMPTY
    flows: int = 0
    last_seen: str | None = None

    def add(self, flow: Flow) -> None:
        self.ports = union(self.ports, port_range(flow.protocol, flow.port, flow.port))
        self.flows += flow.count
        if flow.last_seen is not None and (self.last_seen is None or flow.last_seen > self.last_seen):
            self.last_seen = flow.last_seen


@dataclass(slots=True)
class SourceView:
    """One workload as a source: its allowed paths (destination workload -> ports), leaving out the
    destinations open to it on every port because neither side is isolated (`open_destinations` counts them),
    and what was observed."""

    workload: Workload
    key: str  # scanner.diff.workload_key
    cls: PodClass
    egress_open: bool
    paths: dict[str, IntervalSet]
    open_destinations: int = 0
    used: dict[str, Use] = field(default_factory=dict)  # destination -> observed, within the allowed ports
    external: dict[str, Use] = field(default_factory=dict)  # address -> observed and allowed
    denied: list[dict[str, Any]] = field(default_factory=list)  # observed, denied today (from it or to it)
    flows_from: int = 0  # merged flows with it as the source
    flows_to: int = 0

    @property
    def unused(self) -> list[str]:
        return sorted(d for d in self.paths if d not in self.used)

    @property
    def narrower(self) -> list[str]:
        """Used destinations whose observed ports are fewer than the allowed ones."""
        return sorted(d for d, u in self.used.items() if u.ports != self.paths[d])


@dataclass(slots=True)
class Observation:
    flows: ObservedFlows
    sources: list[SourceView]  # every workload of the input, by key
    classes: dict[str, PodClass]  # workload key -> its class
    open_sources: list[str]  # workloads with a destination open to them on every port (neither side isolated)
    open_destinations: list[str]
    open_pairs: int
    open_used: dict[tuple[str, str], Use]  # observed pairs among them
    unresolved: dict[str, str]  # flow end -> why it names nothing of the input
    resolved_flows: int  # flows with at least one end in the input
    between_addresses: int  # flows whose two ends are addresses outside the input (not judged)
    admits: dict[tuple[int, int, IntervalSet], dict[str, list[str]]] = field(default_factory=dict)

    def admitted_by(self, ctx: Context, src: str, dst: str, ports: IntervalSet) -> dict[str, list[str]]:
        """`admitted_by` for a path between two workloads, once per class pair and ports."""
        a, b = self.classes[src], self.classes[dst]
        got = self.admits.get((a.id, b.id, ports))
        if got is None:
            got = self.admits[(a.id, b.id, ports)] = admitted_by(ctx, a, b, ports)
        return got

    def observation_json(self, view: SourceView | None = None) -> dict[str, Any]:
        """The observation block every finding carries."""
        out: dict[str, Any] = {"file": self.flows.path, "sha256": self.flows.sha256,
                               "window": self.flows.window_json(), "records": self.flows.records,
                               "flows": len(self.flows.flows)}
        if view is not None:
            out["flows_from_it"] = view.flows_from
            out["flows_to_it"] = view.flows_to
        if self.between_addresses:
            out["flows_between_addresses"] = self.between_addresses
        if self.unresolved:
            out["unresolved_total"] = len(self.unresolved)
            listed = sorted(self.unresolved.items())[:UNRESOLVED_LIMIT]
            out["unresolved"] = [{"end": k, "why": v} for k, v in listed]
        return out


class _Resolver:
    """Flow ends as workload keys of the input (several for a workload whose pods are their own subjects)."""

    def __init__(self, ctx: Context, keys: list[str]) -> None:
        from scanner.engine.exposure import cluster_ranges

        self.pods: dict[tuple[str, str], str] = {}
        self.workloads: dict[tuple[str, str], set[str]] = {}  # (namespace, name) -> kinds
        self.by_kind: dict[tuple[str, str, str], set[str]] = {}  # (namespace, Kind, name) -> keys
        self.ips: dict[str, set[str]] = {}
        for ep, key in zip(ctx.cluster.endpoints, keys, strict=True):
            if ep.kind == "Pod":
                self.pods[(ep.namespace, ep.name)] = key
            owner = ep.owner if ep.owner is not None else None if ep.kind == "Pod" else (ep.kind, ep.name)
            if owner is not None:
                self.workloads.setdefault((ep.namespace, owner[1]), set()).add(owner[0])
                self.by_kind.setdefault((ep.namespace, owner[0], owner[1]), set()).add(key)
            for ip in ep.ips:
                self.ips.setdefault(str(ipaddress.ip_address(ip)), set()).add(key)
        ranges = cluster_ranges(ctx.index, ctx.config)
        self.pod_space = ranges.get("pod", EMPTY)
        self.service_space = ranges.get("service", EMPTY)

    def resolve(self, end: FlowEnd) -> tuple[tuple[str, ...], str | None]:
        """(workload keys, None), or ((), why) when the end names nothing of the input; ((), None) for an
        address outside the pod network."""
        if end.address is not None:
            keys = self.ips.get(end.address, set())
            if len(keys) == 1:
                return tuple(keys), None
            if keys:
                return (), None  # a node address shared by hostNetwork pods: judged as an address
            point = address_point(ipaddress.ip_address(end.address))
            if contains(self.pod_space, point):
                return (), "an address in the pod network that no pod of the input holds"
            if contains(self.service_space, point):
                return (), "a Service address: flows must name the pod behind it (export after load balancing)"
            return (), None
        assert end.namespace is not None and end.name is not None
        if end.kind == "Pod":
            key = self.pods.get((end.namespace, end.name))
            return ((key,), None) if key else ((), "no such pod in the input")
        if end.kind is not None:
            found = self.by_kind.get((end.namespace, end.kind, end.name))
            return (tuple(sorted(found)), None) if found else ((), f"no such {end.kind} in the input")
        kinds = self.workloads.get((end.namespace, end.name), set())
        if len(kinds) > 1:
            return (), f"names a {' and a '.join(sorted(kinds))}: write namespace/Kind/name"
        if kinds:
            return tuple(sorted(self.by_kind[(end.namespace, next(iter(kinds)), end.name)])), None
        key = self.pods.get((end.namespace, end.name))
        return ((key,), None) if key else ((), "no such workload or pod in the input")


def observe(ctx: Context, observed: ObservedFlows) -> Observation | str:
    """Compare the observed flows with the allowed paths; a string says why it could not be computed."""
    from scanner.diff import MAX_CLASS_PAIRS, workload_connections, workload_key
    from scanner.engine.reach import node_local_pairs

    ix, pairs = ctx.index, ctx.pairs

    def open_pair(s: PodClass, d: PodClass) -> bool:
        return (not ix.isolated(s, "egress") and not ix.isolated(d, "ingress")
                and pairs.ports(s, d) == ALL_PORTS)

    conns, _ = workload_connections(ctx, skip=open_pair, node_local=False)
    if conns is None:
        return (f"the allowed paths between workloads were not computed: {len(ix.classes) ** 2:,} pairs of pod "
                f"classes, more than the limit of {MAX_CLASS_PAIRS:,}")
    keys = [workload_key(ctx.workload_subject(ep)) for ep in ctx.cluster.endpoints]
    members: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    views: dict[str, SourceView] = {}
    by_class: dict[int, list[str]] = {}
    for cls in ix.classes:
        for w in ctx.workloads_of(cls):
            k = workload_key(w.subject)
            views[k] = SourceView(w, k, cls, not ix.isolated(cls, "egress"), {})
            by_class.setdefault(cls.id, []).append(k)
    for (a, b), ports in conns.items():
        views[a].paths[b] = ports
    # Pairs open on both sides, counted (listing them would be every pair of the cluster).
    open_src: set[str] = set()
    open_dst: set[str] = set()
    open_pairs = 0
    open_in = [d for d in ix.classes if not ix.isolated(d, "ingress")]
    for s in ix.classes:
        if ix.isolated(s, "egress"):
            continue
        for d in open_in:
            if not open_pair(s, d):
                continue
            for a in by_class[s.id]:
                n = len(by_class[d.id]) - (s.id == d.id and len(members[a]) < 2)
                if n:
                    views[a].open_destinations += n
                    open_pairs += n
                    open_src.add(a)
                    open_dst.update(b for b in by_class[d.id] if b != a or len(members[a]) > 1)
    local = {(keys[i], keys[j]) for i, j in node_local_pairs(ix)}
    resolver = _Resolver(ctx, keys)
    unresolved: dict[str, str] = {}
    open_used: dict[tuple[str, str], Use] = {}
    verdicts: dict[tuple[str, str, str, int, str], bool] = {}
    resolved_flows = between_addresses = 0

    def address_allowed(key: str, address: str, flow: Flow, direction: Direction) -> bool:
        memo = (key, address, flow.protocol, flow.port, direction)
        got = verdicts.get(memo)
        if got is None:
            got = _address_allowed(ctx, members[key], address, flow, direction)
            verdicts[memo] = got
        return got

    def deny(view: SourceView, flow: Flow, src: str, dst: str) -> None:
        view.denied.append({"from": src, "to": dst, "port": flow.label, "flows": flow.count,
                            "last_seen": flow.last_seen, "record": flow.where})

    for flow in observed.flows:
        src, src_why = resolver.resolve(flow.source)
        dst, dst_why = resolver.resolve(flow.destination)
        for end, reason in ((flow.source, src_why), (flow.destination, dst_why)):
            if reason is not None:
                unresolved.setdefault(end.text, reason)
        if src or dst:
            resolved_flows += 1
        for a in src:
            views[a].flows_from += 1
        for b in dst:
            views[b].flows_to += 1
        if src_why is not None or dst_why is not None:
            continue
        if not src and not dst:
            between_addresses += 1
            continue
        point = port_point(flow.protocol, flow.port)
        if src and dst:
            allowed = False
            for a in src:
                for b in dst:
                    ca, cb = views[a].cls, views[b].cls
                    if a == b and len(members[a]) < 2:
                        allowed = True  # a lone pod with itself: never meets a policy
                    elif contains(views[a].paths.get(b, EMPTY), point):
                        views[a].used.setdefault(b, Use()).add(flow)
                        allowed = True
                    elif open_pair(ca, cb):
                        open_used.setdefault((a, b), Use()).add(flow)
                        allowed = True
                    elif (a, b) in local:
                        allowed = True
            if not allowed:
                for a in src:
                    deny(views[a], flow, a, flow.destination.text if len(dst) > 1 else dst[0])
        elif src:
            addr = flow.destination.text
            for a in src:
                if address_allowed(a, addr, flow, "egress"):
                    views[a].external.setdefault(addr, Use()).add(flow)
                else:
                    deny(views[a], flow, a, addr)
        else:
            addr = flow.source.text
            for b in dst:
                if not address_allowed(b, addr, flow, "ingress"):
                    deny(views[b], flow, addr, b)
    for view in views.values():
        view.denied.sort(key=lambda e: (e["from"], e["to"], e["port"]))
    return Observation(observed, [views[k] for k in sorted(views)], {k: v.cls for k, v in views.items()},
                       sorted(open_src), sorted(open_dst), open_pairs,
                       dict(sorted(open_used.items())), unresolved, resolved_flows, between_addresses)


def _address_allowed(ctx: Context, members: list[int], address: str, flow: Flow, direction: Direction) -> bool:
    """Do the policies allow this flow between a pod of the workload and an address (`reach.verdict`, once per
    node the pods run on, since traffic between a pod and its own node is always allowed)?"""
    from scanner.engine.reach import Target, verdict

    eps = ctx.cluster.endpoints
    seen: set[str | None] = set()
    other = Target(ref=address, address=address)
    for i in members:
        ep = eps[i]
        if ep.node in seen:
            continue
        seen.add(ep.node)
        pod = Target(ref=ep.ref, endpoint=ep, index=i)
        src, dst = (pod, other) if direction == "egress" else (other, pod)
        if verdict(ctx.index, src, dst, flow.protocol, flow.port, flow.label).allowed:
            return True
    return False


def admitted_by(ctx: Context, src: PodClass, dst: PodClass, ports: IntervalSet) -> dict[str, list[str]]:
    """The rules on both sides that admit a path on some of `ports` (or why a side admits everything), and
    the policy rules to narrow (`rules`: `namespace/name spec.egress[0]`)."""
    from scanner.engine.exposure import class_admits, not_isolated_reason

    out: dict[str, list[str]] = {"egress": [], "ingress": [], "rules": []}
    sides: tuple[tuple[Direction, PodClass, PodClass], ...] = (("egress", src, dst), ("ingress", dst, src))
    for direction, owner, other in sides:
        reason = not_isolated_reason(ctx.index, owner, direction)
        if reason is not None:
            out[direction].append(reason)
            continue
        for a in class_admits(ctx.index, owner, direction, other):
            if intersect(a.ports, ports):
                out[direction].append(a.describe())
                out["rules"].append(a.where)
    out["rules"] = sorted(set(out["rules"]))
    return out


def narrowing(allowed: IntervalSet, used: IntervalSet) -> dict[str, Any]:
    """The ports of a used path: allowed, used, and allowed but unused."""
    return {"allowed": describe_ports(allowed), "used": describe_ports(used),
            "unused_ports": describe_ports(subtract(allowed, used))}
