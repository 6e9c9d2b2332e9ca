"""The scan command: exit codes, waivers, config validation, crashing rules, --rules-dir, --fix-dir."""

import json

from conftest import EXAMPLE, run_cli

OPEN = """apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
"""

ISOLATED = """apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""


def scan_json(*argv):
    rc, out, err = run_cli("scan", *argv, "--format", "json", "--timestamp", "2026-01-01T00:00:00Z")
    return rc, json.loads(out) if out.strip() else None, err


def statuses(result, rule):
    return {(f["subject"]["kind"], f["subject"]["namespace"], f["subject"]["name"]): f["status"]
            for f in result["findings"] if f["rule"] == rule}


def test_exit_codes_follow_fail_on(write):
    path = write("c.yaml", OPEN)
    rc, result, _ = scan_json(path)
    assert rc == 1
    assert statuses(result, "NP004") == {("Pod", "shop", "web"): "FAIL"}
    assert result["summary"]["result"] == "fail"
    assert scan_json(path, "--fail-on", "critical")[0] == 0
    assert scan_json(path, "--fail-on", "none")[0] == 0
    _, result, _ = scan_json(path, "--fail-on", "none")
    assert result["summary"]["gating_findings"] == 0 and result["summary"]["result"] == "pass"


def test_waivers_applied_expired_unused(write):
    path = write("c.yaml", OPEN + "---\n" + OPEN.replace("shop", "shop2"))
    config = write("cfg.yaml", """waivers:
  - rule: NP004
    subject: "Pod/shop/*"
    reason: legacy app, segmented by the cloud firewall
    owner: team-shop
    expires: 2099-01-01
  - rule: pod-egress-not-isolated
    subject: "Pod/shop/web"
    reason: expired exception
    owner: team-shop
    expires: 2020-01-01
  - rule: NP001
    subject: "Namespace/nothing-matches"
    reason: never used
    owner: sec
    expires: 2099-01-01
