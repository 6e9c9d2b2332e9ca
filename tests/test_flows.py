"""Observed flows (`scan --observed-flows`): the file format, the comparison with the allowed paths, and NP039."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT, run_cli

from scanner import flows as flows_module
from scanner.api import load
from scanner.catalog import load_catalog
from scanner.config import load_config
from scanner.context import Context
from scanner.errors import InputError
from scanner.flows import Flow, FlowEnd, load_flows, observe, parse_flows
from scanner.intervals import port_range, union
from scanner.plugin import detect_plugin

# --- the file ---------------------------------------------------------------------------------------------------

CSV = """\
# exported from Calico flow logs
# window: 2026-05-01T02:00:00+02:00/2026-05-08T00:00:00Z

source,destination,port,protocol,count,last_seen
shop/web,shop/api,8080,TCP,10,2026-05-07T10:00:00Z
shop/web , shop/api ,8080,tcp,5,2026-05-07T11:00:00.250+02:00
10.0.0.1,shop/Deployment/api,53,17,,
# a comment between records
shop/api,shop/pod/debug-0,9000,,1,
"""


def test_csv_records_are_parsed_normalised_and_merged(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text(CSV)
    got = load_flows(str(path))
    assert (got.format, got.window, got.records) == ("csv", ("2026-05-01T00:00:00Z", "2026-05-08T00:00:00Z"), 4)
    assert got.flows == (
        Flow(FlowEnd("10.0.0.1", address="10.0.0.1"), FlowEnd("shop/Deployment/api", "shop", "Deployment", "api"),
             "UDP", 53, 1, None, "line 7"),
        Flow(FlowEnd("shop/api", "shop", None, "api"), FlowEnd("shop/Pod/debug-0", "shop", "Pod", "debug-0"),
             "TCP", 9000, 1, None, "line 9"),
        Flow(FlowEnd("shop/web", "shop", None, "web"), FlowEnd("shop/api", "shop", None, "api"), "TCP", 8080, 15,
             "2026-05-07T10:00:00Z", "line 5"),
    )
    assert len(got.sha256) == 64


def test_json_document_is_parsed_like_csv(tmp_path):
    path = tmp_path / "flows.json"
    path.write_text(json.dumps({
        "window": {"from": "2026-05-01T00:00:00Z", "to": "2026-05-08T00:00:00Z"},
        "flows": [{"source": "shop/web", "destination": "2001:db8::1", "port": 443},
                  {"source": "shop/web", "destination": "2001:0db8:0::1", "port": "443", "protocol": "tcp",
                   "count": 4, "last_seen": "2026-05-02T00:00:00Z"}]}))
    got = load_flows(str(path))
    assert (got.format, got.window, got.records) == ("json", ("2026-05-01T00:00:00Z", "2026-05-08T00:00:00Z"), 2)
    assert got.flows == (Flow(FlowEnd("shop/web", "shop", None, "web"), FlowEnd("2001:db8::1", address="2001:db8::1"),
                              "TCP", 443, 5, "2026-05-02T00:00:00Z", "flows[0]"),)
    assert got.window_json() == {"from": "2026-05-01T00:00:00Z", "to": "2026-05-08T00:00:00Z"}


def test_format_is_chosen_by_content_when_the_extension_says_nothing(tmp_path):
    (tmp_path / "a.log").write_text('{"flows": [{"source": "a/b", "destination": "a/c", "port": 1}]}')
    (tmp_path / "b.log").write_text("source,destination,port\na/b,a/c,1\n")
    assert load_flows(str(tmp_path / "a.log")).format == "json"
    assert load_flows(str(tmp_path / "b.log")).format == "csv"
    assert load_flows(str(tmp_path / "b.log")).window is None


@pytest.mark.parametrize(("name", "content", "message"), [
    ("f.csv", "", "f.csv: no header line (source,destination,port,protocol[,count][,last_seen])"),
    ("f.csv", "source,destination\n", "f.csv: line 1 (header): missing column(s) port (header: "
                                      "source,destination,port,protocol[,count][,last_seen])"),
    ("f.csv", "source,destination,port,verdict\n", "f.csv: line 1 (header): unknown column 'verdict' (known: "
                                                   "source, destination, port, protocol, count, last_seen)"),
    ("f.csv", "source,destination,port,port\n", "f.csv: line 1 (header): column 'port' appears twice"),
    ("f.csv", "source,destination,port\n", "f.csv: holds no flows"),
    ("f.csv", "source,destination,port\na/b,a/c\n", "f.csv: line 2: 2 fields, the header has 3"),
    ("f.csv", "source,destination,port\na/b,a/c,http\n", "f.csv: line 2: port: 'http' is not a whole number"),
    ("f.csv", "source,destination,port\na/b,a/c,70000\n", "f.csv: line 2: port: 70000 is outside 1-65535"),
    ("f.csv", "source,destination,port\na/b,,80\n", "f.csv: line 2: destination: required"),
    ("f.csv", "source,destination,port,protocol\na/b,a/c,80,ICMP\n",
     "f.csv: line 2: protocol: 'ICMP': TCP, UDP or SCTP (NetworkPolicy governs no other protocol: leave such flows "
     "out)"),
    ("f.csv", "source,destination,port,count\na/b,a/c,80,0\n", "f.csv: line 2: count: 0: must be a positive integer"),
    ("f.csv", "source,destination,port\nshop,a/c,80\n",
     "f.csv: line 2: source: 'shop' is not namespace/workload, namespace/Kind/name or an IP address"),
    ("f.csv", "source,destination,port\na/Service/b,a/c,80\n",
     "f.csv: line 2: source: 'a/Service/b': unknown kind 'Service' (Pod, Deployment, StatefulSet, DaemonSet, "
     "ReplicaSet, ReplicationController, Job, CronJob)"),
    ("f.csv", "source,destination,port\nShop/b,a/c,80\n",
     "f.csv: line 2: source: 'Shop/b': 'Shop' is not a namespace name (namespace/workload, namespace/Kind/name or "
     "an IP address)"),
    ("f.csv", "source,destination,port,last_seen\na/b,a/c,80,2026-05-01 10:00\n",
     "f.csv: line 2: last_seen: '2026-05-01 10:00' is not an RFC 3339 time with a time zone (2026-05-01T00:00:00Z)"),
    ("f.csv", "# window: 2026-05-08T00:00:00Z/2026-05-01T00:00:00Z\nsource,destination,port\n",
     "f.csv: line 1: window: the window ends (2026-05-01T00:00:00Z) before it starts (2026-05-08T00:00:00Z)"),
    ("f.csv", "# window: 2026-05-01T00:00:00Z\n", "f.csv: line 1: window: '2026-05-01T00:00:00Z' is not FROM/TO "
                                                 "(two RFC 3339 times)"),
    ("f.csv", "source,destination,port\n# window: 2026-05-01T00:00:00Z/2026-05-02T00:00:00Z\na/b,a/c,1\n",
     "f.csv: line 2: window: the window comment must come before the header line"),
    ("f.csv", 'source,destination,port\n"a/b,a/c,1\n', "f.csv: line 2: not a CSV line: unexpected end of data"),
    ("f.csv", "source,destination,port\na/b,a/c,\u00b2\n", "f.csv: line 2: port: '\u00b2' is not a whole number"),
    ("f.csv", "source,destination,port,last_seen\na/b,a/c,80,9999-12-31T23:59:59-01:00\n",
     "f.csv: line 2: last_seen: '9999-12-31T23:59:59-01:00' is outside the representable range of times"),
    ("f.json", "{", "f.json: invalid JSON: unexpected end of data: line 1 column 2 (char 1)"),
    ("f.json", "[]", 'f.json: must be an object {"flows": [...], "window": {...}}, not a list'),
    ("f.json", '{"flow": []}', "f.json: flow: unknown key (known: flows, window)"),
    ("f.json", '{"window": null}', "f.json: flows: must be a list of flows, not null"),
    ("f.json", '{"flows": [1]}', "f.json: flows[0]: must be an object, not a number"),
    ("f.json", '{"flows": [{"source": "a/b", "destination": "a/c", "port": 1, "verdict": "FORWARDED"}]}',
     "f.json: flows[0]: verdict: unknown key (known: source, destination, port, protocol, count, last_seen)"),
    ("f.json", '{"flows": [{"source": "a/b", "destination": "a/c", "port": true}]}',
     "f.json: flows[0]: port: True is not a whole number"),
    ("f.json", '{"flows": [], "window": {"from": "2026-05-01T00:00:00Z"}}',
     "f.json: window.to: None is not an RFC 3339 time with a time zone (2026-05-01T00:00:00Z)"),
    ("f.json", '{"flows": [], "window": {"from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z", "x": 1}}',
     "f.json: window.x: unknown key (known: from, to)"),
])
def test_bad_files_are_one_line_errors_naming_record_and_field(name, content, message):
    with pytest.raises(InputError) as e:
        parse_flows(content.encode(), name)
    assert str(e.value) == message


def test_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("source,destination,port\n" + "a/b,a/c,1\n" * 10)
    monkeypatch.setattr(flows_module, "MAX_BYTES", 100)
    with pytest.raises(InputError) as e:
        load_flows(str(path))
    assert str(e.value) == (f"{path}: 124 bytes, over the limit of 100: aggregate the flows first (one record per "
                            "source, destination, port and protocol, with a count)")
    monkeypatch.setattr(flows_module, "MAX_BYTES", 1000)
    monkeypatch.setattr(flows_module, "MAX_RECORDS", 9)
    with pytest.raises(InputError) as e:
        load_flows(str(path))
    assert str(e.value) == (f"{path}: more than 9 records: aggregate the flows first (one record per source, "
                            "destination, port and protocol, with a count)")


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as e:
        load_flows(str(tmp_path / "nope.csv"))
    assert str(e.value) == f"{tmp_path / 'nope.csv'}: cannot read: No such file or directory"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("flows.csv", "source,destination,port\nshop/frontend,shop/api,http\n",
     "flows.csv: line 2: port: 'http' is not a whole number"),
    ("flows.json", '{"flows": [{"source": "shop", "destination": "shop/api", "port": 80}]}',
     "flows.json: flows[0]: source: 'shop' is not namespace/workload, namespace/Kind/name or an IP address"),
    ("flows.csv", "", "flows.csv: no header line (source,destination,port,protocol[,count][,last_seen])"),
])
def test_the_real_cli_exits_2_with_one_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "cluster.yaml", "--observed-flows", name,
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, check=False)
    assert proc.returncode == 2
    assert proc.stderr == f"netpol-audit: error: {message}\n"
    assert not (tmp_path / "out").exists()


# --- the comparison --------------------------------------------------------------------------------------------

CLUSTER = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{protocol: TCP, port: 1, endPort: 65535}]}]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
  - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
    ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [web, api, worker]}]}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: worker, namespace: shop}
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: 5432}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  selector: {matchLabels: {app: worker}}
  template: {metadata: {labels: {app: worker}}, spec: {containers: [{name: worker}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: debug}}
spec: {containers: [{name: debug}]}
status: {phase: Running, podIP: 10.244.0.9, podIPs: [{ip: 10.244.0.9}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: old-a, namespace: legacy}
spec:
  selector: {matchLabels: {app: old-a}}
  template: {metadata: {labels: {app: old-a}}, spec: {containers: [{name: a}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: old-b, namespace: legacy}
spec:
  selector: {matchLabels: {app: old-b}}
  template: {metadata: {labels: {app: old-b}}, spec: {containers: [{name: b}]}}
"""

