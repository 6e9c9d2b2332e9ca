"""Catalog integrity: rule ids and slugs, agreement with RULES.md, and the framework mappings."""

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from scanner.catalog import load_catalog
from scanner.errors import CatalogError
from scanner.mapping import load_frameworks
from scanner.resources import bundled

RULES_MD = Path(ROOT).parent / "shared" / "RULES.md"
ADDED_MD = Path(ROOT) / "docs" / "rules-added.md"  # rules later issues added beyond the contract catalog
ID_RE = re.compile(r"^NP\d{3}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FRAMEWORK_IDS = {"cis-kubernetes", "pci-dss-4.0.1", "hipaa-security-rule", "nist-800-53-r5",
                 "nsa-cisa-k8s-hardening", "soc2", "iso-27001-2022", "mitre-attack"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog([bundled("rules")])


@pytest.fixture(scope="module")
def frameworks(catalog):
    return load_frameworks(bundled("rules") / "frameworks", set(catalog.rules))


def framework_files():
    return sorted((bundled("rules") / "frameworks").glob("*.yaml"))


def documented_rules() -> dict[str, tuple[str, str]]:
    """{id: (slug, severity)} from the tables of RULES.md and docs/rules-added.md
    (`| ID | slug | definition | sev |`); an id in both, or twice in one, fails."""
    out = {}
    for path in (RULES_MD, ADDED_MD):
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and ID_RE.match(cells[0]):
                assert cells[0] not in out, f"{path.name} lists {cells[0]}, which is already documented"
                out[cells[0]] = (cells[1], cells[-1])
    return out


def requires_rules_md():
    if not RULES_MD.is_file():
        pytest.skip(f"{RULES_MD} not found: the catalog cannot be compared with the rule specification")


# --- rules -----------------------------------------------------------------------------------------------------

def test_rule_ids_are_unique_and_well_formed(catalog):
    ids = list(catalog.rules)
    assert ids, "the bundled catalog is empty"
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not ID_RE.match(i)] == []
    for rid, r in catalog.rules.items():
        assert r.id == rid
        assert catalog.meta(rid).id == rid


def test_slugs_are_unique_and_kebab_case(catalog):
    slugs = [catalog.meta(rid).slug for rid in catalog.rules]
    assert len(slugs) == len(set(slugs)), sorted(s for s in slugs if slugs.count(s) > 1)
    assert [s for s in slugs if not SLUG_RE.match(s)] == []
    for rid in catalog.rules:
        assert catalog.resolve(catalog.meta(rid).slug) == rid


def test_rule_slug_and_severity_match_rules_md(catalog):
    requires_rules_md()
    documented = documented_rules()
    assert documented, f"no rule table found in {RULES_MD}"
    mismatches = []
    for rid in catalog.rules:
        meta = catalog.meta(rid)
        if rid not in documented:
            mismatches.append(f"{rid}: not in RULES.md")
            continue
        slug, severity = documented[rid]
        if meta.slug != slug:
            mismatches.append(f"{rid}: slug {meta.slug!r}, RULES.md says {slug!r}")
        if meta.severity != severity:
            mismatches.append(f"{rid}: severity {meta.severity!r}, RULES.md says {severity!r}")
    assert mismatches == []


def test_every_rule_in_rules_md_is_implemented(catalog):
    requires_rules_md()
    assert sorted(set(documented_rules()) - set(catalog.rules)) == []


# --- frameworks ------------------------------------------------------------------------------------------------

def test_framework_ids_are_the_eight_shipped(frameworks):
    assert set(frameworks) == FRAMEWORK_IDS


def test_framework_file_is_named_after_its_id(frameworks):
    for fw in frameworks.values():
        assert Path(fw.path).stem == fw.id


def test_only_mitre_is_a_threat_view(frameworks):
    assert {k for k, fw in frameworks.items() if fw.threat_view} == {"mitre-attack"}


def test_every_mapped_rule_exists(frameworks, catalog):
    for fw in frameworks.values():
        for req in fw.requirements:
            assert set(req.rules) <= set(catalog.rules), (fw.id, req.id)


def test_framework_naming_an_unknown_rule_is_rejected(tmp_path, catalog):
    (tmp_path / "bad.yaml").write_text(
        "id: bad\ntitle: Bad\nversion: '1'\nreviewed_by: ''\nreviewed_on: ''\nrequirements:\n"
        "  - id: '1.1'\n    title: A requirement\n    rules: [NP001, NP999]\n    strength: direct\n"
        "    rationale: NP999 does not exist.\n")
    assert "NP999" not in catalog.rules
    with pytest.raises(CatalogError, match="NP999"):
        load_frameworks(tmp_path, set(catalog.rules))


def test_every_requirement_with_rules_has_a_rationale_and_strength(frameworks):
    for fw in frameworks.values():
        for req in fw.requirements:
            assert req.title.strip(), (fw.id, req.id)
            if req.rules:
                assert req.rationale.strip(), (fw.id, req.id)
                assert "\n" not in req.rationale.strip(), f"{fw.id} {req.id}: the rationale is one line"
                assert req.strength in ("direct", "supporting"), (fw.id, req.id)


def test_every_framework_has_review_fields_and_a_description():
    files = framework_files()
    assert files
    for path in files:
        data = yaml.safe_load(path.read_text())
        assert "reviewed_by" in data, path.name
        assert "reviewed_on" in data, path.name
        assert isinstance(data["reviewed_by"], str), path.name
        assert isinstance(data["reviewed_on"], str), path.name
        assert str(data.get("description") or "").strip(), path.name


def _req(fw, rid):
    found = [r for r in fw.requirements if r.id == rid]
    assert found, f"{fw.id} has no requirement {rid}"
    return found[0]


def test_pci_dss_segmentation_requirements(frameworks):
    pci = frameworks["pci-dss-4.0.1"]
    assert set(_req(pci, "1.3.1").rules) == {"NP002", "NP004", "NP006", "NP010", "NP012", "NP013", "NP019", "NP036",
                                             "NP037", "NP038"}
    assert set(_req(pci, "1.3.2").rules) == {"NP003", "NP005", "NP011", "NP013", "NP015", "NP019", "NP036", "NP037",
                                             "NP038"}
    assert _req(pci, "1.3.1").strength == _req(pci, "1.3.2").strength == "direct"


def test_pci_dss_keeps_not_assessed_requirements(frameworks):
    pci = frameworks["pci-dss-4.0.1"]
    for rid in ("1.2.2", "1.2.3", "1.2.4", "1.2.6", "1.2.8", "1.3.3", "1.4.3", "1.5.1"):
        assert _req(pci, rid).rules == ()
    pen_test = _req(pci, "11.4.5")
    assert pen_test.strength == "supporting"
    assert "penetration test" in pen_test.note


def test_hipaa_audit_controls_are_not_assessed(frameworks):
    assert _req(frameworks["hipaa-security-rule"], "164.312(b)").rules == ()


def test_readme_rule_table_equals_the_catalog():
    from pathlib import Path

    from scanner.catalog import load_catalog
    from scanner.render.catalog import render_rules
    from scanner.resources import bundled

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("<!-- rules:begin -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert table == render_rules(load_catalog([bundled("rules")]), "md"), \
        "README rule table is stale: regenerate it with `netpol-audit rules -o md`"
