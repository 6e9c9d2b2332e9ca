"""Segmentation requirements (`scan --requirements FILE`): declared allow/deny assertions about who may reach
whom, read from a YAML file and judged against the cluster's policies (rule NP038, docs/requirements.md).

Owns reading and validating the requirement file (one line per mistake, naming the file, line and field
path such as `requirements[2].deny.ports[0]`), resolving each endpoint form (`ns/*`, `ns/name`,
`ns/Kind/name`, a selector mapping, `internet`, a CIDR) to pods or addresses, and deciding whether each
requirement holds, with the exact flows that break it. It must not implement NetworkPolicy semantics: every
verdict comes from the engine's public answers (`PairCache` and `node_local_pairs` for pod pairs,
`address_ports` for addresses, `class_admits` / `address_admits` to name the rules responsible), so a change
of the engine (policy tiers, say) reaches the requirements unchanged.
"""

from __future__ import annotations

import bisect
import ipaddress
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import yaml

from scanner.collect.files import Limits, decode, read_bytes
from scanner.engine.analysis import address_ports, cidr_set
from scanner.engine.exposure import (
    Admit,
    address_admits,
    address_cidrs,
    class_admits,
    internet,
    not_isolated_reason,
)
from scanner.engine.index import PodClass
from scanner.engine.reach import node_local_pairs
from scanner.errors import InputError, type_name
from scanner.findings import Subject
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    IntervalSet,
    address_point,
    contains,
    intersect,
    ports_text,
    subtract,
    union,
)
from scanner.model import WORKLOAD_KINDS, Direction, Endpoint
from scanner.portspec import parse_port_list
from scanner.selectors import (
    DNS1123_LABEL_RE,
    DNS1123_SUBDOMAIN_RE,
    LabelSelector,
    SelectorError,
    parse_selector,
)

if TYPE_CHECKING:
    from scanner.context import Context

MAX_FILE_BYTES = 4 << 20  # a requirement file is written by people: 4 MiB is thousands of requirements
_ID_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?\Z")
_TOP_KEYS = ("requirements",)
_REQUIREMENT_KEYS = ("id", "description", "allow", "deny")
_ASSERTION_KEYS = ("from", "to", "ports")
_SELECTOR_KEYS = ("namespaceSelector", "podSelector")
_KINDS = {k.lower(): k for k in (*WORKLOAD_KINDS, "Pod")}
_FORMS = ("`internet`, a CIDR, namespace/*, namespace/name, namespace/Kind/name or a mapping with "
          "namespaceSelector and/or podSelector")

Form = Literal["namespace", "workload", "selector", "internet", "cidr"]
Kind = Literal["allow", "deny"]


