"""Segmentation requirements (`scan --requirements`, scanner.requirements, rule NP038): the file format and its
errors, each endpoint form, ports, allow/deny semantics with the exact flows that break them, and the report."""

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLE, ROOT, run_cli

from scanner.api import load
from scanner.catalog import load_catalog
from scanner.config import load_config
from scanner.context import Context
from scanner.engine.exposure import internet
from scanner.errors import InputError
from scanner.intervals import port_range, union
from scanner.requirements import MAX_FILE_BYTES, evaluate, load_requirements, resolve
from scanner.resources import bundled

# --- helpers ------------------------------------------------------------------------------------------------


def context(write, manifests: str, requirements: str, config: str | None = None) -> Context:
    loaded = load([write("cluster.yaml", manifests)])
    reqs = load_requirements(write("requirements.yaml", requirements))
    cfg = load_config(write("config.yaml", config) if config else None)
    return Context(loaded.cluster, loaded.index, cfg, requirements=reqs)


def results(ctx: Context) -> dict:
    """NP038's results by requirement id: (status, message, evidence)."""
    rule = load_catalog([bundled("rules")]).rules["NP038"]
    return {r.subject.name: (r.status, r.message, dict(r.evidence)) for r in rule(ctx)}


def one(write, manifests: str, requirement: str, config: str | None = None):
    """The single requirement of `requirement` (one YAML list item) evaluated: (status, message, evidence)."""
    ctx = context(write, manifests, "requirements:\n" + requirement, config)
    (got,) = results(ctx).values()
    return got


# --- loading ------------------------------------------------------------------------------------------------

GOOD = """requirements:
- id: cde-isolated
  description: Out-of-scope namespaces cannot reach the CDE
  deny:
    from: {namespaceSelector: {matchLabels: {pci-scope: out}}}
    to: {namespaceSelector: {pci-scope: cde}}
- id: ingress-to-api
  allow: {from: ingress-nginx/*, to: payments/api, ports: [443/TCP]}
- id: no-internet-from-payments
  deny: {from: payments/*, to: internet}
"""


def test_a_valid_file_loads_with_lines_and_canonical_texts(write):
    path = write("r.yaml", GOOD)
    reqs = load_requirements(path)
    assert [(r.id, r.kind, r.source.text, r.destination.text, r.ports_text, r.line, r.description)
            for r in reqs.requirements] == [
        ("cde-isolated", "deny", "namespaces pci-scope=out", "namespaces pci-scope=cde", "any port", 2,
         "Out-of-scope namespaces cannot reach the CDE"),
        ("ingress-to-api", "allow", "ingress-nginx/*", "payments/api", "TCP 443", 7, ""),
        ("no-internet-from-payments", "deny", "payments/*", "internet", "any port", 9, "")]
    assert reqs.location(reqs.requirements[1]) == f"{path}:7"


def test_label_keys_are_the_pod_selector_keys(write):
    reqs = load_requirements(write("r.yaml", """requirements:
- id: a
  deny:
    from: {namespaceSelector: {team: x}, podSelector: {tier: web}}
    to: {podSelector: {matchExpressions: [{key: zone, operator: Exists}]}}
"""))
    assert reqs.label_keys() == frozenset({"tier", "zone"})


def test_pod_selector_keys_split_the_engine_classes(write):
    # no policy reads `tier`: without the requirement both pods would be one class
    ctx = context(write, """apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns, labels: {tier: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns, labels: {tier: db}}
""", "requirements:\n- id: x\n  deny: {from: {podSelector: {tier: web}}, to: ns/b}\n")
    assert "tier" in ctx.index.label_keys
    assert ctx.index.class_of[0] != ctx.index.class_of[1]


