"""The scan configuration file: scope, system namespaces, rule settings, thresholds and waivers.

Owns reading and validating the YAML people write, with messages that name the file and line. Everything
has a default, so a scan without `--config` is fully defined. It must not evaluate rules.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError
from scanner.findings import SEVERITIES
from scanner.selectors import LabelSelector, SelectorError, parse_selector

DEFAULT_SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
# Ports an attacker looks for first: remote shells, cluster control plane, kubelet, common databases and caches.
DEFAULT_SENSITIVE_PORTS = ("22/TCP", "3389/TCP", "2379-2380/TCP", "6443/TCP", "10250/TCP", "10255/TCP",
                           "3306/TCP", "5432/TCP", "1433/TCP", "1521/TCP", "27017/TCP", "6379/TCP",
                           "9200/TCP", "5984/TCP", "11211/TCP", "9042/TCP")


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str  # id or slug as written; resolved against the catalog by the scan
    subject: str  # glob over Subject.ref, e.g. "Namespace/monitoring" or "Pod/shop/*"
    reason: str
    owner: str
    expires: dt.date
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "subject": self.subject, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat()}


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    namespace_selector: LabelSelector | None
    pod_selector: LabelSelector | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name,
                "namespaceSelector": self.namespace_selector.describe() if self.namespace_selector else None,
                "podSelector": self.pod_selector.describe() if self.pod_selector else None}


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    system_namespaces: tuple[str, ...] = DEFAULT_SYSTEM_NAMESPACES
    scope: Scope | None = None
    disabled_rules: tuple[str, ...] = ()
    severity_overrides: dict[str, str] = field(default_factory=dict)
    ipv4_min_prefix: int = 16
    ipv6_min_prefix: int = 48
    max_port_range: int = 1024
    sensitive_ports: tuple[str, ...] = DEFAULT_SENSITIVE_PORTS
    trusted_cidrs: tuple[str, ...] = ()
    pod_cidrs: tuple[str, ...] = ()
    service_cidrs: tuple[str, ...] = ()
    node_cidrs: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()

    def label_keys(self) -> frozenset[str]:
        """Pod label keys this configuration reads (the scope's podSelector): the engine keys classes on them."""
        if self.scope is None or self.scope.pod_selector is None:
            return frozenset()
        return self.scope.pod_selector.keys()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "system_namespaces": list(self.system_namespaces),
                "scope": self.scope.to_json() if self.scope else None,
                "disabled_rules": list(self.disabled_rules), "severity_overrides": dict(self.severity_overrides),
                "thresholds": {"ipv4_min_prefix": self.ipv4_min_prefix, "ipv6_min_prefix": self.ipv6_min_prefix,
                               "max_port_range": self.max_port_range,
                               "sensitive_ports": list(self.sensitive_ports)},
                "trusted_cidrs": list(self.trusted_cidrs),
                "network": {"pod_cidrs": list(self.pod_cidrs), "service_cidrs": list(self.service_cidrs),
                            "node_cidrs": list(self.node_cidrs)}}


_TOP_KEYS = {"system_namespaces", "scope", "rules", "thresholds", "trusted_cidrs", "network", "waivers"}


