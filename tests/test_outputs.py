"""Output formats of `scan`: the JSON against docs/result.schema.json, SARIF against the vendored SARIF 2.1.0
schema, JUnit against tests/schemas/junit.xsd, and the CSV and Markdown defences against hostile strings.

Real scans run in-process through the CLI; strings the Kubernetes API would reject (names with `<`, `|`,
newlines) are tested on a hand-built copy of a real result, rendered directly.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.render import csv_out, junit, markdown, sarif

SCHEMAS = ROOT / "tests" / "schemas"
EXAMPLE_REL = "examples/shop-cluster"
TIMESTAMP = "2026-01-01T00:00:00Z"
FORMATS = "json,sarif,junit,md,csv"
HOSTILE_FILE_DIR = "=cmd|' "  # with the file below: the path "=cmd|' /C calc'!A0.yaml"
HOSTILE_FILE = "C calc'!A0.yaml"
HOSTILE_REASON = '=HYPERLINK("https://evil.example","ok") <script>alert(1)</script> | @security-team'

HOSTILE_MANIFESTS = """apiVersion: v1
kind: Namespace
metadata:
  name: hostile
  labels: {team: red}
  annotations:
    owner: "=cmd|' /C calc'!A0"
    description: "<script>alert(1)</script> | `x`"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: hostile, annotations: {note: "=1+2"}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
"""

HOSTILE_CONFIG = f"""waivers:
  - rule: NP001
    subject: Namespace/hostile
    reason: {json.dumps(HOSTILE_REASON)}
    owner: "@mallory"
    expires: 2099-12-31
"""


# --- helpers -------------------------------------------------------------------------------------------------

def _scan(out: Path, *inputs: str, config: str | None = None) -> dict[str, str]:
    extra = ["--config", config] if config else []
    rc, _, err = run_cli("-q", "scan", *inputs, "-o", str(out), "--format", FORMATS, "--timestamp", TIMESTAMP,
                         *extra)
    assert rc in (0, 1, 3), err
    return {ext: (out / f"netpol-audit.{ext}").read_text(encoding="utf-8")
            for ext in ("json", "sarif", "junit.xml", "md", "csv")}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bundled example scanned from the repository root, so manifest paths are relative."""
    out = tmp_path_factory.mktemp("example-out")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        texts = _scan(out, EXAMPLE_REL)
    return {"texts": texts, "result": json.loads(texts["json"])}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A namespace whose manifest file name is a spreadsheet formula, with hostile annotations and a waiver
    whose reason is a formula with HTML: everything the API and the configuration accept."""
    base = tmp_path_factory.mktemp("hostile")
    (base / HOSTILE_FILE_DIR).mkdir()
    (base / HOSTILE_FILE_DIR / HOSTILE_FILE).write_text(HOSTILE_MANIFESTS)
    (base / "config.yaml").write_text(HOSTILE_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(base)
        texts = _scan(base / "out", HOSTILE_FILE_DIR, config="config.yaml")
    return {"texts": texts, "result": json.loads(texts["json"])}


def _load_schema(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _validate_json(instance: Any, schema: Any) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def _result_schema() -> Any:
    return json.loads((ROOT / "docs" / "result.schema.json").read_text(encoding="utf-8"))


def _ref(s: dict[str, Any]) -> str:
    return f"{s['kind']}/{s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']}/{s['name']}"


def _finding(result: dict[str, Any], rule: str, ref: str) -> dict[str, Any]:
    [f] = [f for f in result["findings"] if f["rule"] == rule and _ref(f["subject"]) == ref]
    return f


def _doc_start_line(path: Path) -> int:
    """1-based line of the first YAML content line (what the loader reports for a one-document file)."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            return n
    raise AssertionError(f"{path} is empty")