@pytest.mark.parametrize(("body", "expected"), [
    ("requirements: []\n", ":1: requirements: must be a non-empty list of requirements"),
    ("colour: blue\n", ":1: colour: unknown key (a requirement file has only `requirements`)"),
    ("- a\n", ":1: a requirement file is a mapping with a `requirements` list, not a list"),
    ("requirements:\n- id: a\n  deny: {from: a/*, to: b/*}\n- id: a\n  deny: {from: a/*, to: b/*}\n",
     ":4: requirements[1].id: duplicate id 'a' (also requirements[0])"),
    ("requirements:\n- deny: {from: a/*, to: b/*}\n", ":2: requirements[0].id: an id is required (a string)"),
    ("requirements:\n- id: has space\n  deny: {from: a/*, to: b/*}\n",
     ":2: requirements[0].id: 'has space': an id is 1-100 letters, digits, '.', '_' or '-', starting and ending "
     "with a letter or digit"),
    ("requirements:\n- id: a\n", ":2: requirements[0]: needs exactly one of allow or deny"),
    ("requirements:\n- id: a\n  allow: {from: a/*, to: b/*}\n  deny: {from: a/*, to: b/*}\n",
     ":2: requirements[0]: needs exactly one of allow or deny"),
    ("requirements:\n- id: a\n  severity: high\n  deny: {from: a/*, to: b/*}\n",
     ":3: requirements[0].severity: unknown key (id, description, allow, deny)"),
    ("requirements:\n- id: a\n  description: [x]\n  deny: {from: a/*, to: b/*}\n",
     ":3: requirements[0].description: must be a string, not a list"),
    ("requirements:\n- id: a\n  deny: {from: a/*, via: b/*}\n",
     ":3: requirements[0].deny.via: unknown key (from, to, ports)"),
    ("requirements:\n- id: a\n  deny: {from: a/*}\n", ":3: requirements[0].deny: `to` is required"),
    ("requirements:\n- id: a\n  deny: [a/*, b/*]\n",
     ":3: requirements[0].deny: must be a mapping with from, to and optional ports, not a list"),
    ("requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: [http]\n",
     ":6: requirements[0].deny.ports[0]: 'http' is not a port, a range or PORT/PROTOCOL"),
    ("requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: [443, 70000]\n",
     ":6: requirements[0].deny.ports[1]: '70000' is outside 1-65535"),
    ("requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: [53/ICMP]\n",
     ":6: requirements[0].deny.ports[0]: '53/ICMP': unknown protocol 'ICMP'"),
    ("requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: [true]\n",
     ":6: requirements[0].deny.ports[0]: must be a port (N, N/PROTOCOL or N-M/PROTOCOL), not a boolean"),
    ("requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: []\n",
     ":6: requirements[0].deny.ports: must be a non-empty list of ports (N, N/PROTOCOL or N-M/PROTOCOL); leave "
     "ports out for any port"),
    ("requirements:\n- id: a\n  deny:\n    from: shop\n    to: b/*\n",
     ":4: requirements[0].deny.from: 'shop' is not `internet`, a CIDR, namespace/*, namespace/name, "
     "namespace/Kind/name or a mapping with namespaceSelector and/or podSelector"),
    ("requirements:\n- id: a\n  deny:\n    from: Shop/*\n    to: b/*\n",
     ":4: requirements[0].deny.from: 'Shop/*': 'Shop' is not a namespace name"),
    ("requirements:\n- id: a\n  deny:\n    from: shop/Service/web\n    to: b/*\n",
     ":4: requirements[0].deny.from: 'shop/Service/web': 'Service' is not Pod or a workload kind (Deployment, "
     "StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob)"),
    ("requirements:\n- id: a\n  deny:\n    from: 42\n    to: b/*\n",
     ":4: requirements[0].deny.from: must be `internet`, a CIDR, namespace/*, namespace/name, namespace/Kind/name "
     "or a mapping with namespaceSelector and/or podSelector, not a number"),
    ("requirements:\n- id: a\n  deny:\n    from: {}\n    to: b/*\n",
     ":4: requirements[0].deny.from: an empty mapping: write namespaceSelector: {} for every pod of every "
     "namespace"),
    ("requirements:\n- id: a\n  deny:\n    from: {labels: {app: x}}\n    to: b/*\n",
     ":4: requirements[0].deny.from.labels: unknown key (namespaceSelector, podSelector; each a label selector, "
     "or a mapping of labels as a shorthand for matchLabels)"),
    ("requirements:\n- id: a\n  deny:\n    from: {podSelector: {app: 'bad value!'}}\n    to: b/*\n",
     ":4: requirements[0].deny.from.podSelector.app: label value 'bad value!' must be 63 characters or less, "
     "alphanumeric, '-', '_' or '.'"),
    ("requirements:\n- id: a\n  deny:\n    from:\n      namespaceSelector:\n        matchExpressions:\n"
     "        - {key: x, operator: Near}\n    to: b/*\n",
     ":7: requirements[0].deny.from.namespaceSelector.matchExpressions[0].operator: 'Near' is not a valid "
     "operator (In, NotIn, Exists, DoesNotExist)"),
    ("requirements:\n- id: a\n  deny:\n    from: {podSelector: null}\n    to: b/*\n",
     ":4: requirements[0].deny.from.podSelector: must be a label selector (a mapping; {} selects everything), "
     "not null"),
    ("requirements:\n- id: a\n  deny: {from: internet, to: 10.0.0.0/8}\n",
     ":3: requirements[0].deny: from and to are both addresses: at least one side must be pods (a namespace, a "
     "workload or a selector)"),
])
def test_bad_files_are_one_line_naming_the_line_and_field(write, body, expected):
    path = write("r.yaml", body)
    with pytest.raises(InputError) as e:
        load_requirements(path)
    assert str(e.value) == path + expected