FLOWS = """\
# window: 2026-05-01T00:00:00Z/2026-05-08T00:00:00Z
source,destination,port,protocol,count,last_seen
shop/web,shop/api,8080,TCP,10,2026-05-07T10:00:00Z
shop/web,shop/Deployment/api,8080,TCP,5,
shop/web,shop/db,5433,TCP,2,
shop/api,shop/db,5432,TCP,3,
shop/api,203.0.113.7,443,TCP,4,
shop/api,198.51.100.1,443,TCP,1,2026-05-02T00:00:00Z
192.0.2.10,shop/api,8080,TCP,7,
10.244.0.9,shop/api,8080,TCP,1,
legacy/old-a,legacy/old-b,80,TCP,9,
shop/ghost,shop/api,8080,TCP,1,
"""

DENIED_NOTE = ("observed but denied by the current policies: the policies changed since the observation, or the "
               "flow log disagrees with them (a dropped flow exported as seen, or a plugin that enforces "
               "differently)")


def _context(tmp_path: Path, flows: str | None, manifests: str = CLUSTER, config: str | None = None) -> Context:
    (tmp_path / "cluster.yaml").write_text(manifests)
    loaded = load([str(tmp_path / "cluster.yaml")])
    observed = None
    if flows is not None:
        (tmp_path / "flows.csv").write_text(flows)
        observed = load_flows(str(tmp_path / "flows.csv"))
    config_path = None
    if config is not None:
        config_path = tmp_path / "config.yaml"
        config_path.write_text(config)
    return Context(loaded.cluster, loaded.index, load_config(str(config_path) if config_path else None),
                   observed_flows=observed, plugin=detect_plugin(loaded.cluster))