def _hostile_result(result: dict[str, Any]) -> dict[str, Any]:
    """A real result with strings no API server would accept, in the places renderers print."""
    r = copy.deepcopy(result)
    fail = next(f for f in r["findings"] if f["status"] == "FAIL")
    fail["subject"] = {"kind": "=2+3", "namespace": "=cmd|' /C calc'!A0",
                       "name": "<script>alert(1)</script>|x\x00\x1b"}
    fail["message"] = ("@org/team line1\n| injected | row |\r\n`code` [link](https://evil.example) "
                       "<img src=x onerror=alert(1)> **bold** \\| ~~x~~ &lt;")
    fail["evidence"] = {"label": "\x01<b>\x7f", "=x": ["+1", "-1", "@1"]}
    fail["location"] = {"file": "-rm -rf.yaml", "document": 1, "line": 1}
    return r


# --- JSON ----------------------------------------------------------------------------------------------------

def test_json_result_validates_against_the_documented_schema(example, hostile):
    schema = _result_schema()
    assert _validate_json(example["result"], schema) == []
    assert _validate_json(hostile["result"], schema) == []


def test_result_schema_is_strict_where_the_shape_is_fixed(example):
    schema = _result_schema()
    base = example["result"]
    broken = []
    r = copy.deepcopy(base)
    r["findings"][0]["status"] = "OK"
    broken.append(r)
    r = copy.deepcopy(base)
    r["findings"][0]["severity"] = "severe"
    broken.append(r)
    r = copy.deepcopy(base)
    r["findings"][0]["extra"] = 1
    broken.append(r)
    r = copy.deepcopy(base)
    r["summary"]["findings"]["SKIPPED"] = 0
    broken.append(r)
    r = copy.deepcopy(base)
    r["frameworks"][0]["requirements"][0]["status"] = "WAIVED"
    broken.append(r)
    r = copy.deepcopy(base)
    del r["coverage"]["statement"]
    broken.append(r)
    r = copy.deepcopy(base)
    r["schema_version"] = 2
    broken.append(r)
    for b in broken:
        assert _validate_json(b, schema), "the schema accepted a result it should reject"
    r = copy.deepcopy(base)
    r["findings"][0]["evidence"] = {"anything": {"nested": [1, None, "x"]}}  # evidence is free-form
    r["findings"][1].update(status="ERROR", subject={"kind": "Cluster", "namespace": None, "name": "cluster"},
                            location=None, evidence={"exception": "KeyError"})
    assert _validate_json(r, schema) == []


# --- SARIF ---------------------------------------------------------------------------------------------------

def test_sarif_validates_and_reports_every_fail_waived_and_error_finding(example, hostile):
    schema = _load_schema("sarif-schema-2.1.0.json")
    for case in (example, hostile):
        log = json.loads(case["texts"]["sarif"])
        assert _validate_json(log, schema) == []
        [run] = log["runs"]
        reported = [f for f in case["result"]["findings"] if f["status"] in ("FAIL", "WAIVED", "ERROR")]
        assert len(run["results"]) == len(reported)
        assert [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]] == \
            [f["id"] for f in reported]
        for res, f in zip(run["results"], reported, strict=True):
            assert res["ruleId"] == f["rule"]
            assert res["message"]["text"].endswith(f["message"])
            assert res["properties"]["subject"] == f["subject"]
            assert res["properties"]["controls"] == f["controls"]
            assert res["properties"]["evidence"] == f["evidence"]
            assert ("suppressions" in res) == (f["status"] == "WAIVED")
        driver = run["tool"]["driver"]
        assert driver["name"] == "netpol-audit"
        assert driver["version"] == case["result"]["tool"]["version"]
        assert [r["id"] for r in driver["rules"]] == sorted(m["id"] for m in case["result"]["rules"])
        for res in run["results"]:
            assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_sarif_points_at_the_manifest_file_and_line_of_a_known_finding(example):
    finding = _finding(example["result"], "NP003", "Namespace/shop-db")
    assert finding["status"] == "FAIL"
    manifest = f"{EXAMPLE_REL}/shop-db/namespace.yaml"
    line = _doc_start_line(ROOT / manifest)
    assert finding["location"]["file"] == manifest
    assert finding["location"]["line"] == line
    log = json.loads(example["texts"]["sarif"])
    [res] = [r for r in log["runs"][0]["results"]
             if r["partialFingerprints"][sarif.FINGERPRINT_KEY] == finding["id"]]
    [loc] = res["locations"]
    assert loc["physicalLocation"] == {"artifactLocation": {"uri": manifest, "uriBaseId": "SRCROOT"},
                                       "region": {"startLine": line}}
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "Namespace/shop-db"
    assert res["level"] == sarif.LEVELS[finding["severity"]]
    assert res["kind"] == "fail"


