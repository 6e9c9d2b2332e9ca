"""Every rule against its pass and fail fixtures (tests/rules/<ID>/*.yaml), asserting exact subjects."""

import json
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from scanner.api import load
from scanner.catalog import Catalog, load_catalog
from scanner.config import load_config
from scanner.context import Context, PluginInfo
from scanner.findings import FAIL, NOT_APPLICABLE, PASS
from scanner.resources import bundled

FIXTURES = Path(__file__).parent / "rules"


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog([bundled("rules")])


def fixture_files():
    return sorted(FIXTURES.glob("NP*/*.yaml"))


def _spec(path: Path) -> dict:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d.get("kind") == "RuleTest"]
    assert len(docs) == 1, f"{path}: needs exactly one RuleTest document"
    return docs[0]


def run_fixture(path: Path, tmp_path: Path):
    spec = _spec(path)
    config_path = None
    if spec.get("config") is not None:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(yaml.safe_dump(spec["config"]))
    requirements = None
    if spec.get("requirements") is not None:  # a segmentation requirement file (NP038), inline
        from scanner.requirements import load_requirements

        (tmp_path / "requirements.yaml").write_text(yaml.safe_dump(spec["requirements"]))
        requirements = load_requirements(str(tmp_path / "requirements.yaml"))
    loaded = load([str(path)])
    coll = spec.get("collection") or {}
    plugin = spec.get("plugin")
    from scanner.plugin import detect_plugin

    observed = None
    if spec.get("observed_flows") is not None:  # a list of flows, or a whole flow document (with a window)
        from scanner.flows import load_flows

        flows = spec["observed_flows"]
        (tmp_path / "flows.json").write_text(json.dumps(flows if isinstance(flows, dict) else {"flows": flows}))
        observed = load_flows(str(tmp_path / "flows.json"))

    ctx = Context(loaded.cluster, loaded.index, load_config(str(config_path) if config_path else None),
                  spec.get("source_type", "manifests"), coll.get("complete", True),
                  tuple(coll.get("problems") or ()),
                  PluginInfo(plugin.get("name"), plugin.get("enforces")) if plugin else
                  detect_plugin(loaded.cluster), requirements=requirements, observed_flows=observed)
    rule_id = path.parent.name
    return spec["expect"], list(catalog().rules[rule_id](ctx))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rule_fixture(path, tmp_path):
    expect, results = run_fixture(path, tmp_path)
    failing = sorted(r.subject.ref for r in results if r.status == FAIL)
    assert failing == sorted(expect.get("failing") or []), "\n".join(f"{r.status} {r.subject.ref}: {r.message}"
                                                                    for r in results)
    if path.name.startswith("pass-"):
        assert failing == []
    if expect.get("not_applicable"):
        assert results and all(r.status == NOT_APPLICABLE for r in results), [r.status for r in results]
    elif path.name.startswith("pass-"):
        assert any(r.status == PASS for r in results), "a pass fixture must give the rule something to judge"
    passing = {r.subject.ref for r in results if r.status == PASS}
    for ref in expect.get("passing") or []:
        assert ref in passing, f"{ref} should PASS; passing: {sorted(passing)}"
    for ref, sev in (expect.get("severity") or {}).items():
        got = [r.severity for r in results if r.subject.ref == ref and r.status == FAIL]
        assert got and all((s or catalog().meta(path.parent.name).severity) == sev for s in got), (ref, got)


def test_every_rule_has_pass_and_fail_fixtures():
    missing = []
    for rid in catalog().rules:
        files = [p.name for p in (FIXTURES / rid).glob("*.yaml")]
        if not any(f.startswith("pass-") for f in files) or not any(f.startswith("fail-") for f in files):
            missing.append(rid)
    assert missing == []