# --- the file -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One side of a requirement as written: pods (a namespace, a workload, a selector) or addresses."""

    form: Form
    text: str  # canonical description, for messages
    namespace: str | None = None
    name: str | None = None
    kind: str | None = None  # workload kind, when written as namespace/Kind/name
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None
    cidr: str | None = None

    @property
    def is_address(self) -> bool:
        return self.form in ("internet", "cidr")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One assertion: `deny` (no connection from `source` to `destination` on `ports`) or `allow` (every
    source reaches every destination on every port of `ports`; on some port when `ports` is None)."""

    id: str
    kind: Kind
    source: EndpointSpec
    destination: EndpointSpec
    ports: IntervalSet | None  # None: any port
    description: str = ""
    line: int | None = None

    @property
    def ports_text(self) -> str:
        return "any port" if self.ports is None else ports_text(self.ports)

    def describe(self) -> str:
        """`deny shop/* -> internet on TCP 80,443`."""
        on = "" if self.ports is None else f" on {ports_text(self.ports)}"
        return f"{self.kind} {self.source.text} -> {self.destination.text}{on}"


@dataclass(frozen=True, slots=True)
class RequirementSet:
    path: str
    requirements: tuple[Requirement, ...]

    def label_keys(self) -> frozenset[str]:
        """Pod label keys the podSelectors of the requirements read (the engine keys its classes on them)."""
        keys: set[str] = set()
        for r in self.requirements:
            for side in (r.source, r.destination):
                if side.pod_selector is not None:
                    keys |= side.pod_selector.keys()
        return frozenset(keys)

    def location(self, req: Requirement) -> str:
        return f"{self.path}:{req.line}" if req.line else self.path


FieldPath = tuple[str | int, ...]


class _Reader:
    """Field paths and the line each one starts on, for messages."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines: dict[FieldPath, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            node = None  # JSON that YAML reads differently: messages go without line numbers
        stack: list[tuple[yaml.Node, FieldPath]] = [(node, ())] if node is not None else []
        seen = 0
        while stack and seen < 200_000:  # aliases share nodes: bounded like the loader's own expansion check
            n, at = stack.pop()
            seen += 1
            self.lines.setdefault(at, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    if isinstance(k, yaml.ScalarNode):
                        self.lines.setdefault((*at, k.value), k.start_mark.line + 1)
                        stack.append((v, (*at, k.value)))
            elif isinstance(n, yaml.SequenceNode):
                stack.extend((v, (*at, i)) for i, v in enumerate(n.value))

    def line(self, at: FieldPath) -> int | None:
        for n in range(len(at), -1, -1):
            if at[:n] in self.lines:
                return self.lines[at[:n]]
        return None

    def error(self, at: FieldPath, message: str) -> InputError:
        line = self.line(at)
        return InputError(message, file=f"{self.path}:{line}" if line else self.path, field=field_path(at) or None)


def field_path(at: FieldPath) -> str:
    """`requirements[2].deny.ports[0]`."""
    out = ""
    for p in at:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_requirements(path: str) -> RequirementSet:
    """Read and validate a requirement file. Raises InputError (one line: file, line, field path)."""
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", file=path) from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"{size} bytes, larger than the limit of {MAX_FILE_BYTES} bytes for a requirement file",
                         file=path)
    data = read_bytes(path, Limits(max_file_bytes=MAX_FILE_BYTES))
    docs = [d for _, _, d in decode(data, path, Limits(max_file_bytes=MAX_FILE_BYTES, max_documents=100))
            if d is not None]
    if len(docs) > 1:
        raise InputError("holds several YAML documents; a requirement file is one mapping", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""  # JSON in another encoding: messages go without line numbers
    r = _Reader(path, text)
    doc = docs[0] if docs else None
    if not isinstance(doc, dict):
        raise r.error((), "a requirement file is a mapping with a `requirements` list, not "
                          f"{'an empty file' if doc is None else type_name(doc)}")
    for k in doc:
        if k not in _TOP_KEYS:
            raise r.error((str(k),), "unknown key (a requirement file has only `requirements`)")
    items = doc.get("requirements")
    if not isinstance(items, list) or not items:
        raise r.error(("requirements",), "must be a non-empty list of requirements")
    out: list[Requirement] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        req = _requirement(r, item, ("requirements", i))
        if req.id in first:
            raise r.error(("requirements", i, "id"), f"duplicate id {req.id!r} (also requirements[{first[req.id]}])")
        first[req.id] = i
        out.append(req)
    return RequirementSet(path, tuple(out))


def _requirement(r: _Reader, item: Any, at: FieldPath) -> Requirement:
    if not isinstance(item, dict):
        raise r.error(at, f"a requirement is a mapping with id and allow or deny, not {type_name(item)}")
    for k in item:
        if k not in _REQUIREMENT_KEYS:
            raise r.error((*at, str(k)), f"unknown key ({', '.join(_REQUIREMENT_KEYS)})")
    rid = item.get("id")
    if not isinstance(rid, str) or not rid:
        raise r.error((*at, "id"), "an id is required (a string)")
    if not _ID_RE.match(rid):
        raise r.error((*at, "id"), f"{rid!r}: an id is 1-100 letters, digits, '.', '_' or '-', starting and "
                                   "ending with a letter or digit")
    desc = item.get("description", "")
    if not isinstance(desc, str):
        raise r.error((*at, "description"), f"must be a string, not {type_name(desc)}")
    kinds = [k for k in ("allow", "deny") if k in item]
    if len(kinds) != 1:
        raise r.error(at, "needs exactly one of allow or deny")
    kind: Kind = "allow" if kinds[0] == "allow" else "deny"
    spec = item[kind]
    where = (*at, kind)
    if not isinstance(spec, dict):
        raise r.error(where, f"must be a mapping with from, to and optional ports, not {type_name(spec)}")
    for k in spec:
        if k not in _ASSERTION_KEYS:
            raise r.error((*where, str(k)), f"unknown key ({', '.join(_ASSERTION_KEYS)})")
    for k in ("from", "to"):
        if k not in spec:
            raise r.error(where, f"`{k}` is required")
    src = _endpoint(r, spec["from"], (*where, "from"))
    dst = _endpoint(r, spec["to"], (*where, "to"))
    if src.is_address and dst.is_address:
        raise r.error(where, "from and to are both addresses: at least one side must be pods (a namespace, a "
                             "workload or a selector)")
    ports = _ports(r, spec["ports"], (*where, "ports")) if "ports" in spec else None
    return Requirement(rid, kind, src, dst, ports, desc.strip(), r.line(at))


def _endpoint(r: _Reader, value: Any, at: FieldPath) -> EndpointSpec:
    if isinstance(value, dict):
        return _selector_endpoint(r, value, at)
    if not isinstance(value, str):
        raise r.error(at, f"must be {_FORMS}, not {type_name(value)}")
    text = value.strip()
    if text == "internet":
        return EndpointSpec("internet", "internet")
    if text and "*" not in text:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            pass
        else:
            return EndpointSpec("cidr", str(net), cidr=str(net))
    parts = text.split("/")
    if len(parts) not in (2, 3):
        raise r.error(at, f"{text!r} is not {_FORMS}")
    ns = parts[0]
    if len(ns) > 63 or not DNS1123_LABEL_RE.match(ns):
        raise r.error(at, f"{text!r}: {ns!r} is not a namespace name")
    if len(parts) == 2 and parts[1] == "*":
        return EndpointSpec("namespace", f"{ns}/*", namespace=ns)
    name = parts[-1]
    if len(name) > 253 or not DNS1123_SUBDOMAIN_RE.match(name):
        raise r.error(at, f"{text!r}: {name!r} is not a workload or pod name")
    if len(parts) == 2:
        return EndpointSpec("workload", f"{ns}/{name}", namespace=ns, name=name)
    kind = _KINDS.get(parts[1].lower())
    if kind is None:
        raise r.error(at, f"{text!r}: {parts[1]!r} is not Pod or a workload kind ({', '.join(WORKLOAD_KINDS)})")
    return EndpointSpec("workload", f"{ns}/{kind}/{name}", namespace=ns, name=name, kind=kind)


def _selector_endpoint(r: _Reader, value: dict[Any, Any], at: FieldPath) -> EndpointSpec:
    if not value:
        raise r.error(at, "an empty mapping: write namespaceSelector: {} for every pod of every namespace")
    for k in value:
        if k not in _SELECTOR_KEYS:
            raise r.error((*at, str(k)), "unknown key (namespaceSelector, podSelector; each a label selector, or "
                                         "a mapping of labels as a shorthand for matchLabels)")
    nsel = _label_selector(r, value["namespaceSelector"], (*at, "namespaceSelector")) \
        if "namespaceSelector" in value else None
    psel = _label_selector(r, value["podSelector"], (*at, "podSelector")) if "podSelector" in value else None
    if nsel is not None and psel is not None:
        text = f"namespaces {nsel.describe()}, pods {psel.describe()}"
    elif nsel is not None:
        text = f"namespaces {nsel.describe()}"
    else:
        assert psel is not None
        text = f"pods {psel.describe()} (any namespace)"
    return EndpointSpec("selector", text, namespace_selector=nsel, pod_selector=psel)


def _label_selector(r: _Reader, value: Any, at: FieldPath) -> LabelSelector:
    if not isinstance(value, dict):
        raise r.error(at, f"must be a label selector (a mapping; {{}} selects everything), not {type_name(value)}")
    shorthand = bool(value) and not ({"matchLabels", "matchExpressions"} & set(value))
    try:
        return parse_selector({"matchLabels": value} if shorthand else value)
    except SelectorError as e:
        where = _selector_field(e.field)
        if shorthand and where[:1] == ("matchLabels",):
            where = where[1:]
        raise r.error((*at, *where), e.reason) from None


def _selector_field(text: str) -> FieldPath:
    """A SelectorError field (`matchLabels.app.kubernetes.io/name`, `matchExpressions[0].values[1]`) as a path."""
    if text.startswith("matchLabels."):
        return ("matchLabels", text.removeprefix("matchLabels."))  # a label key may hold dots
    out: list[str | int] = []
    for part in text.split("."):
        name, *indices = part.replace("]", "").split("[")
        out += [name, *(int(i) for i in indices if i.isdigit())] if name else []
    return tuple(out)


def _ports(r: _Reader, value: Any, at: FieldPath) -> IntervalSet:
    if not isinstance(value, list) or not value:
        raise r.error(at, "must be a non-empty list of ports (N, N/PROTOCOL or N-M/PROTOCOL); leave ports out for "
                          "any port")
    out: IntervalSet = EMPTY
    for i, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, int | str):
            raise r.error((*at, i), f"must be a port (N, N/PROTOCOL or N-M/PROTOCOL), not {type_name(p)}")
        try:
            out = union(out, parse_port_list([str(p)]))
        except ValueError as e:
            raise r.error((*at, i), str(e)) from None
    return out