def test_sarif_rules_carry_metadata_levels_and_security_severity(example):
    log = json.loads(example["texts"]["sarif"])
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    for meta in example["result"]["rules"]:
        r = rules[meta["id"]]
        assert r["name"] == meta["slug"]
        assert r["shortDescription"]["text"] == meta["title"]
        assert r["fullDescription"]["text"] == meta["rationale"]
        assert r["help"]["text"].startswith(meta["remediation"])
        if meta["remediation_example"]:
            assert meta["remediation_example"].rstrip("\n") in r["help"]["markdown"]
            assert "```yaml\n" in r["help"]["markdown"]
        assert r["defaultConfiguration"]["level"] == {"critical": "error", "high": "error", "medium": "warning",
                                                      "low": "note", "info": "note"}[meta["severity"]]
        assert float(r["properties"]["security-severity"]) >= 0
        assert "security" in r["properties"]["tags"]


def test_sarif_waiver_is_an_external_suppression_with_the_reason(hostile):
    finding = _finding(hostile["result"], "NP001", "Namespace/hostile")
    assert finding["status"] == "WAIVED"
    log = json.loads(hostile["texts"]["sarif"])
    [res] = [r for r in log["runs"][0]["results"]
             if r["partialFingerprints"][sarif.FINGERPRINT_KEY] == finding["id"]]
    [sup] = res["suppressions"]
    assert sup["kind"] == "external"
    assert sup["justification"] == HOSTILE_REASON
    # A relative path with characters a URI cannot hold is percent-encoded, not passed through.
    uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "%3Dcmd%7C%27%20/C%20calc%27%21A0.yaml"


def test_sarif_is_deterministic_and_holds_no_time_of_its_own(example):
    text = example["texts"]["sarif"]
    assert sarif.render(example["result"]) == text
    times = set(re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?", text))
    assert times <= {TIMESTAMP}


def test_sarif_error_finding_and_locations_without_a_file(example):
    r = copy.deepcopy(example["result"])
    f = next(x for x in r["findings"] if x["status"] == "FAIL")
    f.update(status="ERROR", subject={"kind": "Cluster", "namespace": None, "name": "cluster"}, location=None,
             message="the rule crashed (KeyError: 'x'); its checks were not evaluated")
    g = next(x for x in r["findings"] if x["status"] == "FAIL" and x is not f)
    g["location"] = {"file": "/abs/dir with space/ns.yaml", "document": 2, "line": None}
    log = json.loads(sarif.render(r))
    assert _validate_json(log, _load_schema("sarif-schema-2.1.0.json")) == []
    run = log["runs"][0]
    by_id = {x["partialFingerprints"][sarif.FINGERPRINT_KEY]: x for x in run["results"]}
    err = by_id[f["id"]]
    assert err["level"] == "error"
    assert "could not be evaluated" in err["message"]["text"]
    assert err["locations"] == [{"logicalLocations": [{
        "name": "cluster", "fullyQualifiedName": "Cluster/cluster", "kind": "resource",
        "properties": {"kubernetesKind": "Cluster", "namespace": None}}]}]
    [inv] = run["invocations"]
    assert inv["executionSuccessful"] is False
    assert [n["descriptor"]["id"] for n in inv["toolExecutionNotifications"]] == [f["rule"]]
    assert by_id[g["id"]]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "file:///abs/dir%20with%20space/ns.yaml"}}
    # stdin has no artifact to point at: a logical location only.
    g["location"] = {"file": "<stdin>", "document": 1, "line": 3}
    log = json.loads(sarif.render(r))
    loc = {x["partialFingerprints"][sarif.FINGERPRINT_KEY]: x for x in log["runs"][0]["results"]}[g["id"]]
    assert "physicalLocation" not in loc["locations"][0]


