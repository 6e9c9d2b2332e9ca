"""Cluster-scoped policy tiers: parse and validate AdminNetworkPolicy and BaselineAdminNetworkPolicy
(`policy.networking.k8s.io/v1alpha1`) and ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`) into
`scanner.model.AdminPolicy`.

Validation follows the CRDs' schemas (what the API server would reject is an `InvalidPolicy`, left out of the
analysis and reported by NP026, as for NetworkPolicy). Defaulting happens here, once: a port's protocol is TCP
when absent, ClusterNetworkPolicy's `Accept` is `Allow`, and a named port (which carries no protocol in these
APIs) stands for the container port of that name whatever its protocol. Other versions of these kinds stay
unmodelled (NP034). This module holds no semantics: evaluation lives in `scanner.engine.tiers`.
"""

from __future__ import annotations

from typing import Any

from scanner.collect import RawObject
from scanner.intervals import PROTOCOLS, network_interval
from scanner.model import AdminPolicy, InvalidPolicy, IPBlock, PortSpec, Problem, TierPeer, TierRule
from scanner.parse import _Invalid, _is_int, _network, _selector, port_name_problem
from scanner.selectors import LabelSelector

GROUP = "policy.networking.k8s.io"
# (apiVersion, kind) pairs the engine models; any other version of these kinds stays unmodelled (NP034).
MODELLED = {
    (f"{GROUP}/v1alpha1", "AdminNetworkPolicy"),
    (f"{GROUP}/v1alpha1", "BaselineAdminNetworkPolicy"),
    (f"{GROUP}/v1alpha2", "ClusterNetworkPolicy"),
}
_ACTIONS = {
    "AdminNetworkPolicy": ("Allow", "Deny", "Pass"),
    "BaselineAdminNetworkPolicy": ("Allow", "Deny"),
    "ClusterNetworkPolicy": ("Accept", "Deny", "Pass"),
}
_MAX_RULES = {"AdminNetworkPolicy": 100, "BaselineAdminNetworkPolicy": 100, "ClusterNetworkPolicy": 25}
_KIND_ORDER = {"AdminNetworkPolicy": 0, "ClusterNetworkPolicy": 1, "BaselineAdminNetworkPolicy": 2}


def order_key(p: AdminPolicy) -> tuple[int, int, int, str]:
    """Evaluation order: the Admin tier first, then by priority (lower first). Policies of one tier with the same
    priority have no defined order (NP037 flags those that conflict); kind and name make the listing stable."""
    return (0 if p.tier == "Admin" else 1, p.priority, _KIND_ORDER.get(p.kind, 9), p.name)


def is_modelled(api_version: str, kind: str) -> bool:
    return (api_version, kind) in MODELLED


def _unknown(raw: dict[str, Any], allowed: tuple[str, ...], field: str, what: str,
             problems: list[Problem]) -> None:
    for k in raw:
        if k not in allowed:
            problems.append(Problem(f"{field}.{k}", f"unknown field in {what}"))


def _one_of(raw: Any, allowed: tuple[str, ...], field: str, problems: list[Problem]) -> str | None:
    """The single field set in an object that must set exactly one of `allowed`."""
    if not isinstance(raw, dict):
        problems.append(Problem(field, "must be an object"))
        return None
    _unknown(raw, allowed, field, "this object", problems)
    present = [k for k in allowed if raw.get(k) is not None]
    if len(present) != 1:
        problems.append(Problem(field, f"exactly one of {', '.join(allowed)} must be set"
                                       + (f" (found {', '.join(present)})" if present else "")))
        return None
    return present[0]


def _required_selector(raw: Any, field: str, problems: list[Problem]) -> LabelSelector | None:
    if not isinstance(raw, dict):
        problems.append(Problem(field, "must be a label selector object"))
        return None
    return _selector(raw, field, problems)


def _namespaced_pod(raw: Any, field: str, problems: list[Problem]) -> tuple[LabelSelector, LabelSelector] | None:
    if not isinstance(raw, dict):
        problems.append(Problem(field, "must be an object with namespaceSelector and podSelector"))
        return None
    _unknown(raw, ("namespaceSelector", "podSelector"), field, "pods", problems)
    if raw.get("podSelector") is None:
        problems.append(Problem(f"{field}.podSelector", "is required"))
        return None
    ns = _required_selector(raw.get("namespaceSelector") or {}, f"{field}.namespaceSelector", problems)
    pod = _required_selector(raw["podSelector"], f"{field}.podSelector", problems)
    if ns is None or pod is None:
        return None
    return ns, pod


