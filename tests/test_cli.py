"""The CLI: reach output and exit codes, matrix formats, usage errors, no tracebacks."""

from conftest import EXAMPLE, run_cli, run_json

CLUSTER = """apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9000}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: other, labels: {app: web}}
spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
"""


def test_reach_allowed_and_denied_exit_codes_and_reasons(write, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # narrow terminal: the two sides are printed one above the other
    path = write("c.yaml", CLUSTER)
    rc, out, err = run_cli("reach", path, "--from", "shop/web", "--to", "shop/api", "--port", "9000")
    assert (rc, err) == (0, "")
    assert out.splitlines()[0] == "ALLOWED  shop/web -> shop/api on 9000/TCP"
    assert out.splitlines()[2:] == [
        "egress of shop/web: not isolated (no policy affecting egress selects it)",
        "",
        "ingress of shop/api: isolated by shop/api-from-web; allowed",
        "  admitted by shop/api-from-web spec.ingress[0] (from[0] podSelector app=web (policy's namespace); "
        "http/TCP)",
    ]
    rc, out, _ = run_cli("reach", path, "--from", "other/intruder", "--to", "shop/api", "--port", "http")
    assert rc == 1
    assert out.splitlines()[0] == "DENIED  other/intruder -> shop/api on http/TCP (9000)"
    flat = out
    assert "selects pods of the policy's own namespace 'shop' only; other/intruder is in 'other'" in flat
    rc, out, _ = run_cli("reach", path, "--from", "shop/web", "--to", "shop/api", "--port", "8080")
    assert rc == 1
    assert "port 8080/TCP is not among its ports (http/TCP); named port http/TCP is 9000 on shop/api" in \
        " ".join(out.split())


def test_reach_json_single(write):
    path = write("c.yaml", CLUSTER)
    rc, data, _ = run_json("reach", path, "--from", "203.0.113.9", "--to", "shop/api", "--port", "9000/tcp",
                           "-o", "json")
    assert rc == 1
    assert {k: data[k] for k in ("allowed", "egress_allowed", "ingress_allowed", "protocol")} == \
        {"allowed": False, "egress_allowed": None, "ingress_allowed": False, "protocol": "TCP"}


def test_reach_usage_errors_are_one_line(write):
    path = write("c.yaml", CLUSTER)
    for argv, expected in [
        (["--from", "shop/web", "--to", "shop/nope", "--port", "80"], "--to: 'shop/nope': no such pod"),
        (["--from", "shop/web", "--to", "shop/api", "--port", "80/ICMP"], "--port: unknown protocol 'ICMP'"),
        (["--from", "shop/web", "--to", "shop/api", "--port", "70000"], "--port: port 70000 is outside 1-65535"),
        (["--from", "shop/web", "--to", "shop/api", "--port", "grpc"], "shop/api defines no TCP port named 'grpc'"),
        (["--from", "shop/web", "--to", "shop/api"], "--port required"),
        (["--from", "1.2.3.4", "--to", "10.0.0.1", "--port", "80"], "at least one side"),
        (["--from", "a/b/c/d", "--to", "shop/api", "--port", "80"], "is not namespace/pod-name"),
    ]:
        rc, _, err = run_cli("reach", path, *argv)
        assert rc == 2, argv
        assert expected in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_queries_file_errors_name_the_query(write):
    path = write("c.yaml", CLUSTER)
    q = write("q.yaml", "- {from: shop/web, to: shop/api, port: 9000}\n- {from: shop/web, to: nope/x, port: 1}\n")
    rc, out, err = run_cli("reach", path, "--queries", q, "-o", "json")
    assert rc == 2 and out == ""
    assert err == f"netpol-audit: error: {q}: query 1: to: 'nope/x': no such pod or workload in the input\n"


def test_matrix_formats(write):
    path = write("c.yaml", CLUSTER)
    rc, data, _ = run_json("matrix", path, "-o", "json")
    assert rc == 0
    assert data == {"schema_version": 1, "level": "namespace", "entries": [
        {"from": "other", "to": "shop", "ports": {"TCP": "all", "UDP": "all", "SCTP": "all"}},
        {"from": "shop", "to": "other", "ports": {"TCP": "all", "UDP": "all", "SCTP": "all"}},
        {"from": "shop", "to": "shop", "ports": {"TCP": "all", "UDP": "all", "SCTP": "all"}},
    ], "unevaluated_policies": []}
    # other -> shop is "all" because shop/web is not isolated; other -> shop/api is denied (pod level)
    rc, data, _ = run_json("matrix", path, "--level", "pod", "-o", "json")
    pairs = {(e["from"], e["to"]): e["ports"] for e in data["entries"]}
    assert ("other/intruder", "shop/api") not in pairs
    assert pairs[("shop/web", "shop/api")] == {"TCP": ["9000"]}
    rc, out, _ = run_cli("matrix", path, "-o", "csv")
    assert out.splitlines()[:2] == ["from,to,protocol,ports", "other,shop,TCP,all"]
    assert "shop,shop,TCP,all" in out.splitlines()


def test_demo_example_runs_every_query_command(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert run_cli("isolation", EXAMPLE)[0] == 0
    assert run_cli("matrix", EXAMPLE)[0] == 0
    rc, out, _ = run_cli("reach", EXAMPLE, "--from", "shop/Deployment/frontend", "--to", "shop/Deployment/cart",
                         "--port", "8080")
    lines = out.splitlines()
    assert rc == 1
    assert lines[0] == "DENIED  shop/Deployment/frontend -> shop/Deployment/cart on 8080/TCP"
    assert lines[2] == ("egress of shop/Deployment/frontend: isolated by shop/allow-dns-egress, "
                        "shop/default-deny-all, shop/frontend; no rule admits shop/Deployment/cart on 8080/TCP")
    assert "  shop/default-deny-all: isolates ingress and has no ingress rules (allows nothing by itself)" in lines
    rc, out, _ = run_cli("reach", EXAMPLE, "--from", "shop/Deployment/frontend", "--to",
                         "shop/api-7c5b9d6f48-m4hbt", "--port", "http")
    assert (rc, out.splitlines()[0]) == (
        0, "ALLOWED  shop/Deployment/frontend -> shop/api-7c5b9d6f48-m4hbt on http/TCP (8080)")


def test_no_command_is_usage_error():
    import pytest

    with pytest.raises(SystemExit) as e:
        run_cli()
    assert e.value.code == 2