def _np039(tmp_path: Path):
    """NP039 through the real catalog loader, alone (other rules' work in progress cannot break these tests)."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    for suffix in (".py", ".yaml"):
        shutil.copy(ROOT / "rules" / f"np039_unused_allowed_path{suffix}", rules)
    return load_catalog([rules]).rules["NP039"]


def _results(tmp_path: Path, flows: str | None, **kw):
    ctx = _context(tmp_path, flows, **kw)
    return {r.subject.ref: r for r in _np039(tmp_path)(ctx)}


def test_allowed_paths_used_unused_and_open_pairs(tmp_path):
    obs = observe(_context(tmp_path, FLOWS), load_flows(str(tmp_path / "flows.csv")))
    assert not isinstance(obs, str)
    views = {v.key: v for v in obs.sources}
    tcp_all = port_range("TCP", 1, 65535)
    assert {k: v.paths for k, v in views.items()} == {
        "legacy/Deployment/old-a": {}, "legacy/Deployment/old-b": {},
        "shop/Deployment/api": {"shop/StatefulSet/db": port_range("TCP", 5432, 5432)},
        "shop/Deployment/web": {"shop/Deployment/api": tcp_all, "shop/StatefulSet/db": port_range("TCP", 5432, 5432)},
        "shop/Deployment/worker": {"shop/StatefulSet/db": port_range("TCP", 5432, 5432)},
        "shop/Pod/debug": {}, "shop/StatefulSet/db": {}}
    web = views["shop/Deployment/web"]
    assert web.unused == ["shop/StatefulSet/db"]
    assert web.narrower == ["shop/Deployment/api"]
    assert (web.used["shop/Deployment/api"].ports, web.used["shop/Deployment/api"].flows,
            web.used["shop/Deployment/api"].last_seen) == (port_range("TCP", 8080, 8080), 15, "2026-05-07T10:00:00Z")
    assert (web.flows_from, web.flows_to) == (3, 0)
    assert (obs.open_sources, obs.open_destinations, obs.open_pairs) == (
        ["legacy/Deployment/old-a", "legacy/Deployment/old-b"], ["legacy/Deployment/old-a", "legacy/Deployment/old-b"],
        2)
    assert list(obs.open_used) == [("legacy/Deployment/old-a", "legacy/Deployment/old-b")]
    assert (views["legacy/Deployment/old-a"].egress_open, views["legacy/Deployment/old-a"].open_destinations) == (
        True, 1)
    assert obs.unresolved == {"shop/ghost": "no such workload or pod in the input"}
    assert views["shop/Deployment/api"].external["203.0.113.7"].ports == port_range("TCP", 443, 443)


def test_np039_findings_on_a_small_cluster(tmp_path):
    got = _results(tmp_path, FLOWS)
    assert {ref: r.status for ref, r in got.items()} == {
        "Cluster/cluster": "FAIL", "Deployment/shop/api": "PASS", "Deployment/shop/web": "FAIL",
        "Deployment/shop/worker": "FAIL", "Pod/shop/debug": "PASS", "StatefulSet/shop/db": "PASS"}
    web = got["Deployment/shop/web"]
    assert web.message == (
        "shop/Deployment/web: 1 of its 2 allowed path(s) to other workloads carried no observed flow in the "
        "observation window: shop/StatefulSet/db on TCP 5432; narrow or remove what admits them: shop/db "
        "spec.ingress[0], shop/web spec.egress[1]; observed but denied by the current policies: shop/Deployment/web "
        "to shop/StatefulSet/db on 5433/TCP")
    observation = {"file": str(tmp_path / "flows.csv"), "sha256": web.evidence["observation"]["sha256"],
                   "window": {"from": "2026-05-01T00:00:00Z", "to": "2026-05-08T00:00:00Z"}, "records": 10,
                   "flows": 10, "flows_from_it": 3, "flows_to_it": 0, "unresolved_total": 1,
                   "unresolved": [{"end": "shop/ghost", "why": "no such workload or pod in the input"}]}
    assert dict(web.evidence) == {
        "observation": observation, "allowed_paths": 2,
        "unused": [{"to": "shop/StatefulSet/db", "ports": {"TCP": ["5432"]}, "admitted_by": {
            "egress": ["shop/web spec.egress[1] (to[0] podSelector app=db (policy's namespace); TCP 5432)"],
            "ingress": ["shop/db spec.ingress[0] (from[0] podSelector app in (api,web,worker) (policy's namespace); "
                        "TCP 5432)"]}}],
        "unused_total": 1, "rules": ["shop/db spec.ingress[0]", "shop/web spec.egress[1]"],
        "used": [{"to": "shop/Deployment/api", "ports": {"TCP": ["8080"]}, "flows": 15,
                  "last_seen": "2026-05-07T10:00:00Z"}],
        "used_total": 1,
        "narrowing": [{"to": "shop/Deployment/api", "allowed": {"TCP": "all"}, "used": {"TCP": ["8080"]},
                       "unused_ports": {"TCP": ["1-8079", "8081-65535"]}}],
        "narrowing_total": 1,
        "observed_denied": [{"from": "shop/Deployment/web", "to": "shop/StatefulSet/db", "port": "5433/TCP",
                             "flows": 2, "last_seen": None, "record": "line 5"}],
        "observed_denied_total": 1, "notes": [DENIED_NOTE]}


def test_no_traffic_from_a_workload_with_allowed_paths_fails(tmp_path):
    got = _results(tmp_path, FLOWS)
    assert got["Deployment/shop/worker"].message == (
        "shop/Deployment/worker: no traffic observed from it in the observation window, yet its policies allow 1 "
        "path(s) to other workloads (shop/StatefulSet/db on TCP 5432); it appears in no observed flow at all: "
        "either it is idle or the flow log does not cover it; narrow or remove what admits them: shop/db "
        "spec.ingress[0], shop/worker spec.egress[0]")
    # seen as a destination: the log covers it, so it looks idle as a client
    got = _results(tmp_path, FLOWS + "shop/api,shop/worker,8080,TCP,1,\n")
    assert got["Deployment/shop/worker"].message == (
        "shop/Deployment/worker: no traffic observed from it in the observation window, yet its policies allow 1 "
        "path(s) to other workloads (shop/StatefulSet/db on TCP 5432); it is the destination of 1 observed "
        "flow(s), so the flow log covers it: it looks idle as a client; narrow or remove what admits them: "
        "shop/db spec.ingress[0], shop/worker spec.egress[0]")


def test_observed_but_denied_flows_are_noted_on_both_kinds_of_subject(tmp_path):
    got = _results(tmp_path, FLOWS)
    api = got["Deployment/shop/api"]
    assert api.message == (
        "shop/Deployment/api: each of its 1 allowed path(s) to other workloads was used in the observation window; "
        "observed but denied by the current policies: 192.0.2.10 to shop/Deployment/api on 8080/TCP and 1 more")
    assert api.evidence["observed_denied"] == [
        {"from": "192.0.2.10", "to": "shop/Deployment/api", "port": "8080/TCP", "flows": 7, "last_seen": None,
         "record": "line 9"},
        {"from": "shop/Deployment/api", "to": "198.51.100.1", "port": "443/TCP", "flows": 1,
         "last_seen": "2026-05-02T00:00:00Z", "record": "line 8"}]
    assert api.evidence["external"] == [{"to": "203.0.113.7", "ports": {"TCP": ["443"]}, "flows": 4,
                                         "last_seen": None}]
    # the pod IP 10.244.0.9 is the bare pod shop/debug, whose egress allows nothing
    debug = got["Pod/shop/debug"]
    assert debug.message == ("shop/debug: its policies allow it no path to another workload; observed but denied "
                             "by the current policies: shop/Pod/debug to shop/Deployment/api on 8080/TCP")
    assert debug.evidence["observed_denied"] == [
        {"from": "shop/Pod/debug", "to": "shop/Deployment/api", "port": "8080/TCP", "flows": 1, "last_seen": None,
         "record": "line 10"}]


def test_open_workloads_are_one_cluster_finding(tmp_path):
    got = _results(tmp_path, FLOWS)
    assert "Deployment/legacy/old-a" not in got and "Deployment/legacy/old-b" not in got
    cluster = got["Cluster/cluster"]
    assert cluster.message == (
        "2 workload(s) not isolated for egress (legacy/Deployment/old-a, legacy/Deployment/old-b) may connect on "
        "every port to 2 workload(s) not isolated for ingress (legacy/Deployment/old-a, legacy/Deployment/old-b): "
        "2 pair(s) that observed flows cannot narrow, since no policy restricts them. Isolate them with "
        "default-deny policies first (NP004, NP005), then allow what the flows show (1 of these pairs were "
        "observed)")
    evidence = dict(cluster.evidence)
    del evidence["observation"]
    assert evidence == {
        "open_pairs": 2, "open_sources": ["legacy/Deployment/old-a", "legacy/Deployment/old-b"],
        "open_sources_total": 2, "open_destinations": ["legacy/Deployment/old-a", "legacy/Deployment/old-b"],
        "open_destinations_total": 2,
        "observed_open_pairs": [{"from": "legacy/Deployment/old-a", "to": "legacy/Deployment/old-b",
                                 "ports": {"TCP": ["80"]}, "flows": 9, "last_seen": None}],
        "observed_open_pairs_total": 1}


def test_many_open_workloads_stay_one_finding_with_capped_lists(tmp_path):
    manifests = "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i:03d}, namespace: open}}\nspec: {{containers: [{{name: c}}]}}"
        for i in range(60))
    got = _results(tmp_path, "source,destination,port\nopen/p000,open/p001,80\n", manifests=manifests)
    assert list(got) == ["Cluster/cluster"]
    ev = got["Cluster/cluster"].evidence
    assert (ev["open_pairs"], ev["open_sources_total"], len(ev["open_sources"]), ev["open_sources"][-1]) == (
        60 * 59, 60, 50, "open/Pod/p049")


def test_unresolved_addresses_inside_the_pod_and_service_ranges(tmp_path):
    config = "network: {pod_cidrs: [10.244.0.0/16], service_cidrs: [10.96.0.0/12]}\n"
    flows = ("source,destination,port\n10.244.7.7,shop/api,80\nshop/web,10.96.0.10,53\nshop/web,10.244.0.9,80\n"
             "shop/Deployment/ghost,shop/api,80\n")
    ctx = _context(tmp_path, flows, config=config)
    obs = observe(ctx, ctx.observed_flows)
    assert not isinstance(obs, str)
    assert obs.unresolved == {
        "10.244.7.7": "an address in the pod network that no pod of the input holds",
        "10.96.0.10": "a Service address: flows must name the pod behind it (export after load balancing)",
        "shop/Deployment/ghost": "no such Deployment in the input"}
    # 10.244.0.9 is shop/debug's IP: resolved, and denied (debug's ingress admits nothing)
    views = {v.key: v for v in obs.sources}
    assert views["shop/Deployment/web"].denied == [
        {"from": "shop/Deployment/web", "to": "shop/Pod/debug", "port": "80/TCP", "flows": 1, "last_seen": None,
         "record": "line 4"}]


def test_an_ambiguous_name_is_unresolved(tmp_path):
    manifests = CLUSTER + """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db2}}
  template: {metadata: {labels: {app: db2}}, spec: {containers: [{name: db}]}}
