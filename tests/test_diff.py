"""`netpol-audit diff`: semantic drift between snapshots, manifests and JSON results."""

from __future__ import annotations

import json

from conftest import EXAMPLE, ROOT, run_cli

DRIFT = ROOT / "examples" / "drift"
OLD, NEW = DRIFT / "2026-05-01.snapshot.json", DRIFT / "2026-11-01.snapshot.json"
EMPTY_CHANGES = {"became_allowed": [], "became_denied": []}


def _diff(*argv):
    rc, out, err = run_cli("diff", *map(str, argv), "--format", "json")
    assert "Traceback" not in err
    return rc, json.loads(out), err


def test_a_snapshot_against_itself_is_empty_and_deterministic():
    rc, d, _ = _diff(NEW, NEW)
    assert rc == 0 and d["changed"] is False
    assert d["connections"] == {"namespace": EMPTY_CHANGES, "workload": {"computed": True, **EMPTY_CHANGES}}
    assert d["findings"] == {"new": [], "resolved": [], "severity_changed": []}
    assert d["policies"] == {"added": [], "removed": [], "changed": [], "became_invalid": [], "became_valid": []}
    assert d["old"]["posture"] == d["new"]["posture"]
    again = run_cli("diff", NEW, NEW, "--format", "json")[1]
    assert again == run_cli("diff", NEW, NEW, "--format", "json")[1]


def test_manifests_against_their_own_snapshot_are_empty():
    """The current snapshot is examples/shop-cluster as it is (examples/drift/make_snapshots.py rebuilds it)."""
    rc, d, _ = _diff(EXAMPLE, NEW)
    assert rc == 0 and d["changed"] is False


def test_the_example_drift_names_each_change():
    rc, d, _ = _diff(OLD, NEW)
    assert rc == 0 and d["changed"] is True
    assert (d["old"]["time"], d["new"]["time"]) == ("2026-05-01T00:00:00Z", "2026-11-01T00:00:00Z")
    # api lost its egress to Redis: the namespace pair shop -> shop-db stays open (postgres), the workload
    # pair closes: only the workload level shows it
    assert d["connections"]["namespace"] == EMPTY_CHANGES
    assert d["connections"]["workload"] == {"computed": True, "became_allowed": [], "became_denied": [
        {"from": "shop/Deployment/api", "to": "shop-db/Deployment/redis", "ports": {"TCP": ["6379"]},
         "now": "none"}]}
    new = [(f["severity"], f["rule"], f["subject"]) for f in d["findings"]["new"]]
    assert new == [("high", "NP015", "Deployment/shop/catalog"), ("medium", "NP013", "NetworkPolicy/shop/catalog"),
                   ("medium", "NP014", "NetworkPolicy/shop/catalog"), ("medium", "NP022", "NetworkPolicy/shop/search"),
                   ("low", "NP020", "NetworkPolicy/shop/search"), ("low", "NP027", "NetworkPolicy/shop/search")]
    assert d["findings"]["resolved"] == [] and d["findings"]["severity_changed"] == []
    p = d["policies"]
    assert (p["added"], p["removed"]) == (["shop/search"], [])
    assert [(c["policy"], c["fields"]) for c in p["changed"]] == [("shop/api", ["egress"]),
                                                                  ("shop/catalog", ["egress"])]
    assert d["old"]["posture"]["policies"] == 24 and d["new"]["posture"]["policies"] == 25


def test_reversed_sides_swap_allowed_and_denied_new_and_resolved():
    _, fwd, _ = _diff(OLD, NEW)
    _, back, _ = _diff(NEW, OLD)
    for level in ("namespace", "workload"):
        assert [(e["from"], e["to"], e["ports"]) for e in back["connections"][level]["became_allowed"]] == \
            [(e["from"], e["to"], e["ports"]) for e in fwd["connections"][level]["became_denied"]]
    assert back["findings"]["resolved"] == fwd["findings"]["new"]
    assert (back["policies"]["added"], back["policies"]["removed"]) == ([], ["shop/search"])


def test_fail_on_new(tmp_path):
    assert run_cli("diff", OLD, NEW, "--fail-on-new", "high")[0] == 1  # NP015 is new and high
    assert run_cli("diff", OLD, NEW, "--fail-on-new", "critical")[0] == 0
    assert run_cli("diff", NEW, OLD, "--fail-on-new", "info")[0] == 0  # only resolved findings that way


def _result(tmp_path, snapshot, name):
    out = tmp_path / name
    rc, _, err = run_cli("scan", snapshot, "-o", out, "--format", "json", "-q", "--fail-on", "none")
    assert rc == 0, err
    return out / "netpol-audit.json"