def test_yaml_errors_duplicate_keys_and_size_are_refused(write, tmp_path):
    bad = write("bad.yaml", "requirements:\n- id: a\n  deny: {from: a/*, to: [b\n")
    with pytest.raises(InputError, match=r"bad\.yaml: document 1: invalid YAML: line 4 column 1"):
        load_requirements(bad)
    dup = write("dup.yaml", "requirements:\n- id: a\n  id: b\n  deny: {from: a/*, to: b/*}\n")
    with pytest.raises(InputError, match="duplicate key 'id'"):
        load_requirements(dup)
    two = write("two.yaml", GOOD + "---\n" + GOOD)
    with pytest.raises(InputError, match=r"several YAML documents; a requirement file is one mapping"):
        load_requirements(two)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InputError) as e:
        load_requirements(str(big))
    assert str(e.value) == f"{big}: {MAX_FILE_BYTES + 1} bytes, larger than the limit of {MAX_FILE_BYTES} bytes " \
                           "for a requirement file"
    with pytest.raises(InputError) as e:
        load_requirements(str(tmp_path / "missing.yaml"))
    assert str(e.value) == f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory"


def test_the_cli_prints_one_line_and_exits_2_for_a_bad_requirement_file(write):
    manifest = write("c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n")
    bad = write("r.yaml", "requirements:\n- id: a\n  deny:\n    from: a/*\n    to: b/*\n    ports: [http]\n")
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", manifest, "--requirements", bad],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (f"netpol-audit: error: {bad}:6: requirements[0].deny.ports[0]: 'http' is not a port, a "
                           "range or PORT/PROTOCOL\n")
    rc, out, err = run_cli("scan", manifest, "--requirements", write("empty.yaml", ""))
    assert (rc, out) == (2, "")
    assert err == (f"netpol-audit: error: {write('empty.yaml', '')}: a requirement file is a mapping with a "
                   "`requirements` list, not an empty file\n")


def test_ports_forms(write):
    (req,) = load_requirements(write("r.yaml", """requirements:
- id: a
  allow: {from: a/*, to: b/*, ports: ["443", 8080, 53/udp, 8000-8010/TCP, 9/SCTP]}
""")).requirements
    assert req.ports == union(union(union(port_range("TCP", 443, 443), port_range("TCP", 8000, 8010)),
                                    union(port_range("TCP", 8080, 8080), port_range("UDP", 53, 53))),
                              port_range("SCTP", 9, 9))
    assert req.ports_text == "TCP 443,8000-8010,8080 UDP 53 SCTP 9"


# --- endpoint forms -----------------------------------------------------------------------------------------

FORMS = """apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: store}}
---
apiVersion: v1
kind: Namespace
metadata: {name: cde, labels: {pci-scope: cde}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: api, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template: {metadata: {labels: {app: api-job}}, spec: {containers: [{name: c}], restartPolicy: Never}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-abc12-x1
  namespace: shop
  labels: {app: api, pod-template-hash: abc12}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-abc12, uid: u1, controller: true}]
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-abc12-x2
  namespace: shop
  labels: {app: api, pod-template-hash: abc12}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-abc12, uid: u1, controller: true}]
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: debug}}
spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: vault, namespace: cde}
spec:
  selector: {matchLabels: {app: vault}}
  template: {metadata: {labels: {app: vault}}, spec: {containers: [{name: c}]}}
"""


@pytest.mark.parametrize(("form", "workloads", "endpoints"), [
    ("shop/*", ["shop/CronJob/api", "shop/Deployment/api", "shop/Deployment/web", "shop/debug"], 5),
    ("shop/api", ["shop/CronJob/api", "shop/Deployment/api"], 3),
    ("shop/Deployment/api", ["shop/Deployment/api"], 2),
    ("shop/cronjob/api", ["shop/CronJob/api"], 1),
    ("shop/web", ["shop/Deployment/web"], 1),
    ("shop/debug", ["shop/debug"], 1),
    ("shop/Pod/debug", ["shop/debug"], 1),
    ("shop/api-abc12-x1", ["shop/Deployment/api"], 1),  # a pod by its own name
    ("shop/nothing", [], 0),
    ("other/*", [], 0),
    ("{namespaceSelector: {team: store}, podSelector: {matchExpressions: [{key: app, operator: In, values: [web, "
     "debug]}]}}", ["shop/Deployment/web", "shop/debug"], 2),
    ("{podSelector: {app: vault}}", ["cde/Deployment/vault"], 1),
    ("{namespaceSelector: {matchLabels: {pci-scope: cde}}}", ["cde/Deployment/vault"], 1),
    ("{namespaceSelector: {kubernetes.io/metadata.name: cde}}", ["cde/Deployment/vault"], 1),
    ("{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [api, "
     "api-job, web]}]}}", ["cde/Deployment/vault", "shop/debug"], 2),
])
def test_pod_endpoint_forms(write, form, workloads, endpoints):
    ctx = context(write, FORMS, f"requirements:\n- id: x\n  deny: {{from: {form}, to: shop/*}}\n")
    got = resolve(ctx, ctx.requirements.requirements[0].source)
    assert list(got.workloads) == workloads
    assert len(got.endpoints) == endpoints