"""
    ctx = _context(tmp_path, "source,destination,port\nshop/web,shop/db,5432\nshop/web,shop/StatefulSet/db,5432\n",
                   manifests=manifests)
    obs = observe(ctx, ctx.observed_flows)
    assert not isinstance(obs, str)
    assert obs.unresolved == {"shop/db": "names a Deployment and a StatefulSet: write namespace/Kind/name"}
    web = next(v for v in obs.sources if v.key == "shop/Deployment/web")
    assert list(web.used) == ["shop/StatefulSet/db"]


def test_pod_names_and_pod_ips_stand_for_their_workload(tmp_path):
    """The example's api replicas are named by pod name and pod IP in its flow file: all count for shop/api."""
    loaded = load([str(EXAMPLE)])
    ctx = Context(loaded.cluster, loaded.index, load_config(str(ROOT / "examples" / "netpol-audit.yaml")))
    obs = observe(ctx, load_flows(str(ROOT / "examples" / "shop-cluster-observed-flows.csv")))
    assert not isinstance(obs, str)
    api = next(v for v in obs.sources if v.key == "shop/Deployment/api")
    assert (api.used["shop/Deployment/cart"].flows, api.used["shop/Deployment/catalog"].flows) == (
        412908 + 409876 + 411022, 998120 + 1001433 + 996561)
    assert obs.unresolved == {}


