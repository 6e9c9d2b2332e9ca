"""Findings: what a rule says about one subject, and the statuses and severities of the audit.

A rule yields `Result`s; the scan turns each into a `Finding` with the rule's metadata, waivers and control
mappings applied. Statuses: FAIL, PASS, WAIVED, ERROR, NOT_APPLICABLE. A PASS is only ever produced for a
subject the rule actually judged, so a requirement can never pass on a check that could not have failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # lower is more severe
STATUSES = ("FAIL", "ERROR", "WAIVED", "PASS", "NOT_APPLICABLE")

FAIL, PASS, WAIVED, ERROR, NOT_APPLICABLE = "FAIL", "PASS", "WAIVED", "ERROR", "NOT_APPLICABLE"


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    kind: str  # Namespace, Pod, Deployment (template), NetworkPolicy, Service, Cluster, ...
    namespace: str | None
    name: str

    @property
    def ref(self) -> str:
        """`kind/namespace/name` (or `kind/name` when cluster-scoped): what waiver globs match."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


CLUSTER = Subject("Cluster", None, "cluster")


@dataclass(frozen=True, slots=True)
class Result:
    """One verdict of a rule on one subject."""

    status: str
    subject: Subject
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: str | None = None  # overrides the rule's default for this finding (e.g. NP010 with ports)


def fail(subject: Subject, message: str, severity: str | None = None, **evidence: Any) -> Result:
    return Result(FAIL, subject, message, evidence, severity)


def passed(subject: Subject, message: str, **evidence: Any) -> Result:
    return Result(PASS, subject, message, evidence)


def not_applicable(reason: str, subject: Subject = CLUSTER, **evidence: Any) -> Result:
    return Result(NOT_APPLICABLE, subject, reason, evidence)

