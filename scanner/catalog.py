"""The rule catalog: the `@rule` decorator, rule metadata, and loading rules from directories.

A rule is a small function that receives the read-only `Context` and yields `Result`s. `@rule("NP002")` wraps
it in a frozen record and does nothing else: no registration by import side effect, no globals. Rules are
collected by path (the bundled `rules/` plus any `--rules-dir`), and each rule's metadata (title, severity,
rationale, remediation, references) lives once, in the sibling YAML file, validated at load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scanner.errors import CatalogError
from scanner.findings import SEVERITIES, Result

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

if TYPE_CHECKING:
    from scanner.context import Context

RuleFunc = Callable[["Context"], Iterable[Result]]

_ID_RE = re.compile(r"[A-Z]{2,8}\d{3,4}\Z")
_SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")
CATEGORIES = ("coverage", "permissive", "hygiene", "platform", "custom")
_META_KEYS = {"id", "slug", "title", "severity", "category", "rationale", "remediation", "remediation_example",
              "references", "deprecated", "needs"}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    id: str
    slug: str
    title: str
    severity: str
    category: str
    rationale: str
    remediation: str
    remediation_example: str = ""
    references: tuple[dict[str, str], ...] = ()
    deprecated: bool = False
    needs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "title": self.title, "severity": self.severity,
                "category": self.category, "rationale": self.rationale, "remediation": self.remediation,
                "remediation_example": self.remediation_example, "references": list(self.references),
                "deprecated": self.deprecated, "needs": list(self.needs)}


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A rule function as `@rule` returns it; `meta` is attached when the catalog loads it."""

    id: str
    func: RuleFunc
    meta: RuleMeta | None = None
    path: str | None = None

    def __call__(self, ctx: Context) -> Iterable[Result]:
        return self.func(ctx)


def rule(rule_id: str) -> Callable[[RuleFunc], RuleDef]:
    """Mark a function as the implementation of `rule_id`. Returns a record; registers nothing."""
    if not _ID_RE.match(rule_id):
        raise CatalogError(f"rule id {rule_id!r} must look like NP001")

    def wrap(func: RuleFunc) -> RuleDef:
        return RuleDef(rule_id, func)

    return wrap


@dataclass(slots=True)
class Catalog:
    rules: dict[str, RuleDef] = field(default_factory=dict)  # by id, sorted
    by_slug: dict[str, str] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """A rule id from an id or a slug (case-insensitive id)."""
        if name.upper() in self.rules:
            return name.upper()
        if name in self.by_slug:
            return self.by_slug[name]
        raise CatalogError(f"unknown rule {name!r} (see `netpol-audit rules`)")

    def meta(self, rule_id: str) -> RuleMeta:
        m = self.rules[rule_id].meta
        assert m is not None
        return m

    def digest(self) -> str:
        """SHA-256 over every rule's metadata and source: which catalog produced a result."""
        h = hashlib.sha256()
        for rid, r in self.rules.items():
            h.update(rid.encode())
            h.update(repr(self.meta(rid).to_json()).encode())
            if r.path:
                h.update(Path(r.path).read_bytes())
        return h.hexdigest()


def load_yaml_mapping(path: Path, allowed: set[str]) -> dict[str, Any]:
    """A catalog data file (rule metadata, framework mapping): a YAML mapping with only `allowed` keys."""
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER)  # bundled or --rules-dir files: safe loader
    except yaml.YAMLError as e:
        raise CatalogError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: must be a mapping")
    unknown = set(data) - allowed
    if unknown:
        raise CatalogError(f"{path}: unknown field(s) {sorted(unknown)}")
    return data


def _load_meta(path: Path, rule_id: str) -> RuleMeta:
    if not path.is_file():
        raise CatalogError(f"{path}: missing metadata file for rule {rule_id}")
    data = load_yaml_mapping(path, _META_KEYS)
    for key in ("id", "slug", "title", "severity", "category", "rationale", "remediation"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CatalogError(f"{path}: {key}: required, a non-empty string")
    if data["id"] != rule_id:
        raise CatalogError(f"{path}: id: {data['id']!r} but the code says {rule_id!r}")
    if not _SLUG_RE.match(data["slug"]):
        raise CatalogError(f"{path}: slug: {data['slug']!r} must be kebab-case")
    if data["severity"] not in SEVERITIES:
        raise CatalogError(f"{path}: severity: {data['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if data["category"] not in CATEGORIES:
        raise CatalogError(f"{path}: category: {data['category']!r} is not one of {', '.join(CATEGORIES)}")
    refs = data.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, dict) and isinstance(r.get("title"), str) for r in refs):
        raise CatalogError(f"{path}: references: a list of {{title, url}}")
    example = data.get("remediation_example") or ""
    if example:
        try:
            list(yaml.load_all(example, Loader=_LOADER))
        except yaml.YAMLError as e:
            raise CatalogError(f"{path}: remediation_example: not valid YAML: {e}") from None
    return RuleMeta(data["id"], data["slug"], data["title"].strip(), data["severity"], data["category"],
                    data["rationale"].strip(), data["remediation"].strip(), example,
                    tuple({str(k): str(v) for k, v in r.items()} for r in refs), bool(data.get("deprecated")),
                    tuple(data.get("needs") or ()))


def _import(path: Path) -> Any:
    name = f"netpol_audit_rules.{hashlib.sha1(str(path).encode()).hexdigest()[:8]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a broken rule file is a catalog error, reported with its path
        raise CatalogError(f"{path}: failed to import: {type(e).__name__}: {e}") from None
    return module


def load_catalog(dirs: Iterable[Path]) -> Catalog:
    """Load every `*.py` rule module (with its sibling `.yaml`) from each directory, in order."""
    rules: dict[str, RuleDef] = {}
    for d in dirs:
        if not d.is_dir():
            raise CatalogError(f"{d}: rules directory not found")
        for path in sorted(d.glob("*.py")):
            if path.name.startswith("_"):
                continue
            module = _import(path)
            found = [v for v in vars(module).values() if isinstance(v, RuleDef)]
            if not found:
                raise CatalogError(f"{path}: defines no @rule function")
            for r in found:
                if r.id in rules:
                    raise CatalogError(f"{path}: rule {r.id} is also defined in {rules[r.id].path}")
                meta = _load_meta(path.with_suffix(".yaml"), r.id)
                rules[r.id] = RuleDef(r.id, r.func, meta, str(path))
    cat = Catalog(dict(sorted(rules.items())))
    for rid in cat.rules:
        slug = cat.meta(rid).slug
        if slug in cat.by_slug:
            raise CatalogError(f"slug {slug!r} is used by {cat.by_slug[slug]} and {rid}")
        cat.by_slug[slug] = rid
    return cat
