"""The auditor report (HTML and PDF): content and order, the attached JSON, hostile input, the browser view,
determinism and the page budget at cluster scale."""

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)"]
LONG = "x" * 150 + "-" + "y" * 149  # 300 characters, one "word"
STARTED = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
CONFIG = """scope:
  name: cardholder data environment
  namespaceSelector: {matchLabels: {pci-scope: cde}}
waivers:
  - rule: NP004
    subject: "Deployment/default/*"
    reason: legacy reporter, segmented by the cloud firewall until the migration
    owner: team-data
    expires: 2099-01-01
  - rule: NP005
    subject: "Pod/shop/web"
    reason: expired exception
    owner: team-shop
    expires: 2020-01-01
  - rule: NP001
    subject: "Namespace/nothing"
    reason: never used
    owner: sec
    expires: 2099-01-01
"""


def _tool(name):
    path = shutil.which(name)
    assert path, f"{name} is missing: install the Debian package poppler-utils (make test does)"
    return path


def scan(paths, config_text=CONFIG, tmp_path=None):
    """A scan result built like `netpol-audit scan` does, at a fixed time. Framework files may name rules
    that are not written yet: those count as disabled rules here, so the report can be tested meanwhile."""
    from scanner.api import load
    from scanner.catalog import load_catalog
    from scanner.config import load_config
    from scanner.context import Context
    from scanner.mapping import load_frameworks
    from scanner.plugin import detect_plugin
    from scanner.resources import bundled
    from scanner.scan import ScanOptions, build_result

    catalog = load_catalog([bundled("rules")])
    fw_dir = bundled("rules") / "frameworks"
    known = set(catalog.rules)
    for path in fw_dir.glob("*.yaml"):
        for req in yaml.safe_load(path.read_text())["requirements"]:
            known |= set(req.get("rules") or [])
    frameworks = load_frameworks(fw_dir, known)
    cfg = tmp_path / "netpol-audit.yaml"
    cfg.write_text(config_text)
    loaded = load([str(p) for p in paths])
    raw = loaded.raw
    ctx = Context(loaded.cluster, loaded.index, load_config(str(cfg)), raw.source_type, raw.collection.complete,
                  tuple(raw.collection.problems), detect_plugin(loaded.cluster))
    opts = ScanOptions(started_at=STARTED, input_description={
        "type": raw.source_type, "inputs": list(raw.inputs), "snapshot_sha256": list(raw.snapshot_sha256)})
    return json.loads(json.dumps(build_result(ctx, catalog, frameworks, opts)))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return scan([EXAMPLE], tmp_path=tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_pdf(demo, tmp_path_factory):
    from scanner.render.pdf import render_pdf

    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    render_pdf(demo, str(path))
    return path


def pdf_text(path, *args):
    return subprocess.run([_tool("pdftotext"), "-layout", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdf_pages(path):
    info = subprocess.run([_tool("pdfinfo"), str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def attached_json(path, tmp_path):
    out = tmp_path / "detached"
    out.mkdir()
    listing = subprocess.run([_tool("pdfdetach"), "-list", str(path)], check=True, capture_output=True,
                             text=True).stdout
    assert "netpol-audit.json" in listing
    subprocess.run([_tool("pdfdetach"), "-saveall", "-o", str(out), str(path)], check=True, capture_output=True)
    return json.loads((out / "netpol-audit.json").read_text())


def squash(text):
    return re.sub(r"\s+", " ", text)


# --- HTML ----------------------------------------------------------------------------------------------------


def test_html_is_self_contained_with_a_strict_csp(demo):
    from scanner.render.html import render

    html = render(demo)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp, "no CSP meta"
    assert "default-src 'none'" in csp.group(1) and "img-src data:" in csp.group(1)
    assert "unsafe-inline" not in csp.group(1).split("script-src")[-1]  # the script is allowed by its hash only
    assert not re.search(r"<[a-z]+\s[^>]*\bsrc=", html)  # no element loads anything
    assert "<link" not in html and "@import" not in html and "url(" not in html.split("</style>")[0]
    for attrs in re.findall(r'<a href="https?://[^"]*"([^>]*)>', html):  # references are plain links
        assert 'rel="noreferrer noopener"' in attrs
    assert html.count("<svg") >= 3


def test_html_sections_come_in_the_auditors_order(demo):
    from scanner.render.html import render

    html = render(demo)
    ids = ["cover", "contents", "summary", "limitations", "frameworks", "findings", "findings-failing",
           "findings-system", "findings-waived", "pictures", "waivers", "appendix-methodology",
           "appendix-inventory", "appendix-catalog"]
    positions = [html.index(f'id="{i}"') for i in ids]
    assert positions == sorted(positions)


def test_html_rendering_is_deterministic(demo):
    from scanner.render.html import render

    assert render(demo) == render(copy.deepcopy(demo))


def test_findings_link_from_requirements_and_risks(demo):
    from scanner.render.html import render

    html = render(demo)
    for rid in ("NP002", "NP003"):
        assert f'id="rule-{rid}"' in html
        assert f'href="#rule-{rid}"' in html
    for href in set(re.findall(r'href="#([^"]+)"', html)):
        assert f'id="{href}"' in html, f"dangling link #{href}"


def test_grade_is_computed_from_the_summary_with_its_inputs_shown():
    from scanner.render.report_model import grade

    clean = {"failed_by_severity": {}, "isolation": {"pods": 10, "ingress_isolated": 10, "egress_isolated": 10}}
    assert grade(clean, False)["letter"] == "A" and grade(clean, False)["score"] == 100.0
    critical = {**clean, "failed_by_severity": {"critical": 1}}
    assert grade(critical, False)["letter"] == "C"  # 88 points, capped at C by the critical finding
    assert grade(clean, True)["letter"] == "F"  # NP030: nothing enforced
    open_cluster = {"failed_by_severity": {"high": 10, "medium": 9},
                    "isolation": {"pods": 20, "ingress_isolated": 14, "egress_isolated": 12}}
    g = grade(open_cluster, False)
    assert (g["letter"], g["score"]) == ("D", 59.3)
    assert [i["points"] for i in g["inputs"]] == [0.0, 20.8, 10.0, 0.0, 0.0, 6.0, 4.0]


def test_top_risks_group_by_rule_and_order_by_priority():
    from scanner.render.report_model import top_risks

    def f(rule, sev, ns, status="FAIL", kind="Pod"):
        return {"rule": rule, "severity": sev, "status": status, "system": ns == "kube-system",
                "subject": {"kind": kind, "namespace": ns, "name": "p"}}

    findings = [f("NP005", "medium", "a"), f("NP005", "medium", "b"), f("NP004", "high", "a"),
                f("NP019", "critical", "cde"), f("NP024", "info", "a"), f("NP004", "high", "kube-system"),
                f("NP099", "high", None, status="ERROR", kind="Cluster"), f("NP010", "high", "a", "WAIVED")]
    risks, more = top_risks(findings, {"NP004": {"title": "Pod not isolated for ingress"}})
    assert [r["rule"] for r in risks] == ["NP099", "NP019", "NP004", "NP005"] and more == 0
    assert risks[2]["sentence"] == ("Pod not isolated for ingress: 2 pods affected (a and kube-system; "
                                    "1 in system namespaces).")


# --- PDF -----------------------------------------------------------------------------------------------------


def test_pdf_has_every_section_a_requirement_row_and_a_known_finding(demo, demo_pdf):
    text = pdf_text(demo_pdf)
    flat = squash(text)
    # Each chapter starts a page; its title is the first line under the running header.
    starts = []
    for page in text.split("\f")[1:]:
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        if len(lines) > 1:
            starts.append(lines[1])
    chapters = ["Contents", "Executive summary", "Limitations of this audit", "Compliance frameworks", "Findings",
                "Pictures", "Waiver register", "Appendix A: Methodology",
                "Appendix B: Inventory of namespaces and policies", "Appendix C: Rule catalog"]
    assert [s for s in starts if s in chapters] == chapters
    findings = flat[flat.index("Failing findings by rule", flat.index("Appendix C: Rule catalog")):]
    parts = [findings.index(s) for s in ("Failing findings by rule", "Findings in system namespaces",
                                         "Waived findings")]
    assert parts == sorted(parts)
    for fw in demo["frameworks"]:
        assert squash(fw["title"]) in flat
    assert "Threat view: MITRE ATT&CK" in flat
    pci = next(fw for fw in demo["frameworks"] if fw["id"].startswith("pci"))
    row = next(r for r in pci["requirements"] if r["id"] == "1.3.1")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("1.3.1"))
    assert {"NOT_ASSESSED": "NOT ASSESSED"}.get(row["status"], row["status"]) in line
    assert "penetration test" in flat  # PCI DSS 11.4.5
    assert "NP003 Namespace without a default-deny for egress" in flat
    assert re.search(r"Namespace shop-db · 1 finding", flat)
    assert "policyTypes omitted" in flat or "Egress in namespace shop-db" in flat
    assert "Page 1 of" in flat and "not yet reviewed" in flat
    assert "examples/shop-cluster" in flat and "Scan 2026-11-23" in flat  # running header


def test_pdf_contents_list_page_numbers_and_bookmarks(demo_pdf):
    text = pdf_text(demo_pdf, "-f", "2", "-l", "2")
    assert re.search(r"Executive summary\s*\.{3,}\s*3\b", text)
    xml = subprocess.run([_tool("pdftohtml"), "-xml", "-i", "-stdout", "-f", "1", "-l", "1", str(demo_pdf)],
                         check=True, capture_output=True, text=True).stdout
    bookmarks = {title: int(page) for page, title in re.findall(r'<item page="(\d+)">([^<]*)</item>', xml)}
    assert bookmarks["Executive summary"] == 3
    assert "Appendix C: Rule catalog" in bookmarks and "Waiver register" in bookmarks
    assert bookmarks["HIGH NP003 Namespace without a default-deny for egress"] > bookmarks["Findings"]
    dests = subprocess.run([_tool("pdfinfo"), "-dests", str(demo_pdf)], capture_output=True, text=True).stdout
    assert "rule-NP003" in dests  # the links of the requirement tables land on the rule


def test_pdf_carries_the_json_result_as_attachment(demo, demo_pdf, tmp_path):
    assert attached_json(demo_pdf, tmp_path) == demo


def test_pdf_text_stays_inside_the_page(demo_pdf):
    """No word may run past the right margin (long names must wrap, not be cut)."""
    assert_inside_margins(demo_pdf)


def assert_inside_margins(path):
    bbox = subprocess.run([_tool("pdftotext"), "-bbox", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    right = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', bbox)]
    assert right and max(right) <= width - 36, f"text reaches x={max(right)} of {width}"


def test_pdf_rendering_is_quiet_and_deterministic(demo, caplog):
    import logging

    from scanner.render.pdf import render_pdf_bytes

    small = copy.deepcopy(demo)
    small["findings"] = [f for f in small["findings"] if f["rule"] in ("NP001", "NP003")]
    with caplog.at_level(logging.WARNING):  # WeasyPrint reports CSS it ignores and failed fetches as warnings
        first = render_pdf_bytes(small)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert render_pdf_bytes(copy.deepcopy(small)) == first  # same result, same bytes (golden tests work)


# --- hostile input -------------------------------------------------------------------------------------------


def hostile(result):
    r = copy.deepcopy(result)
    evil = [*HOSTILE, LONG]
    r["run"]["input"]["inputs"] = evil
    r["run"]["input"]["cluster"] = HOSTILE[0] + LONG
    r["run"]["config"]["scope"] = {"name": HOSTILE[1], "namespaceSelector": HOSTILE[0], "podSelector": LONG}
    for i, f in enumerate(r["findings"]):
        f["subject"]["name"] = evil[i % 4]
        if f["subject"]["namespace"]:
            f["subject"]["namespace"] = evil[(i + 1) % 4]
        f["message"] += " " + evil[(i + 2) % 4] + " `" + HOSTILE[0] + "`"
        f["evidence"] = {HOSTILE[0]: evil, "nested": {HOSTILE[1]: [LONG, {"k": HOSTILE[2]}]}}
    r["inventory"]["namespaces"].append({"name": HOSTILE[0], "labels": {HOSTILE[1]: LONG, "a": HOSTILE[2]},
                                         "defined": True, "system": False, "pods": 3, "ingress_isolated": 1,
                                         "egress_isolated": 0, "host_network": 0, "policies": 1})
    r["inventory"]["policies"].append({"namespace": HOSTILE[0], "name": HOSTILE[1], "pod_selector": LONG,
                                       "policy_types": ["Ingress"], "policy_types_explicit": False,
                                       "ingress": [{"field": "spec.ingress[0]", "peers": [HOSTILE[0], LONG],
                                                    "ports": [HOSTILE[1]]}], "egress": [], "selected": 3,
                                       "location": {"file": HOSTILE[1], "document": 1, "line": 1}})
    r["findings"].append({**r["findings"][0], "id": "0123456789abcdef", "rule": "NP002",
                          "subject": {"kind": "NetworkPolicy", "namespace": HOSTILE[0], "name": HOSTILE[1]},
                          "status": "FAIL", "system": False})
    r["matrix"]["entries"] += [{"from": HOSTILE[0], "to": n["name"], "ports": {"TCP": [HOSTILE[1]]}}
                               for n in r["inventory"]["namespaces"][:3]]
    r["rules"][0]["title"] = HOSTILE[0]
    r["rules"][0]["rationale"] = HOSTILE[1] + " " + LONG
    r["rules"][0]["remediation_example"] = HOSTILE[0] + "\n" + LONG
    r["rules"][0]["references"] = [{"title": HOSTILE[1], "url": HOSTILE[2]},
                                   {"title": "data", "url": "data:text/html,<script>alert(1)</script>"},
                                   {"title": "quote", "url": 'https://example.com/"onmouseover="alert(1)'}]
    r["waivers"] = [{"index": 0, "rule": HOSTILE[0], "subject": LONG, "reason": HOSTILE[1], "owner": HOSTILE[2],
                     "expires": "2099-01-01", "status": "applied", "matched": 1, "line": 3}]
    r["coverage"]["statement"].append(HOSTILE[0])
    r["coverage"]["not_evaluated_policies"] = [{"kind": HOSTILE[0], "namespace": LONG, "name": HOSTILE[1],
                                                "reason": "kind not modelled"}]
    for fw in r["frameworks"]:
        fw["title"] = HOSTILE[0] + fw["title"]
        fw["reviewed_by"] = HOSTILE[1]
        fw["requirements"][0]["note"] = HOSTILE[1] + LONG
        fw["requirements"][0]["rules"].append(HOSTILE[0])
    return r


def test_hostile_values_are_escaped_in_html(demo):
    from scanner.render.html import render

    html = render(hostile(demo))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "onmouseover=\"alert" not in html
    assert not re.search(r'(href|src|action)\s*=\s*["\']?\s*(javascript|data):', html, re.I)
    assert html.count("<script>") == 1  # ours, allowed by its hash
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not dropped
    assert "Content-Security-Policy" in html
    for attr in re.findall(r'\s(?:id|href)="([^"]*)"', html):  # ids and links never carry cluster text
        assert re.fullmatch(r"#?[A-Za-z0-9_.-]*|https://[^\"<>\s]*", attr), attr


def test_hostile_values_still_render_a_pdf(demo, tmp_path):
    from scanner.render.pdf import render_pdf

    small = copy.deepcopy(demo)  # a few rules keep the test fast; every kind of field is still hostile
    small["findings"] = [f for f in small["findings"] if f["rule"] in ("NP001", "NP003", "NP013", "NP019")]
    path = tmp_path / "hostile.pdf"
    render_pdf(hostile(small), str(path))
    flat = squash(pdf_text(path))
    assert "<script>alert(1)</script>" in flat  # printed as text
    assert_inside_margins(path)


# --- browser -------------------------------------------------------------------------------------------------


CHROMIUM = "/usr/bin/chromium"


def chromium(args, tmp_path):
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120)


def test_html_opens_in_a_browser_without_console_errors(demo, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium): browser check skipped")
    from scanner.render.html import render

    page = tmp_path / "report.html"
    page.write_text(render(hostile(demo)), encoding="utf-8")
    shot = tmp_path / "shot.png"
    run = chromium([f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 50_000, run.stderr[-2000:]
    console = [ln for ln in run.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == []  # no script error, no CSP violation, no blocked load
    dom = chromium(["--dump-dom", page.as_uri()], tmp_path).stdout
    assert '<div id="filter" class="filter screen-only">' in dom  # the hashed filter script ran
    assert "alert(1)</script>" not in dom.replace("&lt;", "<").split("<body", 1)[0]


# --- scale ---------------------------------------------------------------------------------------------------


def big_result(demo, **kwargs):
    from conftest import bench_module

    return bench_module("big_result").big_result(demo, **kwargs)


@pytest.mark.slow
def test_pdf_stays_bounded_at_cluster_scale(demo, tmp_path):
    from scanner.render.html import render
    from scanner.render.pdf import render_pdf

    big = big_result(demo)
    html = render(big)
    assert len(html) < 40_000_000
    path = tmp_path / "big.pdf"
    render_pdf(big, str(path))
    pages = pdf_pages(path)
    assert pages <= 80, pages
    flat = squash(pdf_text(path))
    assert "are in the JSON result (attached to this PDF as netpol-audit.json)" in flat
    assert attached_json(path, tmp_path)["findings"][-1]["id"] == big["findings"][-1]["id"]


def test_limitations_errors_and_inert_plugin_are_prominent(demo):
    from scanner.render.html import render

    r = copy.deepcopy(demo)
    base = r["findings"][0]
    r["findings"] = [
        {**base, "id": "00000000000000e1", "rule": "NP007", "status": "ERROR", "severity": "low",
         "subject": {"kind": "Cluster", "namespace": None, "name": "cluster"}, "system": False,
         "message": "the rule crashed (KeyError: 'x'); its checks were not evaluated", "evidence": {}},
        {**base, "id": "00000000000000e2", "rule": "NP030", "status": "FAIL", "severity": "critical",
         "subject": {"kind": "Cluster", "namespace": None, "name": "cluster"}, "system": False,
         "message": "flannel does not enforce NetworkPolicy", "evidence": {}},
        *r["findings"]]
    r["coverage"]["complete"] = False
    r["coverage"]["collection_problems"] = [{"kind": "networking.k8s.io/v1/NetworkPolicy", "namespace": "team-a",
                                             "reason": "403 Forbidden"}]
    r["coverage"]["not_evaluated_policies"] = [{"kind": "CiliumNetworkPolicy", "namespace": "shop", "name": "l7",
                                                "reason": "kind not modelled"}]
    r["coverage"]["network_plugin"] = {"name": "Flannel", "enforces": False, "evidence": ["DaemonSet kube-flannel"]}
    r["summary"]["rules"]["errored"] = ["NP007"]
    req = r["frameworks"][0]["requirements"][0]
    req.update(status="PASS", effective=False)
    html = render(r)
    text = squash(re.sub(r"<[^>]+>", " ", html))
    limitations = text[text.index("Read these before relying on any result"):]
    for phrase in ("does not enforce NetworkPolicy (NP030)", "Incomplete collection", "403 Forbidden",
                   "CiliumNetworkPolicy shop/l7", "Rules that could not be evaluated (ERROR): NP007"):
        assert phrase in limitations, phrase
    assert '<span class="status st-NOT_EFFECTIVE">not effective</span>' in html
    summary = html[html.index('id="summary"'):html.index('id="limitations"')]
    assert re.search(r'grade-letter">F<', summary)
    risks = re.findall(r'<li>.*?href="#(?:sys)?rule-(NP\d+)"', summary)
    assert risks[:2] == ["NP007", "NP030"]  # what could not be judged first, then the worst


def test_a_json_file_that_is_not_a_result_is_refused_in_one_line(demo):
    from scanner.errors import InputError
    from scanner.render.html import render

    with pytest.raises(InputError, match="not a netpol-audit scan result: missing"):
        render({"findings": []})
    broken = copy.deepcopy(demo)
    broken["findings"][0] = {"rule": "NP001"}
    with pytest.raises(InputError, match=r"findings\[0\]: malformed finding"):
        render(broken)


def test_template_environment_escapes_everything_and_is_sandboxed():
    from jinja2.exceptions import SecurityError, TemplateNotFound, UndefinedError

    from scanner.render.html import environment

    env = environment()
    assert env.autoescape is True  # forced, whatever the template's file name
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x="")
    with pytest.raises(SecurityError):
        env.from_string("{{ x.append(1) }}").render(x=[])  # templates cannot change what they are given
    with pytest.raises(TemplateNotFound):
        env.get_template("../pyproject.toml")


def test_report_from_json_equals_scan_format(tmp_path):
    """`report --from result.json` re-renders without the cluster and gives the same HTML as `scan --format`."""
    from conftest import EXAMPLE, run_cli

    out = tmp_path / "scan"
    rc, _, err = run_cli("scan", EXAMPLE, "-o", out, "--format", "json,html,md", "--timestamp",
                         "2026-01-01T00:00:00Z", "--fail-on", "none", "-q")
    assert rc == 0, err
    for fmt, ext in (("html", "html"), ("md", "md")):
        again = tmp_path / f"again.{ext}"
        rc, _, err = run_cli("report", "--from", out / "netpol-audit.json", "--format", fmt, "-o", again)
        assert rc == 0, err
        assert again.read_text() == (out / f"netpol-audit.{ext}").read_text()
    rc, _, err = run_cli("report", "--from", out / "netpol-audit.md", "--format", "html", "-o", tmp_path / "x")
    assert rc == 2 and "invalid JSON" in err


def test_json_and_sarif_alone_render_like_report_from(tmp_path):
    """`scan --format json,sarif -q` renders from the result as built (no canonical copy, for speed at scale):
    the bytes must equal the canonical path (`scan` with another format too) and `report --from`."""
    from conftest import EXAMPLE, run_cli

    direct, canonical = tmp_path / "direct", tmp_path / "canonical"
    common = ["--timestamp", "2026-01-01T00:00:00Z", "--fail-on", "none", "-q"]
    assert run_cli("scan", EXAMPLE, "-o", direct, "--format", "json,sarif", *common)[0] == 0
    assert run_cli("scan", EXAMPLE, "-o", canonical, "--format", "json,sarif,md", *common)[0] == 0
    for ext in ("json", "sarif"):
        assert (direct / f"netpol-audit.{ext}").read_bytes() == (canonical / f"netpol-audit.{ext}").read_bytes()
    again = tmp_path / "again.sarif"
    rc, _, err = run_cli("report", "--from", direct / "netpol-audit.json", "--format", "sarif", "-o", again)
    assert rc == 0, err
    assert again.read_bytes() == (direct / "netpol-audit.sarif").read_bytes()