def test_not_applicable_without_flows_or_when_nothing_matches(tmp_path):
    got = _results(tmp_path, None)
    assert [(ref, r.status, r.message) for ref, r in got.items()] == [
        ("Cluster/cluster", "NOT_APPLICABLE", "no observed flows were given (scan --observed-flows FILE)")]
    got = _results(tmp_path, "source,destination,port\nother/a,other/b,80\n")
    assert [(ref, r.status, r.message) for ref, r in got.items()] == [
        ("Cluster/cluster", "NOT_APPLICABLE", "none of the 1 observed flow(s) names a workload, pod or pod address "
                                              "of the input: is the flow file from this cluster?")]


def test_results_do_not_depend_on_the_order_of_the_flows(tmp_path):
    window, header, *rows = FLOWS.splitlines()
    random.Random(7).shuffle(rows)
    shuffled = "\n".join([window, header, *rows]) + "\n"
    assert shuffled != FLOWS
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _results(tmp_path / "a", FLOWS), _results(tmp_path / "b", shuffled)
    assert list(first) == list(second)

    def comparable(r):
        ev = json.loads(json.dumps(dict(r.evidence), sort_keys=True))
        ev["observation"].pop("file")
        ev["observation"].pop("sha256")
        for d in ev.get("observed_denied", []):
            d.pop("record")
        return r.status, r.message, ev

    assert [comparable(r) for r in first.values()] == [comparable(r) for r in second.values()]


