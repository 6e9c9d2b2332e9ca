"""Raw snapshot -> model: Kubernetes defaulting and validation happen here, once.

Owns: policyTypes and protocol defaulting, the `kubernetes.io/metadata.name` namespace label, NetworkPolicy
validity exactly as the API server judges it (an invalid policy becomes an `InvalidPolicy` with every reason,
and takes no part in the analysis), pods versus the workload templates that stand for them, and finished
pods. Malformed pods, workloads and namespaces are bad input (`InputError`, naming file, object and field).
It must not evaluate reachability.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
import socket
from typing import Any, TypeGuard

from scanner.collect import RawObject, RawSnapshot
from scanner.collect.project import OTHER_POLICY_GROUPS, api_group
from scanner.errors import InputError
from scanner.intervals import IntervalSet, network_interval, subtract
from scanner.model import (
    NAMESPACE_NAME_LABEL,
    WORKLOAD_KINDS,
    AdminPolicy,
    Cluster,
    Endpoint,
    Ignored,
    InvalidPolicy,
    IPBlock,
    NamedPort,
    Namespace,
    Node,
    OtherPolicy,
    Peer,
    Policy,
    PortSpec,
    Problem,
    Rule,
    Service,
    ServicePort,
)
from scanner.selectors import (
    DNS1035_LABEL_RE,
    DNS1123_LABEL_RE,
    DNS1123_SUBDOMAIN_RE,
    LabelSelector,
    SelectorError,
    label_key_problem,
    label_value_problem,
    parse_selector,
)

log = logging.getLogger(__name__)

PROTOCOLS = ("TCP", "UDP", "SCTP")
FINISHED_PHASES = ("Succeeded", "Failed")
_PORT_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z")


# --- NetworkPolicy validation -------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def port_name_problem(name: str) -> str | None:
    """IANA_SVC_NAME as the API validates named ports, or None when valid."""
    if len(name) > 15:
        return "a port name must be no more than 15 characters"
    if not _PORT_NAME_RE.match(name):
        return "a port name must contain only lowercase letters, digits and '-', and start and end with one"
    if "--" in name:
        return "a port name must not contain consecutive hyphens"
    if not any(c.isalpha() for c in name):
        return "a port name must contain at least one letter"
    return None


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _selector(raw: Any, field: str, problems: list[Problem]) -> LabelSelector | None:
    try:
        return parse_selector(raw)
    except SelectorError as e:
        problems.append(Problem(f"{field}.{e.field}" if e.field else field, e.reason))
        return None


def _network(cidr: Any, field: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(cidr, str) or not cidr:
        raise _Invalid(field, "a CIDR string is required")
    if "/" not in cidr:
        raise _Invalid(field, f"{cidr!r} is not a valid CIDR (no prefix length)")
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise _Invalid(field, f"{cidr!r} is not a valid CIDR") from None


def _ip_block(raw: Any, field: str, problems: list[Problem]) -> IPBlock | None:
    if not isinstance(raw, dict):
        problems.append(Problem(field, "must be an object with cidr and except"))
        return None
    for k in raw:
        if k not in ("cidr", "except"):
            problems.append(Problem(f"{field}.{k}", "unknown field"))
    try:
        net = _network(raw.get("cidr"), f"{field}.cidr")
    except _Invalid as e:
        problems.append(Problem(e.field, e.reason))
        return None
    excepts_raw = raw.get("except") or []
    if not isinstance(excepts_raw, list):
        problems.append(Problem(f"{field}.except", "must be a list of CIDRs"))
        return None
    addresses: IntervalSet = network_interval(net)
    excepts = []
    ok = True
    for i, ex in enumerate(excepts_raw):
        efield = f"{field}.except[{i}]"
        try:
            exnet = _network(ex, efield)
        except _Invalid as e:
            problems.append(Problem(e.field, e.reason))
            ok = False
            continue
        if exnet.version != net.version or not exnet.subnet_of(net) or exnet.prefixlen <= net.prefixlen:  # type: ignore[arg-type]
            problems.append(Problem(efield, f"{ex} must be a strict subset of cidr {raw.get('cidr')}"))
            ok = False
            continue
        excepts.append(str(ex))
        addresses = subtract(addresses, network_interval(exnet))
    if not ok:
        return None
    return IPBlock(str(raw["cidr"]), tuple(excepts), addresses, net.prefixlen, net.version)


def _peer(raw: Any, field: str, index: int, problems: list[Problem]) -> Peer | None:
    if not isinstance(raw, dict):
        problems.append(Problem(field, "a peer must be an object"))
        return None
    for k in raw:
        if k not in ("podSelector", "namespaceSelector", "ipBlock"):
            problems.append(Problem(f"{field}.{k}", "unknown field in a peer"))
    ps_raw, ns_raw, ipb_raw = raw.get("podSelector"), raw.get("namespaceSelector"), raw.get("ipBlock")
    present = [x is not None for x in (ps_raw, ns_raw, ipb_raw)]
    if not any(present):
        problems.append(Problem(field, "must specify a peer (podSelector, namespaceSelector or ipBlock)"))
        return None
    if ipb_raw is not None and sum(present) > 1:
        problems.append(Problem(field, "may not specify both ipBlock and another peer"))
        return None
    if ipb_raw is not None:
        ipb = _ip_block(ipb_raw, f"{field}.ipBlock", problems)
        return Peer(index, ip_block=ipb) if ipb else None
    ps = _selector(ps_raw, f"{field}.podSelector", problems) if ps_raw is not None else None
    ns = _selector(ns_raw, f"{field}.namespaceSelector", problems) if ns_raw is not None else None
    if (ps_raw is not None and ps is None) or (ns_raw is not None and ns is None):
        return None
    return Peer(index, pod_selector=ps, namespace_selector=ns)


def _port(raw: Any, field: str, problems: list[Problem]) -> PortSpec | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(Problem(field, "a port entry must be an object"))
        return None
    n = len(problems)
    for k in raw:
        if k not in ("protocol", "port", "endPort"):
            problems.append(Problem(f"{field}.{k}", "unknown field in a port entry"))
    protocol = raw.get("protocol")
    if protocol is None:
        protocol = "TCP"
    if protocol not in PROTOCOLS:
        problems.append(Problem(f"{field}.protocol", f"unsupported protocol {protocol!r} (TCP, UDP or SCTP)"))
    port = raw.get("port")
    end_port = raw.get("endPort")
    if port is None:
        if end_port is not None:
            problems.append(Problem(f"{field}.endPort", "may not be specified when `port` is not specified"))
    elif _is_int(port):
        if not 1 <= port <= 65535:
            problems.append(Problem(f"{field}.port", f"{port} must be between 1 and 65535, inclusive"))
        if end_port is not None:
            if not _is_int(end_port):
                problems.append(Problem(f"{field}.endPort", "must be an integer"))
            else:
                if end_port < port:
                    problems.append(Problem(f"{field}.endPort", f"{end_port} must be greater than or equal to "
                                                                f"`port` ({port})"))
                if not 1 <= end_port <= 65535:
                    problems.append(Problem(f"{field}.endPort", f"{end_port} must be between 1 and 65535, "
                                                                "inclusive"))
    elif isinstance(port, str):
        if end_port is not None:
            problems.append(Problem(f"{field}.endPort", "may not be specified when `port` is non-numeric "
                                                        f"(named port {port!r})"))
        problem = port_name_problem(port)
        if problem:
            problems.append(Problem(f"{field}.port", f"{port!r}: {problem}"))
    else:
        problems.append(Problem(f"{field}.port", "must be a port number or a port name"))
    if len(problems) > n:
        return None
    return PortSpec(str(protocol), port, end_port)


def _rules(spec: dict[str, Any], direction: str, problems: list[Problem]) -> tuple[str, tuple[Rule, ...]]:
    key = direction
    peer_key = "from" if direction == "ingress" else "to"
    raw = spec.get(key)
    if raw is None:
        return "absent", ()
    if not isinstance(raw, list):
        problems.append(Problem(f"spec.{key}", "must be a list of rules"))
        return "invalid", ()
    if not raw:
        return "empty", ()
    rules = []
    for i, r in enumerate(raw):
        field = f"spec.{key}[{i}]"
        if r is None:
            r = {}
        if not isinstance(r, dict):
            problems.append(Problem(field, "a rule must be an object"))
            continue
        for k in r:
            if k not in (peer_key, "ports"):
                problems.append(Problem(f"{field}.{k}", f"unknown field in an {direction} rule"
                                        + (f" (did you mean {peer_key!r}?)" if k in ("from", "to") else "")))
        peers_raw = r.get(peer_key)
        peers: tuple[Peer, ...] | None = None
        if peers_raw is not None:
            if not isinstance(peers_raw, list):
                problems.append(Problem(f"{field}.{peer_key}", "must be a list of peers"))
            elif peers_raw:
                parsed = [_peer(p, f"{field}.{peer_key}[{j}]", j, problems) for j, p in enumerate(peers_raw)]
                peers = tuple(p for p in parsed if p is not None)
        ports_raw = r.get("ports")
        ports: tuple[PortSpec, ...] | None = None
        if ports_raw is not None:
            if not isinstance(ports_raw, list):
                problems.append(Problem(f"{field}.ports", "must be a list of ports"))
            elif ports_raw:
                parsed_ports = [_port(p, f"{field}.ports[{j}]", problems) for j, p in enumerate(ports_raw)]
                ports = tuple(p for p in parsed_ports if p is not None)
        rules.append(Rule(direction, i, peers, ports))  # type: ignore[arg-type]
    return "rules", tuple(rules)


def parse_policy(raw: RawObject) -> Policy | InvalidPolicy:
    obj = raw.obj
    md = obj["metadata"]
    ns, name = md["namespace"], md["name"]
    problems: list[Problem] = []
    spec = obj.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return InvalidPolicy(ns, name, (Problem("spec", "must be an object"),), raw.source)
    for k in spec:
        if k not in ("podSelector", "policyTypes", "ingress", "egress"):
            problems.append(Problem(f"spec.{k}", "unknown field in a NetworkPolicy spec"))
    pod_selector = _selector(spec.get("podSelector"), "spec.podSelector", problems)
    types_raw = spec.get("policyTypes")
    explicit = bool(types_raw)
    types: set[str] = set()
    if types_raw is not None and not isinstance(types_raw, list):
        problems.append(Problem("spec.policyTypes", "must be a list (Ingress, Egress)"))
    elif types_raw:
        if len(types_raw) > 2:
            problems.append(Problem("spec.policyTypes", "may not specify more than two policyTypes"))
        for i, t in enumerate(types_raw):
            if t not in ("Ingress", "Egress"):
                problems.append(Problem(f"spec.policyTypes[{i}]", f"unsupported value {t!r} (Ingress or Egress)"))
            else:
                types.add(t)
    ingress_field, ingress = _rules(spec, "ingress", problems)
    egress_field, egress = _rules(spec, "egress", problems)
    if problems or pod_selector is None:
        return InvalidPolicy(ns, name, tuple(problems), raw.source)
    if not explicit:
        # The API server's defaulting: Ingress always; Egress only when egress rules are present.
        types = {"Ingress"}
        if egress:
            types.add("Egress")
    return Policy(ns, name, pod_selector, frozenset(types), explicit, ingress, egress, ingress_field,
                  egress_field, raw.source, raw.namespace_defaulted)


# --- pods, workloads and namespaces -------------------------------------------------------------------------


def _where(raw: RawObject) -> tuple[str | None, str]:
    md = raw.obj.get("metadata") or {}
    ns = md.get("namespace")
    obj = f"{raw.obj.get('kind')} {ns + '/' if ns else ''}{md.get('name')}"
    return (raw.source.describe() if raw.source else None), obj


def _bad(raw: RawObject, field: str, message: str) -> InputError:
    file, obj = _where(raw)
    return InputError(message, file=file, obj=obj, field=field)


_DNS_LABEL = (DNS1123_LABEL_RE, 63, "an RFC 1123 label: at most 63 lowercase letters, digits and '-', starting "
              "and ending with a letter or digit")
_DNS1035 = (DNS1035_LABEL_RE, 63, "an RFC 1035 label: at most 63 lowercase letters, digits and '-', starting "
            "with a letter and ending with a letter or digit")
_DNS_SUBDOMAIN = (DNS1123_SUBDOMAIN_RE, 253, "an RFC 1123 subdomain: at most 253 lowercase letters, digits, '-' "
                  "and '.', each part starting and ending with a letter or digit")
_NAME_RULES = {"Namespace": _DNS_LABEL, "Service": _DNS1035}
_CHECKED_KINDS = frozenset({"Namespace", "Pod", "NetworkPolicy", "Service", "Node", *WORKLOAD_KINDS})


def name_problem(kind: str, name: str, *, namespace: bool = False) -> str | None:
    """Why the API server would refuse `name` as the name of a `kind` object (or, with `namespace`, as the
    namespace it lives in), or None."""
    pattern, limit, rule = _DNS_LABEL if namespace else _NAME_RULES.get(kind, _DNS_SUBDOMAIN)
    if len(name) <= limit and pattern.match(name):
        return None
    what = "namespace" if namespace else f"{kind} name"
    size = f" ({len(name)} characters)" if len(name) > limit else ""
    return f"{name!r}{size} is not a valid {what}: it must be {rule}"


def _check_names(raw: RawObject, kind: str, md: dict[str, Any]) -> None:
    if kind not in _CHECKED_KINDS:
        return
    problem = name_problem(kind, md["name"])
    if problem:
        raise _bad(raw, "metadata.name", problem)
    ns = md.get("namespace")
    if ns and (problem := name_problem(kind, ns, namespace=True)):
        raise _bad(raw, "metadata.namespace", problem)


def _labels(raw: RawObject, labels: Any, field: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise _bad(raw, field, "must be a map of label keys to string values")
    for k, v in labels.items():
        if isinstance(k, str) and isinstance(v, str) and k in _VALID_KEYS and v in _VALID_VALUES:
            continue
        problem = label_key_problem(k) if isinstance(k, str) else "label key must be a string"
        problem = problem or label_value_problem(v)
        if problem:
            raise _bad(raw, f"{field}.{k}", problem)
        if len(_VALID_VALUES) < 1_000_000:  # a bounded memo: keys and values repeat across pods
            _VALID_KEYS.add(k)
            _VALID_VALUES.add(v)
    return dict(labels)


_VALID_KEYS: set[str] = set()
_VALID_VALUES: set[str] = set()


def _pod_spec_parts(raw: RawObject, spec: Any, field: str) -> tuple[tuple[NamedPort, ...], bool,
                                                                        tuple[tuple[str, int], ...]]:
    if spec is None:
        return (), False, ()
    if not isinstance(spec, dict):
        raise _bad(raw, field, "must be an object")
    host_network = spec.get("hostNetwork", False)
    if host_network is None:
        host_network = False
    if not isinstance(host_network, bool):
        raise _bad(raw, f"{field}.hostNetwork", "must be true or false")
    named: list[NamedPort] = []
    host_ports: list[tuple[str, int]] = []
    for ckey in ("containers", "initContainers"):
        containers = spec.get(ckey) or []
        if not isinstance(containers, list):
            raise _bad(raw, f"{field}.{ckey}", "must be a list")
        for i, c in enumerate(containers):
            cfield = f"{field}.{ckey}[{i}]"
            if not isinstance(c, dict):
                raise _bad(raw, cfield, "must be an object")
            if ckey == "initContainers" and c.get("restartPolicy") != "Always":
                continue  # only sidecar init containers keep running and serve ports
            ports = c.get("ports") or []
            if not isinstance(ports, list):
                raise _bad(raw, f"{cfield}.ports", "must be a list")
            for j, p in enumerate(ports):
                pfield = f"{cfield}.ports[{j}]"
                if not isinstance(p, dict):
                    raise _bad(raw, pfield, "must be an object")
                number = p.get("containerPort")
                if not _is_int(number) or not 1 <= number <= 65535:
                    raise _bad(raw, f"{pfield}.containerPort", f"{number!r} must be a port number 1-65535")
                protocol = p.get("protocol") or "TCP"
                if protocol not in PROTOCOLS:
                    raise _bad(raw, f"{pfield}.protocol", f"unsupported protocol {protocol!r}")
                name = p.get("name")
                if name is not None:
                    if not isinstance(name, str) or port_name_problem(name):
                        raise _bad(raw, f"{pfield}.name", f"{name!r}: "
                                   f"{port_name_problem(name) if isinstance(name, str) else 'must be a string'}")
                    named.append(NamedPort(name, protocol, number))
                hp = p.get("hostPort")
                if _is_int(hp) and hp > 0:
                    host_ports.append((protocol, hp))
                elif hp is not None and not _is_int(hp):
                    raise _bad(raw, f"{pfield}.hostPort", "must be a port number")
    if host_network:
        # With hostNetwork every container port is also a host port.
        host_ports.extend((p.protocol, p.port) for p in named)
    return tuple(sorted(set(named), key=lambda p: (p.name, p.protocol, p.port))), host_network, \
        tuple(sorted(set(host_ports)))


def _pod_ips(raw: RawObject, status: Any) -> tuple[tuple[str, ...], str | None, str | None]:
    if not isinstance(status, dict):
        return (), None, None
    ips: list[str] = []
    pod_ips = status.get("podIPs")
    if isinstance(pod_ips, list):
        for i, entry in enumerate(pod_ips):
            ip = entry.get("ip") if isinstance(entry, dict) else None
            if ip is not None:
                ips.append(_valid_ip(raw, ip, f"status.podIPs[{i}].ip"))
    if not ips and status.get("podIP"):
        ips.append(_valid_ip(raw, status["podIP"], "status.podIP"))
    phase = status.get("phase")
    host_ip = _valid_ip(raw, status["hostIP"], "status.hostIP") if status.get("hostIP") else None
    return tuple(dict.fromkeys(ips)), phase if isinstance(phase, str) else None, host_ip


def _valid_ip(raw: RawObject, ip: Any, field: str) -> str:
    if isinstance(ip, str) and "." in ip and ":" not in ip:
        try:  # fast path: an IPv4 address already in canonical form
            if socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, ip)) == ip:
                return ip
        except OSError:
            pass
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        raise _bad(raw, field, f"{ip!r} is not an IP address") from None


def _template_of(raw: RawObject) -> tuple[Any, str]:
    spec = raw.obj.get("spec")
    if not isinstance(spec, dict):
        return None, "spec"
    if raw.obj["kind"] == "CronJob":
        jt = spec.get("jobTemplate")
        jspec = jt.get("spec") if isinstance(jt, dict) else None
        return (jspec.get("template") if isinstance(jspec, dict) else None), "spec.jobTemplate.spec.template"
    return spec.get("template"), "spec.template"


def _owner(raw: RawObject) -> tuple[str, str] | None:
    refs = raw.obj["metadata"].get("ownerReferences")
    if not isinstance(refs, list) or not refs:
        return None
    refs = [r for r in refs if isinstance(r, dict)]
    chosen = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not chosen or not isinstance(chosen.get("kind"), str) or not isinstance(chosen.get("name"), str):
        return None
    return chosen["kind"], chosen["name"]


def _pod_owner(raw: RawObject, labels: dict[str, str]) -> tuple[str, str] | None:
    """The workload of a pod from its controller reference: a ReplicaSet `<deployment>-<pod-template-hash>`
    stands for its Deployment (as `kubectl` and every dashboard show it)."""
    owner = _owner(raw)
    if owner is None:
        return None
    kind, name = owner
    if kind == "ReplicaSet":
        h = labels.get("pod-template-hash")
        if h and name.endswith("-" + h) and len(name) > len(h) + 1:
            return "Deployment", name[: -len(h) - 1]
    return kind, name


def _key(raw: RawObject) -> tuple[str, str, str, str]:
    md = raw.obj["metadata"]
    return (api_group(str(raw.obj.get("apiVersion", ""))), raw.obj["kind"], md.get("namespace") or "", md["name"])


def parse(snap: RawSnapshot) -> Cluster:
    """Build the model of a raw snapshot. Raises InputError on malformed pods, workloads or namespaces."""
    # Duplicates: the last definition wins, as `kubectl apply` of the same files would leave it.
    latest: dict[tuple[str, str, str, str], RawObject] = {}
    for raw in snap.objects:
        key = _key(raw)
        prev = latest.get(key)
        if prev is not None and prev.obj != raw.obj:
            first = prev.source.describe() if prev.source else "?"
            snap.warnings.append(f"{raw.source.describe() if raw.source else '?'}: {key[1]} "
                                 f"{key[2] + '/' if key[2] else ''}{key[3]} is also defined in {first}; "
                                 "the last definition is used")
        latest.pop(key, None)
        latest[key] = raw
    objects = list(latest.values())

    namespaces: dict[str, Namespace] = {}
    pods: list[tuple[RawObject, Endpoint]] = []
    workloads: dict[tuple[str, str, str], RawObject] = {}
    policies: list[Policy] = []
    invalid: list[InvalidPolicy] = []
    services: list[Service] = []
    nodes: list[Node] = []
    others: list[OtherPolicy] = []
    daemonsets: list[dict[str, Any]] = []
    defaulted: list[tuple[str, str, str]] = []
    admin: list[AdminPolicy] = []
    invalid_admin: list[InvalidPolicy] = []
    from scanner.parse_tiers import (  # it builds on this module's validators
        is_modelled,
        order_key,
        parse_admin,
    )

    for raw in objects:
        obj = raw.obj
        kind = obj["kind"]
        group = api_group(str(obj.get("apiVersion", "")))
        md = obj["metadata"]
        _check_names(raw, kind, md)
        if raw.namespace_defaulted:
            defaulted.append((kind, md["namespace"], md["name"]))
        if kind == "Namespace":
            labels = _labels(raw, md.get("labels"), "metadata.labels")
            labels[NAMESPACE_NAME_LABEL] = md["name"]  # the API server always sets it to the name
            namespaces[md["name"]] = Namespace(md["name"], labels, True, raw.source)
        elif kind == "Pod":
            spec = obj.get("spec")
            named, host_network, host_ports = _pod_spec_parts(raw, spec, "spec")
            ips, phase, host_ip = _pod_ips(raw, obj.get("status"))
            node = spec.get("nodeName") if isinstance(spec, dict) else None
            labels = _labels(raw, md.get("labels"), "metadata.labels")
            ep = Endpoint(md["namespace"], md["name"], "Pod", labels, named, host_network, ips,
                          node if isinstance(node, str) else None, phase, host_ports, raw.source,
                          raw.namespace_defaulted, host_ip, _pod_owner(raw, labels))
            pods.append((raw, ep))
        elif kind in WORKLOAD_KINDS:
            workloads[(md["namespace"], kind, md["name"])] = raw
            if kind == "DaemonSet":
                daemonsets.append(obj)
        elif kind == "NetworkPolicy" and group in ("networking.k8s.io", "extensions"):
            p = parse_policy(raw)
            (policies if isinstance(p, Policy) else invalid).append(p)  # type: ignore[arg-type]
        elif kind == "Service":
            services.append(_service(raw))
        elif kind == "Node":
            nodes.append(_node(raw))
        elif group in OTHER_POLICY_GROUPS and is_modelled(str(obj.get("apiVersion")), kind):
            a = parse_admin(raw)
            (admin if isinstance(a, AdminPolicy) else invalid_admin).append(a)  # type: ignore[arg-type]
        elif group in OTHER_POLICY_GROUPS:
            others.append(OtherPolicy(str(obj.get("apiVersion")), kind, md.get("namespace"), md["name"],
                                      raw.source))

    # Which workloads have pods (through ownerReferences, or the names controllers give) or an owner present.
    has_pods: set[tuple[str, str, str]] = set()
    owned: set[tuple[str, str, str]] = set()

    def parent(ns: str, kind: str, name: str, labels: dict[str, str]) -> tuple[str, str, str] | None:
        if (ns, kind, name) in workloads:
            return (ns, kind, name)
        # The owner is not in the input: infer the controller above it from the names controllers give.
        if kind == "ReplicaSet":
            h = labels.get("pod-template-hash")
            if h and name.endswith("-" + h) and (ns, "Deployment", name[: -len(h) - 1]) in workloads:
                return (ns, "Deployment", name[: -len(h) - 1])
        if kind == "Job":
            m = re.match(r"^(.*)-\d+$", name)
            if m and (ns, "CronJob", m.group(1)) in workloads:
                return (ns, "CronJob", m.group(1))
        return None

    def climb(raw: RawObject, labels: dict[str, str]) -> None:
        seen: set[tuple[str, str, str]] = set()
        cur: RawObject | None = raw
        while cur is not None:
            owner = _owner(cur)
            if owner is None:
                return
            key = parent(cur.obj["metadata"]["namespace"], owner[0], owner[1], labels)
            if key is None or key in seen:
                return
            seen.add(key)
            has_pods.add(key)
            cur = workloads[key]

    for raw, ep in pods:
        if ep.phase not in FINISHED_PHASES:  # only live pods replace their template
            climb(raw, ep.labels)
    for wkey, wraw in workloads.items():
        owner = _owner(wraw)
        if owner and parent(wkey[0], owner[0], owner[1], {}) is not None:
            owned.add(wkey)

    endpoints: list[Endpoint] = []
    ignored: list[Ignored] = []
    for k, (raw, ep) in enumerate(pods):
        if ep.owner is not None and ep.owner[0] == "Job":
            top = parent(ep.namespace, "Job", ep.owner[1], {})  # a Job a CronJob of the input made
            if top is not None and top[1] == "CronJob":
                pods[k] = (raw, dataclasses.replace(ep, owner=("CronJob", top[2])))
    for _, ep in pods:
        if ep.phase in FINISHED_PHASES:
            ignored.append(Ignored(ep, f"phase {ep.phase}: a finished pod holds no IP"))
        else:
            endpoints.append(ep)
    for wkey, raw in sorted(workloads.items()):
        if wkey in has_pods or wkey in owned:
            continue
        template, tfield = _template_of(raw)
        if template is None:
            continue
        if not isinstance(template, dict):
            raise _bad(raw, tfield, "must be an object")
        tmd = template.get("metadata") or {}
        if not isinstance(tmd, dict):
            raise _bad(raw, f"{tfield}.metadata", "must be an object")
        named, host_network, host_ports = _pod_spec_parts(raw, template.get("spec"), f"{tfield}.spec")
        endpoints.append(Endpoint(wkey[0], wkey[2], wkey[1],
                                  _labels(raw, tmd.get("labels"), f"{tfield}.metadata.labels"),
                                  named, host_network, (), None, None, host_ports, raw.source,
                                  raw.namespace_defaulted))

    # Every namespace an object lives in exists, carrying at least its name label.
    used = {e.namespace for e in endpoints} | {p.namespace for p in policies} | {s.namespace for s in services}
    used |= {i.endpoint.namespace for i in ignored} | {p.namespace for p in invalid}
    for ns in sorted(used - namespaces.keys()):
        namespaces[ns] = Namespace(ns, {NAMESPACE_NAME_LABEL: ns}, False)

    endpoints.sort(key=lambda e: (e.namespace, e.kind, e.name))
    ignored.sort(key=lambda i: (i.endpoint.namespace, i.endpoint.kind, i.endpoint.name))
    policies.sort(key=lambda p: (p.namespace, p.name))
    invalid.sort(key=lambda p: (p.namespace, p.name))
    return Cluster(
        namespaces=dict(sorted(namespaces.items())),
        endpoints=tuple(endpoints),
        policies=tuple(policies),
        invalid_policies=tuple(invalid),
        ignored=tuple(ignored),
        services=tuple(sorted(services, key=lambda s: (s.namespace, s.name))),
        nodes=tuple(sorted(nodes, key=lambda n: n.name)),
        other_policies=tuple(sorted(others, key=lambda o: (o.kind, o.namespace or "", o.name))),
        daemonsets=tuple(daemonsets),
        skipped_kinds=dict(sorted(snap.skipped_kinds.items())),
        defaulted_objects=tuple(sorted(defaulted)),
        admin_policies=tuple(sorted(admin, key=order_key)),
        invalid_admin_policies=tuple(sorted(invalid_admin, key=lambda p: (p.kind, p.name))),
    )


def _service(raw: RawObject) -> Service:
    md = raw.obj["metadata"]
    spec = raw.obj.get("spec") or {}
    if not isinstance(spec, dict):
        raise _bad(raw, "spec", "must be an object")
    selector = spec.get("selector")
    if selector is not None:
        selector = _labels(raw, selector, "spec.selector")
    ports = []
    for i, p in enumerate(spec.get("ports") or []):
        if not isinstance(p, dict) or not _is_int(p.get("port")):
            raise _bad(raw, f"spec.ports[{i}].port", "must be a port number")
        tp = p.get("targetPort")
        if tp is not None and (problem := _target_port_problem(tp)):
            raise _bad(raw, f"spec.ports[{i}].targetPort", problem)
        np_ = p.get("nodePort")
        ports.append(ServicePort(p.get("protocol") or "TCP", p["port"], tp if isinstance(tp, int | str) else None,
                                 np_ if _is_int(np_) else None))
    return Service(md["namespace"], md["name"], str(spec.get("type") or "ClusterIP"), selector, tuple(ports),
                   raw.source)


def _target_port_problem(port: Any) -> str | None:
    if _is_int(port):
        return None if 1 <= port <= 65535 else f"{port} must be a port number 1-65535"
    if isinstance(port, str):
        problem = port_name_problem(port)
        return f"{port!r}: {problem}" if problem else None
    return "must be a port number or a port name"


def _node(raw: RawObject) -> Node:
    spec = raw.obj.get("spec") or {}
    status = raw.obj.get("status") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    addresses = [a.get("address") for a in (status.get("addresses") or []) if isinstance(a, dict)]
    labels = raw.obj["metadata"].get("labels")
    return Node(raw.obj["metadata"]["name"], tuple(str(c) for c in cidrs), tuple(str(a) for a in addresses if a),
                _labels(raw, labels, "metadata.labels") if labels else {})

