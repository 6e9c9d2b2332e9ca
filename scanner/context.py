"""The read-only context every rule receives: the model, the index, class-pair reachability, the
configuration and what the input could tell (collection state, network plugin). Rules need nothing else,
so nothing global needs patching in tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scanner.config import Config
from scanner.engine import Index
from scanner.engine.index import PodClass
from scanner.engine.reach import PairCache
from scanner.findings import Subject
from scanner.model import Cluster, Endpoint, Policy, Source


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What is known about the network plugin. `name` None: could not be identified."""

    name: str | None
    enforces: bool | None  # None: unknown
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Workload:
    """The pods of one class that belong to one workload (or one bare pod, or one template): the subject of
    the per-pod rules, so that 30 replicas make one finding, not 30."""

    subject: Subject
    endpoints: tuple[Endpoint, ...]

    @property
    def grouped(self) -> bool:
        return self.subject.kind != self.endpoints[0].kind

    @property
    def ref(self) -> str:
        """What messages call it: `ns/pod`, `ns/Kind/name` for a template, `ns/Kind/name (N pods)`."""
        if not self.grouped:
            return self.endpoints[0].ref
        n = len(self.endpoints)
        return f"{self.subject.namespace}/{self.subject.kind}/{self.subject.name} ({n} pod{'' if n == 1 else 's'})"

    def evidence(self) -> dict[str, Any]:
        if not self.grouped:
            return {}
        names = sorted(ep.name for ep in self.endpoints)
        return {"pods": names[:_LISTED_PODS], "pod_count": len(names)}


_LISTED_PODS = 20