def test_address_endpoint_forms(write):
    ctx = context(write, FORMS, """requirements:
- {id: a, deny: {from: shop/*, to: internet}}
- {id: b, deny: {from: shop/*, to: 10.1.2.3}}
- {id: c, deny: {from: shop/*, to: 10.1.2.0/24}}
- {id: d, deny: {from: 2001:db8::/32, to: shop/*}}
""", "trusted_cidrs: [8.8.8.0/24]\n")
    inet, host, net, v6 = ctx.requirements.requirements
    assert (inet.destination.text, host.destination.text, net.destination.text, v6.source.text) == (
        "internet", "10.1.2.3/32", "10.1.2.0/24", "2001:db8::/32")
    got = resolve(ctx, inet.destination)
    assert got.addresses == internet(ctx.config)
    assert got.described == ("every public IPv4 and IPv6 address (private, shared, loopback, link-local, "
                             "documentation and multicast ranges are not the internet)",
                             "minus the trusted CIDRs of the configuration: 8.8.8.0/24")
    assert resolve(ctx, host.destination).described == ("10.1.2.3/32",)


# --- semantics: pods ----------------------------------------------------------------------------------------

SEG = """apiVersion: v1
kind: Namespace
metadata: {name: front}
---
apiVersion: v1
kind: Namespace
metadata: {name: back}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: front, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: back, labels: {app: api}}
spec: {nodeName: n2, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.2.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: back, labels: {app: db}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.2.11}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: back}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: back}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
  - to: [{ipBlock: {cidr: 8.8.8.0/24}}]
    ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: back}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
"""

OPEN_EGRESS = "not isolated for egress (no policy affecting Egress selects it)"
OPEN_INGRESS = "not isolated for ingress (no policy affecting Ingress selects it)"
ALL = {"TCP": "all", "UDP": "all", "SCTP": "all"}


def test_deny_holds_and_says_what_was_checked(write):
    status, message, ev = one(write, SEG, "- {id: r, deny: {from: front/*, to: back/db}}\n")
    assert status == "PASS"
    assert message == ("requirement r holds: no connection from 1 workload(s) (1 endpoint(s)) of front/* to 1 "
                       "workload(s) (1 endpoint(s)) of back/db is allowed on any port")
    assert ev["sources"] == {"workloads": ["front/web"], "workload_count": 1, "endpoint_count": 1,
                             "namespaces": ["front"]}
    assert ev["destinations"] == {"workloads": ["back/db"], "workload_count": 1, "endpoint_count": 1,
                                  "namespaces": ["back"]}
    assert ev["pairs_checked"] == 1
    assert ev["requirement"] == {"id": "r", "type": "deny", "from": "front/*", "to": "back/db", "ports": "any",
                                 "description": "", "defined_at": ev["requirement"]["defined_at"]}
    assert ev["requirement"]["defined_at"].endswith("requirements.yaml:2")
    assert "flows" not in ev


def test_deny_fails_with_the_exact_flow_and_the_rules_that_admit_it(write):
    status, message, ev = one(write, SEG, "- {id: r, deny: {from: front/*, to: back/*}}\n")
    assert status == "FAIL"
    assert message == ("requirement r (deny front/* -> back/*) does not hold: 1 source/destination pair(s) may "
                       "connect, e.g. front/web -> back/api on TCP 8080")
    assert ev["flows"] == [{
        "from": "front/web", "to": "back/api", "ports": {"TCP": ["8080"]},
        "egress_of_source": [OPEN_EGRESS],
        "ingress_of_destination": ["back/api spec.ingress[0] (from[0] namespaceSelector "
                                   "kubernetes.io/metadata.name=front AND podSelector app=web; TCP 8080)"],
        "policies": ["back/api"]}]
    assert (ev["flows_total"], ev["policies"], ev["pairs_checked"]) == (1, ["back/api"], 2)