def test_sarif_survives_hostile_strings(example):
    r = _hostile_result(example["result"])
    text = sarif.render(r)
    log = json.loads(text)
    assert _validate_json(log, _load_schema("sarif-schema-2.1.0.json")) == []
    f = next(x for x in r["findings"] if x["status"] == "FAIL")
    [res] = [x for x in log["runs"][0]["results"] if x["partialFingerprints"][sarif.FINGERPRINT_KEY] == f["id"]]
    assert res["message"]["text"] == f["message"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "-rm%20-rf.yaml"


# --- JUnit ---------------------------------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"
_XS_CONSTRUCTS = {f"{XS}{n}" for n in ("schema", "element", "complexType", "sequence", "choice", "attribute",
                                       "simpleContent", "extension", "simpleType", "restriction",
                                       "enumeration")}
_XS_TYPES = {
    "xs:string": lambda v: True,
    "xs:nonNegativeInteger": lambda v: re.fullmatch(r"\+?\d+", v) is not None,
    "xs:positiveInteger": lambda v: re.fullmatch(r"\+?\d+", v) is not None and int(v) > 0,
    "xs:decimal": lambda v: re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", v) is not None,
    "xs:dateTime": lambda v: re.fullmatch(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
                                          v) is not None,
}


class MiniXSD:
    """A validator for exactly the XSD constructs junit.xsd uses; it refuses a schema with any other, so the
    XSD cannot grow past what is checked."""

    def __init__(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        unknown = {e.tag for e in root.iter() if isinstance(e.tag, str)} - _XS_CONSTRUCTS
        assert not unknown, f"{path}: XSD constructs the test validator does not implement: {unknown}"
        self.elements = {e.get("name"): e for e in root.findall(f"{XS}element")}
        self.types = {t.get("name"): {x.get("value") for x in t.iter(f"{XS}enumeration")}
                      for t in root.findall(f"{XS}simpleType")}

    def validate(self, el: ET.Element) -> list[str]:
        errors: list[str] = []
        self._element(el, el.tag, errors)
        return errors

    def _valid(self, type_name: str, value: str) -> bool:
        if type_name in self.types:
            return value in self.types[type_name]
        assert type_name in _XS_TYPES, f"type {type_name} not implemented"
        return bool(_XS_TYPES[type_name](value))

    def _element(self, el: ET.Element, path: str, errors: list[str]) -> None:
        decl = self.elements.get(el.tag)
        if decl is None:
            errors.append(f"{path}: element {el.tag!r} is not declared")
            return
        ct = decl.find(f"{XS}complexType")
        assert ct is not None
        ext = ct.find(f"{XS}simpleContent/{XS}extension")
        attrs = {a.get("name"): a for a in [*ct.findall(f"{XS}attribute"),
                                            *(ext.findall(f"{XS}attribute") if ext is not None else [])]}
        for name, value in el.attrib.items():
            a = attrs.get(name)
            if a is None:
                errors.append(f"{path}: attribute {name!r} is not declared")
            elif not self._valid(a.get("type", "xs:string"), value):
                errors.append(f"{path}: @{name}={value!r} is not a {a.get('type')}")
        for name, a in attrs.items():
            if a.get("use") == "required" and name not in el.attrib:
                errors.append(f"{path}: required attribute {name!r} missing")
        children = list(el)
        if ext is not None:
            if children:
                errors.append(f"{path}: text-only element has child elements")
            return
        if (el.text or "").strip() or any((c.tail or "").strip() for c in children):
            errors.append(f"{path}: text where only elements are allowed")
        model = next((c for c in ct if c.tag in (f"{XS}sequence", f"{XS}choice")), None)
        end = self._match(model, children, 0) if model is not None else 0
        if end is None or end != len(children):
            at = children[end].tag if end is not None and end < len(children) else "?"
            errors.append(f"{path}: children {[c.tag for c in children]} do not fit the content model (at {at})")
        for c in children:
            self._element(c, f"{path}/{c.tag}", errors)

    @staticmethod
    def _occurs(p: ET.Element) -> tuple[int, float]:
        hi = p.get("maxOccurs", "1")
        return int(p.get("minOccurs", "1")), math.inf if hi == "unbounded" else int(hi)

    def _match(self, p: ET.Element, children: list[ET.Element], i: int) -> int | None:
        lo, hi = self._occurs(p)
        n = 0
        while n < hi:
            j = self._one(p, children, i)
            if j is None or j == i:
                break
            i, n = j, n + 1
        return i if n >= lo else None

    def _one(self, p: ET.Element, children: list[ET.Element], i: int) -> int | None:
        if p.tag == f"{XS}element":
            return i + 1 if i < len(children) and children[i].tag == p.get("ref") else None
        if p.tag == f"{XS}sequence":
            for q in p:
                nxt = self._match(q, children, i)
                if nxt is None:
                    return None
                i = nxt
            return i
        for q in p:  # choice
            nxt = self._match(q, children, i)
            if nxt is not None and nxt > i:
                return nxt
        return None


@pytest.fixture(scope="module")
def junit_xsd() -> MiniXSD:
    return MiniXSD(SCHEMAS / "junit.xsd")


def test_junit_xsd_validator_catches_what_it_should(example, junit_xsd):
    root = ET.fromstring(example["texts"]["junit.xml"])
    assert junit_xsd.validate(root) == []
    bad = copy.deepcopy(root)
    del bad.attrib["tests"]
    bad.find("testsuite").set("failures", "many")
    case = bad.find("testsuite/testcase")
    ET.SubElement(case, "failure", message="m", type="high")
    ET.SubElement(case, "skipped", message="s")
    ET.SubElement(bad, "unexpected")
    errors = junit_xsd.validate(bad)
    assert any("required attribute 'tests'" in e for e in errors)
    assert any("@failures='many'" in e for e in errors)
    assert any("do not fit the content model" in e and "testcase" in e for e in errors)
    assert any("'unexpected'" in e for e in errors)


def _expected_cases(result: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(rule, subject ref) -> worst status, as the JUnit renderer groups findings."""
    rank = {"ERROR": 0, "FAIL": 1, "WAIVED": 2, "NOT_APPLICABLE": 3, "PASS": 4}
    out: dict[tuple[str, str], str] = {}
    for f in result["findings"]:
        key = (f["rule"], _ref(f["subject"]))
        if key not in out or rank[f["status"]] < rank[out[key]]:
            out[key] = f["status"]
    return out


def _case_status(case: ET.Element) -> str:
    kids = [c.tag for c in case]
    assert len(kids) <= 1
    return {"failure": "FAIL", "error": "ERROR", "skipped": "SKIPPED"}[kids[0]] if kids else "PASS"


def test_junit_validates_and_counts_match_the_json(example, hostile, junit_xsd):
    for case in (example, hostile):
        text = case["texts"]["junit.xml"]
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
        root = ET.fromstring(text)
        assert junit_xsd.validate(root) == []
        result = case["result"]
        expected = _expected_cases(result)
        got = {}
        for suite in root.findall("testsuite"):
            rule = suite.get("name").split(" ")[0]
            meta = next(m for m in result["rules"] if m["id"] == rule)
            assert suite.get("name") == f"{rule} {meta['slug']}"
            statuses = Counter(_case_status(c) for c in suite.findall("testcase"))
            assert int(suite.get("tests")) == sum(statuses.values())
            assert int(suite.get("failures")) == statuses["FAIL"]
            assert int(suite.get("errors")) == statuses["ERROR"]
            assert int(suite.get("skipped")) == statuses["SKIPPED"]
            for c in suite.findall("testcase"):
                assert c.get("classname") == rule
                got[(rule, c.get("name"))] = _case_status(c)
        assert got == {k: "SKIPPED" if v in ("WAIVED", "NOT_APPLICABLE") else v for k, v in expected.items()}
        totals = Counter(expected.values())
        assert int(root.get("tests")) == len(expected)
        assert int(root.get("failures")) == totals["FAIL"]
        assert int(root.get("errors")) == totals["ERROR"]
        assert int(root.get("skipped")) == totals["WAIVED"] + totals["NOT_APPLICABLE"]
        assert root.get("timestamp") == TIMESTAMP
    # Where every (rule, subject) has one finding, as in the example, the JUnit counts are the JSON's counts.
    s = example["result"]["summary"]["findings"]
    root = ET.fromstring(example["texts"]["junit.xml"])
    assert len(_expected_cases(example["result"])) == len(example["result"]["findings"])
    assert int(root.get("tests")) == sum(s.values())
    assert int(root.get("failures")) == s["FAIL"]
    assert int(root.get("errors")) == s["ERROR"]
    assert int(root.get("skipped")) == s["WAIVED"] + s["NOT_APPLICABLE"]


def test_junit_has_the_known_failure_and_the_waiver(example, hostile):
    finding = _finding(example["result"], "NP003", "Namespace/shop-db")
    root = ET.fromstring(example["texts"]["junit.xml"])
    [suite] = [s for s in root.findall("testsuite") if s.get("name") == "NP003 missing-default-deny-egress"]
    [case] = [c for c in suite.findall("testcase") if c.get("name") == "Namespace/shop-db"]
    assert case.get("classname") == "NP003"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == finding["severity"]
    assert failure.get("message") == finding["message"]
    assert finding["message"] in failure.text
    assert "evidence:" in failure.text
    assert case.get("file") == finding["location"]["file"]
    assert case.get("line") == str(finding["location"]["line"])
    passed = [c for s in root.findall("testsuite") for c in s.findall("testcase") if len(c) == 0]
    assert passed, "PASS findings are plain testcases"
    root = ET.fromstring(hostile["texts"]["junit.xml"])
    [case] = [c for c in root.iter("testcase") if c.get("classname") == "NP001"
              and c.get("name") == "Namespace/hostile"]
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == f"waived: {HOSTILE_REASON} (owner @mallory, expires 2099-12-31)"


def test_junit_stays_well_formed_with_hostile_strings(example, junit_xsd):
    r = _hostile_result(example["result"])
    f = next(x for x in r["findings"] if x["status"] == "FAIL")
    f["subject"]["name"] += "\ud800\ufffe"  # a lone surrogate (YAML's "\ud800" makes one), a non-character
    text = junit.render(r)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", text)
    root = ET.fromstring(text)
    assert junit_xsd.validate(root) == []
    [case] = [c for c in root.iter("testcase") if c.get("classname") == f["rule"] and "script" in c.get("name")]
    assert case.get("name") == "=2+3/=cmd|' /C calc'!A0/<script>alert(1)</script>|x"
    failure = case.find("failure")
    assert failure.get("message") == f["message"]  # attribute newlines survive as character references
    assert "<b>" in failure.text


# --- CSV -----------------------------------------------------------------------------------------------------

def _csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == csv_out.COLUMNS
    assert all(len(r) == len(csv_out.COLUMNS) for r in rows)
    return [dict(zip(csv_out.COLUMNS, r, strict=True)) for r in rows[1:]]


def _no_formula(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for col, value in row.items():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), (col, value)


def test_csv_has_one_row_per_finding_with_location_and_controls(example):
    rows = _csv(example["texts"]["csv"])
    findings = example["result"]["findings"]
    assert [r["id"] for r in rows] == [f["id"] for f in findings]
    assert Counter(r["status"] for r in rows) == Counter(f["status"] for f in findings)
    _no_formula(rows)
    finding = _finding(example["result"], "NP003", "Namespace/shop-db")
    [row] = [r for r in rows if r["id"] == finding["id"]]
    assert row == {
        "id": finding["id"], "rule": "NP003", "slug": "missing-default-deny-egress",
        "severity": finding["severity"], "status": "FAIL", "kind": "Namespace", "namespace": "",
        "name": "shop-db", "message": finding["message"],
        "controls": ";".join(f"{fw}:{req}" for fw, reqs in finding["controls"].items() for req in reqs),
        "waiver_reason": "", "file": f"{EXAMPLE_REL}/shop-db/namespace.yaml",
        "line": str(_doc_start_line(ROOT / EXAMPLE_REL / "shop-db" / "namespace.yaml")),
    }
    assert "cis-kubernetes:" in row["controls"]


def test_csv_neutralises_formulas_from_the_cluster_and_the_configuration(example, hostile):
    rows = _csv(hostile["texts"]["csv"])
    _no_formula(rows)
    finding = _finding(hostile["result"], "NP001", "Namespace/hostile")
    [row] = [r for r in rows if r["id"] == finding["id"]]
    assert row["status"] == "WAIVED"
    assert row["waiver_reason"] == "'" + HOSTILE_REASON
    assert row["file"] == "'" + f"{HOSTILE_FILE_DIR}/{HOSTILE_FILE}" == "'=cmd|' /C calc'!A0.yaml"
    rows = _csv(csv_out.render(_hostile_result(example["result"])))
    _no_formula(rows)
    [row] = [r for r in rows if r["kind"].startswith("'")]
    assert (row["kind"], row["namespace"], row["file"]) == ("'=2+3", "'=cmd|' /C calc'!A0", "'-rm -rf.yaml")
    assert row["message"].startswith("'@org/team line1\n| injected")
    assert row["name"] == "<script>alert(1)</script>|x"  # control characters removed


# --- Markdown ------------------------------------------------------------------------------------------------

def test_markdown_summary_frameworks_and_failures(example):
    md = example["texts"]["md"]
    result = example["result"]
    s = result["summary"]
    verdict = s["result"].upper()
    assert md.startswith(f"## netpol-audit {result['tool']['version']}: **{verdict}**\n")
    lines = md.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("| Result |"))
    cells = [c.strip() for c in lines[header + 2].strip("|").split("|")]
    assert cells == [verdict, str(s["gating_findings"]),
                     *(str(s["failed_by_severity"][k]) for k in ("critical", "high", "medium", "low", "info")),
                     str(s["findings"]["WAIVED"]), str(s["findings"]["ERROR"]), str(s["findings"]["PASS"]),
                     str(s["findings"]["NOT_APPLICABLE"])]
    for fw in result["frameworks"]:
        c = fw["counts"]
        assert any(ln.startswith(f"| {markdown.cell(fw['title'])} | {markdown.cell(fw['version'])} | "
                                 f"{c['PASS']} | {c['FAIL']} | {c['ERROR']} | {c['NOT_ASSESSED']} |")
                   for ln in lines)
    for sev, n in s["failed_by_severity"].items():
        assert (f"#### {sev.capitalize()} ({n})" in lines) == (n > 0)
    finding = _finding(result, "NP003", "Namespace/shop-db")
    assert f"| NP003 missing-default-deny-egress | Namespace shop-db | {markdown.cell(finding['message'])} |" \
        in lines


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def test_markdown_escapes_hostile_strings(example):
    r = _hostile_result(example["result"])
    md = markdown.render(r)
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "\x00" not in md and "\x1b" not in md
    [row] = [ln for ln in md.splitlines() if "script" in ln]
    assert _unescaped_pipes(row) == 4, row  # three columns: the hostile `|` characters are escaped
    assert "\\|x" in row and "\\| injected \\| row \\|" in row
    assert "\\`code\\`" in row and "\\[link\\]" in row and "\\*\\*bold\\*\\*" in row
    assert "@\u2060org/team" in row  # no mention
    assert "&amp;lt;" in row
    # Every table line is a row of its table: the newline in the message did not end it.
    for ln in md.splitlines():
        if ln.startswith("|"):
            assert ln.endswith("|")


def test_markdown_caps_the_failing_table_at_100_rows(example):
    r = copy.deepcopy(example["result"])
    fail = next(f for f in r["findings"] if f["status"] == "FAIL")
    r["findings"] = [{**fail, "id": f"{i:016x}"} for i in range(150)]
    md = markdown.render(r)
    rows = [ln for ln in md.splitlines() if ln.startswith(f"| {fail['rule']} ")]
    assert len(rows) == 100
    assert "50 more failing finding(s) not shown" in md


# --- streamed JSON ------------------------------------------------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_streamed_json_is_orjson_indent_sorted(value):
    import orjson

    from scanner.render.stream import write_json

    for depth in (1, 2, 4):
        buf = io.BytesIO()
        write_json(buf, value, depth)
        assert buf.getvalue() == orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def test_streamed_json_and_sarif_equal_their_renderers(tmp_path):
    from conftest import EXAMPLE

    from scanner.render import json_out

    rc, out, err = run_cli("scan", EXAMPLE, "--format", "json", "--timestamp", "2026-01-01T00:00:00Z",
                           "--fail-on", "none")
    assert rc == 0, err
    result = json.loads(out)
    for module in (json_out, sarif):
        buf = io.BytesIO()
        module.write_to(result, buf)
        assert buf.getvalue() == module.render(result).encode()


# --- bidi, terminal escapes and names at the API's length limits ---------------------------------------------

BIDI_DIR = "exe.\u202etxt"  # shows as "exe.txt" reversed: the "Trojan Source" trick
CSS_NAME = "x</style><style>*{background:url(javascript:alert(1))}"
LONG_POD = ".".join(["a" * 61, "b" * 63, "c" * 63, "d" * 63])  # 253 characters, the longest Pod name
LONG_KEY = ".".join(["p" * 61, "q" * 63, "r" * 63, "s" * 63]) + "/" + "k" * 63  # the longest label key
LONG_VALUE = "v" * 63


def test_bidi_css_and_long_names_are_inert_in_every_format(tmp_path, monkeypatch):
    """File names and configuration text are the input the API does not validate: a right-to-left override
    and a style-breaking string reach every human-facing format spelled out or escaped, never raw; names and
    label keys at the API's length limits come through whole."""
    src = tmp_path / BIDI_DIR / CSS_NAME.replace("/", "_")
    src.mkdir(parents=True)
    (src / "pods.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {LONG_POD}, namespace: shop, labels: {{{LONG_KEY}: "
        f"{LONG_VALUE}}}}}\nspec: {{containers: [{{name: c, ports: [{{containerPort: 22}}]}}]}}\n")
    (tmp_path / "config.yaml").write_text(f"scope: {{name: {json.dumps(CSS_NAME + chr(0x202E))}, "
                                          "namespaceSelector: {matchLabels: {tier: cde}}}\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    rc, _, err = run_cli("scan", BIDI_DIR, "-o", str(out), "--format", FORMATS + ",html", "--timestamp",
                         TIMESTAMP, "--config", "config.yaml")
    assert rc == 1, err
    texts = {ext: (out / f"netpol-audit.{ext}").read_text(encoding="utf-8")
             for ext in ("json", "sarif", "junit.xml", "md", "csv", "html")}
    result = json.loads(texts["json"])
    # the data keeps the truth: JSON holds the real file name, the whole name and the label
    assert any(BIDI_DIR in (f.get("location") or {}).get("file", "") for f in result["findings"])
    pod = _finding(result, "NP004", f"Pod/shop/{LONG_POD}")
    assert pod["subject"]["name"] == LONG_POD and len(LONG_POD) == 253
    for ext in ("md", "csv", "html", "junit.xml"):
        assert "\u202e" not in texts[ext], ext
    for ext in ("csv", "html", "junit.xml"):  # they show file locations (the Markdown comment does not)
        assert "exe.\\u202etxt" in texts[ext], ext
    sarif = json.loads(texts["sarif"])
    messages = [r["message"]["text"] for run in sarif["runs"] for r in run["results"]]
    assert not any("\u202e" in m for m in messages)
    ET.fromstring(texts["junit.xml"])  # well-formed
    html = texts["html"]
    assert html.count("<style") == html.count("</style>") == 1  # the report's own stylesheet, nothing more
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I)
    assert "&lt;/style&gt;&lt;style&gt;*{background:url(javascript:alert(1))}" in html
    assert LONG_POD in html  # whole: the label key at its limit was accepted (the corpus checks each limit)
    assert "Content-Security-Policy" in html