def _subject(raw: Any, problems: list[Problem]) -> tuple[LabelSelector, LabelSelector | None] | None:
    which = _one_of(raw, ("namespaces", "pods"), "spec.subject", problems)
    if which == "namespaces":
        ns = _required_selector(raw["namespaces"], "spec.subject.namespaces", problems)
        return (ns, None) if ns is not None else None
    if which == "pods":
        got = _namespaced_pod(raw["pods"], "spec.subject.pods", problems)
        return got
    return None


def _networks(raw: Any, field: str, problems: list[Problem]) -> tuple[IPBlock, ...] | None:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(field, "must be a non-empty list of CIDRs"))
        return None
    if len(raw) > 25:
        problems.append(Problem(field, f"must have at most 25 items (has {len(raw)})"))
        return None
    out = []
    for i, cidr in enumerate(raw):
        try:
            net = _network(cidr, f"{field}[{i}]")
        except _Invalid as e:
            problems.append(Problem(e.field, e.reason))
            continue
        out.append(IPBlock(str(cidr), (), network_interval(net), net.prefixlen, net.version))
    return tuple(out) if len(out) == len(raw) else None


def _peer(raw: Any, field: str, index: int, kind: str, direction: str, action: str,
          problems: list[Problem]) -> TierPeer | None:
    allowed: tuple[str, ...] = ("namespaces", "pods")
    if direction == "egress":
        allowed += ("nodes", "networks", "domainNames")  # domainNames: experimental in v1alpha1, Allow only
    which = _one_of(raw, allowed, field, problems)
    if which is None:
        return None
    value = raw[which]
    if which == "namespaces":
        sel = _required_selector(value, f"{field}.namespaces", problems)
        return TierPeer(index, "namespaces", namespace_selector=sel) if sel is not None else None
    if which == "pods":
        got = _namespaced_pod(value, f"{field}.pods", problems)
        return TierPeer(index, "pods", namespace_selector=got[0], pod_selector=got[1]) if got else None
    if which == "nodes":
        sel = _required_selector(value, f"{field}.nodes", problems)
        return TierPeer(index, "nodes", node_selector=sel) if sel is not None else None
    if which == "networks":
        blocks = _networks(value, f"{field}.networks", problems)
        return TierPeer(index, "networks", networks=blocks) if blocks is not None else None
    if action not in ("Accept", "Allow"):
        problems.append(Problem(f"{field}.domainNames", "domainNames is only supported in Accept (Allow) rules"))
        return None
    if not isinstance(value, list) or not value or not all(isinstance(d, str) and d for d in value):
        problems.append(Problem(f"{field}.domainNames", "must be a non-empty list of domain names"))
        return None
    return TierPeer(index, "domainNames", domains=tuple(value))


def _port_number(raw: Any, field: str, problems: list[Problem], key: str = "port") -> int | None:
    if not _is_int(raw) or not 1 <= raw <= 65535:
        problems.append(Problem(f"{field}.{key}" if key else field, f"{raw!r} must be a port number 1-65535"))
        return None
    return raw


def _protocol(raw: Any, field: str, problems: list[Problem]) -> str | None:
    protocol = "TCP" if raw is None else raw
    if protocol not in PROTOCOLS:
        problems.append(Problem(f"{field}.protocol", f"unsupported protocol {protocol!r} (TCP, UDP or SCTP)"))
        return None
    return str(protocol)


def _named(name: Any, field: str, problems: list[Problem]) -> tuple[PortSpec, ...] | None:
    if not isinstance(name, str):
        problems.append(Problem(field, "must be a port name"))
        return None
    problem = port_name_problem(name)
    if problem:
        problems.append(Problem(field, f"{name!r}: {problem}"))
        return None
    return tuple(PortSpec(p, name) for p in PROTOCOLS)