def test_deny_on_listed_ports_only(write):
    assert one(write, SEG, "- {id: r, deny: {from: front/*, to: back/*, ports: [443, 53/UDP]}}\n")[0] == "PASS"
    status, _, ev = one(write, SEG, "- {id: r, deny: {from: front/*, to: back/*, ports: [8000-8100]}}\n")
    assert status == "FAIL"
    assert [(f["from"], f["to"], f["ports"]) for f in ev["flows"]] == [("front/web", "back/api", {"TCP": ["8080"]})]


def test_allow_holds_on_every_listed_port(write):
    status, message, _ = one(write, SEG, "- {id: r, allow: {from: back/api, to: back/db, ports: [5432]}}\n")
    assert (status, message) == ("PASS", "requirement r holds: each of 1 workload(s) (1 endpoint(s)) of back/api "
                                         "can reach each of 1 workload(s) (1 endpoint(s)) of back/db on every "
                                         "port of TCP 5432")


def test_allow_fails_naming_the_missing_ports_and_the_blocking_side(write):
    status, message, ev = one(write, SEG, "- {id: r, allow: {from: front/web, to: back/api, ports: [8080, "
                                          "9090]}}\n")
    assert status == "FAIL"
    assert message == ("requirement r (allow front/web -> back/api on TCP 8080,9090) does not hold: 1 "
                       "source/destination pair(s) cannot connect, e.g. front/web -> back/api (blocked on TCP "
                       "9090)")
    assert ev["blocked"] == [{
        "from": "front/web", "to": "back/api", "missing_ports": {"TCP": ["9090"]},
        "egress_of_source": [OPEN_EGRESS],
        "ingress_of_destination": ["ingress isolated by back/api, back/default-deny; admits TCP 8080 from front"],
        "policies": ["back/api", "back/default-deny"]}]
    assert ev["blocked_total"] == 1


def test_allow_without_ports_needs_some_port_and_names_both_blocking_sides(write):
    status, _, ev = one(write, SEG, "- {id: r, allow: {from: back/db, to: back/api}}\n")
    assert status == "FAIL"
    assert ev["blocked"] == [{
        "from": "back/db", "to": "back/api", "missing_ports": "any",
        "egress_of_source": ["egress isolated by back/default-deny; admits nothing towards back"],
        "ingress_of_destination": ["ingress isolated by back/api, back/default-deny; admits nothing from back"],
        "policies": ["back/api", "back/default-deny"]}]
    assert one(write, SEG, "- {id: r, allow: {from: front/web, to: back/api}}\n")[0] == "PASS"


def test_allow_fails_for_each_source_and_destination_that_cannot_connect(write):
    status, _, ev = one(write, SEG, "- {id: r, allow: {from: front/*, to: back/*, ports: [8080]}}\n")
    assert status == "FAIL"
    assert [(f["from"], f["to"], f["missing_ports"]) for f in ev["blocked"]] == [
        ("front/web", "back/db", {"TCP": ["8080"]})]
    assert ev["blocked"][0]["ingress_of_destination"] == [
        "ingress isolated by back/db, back/default-deny; admits nothing from front"]


MANY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: b}
spec: {podSelector: {}, policyTypes: [Ingress]}
""" + "".join(f"""---
apiVersion: v1
kind: Pod
metadata: {{name: p{i}, namespace: a}}
""" for i in range(60)) + """---
apiVersion: v1
kind: Pod
metadata: {name: q, namespace: b}
"""


def test_flows_are_capped_at_50_with_the_total(write):
    _, message, ev = one(write, MANY, "- {id: r, deny: {from: b/*, to: a/*}}\n")
    assert len(ev["flows"]) == 50 and ev["flows_total"] == 60
    assert ev["flows"][0] == {"from": "b/q", "to": "a/p0", "ports": ALL, "egress_of_source": [OPEN_EGRESS],
                              "ingress_of_destination": [OPEN_INGRESS], "policies": []}
    assert message.endswith("e.g. b/q -> a/p0 on every port (and 59 more)")
    assert one(write, MANY, "- {id: r, deny: {from: a/*, to: b/*}}\n")[0] == "PASS"


def test_replicas_of_one_workload_are_a_pair_but_a_pod_with_itself_is_not(write):
    pods = "".join(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: api-abc12-{s}
  namespace: a
  labels: {{app: api, pod-template-hash: abc12}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: api-abc12, uid: u, controller: true}}]
""" for s in ("x", "y"))
    status, _, ev = one(write, pods, "- {id: r, deny: {from: a/api, to: a/api}}\n")
    assert (status, ev["pairs_checked"]) == ("FAIL", 2)
    assert [(f["from"], f["to"]) for f in ev["flows"]] == [("a/Deployment/api", "a/Deployment/api")]
    status, _, ev = one(write, pods, "- {id: r, deny: {from: a/api-abc12-x, to: a/api-abc12-x}}\n")
    assert (status, ev["reason"]) == ("FAIL", "`from` and `to` match the same single endpoint: a pod talking to "
                                              "itself is not judged, so it proves nothing")