""")
    _, result, _ = scan_json(path, "--config", config)
    np004 = statuses(result, "NP004")
    assert np004 == {("Pod", "shop", "web"): "WAIVED", ("Pod", "shop2", "web"): "FAIL"}
    waived = next(f for f in result["findings"] if f["status"] == "WAIVED")
    assert waived["waiver"]["reason"] == "legacy app, segmented by the cloud firewall"
    assert statuses(result, "NP005")[("Pod", "shop", "web")] == "FAIL"  # expired: no longer applies
    assert [(w["rule"], w["status"], w["matched"]) for w in result["waivers"]] == [
        ("NP004", "applied", 1), ("pod-egress-not-isolated", "expired", 0), ("NP001", "unused", 0)]
    assert result["summary"]["findings"]["WAIVED"] == 1


def test_invalid_waiver_is_rejected_with_line(write):
    path = write("c.yaml", OPEN)
    for body, expected in [
        ("waivers:\n  - rule: NP004\n    subject: x\n    owner: me\n    expires: 2099-01-01\n",
         ":2: waivers[0].reason: a waiver needs a non-empty reason"),
        ("waivers:\n  - rule: NP004\n    subject: x\n    reason: r\n    owner: me\n",
         ":2: waivers[0].expires: a waiver needs an expiry date"),
        ("thresholds:\n  max_port_range: -1\n", ":2: thresholds.max_port_range: must be a whole number"),
        ("scope:\n  namespaceSelector: {matchLabels: {'bad key!': x}}\n", ":2: scope.namespaceSelector.matchLabels"),
        ("colour: blue\n", ":1: colour: unknown setting"),
    ]:
        cfg = write("cfg.yaml", body)
        rc, out, err = run_cli("scan", path, "--config", cfg)
        assert rc == 2 and out == "", body
        assert err.startswith(f"netpol-audit: error: {cfg}") and expected in err, err
        assert err.count("\n") == 1


def test_waiver_for_unknown_rule_is_rejected(write):
    path = write("c.yaml", OPEN)
    cfg = write("cfg.yaml", "waivers:\n  - {rule: NP999, subject: x, reason: r, owner: o, expires: 2099-01-01}\n")
    rc, _, err = run_cli("scan", path, "--config", cfg)
    assert rc == 2 and "unknown rule 'NP999'" in err


def test_crashing_rule_is_an_error_finding_and_exit_3(write, tmp_path):
    rules = tmp_path / "extra"
    rules.mkdir()
    (rules / "xx900_boom.py").write_text(
        "from scanner.catalog import rule\n\n@rule('XX900')\ndef check(ctx):\n    raise RuntimeError('boom')\n")
    (rules / "xx900_boom.yaml").write_text(
        "id: XX900\nslug: boom\ntitle: Always crashes\nseverity: low\ncategory: custom\n"
        "rationale: test\nremediation: none\n")
    path = write("c.yaml", ISOLATED)
    rc, result, _ = scan_json(path, "--rules-dir", str(rules), "--fail-on", "none")
    assert rc == 3
    errors = [f for f in result["findings"] if f["status"] == "ERROR"]
    assert [(f["rule"], f["message"]) for f in errors] == [
        ("XX900", "the rule crashed (RuntimeError: boom); its checks were not evaluated")]
    assert result["summary"]["result"] == "incomplete"
    # the other rules still ran
    assert statuses(result, "NP004") == {("Pod", "shop", "web"): "PASS"}


def test_incomplete_collection_never_passes_a_requirement(tmp_path):
    snap = tmp_path / "s.json"
    run_cli("snapshot", EXAMPLE, "-o", snap)
    from scanner.collect.snapshot import digest

    content = json.loads(snap.read_text())
    content["source"]["type"] = "cluster"
    content["collection"] = {"complete": False, "problems": [{"kind": "Pod", "reason": "403 Forbidden"}]}
    content["sha256"] = digest(content)
    snap.write_text(json.dumps(content))
    rc, result, _ = scan_json(str(snap), "--fail-on", "none")
    assert rc == 3
    statuses_seen = {r["status"] for fw in result["frameworks"] for r in fw["requirements"]}
    assert "PASS" not in statuses_seen


def test_namespace_filters(write):
    path = write("c.yaml", OPEN + "---\n" + OPEN.replace("shop", "other"))
    _, result, _ = scan_json(path, "--namespace", "shop")
    assert {f["subject"]["namespace"] or f["subject"]["name"] for f in result["findings"]
            if f["subject"]["kind"] != "Cluster"} == {"shop"}
    _, result, _ = scan_json(path, "--exclude-namespace", "sh*")
    assert "shop" not in {f["subject"]["namespace"] or f["subject"]["name"] for f in result["findings"]}


def test_fix_dir_fixes_default_deny_without_breaking_dns(tmp_path):
    fix = tmp_path / "fix"
    _, result, _ = scan_json(str(EXAMPLE), "--fix-dir", str(fix), "--fail-on", "none")
    rem = result["remediation"]
    assert rem["namespaces"] == ["batch", "default", "shop-db"]
    assert rem["verified"] == {"np002_np003_fixed": True, "still_failing": [], "new_np007": []}
    assert sorted(p.name for p in fix.iterdir()) == ["batch.yaml", "default.yaml", "shop-db.yaml"]
    assert any(s.startswith("kube-system: system namespace") for s in rem["skipped"])
    assert {"from": "batch", "to": "shop-db", "removed": {"TCP": ["5432"]}, "remaining": {}} in rem["impact"]
    # Re-scanning the input plus the fixes: NP002/NP003 fixed for those namespaces, no new NP007.
    _, after, _ = scan_json(str(EXAMPLE), str(fix), "--fail-on", "none")
    for rule in ("NP002", "NP003"):
        st = statuses(after, rule)
        for ns in rem["namespaces"]:
            assert st[("Namespace", None, ns)] == "PASS", (rule, ns)
    before_np007 = {k for k, v in statuses(result, "NP007").items() if v == "FAIL"}
    after_np007 = {k for k, v in statuses(after, "NP007").items() if v == "FAIL"}
    assert after_np007 <= before_np007


def test_rules_command_lists_catalog():
    rc, out, _ = run_cli("rules", "-o", "json")
    rules = json.loads(out)
    assert rc == 0
    assert rules[0]["id"] == "NP001" and rules[0]["slug"] == "namespace-without-policy"
    rc, out, _ = run_cli("rules", "-o", "md")
    assert out.splitlines()[0] == "| ID | slug | title | severity |"


def test_archive_dir_keeps_n_runs_and_points_latest(tmp_path):
    arch = tmp_path / "reports"
    for day in ("01", "02", "03"):
        rc, _, err = run_cli("scan", EXAMPLE, "--archive-dir", arch, "--keep", "2", "--format", "json",
                             "--timestamp", f"2026-01-{day}T00:00:00Z", "-q", "--fail-on", "none")
        assert rc == 0, err
    assert sorted(p.name for p in arch.iterdir()) == ["20260102T000000Z", "20260103T000000Z", "latest"]
    assert (arch / "latest").resolve() == (arch / "20260103T000000Z").resolve()
    assert sorted(p.name for p in (arch / "latest").iterdir()) == ["netpol-audit.json", "snapshot.json.gz"]
    assert run_cli("snapshot", "--verify", arch / "latest" / "snapshot.json.gz")[0] == 0