def test_the_example_through_the_cli(tmp_path):
    rc, _, err = run_cli("scan", EXAMPLE, "--config", ROOT / "examples" / "netpol-audit.yaml", "--observed-flows",
                         ROOT / "examples" / "shop-cluster-observed-flows.csv", "--format", "json", "-o", tmp_path, "--fail-on", "none")
    assert rc == 0, err
    result = json.loads((tmp_path / "netpol-audit.json").read_text())
    got = {f"{f['subject']['kind']}/{f['subject']['namespace']}/{f['subject']['name']}": f["status"]
           for f in result["findings"] if f["rule"] == "NP039"}
    assert got == {
        "Cluster/None/cluster": "FAIL",
        "CronJob/batch/nightly-report": "PASS",
        "Deployment/default/legacy-reporter": "FAIL",
        "Deployment/ingress-nginx/ingress-nginx-controller": "FAIL",
        "Deployment/kube-system/coredns": "FAIL",
        "Deployment/monitoring/grafana": "FAIL",
        "StatefulSet/monitoring/prometheus": "PASS",
        "Deployment/payments/payments-api": "PASS",
        "Deployment/payments/tokenizer": "FAIL",
        "StatefulSet/payments/payments-db": "FAIL",
        "Deployment/shop-db/redis": "FAIL",
        "Deployment/shop/api": "PASS",
        "Deployment/shop/cart": "PASS",
        "Deployment/shop/catalog": "PASS",
        "Deployment/shop/frontend": "PASS",
    }
    nginx = next(f for f in result["findings"] if f["rule"] == "NP039" and f["subject"]["name"] ==
                 "ingress-nginx-controller")
    assert nginx["message"] == (
        "ingress-nginx/Deployment/ingress-nginx-controller: 1 of its 3 allowed path(s) to other workloads carried "
        "no observed flow in the observation window: monitoring/Deployment/grafana on TCP 3000; narrow or remove "
        "what admits them: ingress-nginx/ingress-nginx-controller spec.egress[1], monitoring/grafana spec.ingress[0]")


def test_use_merges_ports():
    from scanner.flows import Use

    u = Use()
    end = FlowEnd("a/b", "a", None, "b")
    u.add(Flow(end, end, "TCP", 80, 2, "2026-05-01T00:00:00Z", "line 2"))
    u.add(Flow(end, end, "UDP", 53, 3, None, "line 3"))
    assert (u.ports, u.flows, u.last_seen) == (union(port_range("TCP", 80, 80), port_range("UDP", 53, 53)), 5,
                                               "2026-05-01T00:00:00Z")