def _range(start: Any, end: Any, protocol: str, field: str, problems: list[Problem]) -> PortSpec | None:
    a = _port_number(start, field, problems, "start")
    b = _port_number(end, field, problems, "end")
    if a is None or b is None:
        return None
    if not a < b:
        problems.append(Problem(f"{field}.end", f"{b} must be greater than start ({a})"))
        return None
    return PortSpec(protocol, a, b)


def _anp_ports(raw: Any, field: str, problems: list[Problem]) -> tuple[PortSpec, ...] | None:
    """v1alpha1 `ports`: items of exactly one of portNumber {protocol, port}, namedPort, portRange."""
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(field, "must be a non-empty list of ports"))
        return None
    out: list[PortSpec] = []
    n = len(problems)
    for i, item in enumerate(raw):
        f = f"{field}[{i}]"
        which = _one_of(item, ("portNumber", "namedPort", "portRange"), f, problems)
        if which == "portNumber":
            v = item["portNumber"]
            if not isinstance(v, dict):
                problems.append(Problem(f"{f}.portNumber", "must be an object with protocol and port"))
                continue
            _unknown(v, ("protocol", "port"), f"{f}.portNumber", "portNumber", problems)
            proto = _protocol(v.get("protocol"), f"{f}.portNumber", problems)
            port = _port_number(v.get("port"), f"{f}.portNumber", problems)
            if proto and port:
                out.append(PortSpec(proto, port))
        elif which == "namedPort":
            out.extend(_named(item["namedPort"], f"{f}.namedPort", problems) or ())
        elif which == "portRange":
            v = item["portRange"]
            if not isinstance(v, dict):
                problems.append(Problem(f"{f}.portRange", "must be an object with protocol, start and end"))
                continue
            _unknown(v, ("protocol", "start", "end"), f"{f}.portRange", "portRange", problems)
            proto = _protocol(v.get("protocol"), f"{f}.portRange", problems)
            spec = _range(v.get("start"), v.get("end"), proto or "TCP", f"{f}.portRange", problems)
            if proto and spec:
                out.append(spec)
    return tuple(out) if len(problems) == n else None


def _cnp_protocols(raw: Any, field: str, problems: list[Problem]) -> tuple[PortSpec, ...] | None:
    """v1alpha2 `protocols`: items of exactly one of tcp/udp/sctp {destinationPort: {number | range}} or
    destinationNamedPort."""
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(field, "must be a non-empty list"))
        return None
    out: list[PortSpec] = []
    n = len(problems)
    for i, item in enumerate(raw):
        f = f"{field}[{i}]"
        which = _one_of(item, ("tcp", "udp", "sctp", "destinationNamedPort"), f, problems)
        if which == "destinationNamedPort":
            out.extend(_named(item[which], f"{f}.destinationNamedPort", problems) or ())
            continue
        if which is None:
            continue
        proto = which.upper()
        v = item[which]
        if not isinstance(v, dict) or not isinstance(v.get("destinationPort"), dict):
            problems.append(Problem(f"{f}.{which}", "must set destinationPort"))
            continue
        _unknown(v, ("destinationPort",), f"{f}.{which}", which, problems)
        dp = v["destinationPort"]
        pf = f"{f}.{which}.destinationPort"
        kind = _one_of(dp, ("number", "range"), pf, problems)
        if kind == "number":
            port = _port_number(dp["number"], pf, problems, "number")
            if port:
                out.append(PortSpec(proto, port))
        elif kind == "range":
            r = dp["range"]
            if not isinstance(r, dict):
                problems.append(Problem(f"{pf}.range", "must be an object with start and end"))
                continue
            _unknown(r, ("start", "end"), f"{pf}.range", "range", problems)
            spec = _range(r.get("start"), r.get("end"), proto, f"{pf}.range", problems)
            if spec:
                out.append(spec)
    return tuple(out) if len(problems) == n else None


