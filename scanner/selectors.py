"""Kubernetes label selectors: parsing with the API server's validation, and matching.

Owns `matchLabels` / `matchExpressions` semantics (ANDed; `In`, `NotIn`, `Exists`, `DoesNotExist`; `NotIn` and
`DoesNotExist` match objects that lack the key; an empty selector matches everything). It knows nothing about
pods, namespaces or policies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner.errors import type_name

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# \Z, not $: `$` also matches before a final newline, and "web\n" is not a label value.
_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
DNS1123_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
DNS1123_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS1035_LABEL_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")


class SelectorError(ValueError):
    """A selector the API server would reject; `field` is relative to the selector."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a valid label key, or None."""
    if not isinstance(key, str) or not key:
        return "label key must be a non-empty string"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN_RE.match(prefix)):
        return f"label key prefix {prefix!r} must be a DNS subdomain"
    if len(name) > 63 or not _NAME_RE.match(name):
        return f"label key name {name!r} must be 63 characters or less, alphanumeric, '-', '_' or '.'"
    return None


def label_value_problem(value: object) -> str | None:
    """Why `value` is not a valid label value, or None."""
    if not isinstance(value, str):
        return f"label value must be a string, not {type_name(value)}"
    if value == "":
        return None
    if len(value) > 63 or not _NAME_RE.match(value):
        return f"label value {value!r} must be 63 characters or less, alphanumeric, '-', '_' or '.'"
    return None


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            v = labels.get(self.key)
            return v is not None and v in self.values
        if op == "NotIn":
            v = labels.get(self.key)
            return v is None or v not in self.values
        if op == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def describe(self) -> str:
        vals = ",".join(v if v else '""' for v in sorted(self.values))  # an empty value stays visible
        if self.operator == "In":
            return f"{self.key} in ({vals})"
        if self.operator == "NotIn":
            return f"{self.key} notin ({vals})"
        if self.operator == "Exists":
            return self.key
        return f"!{self.key}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed, validated label selector. Immutable and hashable, so results can be cached per selector."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self.match_labels:
            if labels.get(k) != v:
                return False
        return all(r.matches(labels) for r in self.expressions)

    def keys(self) -> frozenset[str]:
        """The label keys this selector looks at."""
        return frozenset([k for k, _ in self.match_labels] + [r.key for r in self.expressions])

    def describe(self) -> str:
        """kubectl's selector syntax: `app=api,tier in (a,b)`; `{}` for the empty selector."""
        if self.is_empty:
            return "{}"
        parts = [f"{k}={v}" for k, v in self.match_labels]
        parts += [r.describe() for r in self.expressions]
        return ",".join(parts)


EVERYTHING = LabelSelector()


def parse_selector(raw: Any) -> LabelSelector:
    """Parse a `metav1.LabelSelector`. `None` is the empty selector. Raises SelectorError."""
    if raw is None:
        return EVERYTHING
    if not isinstance(raw, dict):
        raise SelectorError("", f"must be an object, not {type_name(raw)}")
    for key in raw:
        if key not in ("matchLabels", "matchExpressions"):
            raise SelectorError(str(key), "unknown field in a label selector")
    ml_raw = raw.get("matchLabels") or {}
    if not isinstance(ml_raw, dict):
        raise SelectorError("matchLabels", "must be a map of label keys to values")
    match_labels = []
    for k, v in ml_raw.items():
        problem = label_key_problem(k) or label_value_problem(v)
        if problem:
            raise SelectorError(f"matchLabels.{k}", problem)
        match_labels.append((k, v))
    me_raw = raw.get("matchExpressions") or []
    if not isinstance(me_raw, list):
        raise SelectorError("matchExpressions", "must be a list")
    exprs = []
    for i, e in enumerate(me_raw):
        path = f"matchExpressions[{i}]"
        if not isinstance(e, dict):
            raise SelectorError(path, "must be an object with key, operator and values")
        key = e.get("key")
        if not isinstance(key, str):
            raise SelectorError(f"{path}.key", "key is required")
        problem = label_key_problem(key)
        if problem:
            raise SelectorError(f"{path}.key", problem)
        op = e.get("operator")
        if op not in OPERATORS:
            raise SelectorError(f"{path}.operator", f"{op!r} is not a valid operator (In, NotIn, Exists, DoesNotExist)")
        values = e.get("values")
        if values is None:
            values = []
        if not isinstance(values, list):
            raise SelectorError(f"{path}.values", "must be a list of strings")
        if op in ("In", "NotIn") and not values:
            raise SelectorError(f"{path}.values", f"must be specified when operator is {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"{path}.values", f"may not be specified when operator is {op}")
        for j, v in enumerate(values):
            problem = label_value_problem(v)
            if problem:
                raise SelectorError(f"{path}.values[{j}]", problem)
        exprs.append(Requirement(key, op, frozenset(values)))
    return LabelSelector(tuple(sorted(match_labels)), tuple(exprs))