class _Doc:
    """A composed YAML document that remembers the line of every key, for error messages."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise InputError(f"invalid YAML: {f'line {mark.line + 1}: ' if mark else ''}"
                             f"{getattr(e, 'problem', None) or e}", file=path) from None
        self.node = node
        try:
            self.data = yaml.safe_load(text) if node is not None else {}
        except (yaml.YAMLError, ValueError) as e:  # e.g. a date like 2027-13-45
            raise InputError(f"invalid value: {e}", file=path) from None
        self.lines: dict[tuple[Any, ...], int] = {}
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                self.lines[(*path, k.value)] = k.start_mark.line + 1
                self._index(v, (*path, k.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._index(v, (*path, i))

    def error(self, path: tuple[Any, ...], message: str) -> InputError:
        line = None
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                break
        field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
        return InputError(message, file=f"{self.path}{f':{line}' if line else ''}", field=field or None)


def _str_list(doc: _Doc, value: Any, path: tuple[Any, ...]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(path, "must be a list of strings")
    return tuple(value)


def _cidrs(doc: _Doc, value: Any, path: tuple[Any, ...]) -> tuple[str, ...]:
    out = _str_list(doc, value, path)
    for i, c in enumerate(out):
        try:
            ipaddress.ip_network(c, strict=False)
        except ValueError:
            raise doc.error((*path, i), f"{c!r} is not a CIDR") from None
    return out


def _selector(doc: _Doc, value: Any, path: tuple[Any, ...]) -> LabelSelector | None:
    if value is None:
        return None
    try:
        return parse_selector(value)
    except SelectorError as e:
        raise doc.error((*path, *([e.field] if e.field else [])), e.reason) from None


def load_config(path: str | None) -> Config:
    if path is None:
        return Config()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {getattr(e, 'strerror', None) or e}", file=path) from None
    doc = _Doc(path, text)
    data = doc.data or {}
    if not isinstance(data, dict):
        raise doc.error((), "the configuration must be a mapping")
    for k in data:
        if k not in _TOP_KEYS:
            raise doc.error((k,), f"unknown setting (known: {', '.join(sorted(_TOP_KEYS))})")
    kw: dict[str, Any] = {"path": path}
    if "system_namespaces" in data:
        kw["system_namespaces"] = _str_list(doc, data["system_namespaces"], ("system_namespaces",))
    if data.get("scope") is not None:
        s = data["scope"]
        if not isinstance(s, dict):
            raise doc.error(("scope",), "must be a mapping with name, namespaceSelector and/or podSelector")
        for k in s:
            if k not in ("name", "namespaceSelector", "podSelector"):
                raise doc.error(("scope", k), "unknown setting (name, namespaceSelector, podSelector)")
        nsel = _selector(doc, s.get("namespaceSelector"), ("scope", "namespaceSelector"))
        psel = _selector(doc, s.get("podSelector"), ("scope", "podSelector"))
        if nsel is None and psel is None:
            raise doc.error(("scope",), "needs a namespaceSelector or a podSelector")
        kw["scope"] = Scope(str(s.get("name") or "compliance scope"), nsel, psel)
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise doc.error(("rules",), "must be a mapping with disabled and severity")
    for k in rules:
        if k not in ("disabled", "severity"):
            raise doc.error(("rules", k), "unknown setting (disabled, severity)")
    kw["disabled_rules"] = _str_list(doc, rules.get("disabled"), ("rules", "disabled"))
    sev = rules.get("severity") or {}
    if not isinstance(sev, dict):
        raise doc.error(("rules", "severity"), "must map rule ids to severities")
    for k, v in sev.items():
        if v not in SEVERITIES:
            raise doc.error(("rules", "severity", k), f"{v!r} is not one of {', '.join(SEVERITIES)}")
    kw["severity_overrides"] = {str(k): str(v) for k, v in sev.items()}
    th = data.get("thresholds") or {}
    if not isinstance(th, dict):
        raise doc.error(("thresholds",), "must be a mapping")
    for k, v in th.items():
        if k in ("ipv4_min_prefix", "ipv6_min_prefix", "max_port_range"):
            limit = {"ipv4_min_prefix": 32, "ipv6_min_prefix": 128, "max_port_range": 65535}[k]
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= limit:
                raise doc.error(("thresholds", k), f"must be a whole number from 0 to {limit}")
            kw[k] = v
        elif k == "sensitive_ports":
            ports = tuple(str(p) for p in (v or []))
            from scanner.portspec import parse_port_list

            try:
                parse_port_list(ports)
            except ValueError as e:
                raise doc.error(("thresholds", k), str(e)) from None
            kw[k] = ports
        else:
            raise doc.error(("thresholds", k), "unknown threshold (ipv4_min_prefix, ipv6_min_prefix, "
                                                "max_port_range, sensitive_ports)")
    kw["trusted_cidrs"] = _cidrs(doc, data.get("trusted_cidrs"), ("trusted_cidrs",))
    net = data.get("network") or {}
    if not isinstance(net, dict):
        raise doc.error(("network",), "must be a mapping with pod_cidrs, service_cidrs, node_cidrs")
    for k in net:
        if k not in ("pod_cidrs", "service_cidrs", "node_cidrs"):
            raise doc.error(("network", k), "unknown setting (pod_cidrs, service_cidrs, node_cidrs)")
        kw[k] = _cidrs(doc, net[k], ("network", k))
    kw["waivers"] = tuple(_waivers(doc, data.get("waivers")))
    return Config(**kw)


def _waivers(doc: _Doc, value: Any) -> list[Waiver]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(("waivers",), "must be a list of {rule, subject, reason, owner, expires}")
    out = []
    for i, w in enumerate(value):
        path = ("waivers", i)
        if not isinstance(w, dict):
            raise doc.error(path, "a waiver must be a mapping with rule, subject, reason, owner, expires")
        for k in w:
            if k not in ("rule", "subject", "reason", "owner", "expires"):
                raise doc.error((*path, k), "unknown field (rule, subject, reason, owner, expires)")
        for k in ("rule", "subject", "reason", "owner"):
            if not isinstance(w.get(k), str) or not w[k].strip():
                raise doc.error((*path, k), f"a waiver needs a non-empty {k}")
        expires = w.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise doc.error((*path, "expires"), f"{expires!r} is not a date (YYYY-MM-DD)") from None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            raise doc.error((*path, "expires"), "a waiver needs an expiry date (YYYY-MM-DD)")
        out.append(Waiver(w["rule"].strip(), w["subject"].strip(), w["reason"].strip(), w["owner"].strip(),
                          expires, doc.lines.get(path)))
    return out