# --- evaluation ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One source/destination pair (workloads, or a workload and addresses) that breaks a requirement: for
    `deny`, a connection that is allowed (on `ports`); for `allow`, one that is not (`ports` missing)."""

    source: str
    destination: str
    ports: IntervalSet
    egress: tuple[str, ...]  # the source's side: the rules that admit it (deny) or what it admits (allow)
    ingress: tuple[str, ...]  # the destination's side, likewise
    policies: tuple[str, ...]  # deny: policies whose rules admit it; allow: policies isolating the blocking side
    addresses: tuple[str, ...] = ()  # the addresses concerned, when one side is an address range
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Matched:
    """What one side of a requirement matched."""

    endpoints: tuple[int, ...] = ()  # indices into Cluster.endpoints (pod sides)
    addresses: IntervalSet = EMPTY  # address sides
    described: tuple[str, ...] = ()  # address sides, in words
    workloads: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()

    def empty(self, spec: EndpointSpec) -> bool:
        return not self.addresses if spec.is_address else not self.endpoints

    def to_json(self, spec: EndpointSpec, limit: int) -> dict[str, Any]:
        if spec.is_address:
            return {"addresses": list(self.described)}
        shown = list(self.workloads[:limit])
        return {"workloads": shown, "workload_count": len(self.workloads), "endpoint_count": len(self.endpoints),
                "namespaces": list(self.namespaces)}


@dataclass(slots=True)
class Outcome:
    holds: bool
    source: Matched
    destination: Matched
    pairs: int  # pod pairs (or pod x address-range pairs) judged
    flows: list[Flow] = field(default_factory=list)
    reason: str | None = None  # why nothing could be judged

    @property
    def policies(self) -> list[str]:
        return sorted({p for f in self.flows for p in f.policies})


def workload_ref(subject: Subject) -> str:
    """`ns/Kind/name` for a workload or template, `ns/name` for a pod (as `Endpoint.ref` writes them)."""
    if subject.kind == "Pod":
        return f"{subject.namespace}/{subject.name}"
    return f"{subject.namespace}/{subject.kind}/{subject.name}"


def _named(ep: Endpoint, spec: EndpointSpec) -> bool:
    """Does `ep` belong to the workload `spec` names (its owner, a template, or a pod by its own name)?"""
    if spec.kind is None:
        return ep.name == spec.name or (ep.owner is not None and ep.owner[1] == spec.name)
    if spec.kind == "Pod":
        return ep.kind == "Pod" and ep.name == spec.name
    if ep.owner is not None:
        return ep.owner == (spec.kind, spec.name)
    return ep.kind == spec.kind and ep.name == spec.name


def resolve(ctx: Context, spec: EndpointSpec) -> Matched:
    """The endpoints (or addresses) one side of a requirement matches."""
    if spec.form == "internet":
        trusted = ctx.config.trusted_cidrs
        return Matched(addresses=internet(ctx.config), described=(
            "every public IPv4 and IPv6 address (private, shared, loopback, link-local, documentation and "
            "multicast ranges are not the internet)",
            *([f"minus the trusted CIDRs of the configuration: {', '.join(trusted)}"] if trusted else [])))
    if spec.form == "cidr":
        assert spec.cidr is not None
        return Matched(addresses=cidr_set([spec.cidr]), described=(spec.cidr,))
    eps = ctx.cluster.endpoints
    by_ns = ctx.endpoints_by_namespace
    if spec.form == "namespace":
        assert spec.namespace is not None
        members = list(by_ns.get(spec.namespace, []))
    elif spec.form == "workload":
        assert spec.namespace is not None
        members = [i for i in by_ns.get(spec.namespace, []) if _named(eps[i], spec)]
    else:
        nsel, psel = spec.namespace_selector, spec.pod_selector
        namespaces = list(by_ns) if nsel is None else sorted(ctx.index.namespaces_matching(nsel))
        members = [i for ns in namespaces for i in by_ns.get(ns, [])
                   if psel is None or psel.matches(eps[i].labels)]
    members.sort()
    workloads = sorted({workload_ref(ctx.workload_subject(eps[i])) for i in members})
    return Matched(endpoints=tuple(members), workloads=tuple(workloads),
                   namespaces=tuple(sorted({eps[i].namespace for i in members})))


def evaluate(ctx: Context, req: Requirement) -> Outcome:
    """Does `req` hold on the cluster of `ctx`? With the flows that break it."""
    src, dst = resolve(ctx, req.source), resolve(ctx, req.destination)
    empty = [f"`{k}` ({s.text})" for k, s, m in (("from", req.source, src), ("to", req.destination, dst))
             if m.empty(s)]
    if empty:
        what = " and ".join(empty)
        why = (f"{what} match{'es' if len(empty) == 1 else ''} no endpoint, so it proves nothing"
               if req.kind == "deny" else f"{what} match{'es' if len(empty) == 1 else ''} nothing")
        return Outcome(False, src, dst, 0, reason=why)
    if req.source.is_address or req.destination.is_address:
        outcome = _with_addresses(ctx, req, src, dst)
        if req.kind == "deny" and outcome.holds:
            # A range also holds the pods whose IPs are in it (pod CIDRs, a pod's own IP): a deny must hold
            # for them as well, judged as pod pairs.
            pods_src = _pods_in(ctx, req.source, src)
            pods_dst = _pods_in(ctx, req.destination, dst)
            if pods_src.endpoints and pods_dst.endpoints:
                inner = _between_pods(ctx, req, pods_src, pods_dst)
                if not inner.holds and inner.reason is None:
                    return Outcome(False, src, dst, outcome.pairs + inner.pairs, inner.flows)
        return outcome
    return _between_pods(ctx, req, src, dst)


def _pods_in(ctx: Context, spec: EndpointSpec, matched: Matched) -> Matched:
    """A pod side as it is, or the pods whose known IPs are in an address side's range (`cidr` form only: the
    internet holds no pod)."""
    if not spec.is_address:
        return matched
    if spec.form != "cidr":
        return Matched()
    eps = ctx.cluster.endpoints
    members = [i for i, ep in enumerate(eps)
               if any(contains(matched.addresses, address_point(ipaddress.ip_address(ip))) for ip in ep.ips)]
    workloads = sorted({workload_ref(ctx.workload_subject(eps[i])) for i in members})
    return Matched(endpoints=tuple(members), workloads=tuple(workloads),
                   namespaces=tuple(sorted({eps[i].namespace for i in members})))


def _by_class(ctx: Context, members: Iterable[int]) -> dict[int, dict[Subject, list[int]]]:
    """Endpoints grouped by class, then by workload (`Context.workload_subject`), in first-seen order."""
    out: dict[int, dict[Subject, list[int]]] = {}
    eps = ctx.cluster.endpoints
    for i in members:
        out.setdefault(ctx.index.class_of[i], {}).setdefault(ctx.workload_subject(eps[i]), []).append(i)
    return out


def _between_pods(ctx: Context, req: Requirement, src: Matched, dst: Matched) -> Outcome:
    ix, cache = ctx.index, ctx.pairs
    wanted = req.ports if req.ports is not None else ALL_PORTS
    pairs = len(src.endpoints) * len(dst.endpoints) - len(set(src.endpoints) & set(dst.endpoints))
    if pairs == 0:
        return Outcome(False, src, dst, 0, reason="`from` and `to` match the same single endpoint: a pod talking to "
                                                  "itself is not judged, so it proves nothing")
    dst_set = set(dst.endpoints)
    local: dict[int, set[int]] = {}
    src_set = set(src.endpoints)
    for i, j in node_local_pairs(ix):
        if i in src_set and j in dst_set:
            local.setdefault(i, set()).add(j)
    src_groups, dst_groups = _by_class(ctx, src.endpoints), _by_class(ctx, dst.endpoints)
    local_classes = {(ix.class_of[i], ix.class_of[j]) for i, js in local.items() for j in js}
    flows: list[Flow] = []
    for cs_id, src_w in src_groups.items():
        cs = ix.classes[cs_id]
        for cd_id, dst_w in dst_groups.items():
            cd = ix.classes[cd_id]
            allowed = cache.ports(cs, cd)
            if req.kind == "deny":
                hit = intersect(allowed, wanted)
                if not hit and (cs_id, cd_id) not in local_classes:
                    continue
                flows += _deny_pod_flows(ctx, cs, cd, src_w, dst_w, hit, wanted, local)
            else:
                missing = subtract(wanted, allowed) if req.ports is not None else (EMPTY if allowed else ALL_PORTS)
                if missing:
                    flows += _allow_pod_flows(ctx, req, cs, cd, src_w, dst_w, missing, local)
    flows.sort(key=lambda f: (f.source, f.destination))
    return Outcome(not flows, src, dst, pairs, flows)


def _distinct_pairs(a: list[int], b: list[int], local: dict[int, set[int]] | None = None) -> int:
    """Pairs (i, j) of a x b with i != j (and, with `local`, not node-local)."""
    n = len(a) * len(b) - len(set(a) & set(b))
    if local:
        bs = set(b)
        n -= sum(len(local.get(i, set()) & bs) for i in a)
    return n


def _deny_pod_flows(ctx: Context, cs: PodClass, cd: PodClass, src_w: dict[Subject, list[int]],
                    dst_w: dict[Subject, list[int]], hit: IntervalSet, wanted: IntervalSet,
                    local: dict[int, set[int]]) -> list[Flow]:
    ix = ctx.index
    eg_lines, eg_pols = _admitting(ix.isolated(cs, "egress"), not_isolated_reason(ix, cs, "egress"),
                                   lambda: class_admits(ix, cs, "egress", cd), hit)
    in_lines, in_pols = _admitting(ix.isolated(cd, "ingress"), not_isolated_reason(ix, cd, "ingress"),
                                   lambda: class_admits(ix, cd, "ingress", cs), hit)
    sides: tuple[tuple[Direction, list[str], set[str]], ...] = (("egress", eg_lines, eg_pols),
                                                                ("ingress", in_lines, in_pols))
    for direction, lines, pols in sides:
        t_lines, t_pols = _tier_steps(ctx, cs, cd, direction, hit, ("Allow", "Pass"))
        lines += t_lines
        pols |= t_pols
    eps = ctx.cluster.endpoints
    out = []
    for ws, si in src_w.items():
        for wd, dj in dst_w.items():
            if not _distinct_pairs(si, dj):
                continue
            dj_set = set(dj)
            on_node = sorted({eps[i].node or "" for i in si if local.get(i, set()) & dj_set})
            if not hit and not on_node:
                continue
            note = None
            ports = hit
            if on_node:
                ports = union(hit, wanted)
                note = (f"node-local: pods of both run on node(s) {', '.join(on_node)} and one uses the host "
                        "network; traffic between a pod and its node is always allowed, whatever the policies say")
            out.append(Flow(workload_ref(ws), workload_ref(wd), ports, tuple(eg_lines if hit else ()),
                            tuple(in_lines if hit else ()), tuple(sorted(eg_pols | in_pols) if hit else ()),
                            note=note))
    return out


def _tier_steps(ctx: Context, cs: PodClass, cd: PodClass, direction: Direction, ports: IntervalSet,
                actions: tuple[str, ...]) -> tuple[list[str], set[str]]:
    """The cluster-scoped tier rules with one of `actions` that decide some of `ports` on one side of cs -> cd
    (an allow that admits a flow, a deny that blocks one)."""
    ix, pairs = ctx.index, ctx.pairs
    owner, other = (cs, cd) if direction == "egress" else (cd, cs)
    if not (ix.tiers.active and ix.tiers.governs(owner, direction)):
        return [], set()
    isolated = ix.isolated(owner, direction)
    if not isolated:
        np = ALL_PORTS
    elif direction == "egress":
        np = pairs.egress_of(ix.policies_for(cs, "egress"), cd)
    else:
        np = pairs.np_ingress(cs, cd)
    d = ix.tiers.decide_class(owner, direction, other, np, isolated)
    steps = [st for st in (*d.admin, *d.baseline) if st.rule.action in actions and intersect(st.ports, ports)]
    from scanner.engine.exposure import ports_phrase

    return ([f"{st.describe()} on {ports_phrase(intersect(st.ports, ports))}" for st in steps],
            {st.policy.ref for st in steps})


def _admitting(isolated: bool, open_reason: str | None, admits: Callable[[], list[Admit]],
               ports: IntervalSet) -> tuple[list[str], set[str]]:
    """Explanation lines and policy refs of one side of an allowed flow: why it is open, or the rules (of
    `admits()`, Admit records) that admit some of `ports`."""
    if not isolated:
        return [open_reason or "not isolated"], set()
    hits = [a for a in admits() if intersect(a.ports, ports)]
    return [a.describe() for a in hits], {a.policy.ref for a in hits}


def _allow_pod_flows(ctx: Context, req: Requirement, cs: PodClass, cd: PodClass, src_w: dict[Subject, list[int]],
                     dst_w: dict[Subject, list[int]], missing: IntervalSet,
                     local: dict[int, set[int]]) -> list[Flow]:
    ix, cache = ctx.index, ctx.pairs
    wanted = req.ports if req.ports is not None else ALL_PORTS
    eg, ing = cache.egress_ports(cs, cd), cache.ingress_ports(cs, cd)
    eg_lines, eg_pols = _blocking(ctx, cs, "egress", eg, wanted, req.ports is None, f"towards {cd.namespace}")
    in_lines, in_pols = _blocking(ctx, cd, "ingress", ing, wanted, req.ports is None, f"from {cs.namespace}")
    sides: tuple[tuple[Direction, list[str], set[str]], ...] = (("egress", eg_lines, eg_pols),
                                                                ("ingress", in_lines, in_pols))
    for direction, lines, pols in sides:
        t_lines, t_pols = _tier_steps(ctx, cs, cd, direction, missing if req.ports is not None else wanted,
                                      ("Deny",))
        lines += t_lines
        pols |= t_pols
    if not eg_pols and not in_pols:  # each side alone admits some listed port, but not the same ones
        eg_pols = {p.ref for p in ix.policies_for(cs, "egress")}
        in_pols = {p.ref for p in ix.policies_for(cd, "ingress")}
    out = []
    for ws, si in src_w.items():
        for wd, dj in dst_w.items():
            if _distinct_pairs(si, dj, local):
                out.append(Flow(workload_ref(ws), workload_ref(wd), missing if req.ports is not None else EMPTY,
                                tuple(eg_lines), tuple(in_lines), tuple(sorted(eg_pols | in_pols))))
    return out


def _blocking(ctx: Context, cls: PodClass, direction: Direction, admitted: IntervalSet, wanted: IntervalSet,
              any_port: bool, towards: str) -> tuple[list[str], set[str]]:
    """What one side admits towards the other, and the policies isolating it when that side alone blocks."""
    ix = ctx.index
    word = "egress" if direction == "egress" else "ingress"
    reason = not_isolated_reason(ix, cls, direction)
    if reason is not None:
        return [reason], set()
    policies = [p.ref for p in ix.policies_for(cls, direction)]
    got = intersect(admitted, wanted)
    what = "nothing" if not got else ("every port" if got == ALL_PORTS else ports_text(got))
    line = f"{word} isolated by {', '.join(policies)}; admits {what} {towards}"
    blocks = not admitted if any_port else bool(subtract(wanted, admitted))
    return [line], set(policies) if blocks else set()


# --- pods and addresses -------------------------------------------------------------------------------------


def _node_ips(node_addresses: dict[str, tuple[str, ...]], ep: Endpoint) -> IntervalSet:
    """The addresses of the node a pod runs on (its hostIP and the Node's addresses): traffic between a pod and
    its own node is always allowed (the engine's node-local case)."""
    if ep.kind != "Pod" or not ep.node:
        return EMPTY
    ips = {*node_addresses.get(ep.node, ()), *([ep.host_ip] if ep.host_ip else [])}
    out: list[str] = []
    for ip in sorted(ips):
        try:
            out.append(str(ipaddress.ip_network(ip)))
        except ValueError:
            continue  # a hostname
    return cidr_set(out)


def _pieces(ctx: Context, addresses: IntervalSet) -> list[IntervalSet]:
    """`addresses` cut at every boundary of the policies' ipBlocks, so that each rule admits either all or none
    of a piece: `address_ports` of a piece (some address) is then the ports of every address of it."""
    cuts = sorted({x for block in ctx.index.blocks for lo, hi in block.addresses for x in (lo, hi + 1)})
    out: list[IntervalSet] = []
    for lo, hi in addresses:
        start = lo
        for c in cuts[bisect.bisect_right(cuts, lo):]:
            if c > hi:
                break
            out.append(((start, c - 1),))
            start = c
        out.append(((start, hi),))
    return out


def _with_addresses(ctx: Context, req: Requirement, src: Matched, dst: Matched) -> Outcome:
    ix = ctx.index
    egress = not req.source.is_address  # pods connect out to addresses; else addresses connect in to pods
    pods, addrs = (src, dst.addresses) if egress else (dst, src.addresses)
    direction: Direction = "egress" if egress else "ingress"
    wanted = req.ports if req.ports is not None else ALL_PORTS
    addr_text = (req.destination if egress else req.source).text
    eps = ctx.cluster.endpoints
    nodes = {n.name: n.addresses for n in ctx.cluster.nodes}
    flows: list[Flow] = []
    pieces = _pieces(ctx, addrs) if req.kind == "allow" else []
    for cid, workloads in _by_class(ctx, pods.endpoints).items():
        cls = ix.classes[cid]
        if req.kind == "deny":
            hit = intersect(address_ports(ix, cls, direction, addrs), wanted)
            lines, pols, touched = _address_side(ctx, cls, direction, addrs, hit)
            for w, members in workloads.items():
                local: IntervalSet = EMPTY
                for i in members:
                    local = union(local, intersect(_node_ips(nodes, eps[i]), addrs))
                if not hit and not local:
                    continue
                note = None
                ports = hit
                shown = touched
                if local:
                    ports = union(hit, wanted)
                    shown = union(touched, local)
                    note = (f"node-local: {', '.join(address_cidrs(local, 4))} is the address of a node its pods run "
                            "on; traffic between a pod and its node is always allowed, whatever the policies say")
                flows.append(_address_flow(workload_ref(w), addr_text, egress, ports, lines if hit else [],
                                           pols if hit else set(), _addresses(shown, addrs, addr_text), note))
        else:
            unreached: IntervalSet = EMPTY
            missing: IntervalSet = EMPTY
            common = ALL_PORTS  # the ports every address gets
            for piece in pieces:
                got = address_ports(ix, cls, direction, piece)
                common = intersect(common, got)
                lacking = subtract(wanted, got) if req.ports is not None else (EMPTY if got else ALL_PORTS)
                if lacking:
                    unreached = union(unreached, piece)
                    missing = union(missing, lacking)
            if not unreached:
                continue
            lines, _ = _blocking(ctx, cls, direction, common, wanted, req.ports is None,
                                 f"{'to' if egress else 'from'} every address of {addr_text}")
            pols = {p.ref for p in ix.policies_for(cls, direction)}
            for w, members in workloads.items():
                left: IntervalSet = EMPTY
                for i in members:
                    left = union(left, subtract(unreached, _node_ips(nodes, eps[i])))
                if left:
                    flows.append(_address_flow(workload_ref(w), addr_text, egress,
                                               missing if req.ports is not None else EMPTY, lines, pols,
                                               _addresses(left, addrs, addr_text), None))
    flows.sort(key=lambda f: (f.source, f.destination))
    return Outcome(not flows, src, dst, len(pods.endpoints), flows)


def _addresses(part: IntervalSet, whole: IntervalSet, text: str) -> list[str]:
    """The addresses a flow concerns: all of the requirement's range, or the CIDRs of the part."""
    return [f"every address of {text}"] if part == whole else address_cidrs(part)


def _address_side(ctx: Context, cls: PodClass, direction: Direction, addrs: IntervalSet,
                  hit: IntervalSet) -> tuple[list[str], set[str], IntervalSet]:
    """Why `cls` reaches (or is reached from) some of `addrs` on `hit`: lines, policies, addresses concerned."""
    ix = ctx.index
    if not hit:
        return [], set(), EMPTY
    reason = not_isolated_reason(ix, cls, direction)
    if reason is not None:
        return [reason], set(), addrs
    lines, pols = [], set()
    touched: IntervalSet = EMPTY
    for a in address_admits(ix, cls, direction, addrs):
        if not intersect(a.ports, hit):
            continue
        lines.append(a.describe())
        pols.add(a.policy.ref)
        if a.rule.peers is None:
            touched = addrs
        for peer in a.rule.peers or ():
            if peer.ip_block is not None:
                touched = union(touched, intersect(peer.ip_block.addresses, addrs))
    return lines, pols, touched


def _address_flow(workload: str, addresses: str, egress: bool, ports: IntervalSet, lines: list[str],
                  policies: set[str], cidrs: list[str], note: str | None) -> Flow:
    if egress:
        return Flow(workload, addresses, ports, tuple(lines), (), tuple(sorted(policies)), tuple(cidrs), note)
    return Flow(addresses, workload, ports, (), tuple(lines), tuple(sorted(policies)), tuple(cidrs), note)
