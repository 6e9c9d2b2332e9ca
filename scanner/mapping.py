"""Framework mappings: load `rules/frameworks/*.yaml` and judge each requirement from the findings.

The framework file owns the mapping (rules never name frameworks). Status of a requirement:
ERROR if a mapped rule errored or the collection was incomplete; else FAIL if a mapped finding fails (not
waived, above info); else PASS only if at least one mapped rule judged a subject on this input (so no check
that could not have failed yields a pass); else NOT_ASSESSED. When NP030 fails (the plugin enforces
nothing), every PASS is marked not effective.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.catalog import load_yaml_mapping
from scanner.errors import CatalogError

STRENGTHS = ("direct", "supporting")
PASS, FAIL, ERROR, NOT_ASSESSED = "PASS", "FAIL", "ERROR", "NOT_ASSESSED"


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    rules: tuple[str, ...]
    strength: str
    rationale: str
    note: str = ""
    level: str = ""


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    title: str
    version: str
    description: str
    reviewed_by: str
    reviewed_on: str
    requirements: tuple[Requirement, ...]
    threat_view: bool = False
    path: str = ""

    @property
    def signed_off(self) -> bool:
        return bool(self.reviewed_by and self.reviewed_on)


_FW_KEYS = {"id", "title", "version", "description", "reviewed_by", "reviewed_on", "requirements", "threat_view"}
_REQ_KEYS = {"id", "title", "rules", "strength", "rationale", "note", "level"}


def load_framework(path: Path, known_rules: set[str]) -> Framework:
    data = load_yaml_mapping(path, _FW_KEYS)
    for key in ("id", "title", "version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise CatalogError(f"{path}: {key}: required string")
    reqs = []
    seen: set[str] = set()
    for i, r in enumerate(data.get("requirements") or []):
        where = f"{path}: requirements[{i}]"
        if not isinstance(r, dict):
            raise CatalogError(f"{where}: must be a mapping")
        if set(r) - _REQ_KEYS:
            raise CatalogError(f"{where}: unknown field(s) {sorted(set(r) - _REQ_KEYS)}")
        rid = str(r.get("id") or "")
        if not rid or rid in seen:
            raise CatalogError(f"{where}: id missing or duplicated ({rid!r})")
        seen.add(rid)
        rules = tuple(r.get("rules") or ())
        for rule_id in rules:
            if rule_id not in known_rules:
                raise CatalogError(f"{where} ({rid}): rules: {rule_id} is not in the rule catalog")
        strength = r.get("strength") or ("supporting" if not rules else "direct")
        if strength not in STRENGTHS:
            raise CatalogError(f"{where} ({rid}): strength: {strength!r} (direct or supporting)")
        rationale = str(r.get("rationale") or "").strip()
        if rules and not rationale:
            raise CatalogError(f"{where} ({rid}): rationale: required when rules are mapped")
        if not isinstance(r.get("title"), str) or not r["title"].strip():
            raise CatalogError(f"{where} ({rid}): title: required")
        reqs.append(Requirement(rid, r["title"].strip(), rules, strength, rationale, str(r.get("note") or ""),
                                str(r.get("level") or "")))
    if not reqs:
        raise CatalogError(f"{path}: requirements: at least one")
    return Framework(data["id"], data["title"], data["version"], str(data.get("description") or ""),
                     str(data.get("reviewed_by") or ""), str(data.get("reviewed_on") or ""), tuple(reqs),
                     bool(data.get("threat_view")), str(path))


def load_frameworks(directory: Path, known_rules: set[str]) -> dict[str, Framework]:
    out: dict[str, Framework] = {}
    for path in sorted(directory.glob("*.yaml")):
        fw = load_framework(path, known_rules)
        if fw.id in out:
            raise CatalogError(f"{path}: framework id {fw.id} is also used by {out[fw.id].path}")
        out[fw.id] = fw
    return out


def evaluate(fw: Framework, outcomes: dict[str, dict[str, Any]], complete: bool,
             plugin_inert: bool) -> dict[str, Any]:
    """Judge every requirement. `outcomes[rule]`: {"fail": [ids], "fail_info": [ids], "waived": [ids],
    "pass": n, "error": bool, "applicable": bool}."""
    rows = []
    for req in fw.requirements:
        failing: list[str] = []
        waived: list[str] = []
        observed: list[str] = []
        errored = judged = False
        for rid in req.rules:
            o = outcomes.get(rid)
            if o is None:  # disabled rule
                continue
            failing += o["fail"]
            waived += o["waived"]
            observed += o["fail_info"]
            errored = errored or o["error"]
            judged = judged or o["pass"] > 0 or bool(o["fail"]) or bool(o["waived"])
        if not req.rules:
            status, why = NOT_ASSESSED, "no automated check: assess manually"
        elif errored:
            status, why = ERROR, "a mapped rule could not be evaluated"
        elif failing:
            status, why = FAIL, f"{len(failing)} failing finding(s)"
        elif not complete and judged:
            status, why = ERROR, "the collection is incomplete: a pass cannot be claimed"
        elif judged:
            status, why = PASS, "every mapped check that applies passed"
        else:
            status, why = NOT_ASSESSED, "no mapped check applies to this input: assess manually"
        effective = not (status == PASS and plugin_inert)
        rows.append({"id": req.id, "title": req.title, "status": status, "reason": why,
                     "effective": effective, "strength": req.strength, "rationale": req.rationale,
                     "note": req.note, "level": req.level, "rules": list(req.rules),
                     "findings": sorted(set(failing)), "waived_findings": sorted(set(waived)),
                     "observations": sorted(set(observed))})
    assessed = [r for r in rows if r["status"] != NOT_ASSESSED]
    passed = [r for r in assessed if r["status"] == PASS]
    return {
        "id": fw.id, "title": fw.title, "version": fw.version, "description": fw.description,
        "reviewed_by": fw.reviewed_by or None, "reviewed_on": fw.reviewed_on or None,
        "signed_off": fw.signed_off, "threat_view": fw.threat_view,
        "score": round(100 * len(passed) / len(assessed), 1) if assessed else None,
        "coverage": round(100 * len(assessed) / len(rows), 1),
        "counts": {s: sum(1 for r in rows if r["status"] == s) for s in (PASS, FAIL, ERROR, NOT_ASSESSED)},
        "requirements": rows,
    }