NODE = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: cde}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: cde, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: db}]}
status: {phase: Running, podIP: 10.244.1.20, hostIP: 10.0.1.11}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: cde, labels: {app: db}}
spec: {nodeName: n2, containers: [{name: db}]}
status: {phase: Running, podIP: 10.244.2.20, hostIP: 10.0.1.12}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops, labels: {app: agent}}
spec: {nodeName: n1, hostNetwork: true, containers: [{name: agent}]}
status: {phase: Running, podIP: 10.0.1.11, hostIP: 10.0.1.11}
"""


def test_node_local_pairs_break_a_deny_whatever_the_policies(write):
    status, _, ev = one(write, NODE, "- {id: r, deny: {from: ops/*, to: cde/*, ports: [22]}}\n")
    assert status == "FAIL"
    assert ev["flows"] == [{
        "from": "ops/agent", "to": "cde/db-0", "ports": {"TCP": ["22"]}, "egress_of_source": [],
        "ingress_of_destination": [], "policies": [],
        "node_local": "node-local: pods of both run on node(s) n1 and one uses the host network; traffic between "
                      "a pod and its node is always allowed, whatever the policies say"}]
    assert one(write, NODE, "- {id: r, allow: {from: ops/agent, to: cde/db-0, ports: [22]}}\n")[0] == "PASS"
    assert one(write, NODE, "- {id: r, allow: {from: ops/agent, to: cde/db-1, ports: [22]}}\n")[0] == "FAIL"


def test_node_addresses_are_always_reachable_from_their_pods(write):
    status, _, ev = one(write, NODE, "- {id: r, deny: {from: cde/*, to: 10.0.1.0/24}}\n")
    assert status == "FAIL"
    assert [(f["from"], f["to"], f["addresses"], f["ports"]) for f in ev["flows"]] == [
        ("cde/db-0", "10.0.1.0/24", ["10.0.1.11/32"], ALL), ("cde/db-1", "10.0.1.0/24", ["10.0.1.12/32"], ALL)]
    assert ev["flows"][0]["node_local"] == ("node-local: 10.0.1.11/32 is the address of a node its pods run on; "
                                            "traffic between a pod and its node is always allowed, whatever the "
                                            "policies say")
    assert one(write, NODE, "- {id: r, deny: {from: cde/db-1, to: 10.0.1.11}}\n")[0] == "PASS"


# --- semantics: addresses -----------------------------------------------------------------------------------


def test_deny_to_the_internet_names_the_ipblock_rule(write):
    status, message, ev = one(write, SEG, "- {id: r, deny: {from: back/*, to: internet}}\n")
    assert status == "FAIL"
    assert message == ("requirement r (deny back/* -> internet) does not hold: 1 source/destination pair(s) may "
                       "connect, e.g. back/api -> internet on TCP 443")
    assert ev["flows"] == [{"from": "back/api", "to": "internet", "ports": {"TCP": ["443"]},
                            "addresses": ["8.8.8.0/24"],
                            "egress_of_source": ["back/api spec.egress[1] (to[0] ipBlock 8.8.8.0/24; TCP 443)"],
                            "ingress_of_destination": [], "policies": ["back/api"]}]
    assert ev["pairs_checked"] == 2
    # a trusted range is not the internet
    assert one(write, SEG, "- {id: r, deny: {from: back/*, to: internet}}\n", "trusted_cidrs: [8.8.8.0/24]\n")[0] \
        == "PASS"


def test_deny_to_a_cidr_and_from_a_cidr(write):
    assert one(write, SEG, "- {id: r, deny: {from: back/*, to: 8.8.4.0/24}}\n")[0] == "PASS"
    assert one(write, SEG, "- {id: r, deny: {from: 8.8.8.0/24, to: back/*}}\n")[0] == "PASS"
    status, _, ev = one(write, SEG, "- {id: r, deny: {from: 8.8.8.0/24, to: front/*}}\n")
    assert status == "FAIL"
    assert ev["flows"] == [{"from": "8.8.8.0/24", "to": "front/web", "ports": ALL,
                            "addresses": ["every address of 8.8.8.0/24"], "egress_of_source": [],
                            "ingress_of_destination": [OPEN_INGRESS], "policies": []}]


def test_allow_to_a_cidr_needs_every_address(write):
    assert one(write, SEG, "- {id: r, allow: {from: back/api, to: 8.8.8.8, ports: [443]}}\n")[0] == "PASS"
    status, _, ev = one(write, SEG, "- {id: r, allow: {from: back/api, to: 8.8.8.0/23, ports: [443]}}\n")
    assert status == "FAIL"
    assert ev["blocked"] == [{
        "from": "back/api", "to": "8.8.8.0/23", "missing_ports": {"TCP": ["443"]}, "addresses": ["8.8.9.0/24"],
        "egress_of_source": ["egress isolated by back/api, back/default-deny; admits nothing to every address of "
                             "8.8.8.0/23"],
        "ingress_of_destination": [], "policies": ["back/api", "back/default-deny"]}]


def test_allow_from_a_cidr_into_an_open_pod(write):
    assert one(write, SEG, "- {id: r, allow: {from: 0.0.0.0/0, to: front/web, ports: [80]}}\n")[0] == "PASS"
    status, _, ev = one(write, SEG, "- {id: r, allow: {from: 0.0.0.0/0, to: back/api, ports: [8080]}}\n")
    assert status == "FAIL"
    assert (ev["blocked"][0]["addresses"], ev["blocked"][0]["ingress_of_destination"]) == (
        ["every address of 0.0.0.0/0"],
        ["ingress isolated by back/api, back/default-deny; admits nothing from every address of 0.0.0.0/0"])


# --- matches nothing ----------------------------------------------------------------------------------------


def test_a_deny_that_matches_nothing_fails_as_proving_nothing(write):
    status, message, ev = one(write, SEG, "- {id: r, deny: {from: shpo/*, to: internet}}\n")
    assert status == "FAIL"
    assert message == ("requirement r (deny shpo/* -> internet) cannot hold: `from` (shpo/*) matches no endpoint, "
                       "so it proves nothing")
    assert ev["reason"] == "`from` (shpo/*) matches no endpoint, so it proves nothing"
    assert ev["sources"] == {"workloads": [], "workload_count": 0, "endpoint_count": 0, "namespaces": []}


def test_an_allow_that_matches_nothing_fails(write):
    status, _, ev = one(write, SEG, "- {id: r, allow: {from: x/*, to: {podSelector: {app: nope}}}}\n")
    assert status == "FAIL"
    assert ev["reason"] == "`from` (x/*) and `to` (pods app=nope (any namespace)) match nothing"
    assert "blocked" not in ev


def test_without_a_requirement_file_the_rule_is_not_applicable(write):
    loaded = load([write("c.yaml", SEG)])
    rule = load_catalog([bundled("rules")]).rules["NP038"]
    (r,) = rule(Context(loaded.cluster, loaded.index, load_config(None)))
    assert (r.status, r.message) == ("NOT_APPLICABLE", "no segmentation requirements were given (scan "
                                                       "--requirements FILE)")


def test_pod_side_flows_agree_with_the_per_connection_verdict(write):
    """Every flow a deny reports is ALLOWED by `netpol-audit reach`, every port it leaves out is DENIED."""
    from scanner.engine.reach import Target, verdict

    ctx = context(write, SEG, "requirements:\n- {id: r, deny: {from: {namespaceSelector: {}}, to: back/*}}\n")
    eps = ctx.cluster.endpoints
    (req,) = ctx.requirements.requirements
    flows = {(f.source, f.destination) for f in evaluate(ctx, req).flows}
    for i, a in enumerate(eps):
        for j, b in enumerate(eps):
            if i == j or b.namespace != "back":
                continue
            allowed = any(verdict(ctx.index, Target(a.ref, a, i), Target(b.ref, b, j), "TCP", port, str(port)).allowed
                          for port in (443, 5432, 8080, 9090))
            assert allowed == ((a.ref, b.ref) in flows), (a.ref, b.ref)


# --- the scan, the report and the example ------------------------------------------------------------------


def test_report_has_the_segmentation_section_escaped_with_the_disclaimer(write, tmp_path):
    manifest = write("c.yaml", SEG)
    reqs = write("r.yaml", """requirements:
- id: front-to-back
  description: "<script>alert(1)</script> & co"
  deny: {from: front/*, to: back/*}
- id: db-closed
  deny: {from: front/*, to: back/db}
""")
    out = tmp_path / "out"
    rc, _, err = run_cli("scan", manifest, "--requirements", reqs, "-o", out, "--format", "json,html,md", "-q")
    assert rc == 1, err
    html = (out / "netpol-audit.html").read_text()
    assert '<section class="chapter" id="segmentation">' in html and "<h1>Segmentation evidence</h1>" in html
    assert ("This evidence is derived from the declared policies; it supports, but does not replace, a penetration "
            "test of the segmentation controls (PCI DSS 11.4.5).") in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>alert(1)" not in html
    assert "<b>front-to-back</b>" in html and "<b>db-closed</b>" in html
    assert "<code>front/web</code> → <code>back/api</code>: allowed on TCP 8080" in html
    md = (out / "netpol-audit.md").read_text()
    assert "| front-to-back | FAIL | deny front/\\* -&gt; back/\\* on any port | 1: front/web -&gt; back/api (TCP " \
           "8080) |" in md
    assert "| db-closed | PASS | deny front/\\* -&gt; back/db on any port | none |" in md
    assert ("_This evidence is derived from the declared policies; it supports, but does not replace, a "
            "penetration test of the segmentation controls (PCI DSS 11.4.5)._") in md
    result = json.loads((out / "netpol-audit.json").read_text())
    assert sorted((f["subject"]["kind"], f["subject"]["name"], f["status"], f["severity"])
                  for f in result["findings"] if f["rule"] == "NP038") == [
        ("Requirement", "db-closed", "PASS", "critical"), ("Requirement", "front-to-back", "FAIL", "critical")]
    # without a requirement file there is no section
    rc, _, _ = run_cli("scan", manifest, "-o", tmp_path / "plain", "--format", "html,md", "-q")
    assert 'id="segmentation"' not in (tmp_path / "plain" / "netpol-audit.html").read_text()
    assert "Segmentation requirements" not in (tmp_path / "plain" / "netpol-audit.md").read_text()


def test_the_example_requirements_of_the_shop_cluster(tmp_path):
    rc, out, err = run_cli("scan", EXAMPLE, "--config", ROOT / "examples" / "netpol-audit.yaml", "--requirements",
                           ROOT / "examples" / "shop-cluster-requirements.yaml", "--format", "json", "-q")
    assert rc == 1, err
    found = {f["subject"]["name"]: f for f in json.loads(out)["findings"] if f["rule"] == "NP038"}
    assert {k: f["status"] for k, f in found.items()} == {
        "cde-database-isolated": "PASS", "storefront-api-to-payments": "PASS", "ingress-to-frontend": "PASS",
        "no-internet-from-cde": "PASS", "no-internet-from-storefront": "FAIL",
        "batch-isolated-from-databases": "FAIL"}
    assert [(f["from"], f["to"], f["ports"], f["policies"]) for f in
            found["batch-isolated-from-databases"]["evidence"]["flows"]] == [
        ("batch/CronJob/nightly-report", "shop-db/StatefulSet/postgres", {"TCP": ["5432"]},
         ["shop-db/postgres-allow-reporting"])]
    assert [(f["from"], f["ports"], f["policies"]) for f in
            found["no-internet-from-storefront"]["evidence"]["flows"]] == [
        ("shop/DaemonSet/node-debug", ALL, []), ("shop/Deployment/catalog", {"TCP": ["80", "443"]}, ["shop/catalog"])]


def test_ports_are_any_port_when_absent(write):
    (req,) = load_requirements(write("r.yaml", "requirements:\n- {id: a, deny: {from: a/*, to: b/*}}\n")).requirements
    assert req.ports is None and req.ports_text == "any port"


# --- ranges that hold pods, and the cluster-scoped tiers (review findings) ----------------------------------

RANGE_CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: b}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: b, labels: {app: cli}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.0.6, podIPs: [{ip: 10.0.0.6}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pods-only, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {}}]}]
"""


@pytest.mark.parametrize("to", ["10.0.0.0/8", "10.0.0.6"])
def test_a_deny_towards_a_range_also_covers_the_pods_in_it(write, to):
    """a may reach every pod (namespaceSelector {}) but no address outside the pod network: a deny towards a
    range that holds b/cli's IP does not hold."""
    status, message, evidence = one(write, RANGE_CLUSTER, f"- {{id: r, deny: {{from: a/*, to: '{to}'}}}}\n")
    assert status == "FAIL", message
    assert [(f["from"], f["to"]) for f in evidence["flows"]] == [("a/web", "b/cli")]


def test_tier_policies_are_named_as_responsible(write):
    anp = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: b-to-a}
spec:
  priority: 3
  subject: {namespaces: {matchLabels: {team: b}}}
  egress: [{action: Allow, to: [{namespaces: {matchLabels: {team: a}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: b}
spec: {podSelector: {}, policyTypes: [Egress]}
"""
    status, message, evidence = one(write, RANGE_CLUSTER + anp, "- {id: r, deny: {from: b/cli, to: a/web}}\n")
    assert status == "FAIL", message
    assert evidence["policies"] == ["AdminNetworkPolicy/b-to-a"]
    assert evidence["flows"][0]["egress_of_source"] == [
        "AdminNetworkPolicy/b-to-a (Admin tier, priority 3) spec.egress[0] Allow on every port"]