@dataclass(frozen=True)
class Context:
    cluster: Cluster
    index: Index
    config: Config
    source_type: str = "manifests"
    complete: bool = True
    collection_problems: tuple[dict[str, str | None], ...] = ()
    plugin: PluginInfo = field(default_factory=lambda: PluginInfo(None, None))
    # Segmentation requirements (`scan --requirements FILE`: scanner.requirements.RequirementSet) and observed
    # flows (`scan --observed-flows FILE`: scanner.flows.ObservedFlows); None when not given.
    requirements: Any = None
    observed_flows: Any = None

    def __post_init__(self) -> None:
        # Classes are keyed on the label keys selectors read; a configured scope's podSelector reads labels too,
        # and so do the podSelectors of segmentation requirements.
        keys = self.config.label_keys()
        if self.requirements is not None:
            keys = keys | self.requirements.label_keys()
        if not keys <= self.index.label_keys:
            object.__setattr__(self, "index", Index(self.cluster, self.index.extra_keys | keys))

    @cached_property
    def pairs(self) -> PairCache:
        return PairCache(self.index)

    # --- subjects -------------------------------------------------------------------------------------------

    @staticmethod
    def endpoint_subject(ep: Endpoint) -> Subject:
        return Subject(ep.kind, ep.namespace, ep.name)

    def workload_subject(self, ep: Endpoint) -> Subject:
        """A pod's workload (`Endpoint.owner`) when it has one, else the pod or template itself. A workload
        whose pods fall into different classes (a rollout whose ReplicaSets differ in a label a policy reads)
        may get different verdicts per pod: its pods are then their own subjects, so that no subject gets two
        findings of one rule."""
        if ep.owner is not None:
            subject = Subject(ep.owner[0], ep.namespace, ep.owner[1])
            if subject not in self._split_workloads:
                return subject
        return Subject(ep.kind, ep.namespace, ep.name)

    @cached_property
    def _split_workloads(self) -> frozenset[Subject]:
        seen: dict[Subject, int] = {}
        split: set[Subject] = set()
        for i, ep in enumerate(self.cluster.endpoints):
            if ep.owner is not None:
                subject = Subject(ep.owner[0], ep.namespace, ep.owner[1])
                cid = self.index.class_of[i]
                if seen.setdefault(subject, cid) != cid:
                    split.add(subject)
        return frozenset(split)

    def workloads(self, members: Iterable[int]) -> list[Workload]:
        """Endpoints (indices) grouped by workload, in order of first appearance."""
        eps = self.cluster.endpoints
        groups: dict[Subject, list[Endpoint]] = {}
        for i in members:
            ep = eps[i]
            groups.setdefault(self.workload_subject(ep), []).append(ep)
        return [Workload(s, tuple(v)) for s, v in groups.items()]

    def workloads_of(self, cls: PodClass) -> list[Workload]:
        return self.workloads(cls.members)

    @staticmethod
    def policy_subject(p: Policy) -> Subject:
        return Subject("NetworkPolicy", p.namespace, p.name)

    @staticmethod
    def namespace_subject(ns: str) -> Subject:
        return Subject("Namespace", None, ns)

    # --- views ----------------------------------------------------------------------------------------------

    def is_system(self, namespace: str) -> bool:
        return namespace in self.config.system_namespaces

    def endpoints_of(self, cls: PodClass) -> list[Endpoint]:
        return [self.cluster.endpoints[i] for i in cls.members]

    @cached_property
    def endpoints_by_namespace(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for i, ep in enumerate(self.cluster.endpoints):
            out[ep.namespace].append(i)
        return dict(sorted(out.items()))

    @cached_property
    def classes_by_namespace(self) -> dict[str, list[PodClass]]:
        return dict(sorted(self.index.classes_by_ns.items()))

    @cached_property
    def locations(self) -> dict[str, Source]:
        """Where each subject was defined (manifest file and line), by `Subject.ref`."""
        out: dict[str, Source] = {}
        c = self.cluster
        for ep in c.endpoints:
            if ep.source:
                out[self.endpoint_subject(ep).ref] = ep.source
                out.setdefault(self.workload_subject(ep).ref, ep.source)
        for p in c.policies:
            if p.source:
                out[self.policy_subject(p).ref] = p.source
        for ip in c.invalid_policies:
            if ip.source:
                out[Subject("NetworkPolicy", ip.namespace, ip.name).ref] = ip.source
        for kind, name, src in [(a.kind, a.name, a.source) for a in c.admin_policies] + [
                (ia.kind, ia.name, ia.source) for ia in c.invalid_admin_policies]:
            if src:
                out[Subject(kind, None, name).ref] = src
        for ns in c.namespaces.values():
            if ns.source:
                out[self.namespace_subject(ns.name).ref] = ns.source
        # A namespace the input never defines points at the first object placed in it.
        placed: list[tuple[str, Source | None]] = [(e.namespace, e.source) for e in c.endpoints]
        placed += [(p.namespace, p.source) for p in c.policies]
        for ns_name, src in placed:
            if src:
                out.setdefault(self.namespace_subject(ns_name).ref, src)
        for svc in c.services:
            if svc.source:
                out[Subject("Service", svc.namespace, svc.name).ref] = svc.source
        return out

    def in_scope(self, cls: PodClass) -> bool:
        """Is the class inside the configured compliance scope (False when no scope is configured)?"""
        scope = self.config.scope
        if scope is None:
            return False
        if scope.namespace_selector is not None and not scope.namespace_selector.matches(
                self.index.ns_labels.get(cls.namespace, {})):
            return False
        return scope.pod_selector is None or scope.pod_selector.matches(cls.labels)

    @cached_property
    def dns_classes(self) -> list[PodClass]:
        """Cluster DNS pods: `k8s-app: kube-dns` in kube-system (CoreDNS and kube-dns both carry it), or the
        pods behind the kube-system/kube-dns Service."""
        selector: dict[str, str] | None = None
        for s in self.cluster.services:
            if s.namespace == "kube-system" and s.name == "kube-dns" and s.selector:
                selector = s.selector
        out = []
        for c in self.classes_by_namespace.get("kube-system", []):
            if c.labels.get("k8s-app") == "kube-dns" or (
                    selector and all(c.labels.get(k) == v for k, v in selector.items())):
                out.append(c)
        return out