def _rules(spec: dict[str, Any], kind: str, direction: str, problems: list[Problem]) -> tuple[TierRule, ...]:
    raw = spec.get(direction)
    if raw is None:
        return ()
    field = f"spec.{direction}"
    if not isinstance(raw, list):
        problems.append(Problem(field, "must be a list of rules"))
        return ()
    if len(raw) > _MAX_RULES[kind]:
        problems.append(Problem(field, f"must have at most {_MAX_RULES[kind]} rules (has {len(raw)})"))
        return ()
    peer_key = "from" if direction == "ingress" else "to"
    ports_key = "protocols" if kind == "ClusterNetworkPolicy" else "ports"
    out = []
    for i, r in enumerate(raw):
        f = f"{field}[{i}]"
        if not isinstance(r, dict):
            problems.append(Problem(f, "a rule must be an object"))
            continue
        _unknown(r, ("name", "action", peer_key, ports_key), f, f"an {direction} rule", problems)
        name = r.get("name", "")
        if not isinstance(name, str) or len(name) > 100:
            problems.append(Problem(f"{f}.name", "must be a string of at most 100 characters"))
            name = ""
        action = r.get("action")
        if action not in _ACTIONS[kind]:
            problems.append(Problem(f"{f}.action", f"unsupported value {action!r} ({', '.join(_ACTIONS[kind])})"))
            continue
        peers_raw = r.get(peer_key)
        if not isinstance(peers_raw, list) or not peers_raw:
            problems.append(Problem(f"{f}.{peer_key}", "is required: a non-empty list of peers"))
            continue
        peers = [_peer(p, f"{f}.{peer_key}[{j}]", j, kind, direction, action, problems)
                 for j, p in enumerate(peers_raw)]
        ports = None
        if r.get(ports_key) is not None:
            ports = (_cnp_protocols if kind == "ClusterNetworkPolicy" else _anp_ports)(
                r[ports_key], f"{f}.{ports_key}", problems)
            if ports is None:
                continue
        if any(p is None for p in peers):
            continue
        if ports is not None and any(isinstance(s.port, str) for s in ports) and any(
                p is not None and p.kind in ("networks", "nodes", "domainNames") for p in peers):
            problems.append(Problem(f"{f}.{ports_key}", "a named port cannot be used with networks, nodes or "
                                                        "domainNames peers (they have no named ports)"))
            continue
        out.append(TierRule(direction, i, name, "Allow" if action == "Accept" else action,  # type: ignore[arg-type]
                            tuple(p for p in peers if p is not None), ports))
    return tuple(out)


def parse_admin(raw: RawObject) -> AdminPolicy | InvalidPolicy:
    """An AdminPolicy, or the InvalidPolicy the API server's CRD validation would reject."""
    obj = raw.obj
    kind, api_version, name = obj["kind"], str(obj.get("apiVersion")), obj["metadata"]["name"]
    problems: list[Problem] = []

    def invalid() -> InvalidPolicy:
        return InvalidPolicy("", name, tuple(problems), raw.source, kind)

    spec = obj.get("spec")
    if not isinstance(spec, dict):
        problems.append(Problem("spec", "is required and must be an object"))
        return invalid()
    allowed = ["subject", "ingress", "egress"]
    if kind != "BaselineAdminNetworkPolicy":
        allowed.append("priority")
    if kind == "ClusterNetworkPolicy":
        allowed.append("tier")
    _unknown(spec, tuple(allowed), "spec", f"a {kind} spec", problems)
    if kind == "BaselineAdminNetworkPolicy" and name != "default":
        problems.append(Problem("metadata.name", f"{name!r}: a BaselineAdminNetworkPolicy must be named 'default' "
                                                 "(it is a cluster singleton)"))
    priority = 0
    if kind != "BaselineAdminNetworkPolicy":
        value = spec.get("priority")
        if not _is_int(value) or not 0 <= value <= 1000:
            problems.append(Problem("spec.priority", f"{value!r}: required, an integer 0-1000"))
        else:
            priority = value
    tier = "Baseline" if kind == "BaselineAdminNetworkPolicy" else "Admin"
    if kind == "ClusterNetworkPolicy":
        tier = spec.get("tier")  # type: ignore[assignment]
        if tier not in ("Admin", "Baseline"):
            problems.append(Problem("spec.tier", f"{tier!r}: required, Admin or Baseline"))
    if spec.get("subject") is None:
        problems.append(Problem("spec.subject", "is required"))
        subject = None
    else:
        subject = _subject(spec["subject"], problems)
    ingress = _rules(spec, kind, "ingress", problems)
    egress = _rules(spec, kind, "egress", problems)
    if problems or subject is None:
        return invalid()
    return AdminPolicy(kind, api_version, name, str(tier), priority, subject[0], subject[1], ingress, egress,
                       raw.source)