def test_json_results_diff_at_namespace_level_and_say_so(tmp_path):
    old, new = _result(tmp_path, OLD, "old"), _result(tmp_path, NEW, "new")
    rc, d, _ = _diff(old, new)
    _, from_snapshots, _ = _diff(OLD, NEW)
    assert rc == 0
    assert d["connections"]["namespace"] == from_snapshots["connections"]["namespace"]
    assert d["connections"]["workload"]["computed"] is False
    assert "no workload-level connections" in d["connections"]["workload"]["note"]
    assert d["findings"] == from_snapshots["findings"] and d["policies"] == from_snapshots["policies"]
    # a result and a snapshot mix
    assert _diff(old, NEW)[1]["findings"] == from_snapshots["findings"]


def test_an_incomplete_side_is_never_a_pass(tmp_path):
    old = _result(tmp_path, OLD, "old")
    doc = json.loads(old.read_text())
    doc["summary"]["result"] = "incomplete"
    bad = tmp_path / "incomplete.json"
    bad.write_text(json.dumps(doc))
    rc, out, err = run_cli("diff", bad, old, "--fail-on-new", "critical", "--format", "json")
    assert rc == 3
    assert json.loads(out)["incomplete"] == [str(bad)]
    assert "incomplete side(s)" in err


def test_namespace_level_changes_with_ports(write):
    base = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\n"
            "metadata: {name: b}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a, labels: {app: p}}\n"
            "spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: b, labels: {app: q}}\n")
    deny = ("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: a}\n"
            "spec: {podSelector: {}}\n")
    allow = ("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: a}\n"
             "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: http}]}]}\n")
    old = write("old.yaml", base + deny)
    new = write("new.yaml", base + deny + allow)
    _, d, _ = _diff(old, new)
    assert d["connections"]["namespace"] == {"became_allowed": [
        {"from": "b", "to": "a", "ports": {"TCP": ["8080"]}, "was": "none"}], "became_denied": []}
    assert d["connections"]["workload"]["became_allowed"] == [
        {"from": "b/Pod/q", "to": "a/Pod/p", "ports": {"TCP": ["8080"]}, "was": "none"}]
    _, back, _ = _diff(new, old)
    assert back["connections"]["namespace"]["became_denied"] == [
        {"from": "b", "to": "a", "ports": {"TCP": ["8080"]}, "now": "none"}]


def test_text_markdown_and_html_render_the_same_changes(tmp_path):
    rc, text, _ = run_cli("diff", OLD, NEW)
    assert rc == 0
    assert "Workload connections that became denied: 1\n  shop/Deployment/api  shop-db/Deployment/redis  TCP 6379  none" \
        in text
    assert "New findings: 6" in text and "  added  shop/search" in text
    md = run_cli("diff", OLD, NEW, "--format", "md")[1]
    assert "### New findings (6)" in md and "| shop/Deployment/api | shop-db/Deployment/redis | TCP 6379 | none |" in md
    out = tmp_path / "drift.html"
    assert run_cli("diff", OLD, NEW, "--format", "html", "-o", out)[0] == 0
    html = out.read_text()
    assert "Content-Security-Policy" in html and "<td>shop/Deployment/api</td>" in html
    assert "New findings (6)" in html
    assert run_cli("diff", NEW, NEW, "--format", "html")[1].count("<b>No change</b>") == 1


def test_hostile_side_labels_are_escaped(tmp_path):
    evil = tmp_path / "<script>alert(1)<\u202e"
    evil.mkdir()
    (evil / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    html = run_cli("diff", evil, evil, "--format", "html")[1]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;\\u202e" in html
    md = run_cli("diff", evil, evil, "--format", "md")[1]
    assert "<script>" not in md and "\u202e" not in md


def test_workload_pairs_leave_out_a_pod_with_itself(write):
    """Two bare pods and a two-replica Deployment in one namespace, no policy: every ordered pair of distinct
    pods is open, so the Deployment talks to itself (replica to replica) and a bare pod never does."""
    from scanner.api import load
    from scanner.config import load_config
    from scanner.context import Context
    from scanner.diff import workload_connections
    from scanner.intervals import ALL_PORTS

    OWNED = (", labels: {pod-template-hash: 6d4cf56db6}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, "
             "name: web-6d4cf56db6, uid: u1, controller: true}]")
    pods = "".join(f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {n}, namespace: a{extra}}}\n"
                   for n, extra in (("p", ""), ("q", ""),
                                    ("web-6d4cf56db6-x1", OWNED), ("web-6d4cf56db6-x2", OWNED)))
    loaded = load([write("c.yaml", pods)])
    ctx = Context(loaded.cluster, loaded.index, load_config(None), "manifests", True, (), None)
    pairs, note = workload_connections(ctx)
    names = ["a/Pod/p", "a/Pod/q", "a/Deployment/web"]
    assert note is None
    assert pairs == {(x, y): ALL_PORTS for x in names for y in names if x != y or x == "a/Deployment/web"}
    assert len(loaded.index.classes) == 1  # no selector reads a label: one class of four pods
    assert workload_connections(ctx, max_pairs=0) == (None, "not computed: 1 pairs of pod classes, more than the "
                                                            "limit of 0; the namespace level is complete")
