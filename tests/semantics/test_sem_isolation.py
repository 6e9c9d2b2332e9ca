"""SEMANTICS.md: which pods a policy governs, which directions it affects, the union of policies.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None

BASE = """\
apiVersion: v1
kind: Namespace
metadata: {name: iso}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: iso, labels: {app: target}}
spec: {containers: [{name: c, image: registry.example/app:1, ports: [{name: http, containerPort: 80}]}]}
status: {phase: Running, podIP: "10.10.0.1", podIPs: [{ip: "10.10.0.1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: iso, labels: {app: other}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.10.0.2", podIPs: [{ip: "10.10.0.2"}]}
"""

OTHER = ("iso/other", F, F, [], [])

# Each case: one policy `iso/p` on app=target; expected isolation of iso/target; probes.
DIRECTION_CASES = [
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            # policyTypes absent, no ingress key: Ingress only, and no rules -> allows nothing inbound
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
            ("iso/other", "iso/target", 53, "UDP", F, T, F),
            ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
            ("iso/target", "iso/other", 80, "TCP", T, T, T),
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
        ],
        id="ingress-absent-isolates-ingress-allows-nothing",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
ingress: []
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
            ("iso/other", "iso/target", 53, "UDP", F, T, F),
            ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
            ("iso/target", "iso/other", 80, "TCP", T, T, T),
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
        ],
        id="ingress-empty-list-isolates-allows-nothing",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
ingress: [{}]
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            # one rule with no from and no ports: every peer (pods and IPs), every port and protocol
            ("iso/other", "iso/target", 80, "TCP", T, T, T),
            ("iso/other", "iso/target", 53, "UDP", T, T, T),
            ("iso/other", "iso/target", 9999, "SCTP", T, T, T),
            ("iso/other", "iso/target", 65535, "TCP", T, T, T),
            ("203.0.113.9", "iso/target", 80, "TCP", T, N, T),
            ("2001:db8::9", "iso/target", 1, "UDP", T, N, T),
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
        ],
        id="ingress-one-empty-rule-allows-everything",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
ingress:
- from: []
  ports: [{port: 80}]
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            # from: [] = every peer, still limited to the listed port
            ("iso/other", "iso/target", 80, "TCP", T, T, T),
            ("203.0.113.9", "iso/target", 80, "TCP", T, N, T),
            ("iso/other", "iso/target", 81, "TCP", F, T, F),
            ("iso/other", "iso/target", 80, "UDP", F, T, F),
        ],
        id="from-empty-list-is-every-peer",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
egress: []
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            # policyTypes absent + egress: [] -> Ingress only (egress: [] does not add Egress)
            ("iso/target", "iso/other", 80, "TCP", T, T, T),
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
        ],
        id="egress-empty-list-types-omitted-only-ingress",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
egress:
- to: [{podSelector: {matchLabels: {app: other}}}]
  ports: [{protocol: UDP, port: 53}]
""",
        ("iso/target", T, T, ["iso/p"], ["iso/p"]),
        [
            # policyTypes absent + non-empty egress -> Ingress and Egress; no ingress rules -> nothing in
            ("iso/target", "iso/other", 53, "UDP", T, T, T),
            ("iso/target", "iso/other", 80, "TCP", F, F, T),
            ("iso/target", "203.0.113.9", 53, "UDP", F, F, N),
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
            ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
        ],
        id="egress-rules-types-omitted-isolates-both",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
policyTypes: [Ingress]
ingress:
- from: [{podSelector: {matchLabels: {app: other}}}]
egress:
- to: [{podSelector: {matchLabels: {app: other}}}]
  ports: [{port: 5432}]
""",
        ("iso/target", T, F, ["iso/p"], []),
        [
            # egress rules are ignored: egress not isolated, everything outbound allowed
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
            ("iso/target", "iso/other", 80, "TCP", T, T, T),
            ("iso/other", "iso/target", 80, "TCP", T, T, T),
            ("iso/other", "iso/target", 53, "UDP", T, T, T),
            ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
        ],
        id="types-ingress-only-ignores-egress-rules",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
policyTypes: [Egress]
ingress:
- from: [{podSelector: {matchLabels: {app: other}}}]
egress:
- to: [{ipBlock: {cidr: "203.0.113.0/24"}}]
  ports: [{port: 443}]
""",
        ("iso/target", F, T, [], ["iso/p"]),
        [
            # ingress rules ignored, ingress not isolated: any source in
            ("198.51.100.7", "iso/target", 80, "TCP", T, N, T),
            ("iso/other", "iso/target", 80, "TCP", T, T, T),
            ("iso/target", "203.0.113.9", 443, "TCP", T, T, N),
            ("iso/target", "203.0.113.9", 80, "TCP", F, F, N),
            ("iso/target", "198.51.100.7", 443, "TCP", F, F, N),
            ("iso/target", "iso/other", 443, "TCP", F, F, T),
        ],
        id="types-egress-only",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
policyTypes: [Ingress, Egress]
""",
        ("iso/target", T, T, ["iso/p"], ["iso/p"]),
        [
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
            ("iso/target", "iso/other", 80, "TCP", F, F, T),
            ("iso/target", "iso/other", 53, "UDP", F, F, T),
            ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
            ("iso/target", "203.0.113.9", 443, "TCP", F, F, N),
        ],
        id="types-both-no-rules-isolates-both-allows-nothing",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: target}}
policyTypes: [Ingress, Egress]
ingress: []
egress: []
""",
        ("iso/target", T, T, ["iso/p"], ["iso/p"]),
        [
            ("iso/other", "iso/target", 80, "TCP", F, T, F),
            ("iso/target", "iso/other", 80, "TCP", F, F, T),
        ],
        id="types-both-empty-lists-isolates-both-allows-nothing",
    ),
]


@pytest.mark.parametrize(("spec", "target", "probes"), DIRECTION_CASES)
def test_policy_directions(sem, spec, target, probes):
    sem.check(BASE + netpol("iso", "p", spec), pods=[target, OTHER], probes=probes)


UNION_BASE = """\
apiVersion: v1
kind: Namespace
metadata: {name: iso}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: iso, labels: {app: target}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: iso, labels: {app: a}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: iso, labels: {app: b}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
"""

ALLOW_A_80 = netpol(
    "iso",
    "allow-a-80",
    """
podSelector: {matchLabels: {app: target}}
ingress:
- from: [{podSelector: {matchLabels: {app: a}}}]
  ports: [{port: 80}]
""",
)
ALLOW_B_443 = netpol(
    "iso",
    "allow-b-443",
    """
podSelector: {matchLabels: {app: target}}
ingress:
- from: [{podSelector: {matchLabels: {app: b}}}]
  ports: [{port: 443}]
""",
)
DENY_ALL = netpol("iso", "deny-all", "podSelector: {}\n")

UNION_PROBES = [
    ("iso/a", "iso/target", 80, "TCP", T, T, T),
    ("iso/a", "iso/target", 443, "TCP", F, T, F),
    ("iso/b", "iso/target", 443, "TCP", T, T, T),
    ("iso/b", "iso/target", 80, "TCP", F, T, F),
    ("203.0.113.9", "iso/target", 80, "TCP", F, N, F),
]


@pytest.mark.parametrize(
    "policies",
    [
        pytest.param([ALLOW_A_80, ALLOW_B_443], id="union-a-then-b"),
        pytest.param([ALLOW_B_443, ALLOW_A_80], id="union-b-then-a"),
    ],
)
def test_union_of_two_policies_order_irrelevant(sem, policies):
    sem.check(
        UNION_BASE + "".join(policies),
        pods=[
            ("iso/target", T, F, ["iso/allow-a-80", "iso/allow-b-443"], []),
            ("iso/a", F, F, [], []),
            ("iso/b", F, F, [], []),
        ],
        probes=UNION_PROBES,
    )


@pytest.mark.parametrize(
    "policies",
    [
        pytest.param([ALLOW_A_80, DENY_ALL], id="allow-then-deny-all"),
        pytest.param([DENY_ALL, ALLOW_A_80], id="deny-all-then-allow"),
    ],
)
def test_deny_all_never_removes_what_another_policy_allows(sem, policies):
    sem.check(
        UNION_BASE + "".join(policies),
        pods=[
            ("iso/target", T, F, ["iso/allow-a-80", "iso/deny-all"], []),
            ("iso/a", T, F, ["iso/deny-all"], []),
            ("iso/b", T, F, ["iso/deny-all"], []),
        ],
        probes=[
            ("iso/a", "iso/target", 80, "TCP", T, T, T),
            ("iso/a", "iso/target", 443, "TCP", F, T, F),
            ("iso/b", "iso/target", 80, "TCP", F, T, F),
            ("iso/target", "iso/a", 80, "TCP", F, T, F),
            ("iso/b", "iso/a", 80, "TCP", F, T, F),
        ],
    )


def test_policy_governs_only_its_own_namespace(sem):
    manifest = (
        BASE
        + """\
---
apiVersion: v1
kind: Namespace
metadata: {name: iso2}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: iso2, labels: {app: target}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.10.1.1", podIPs: [{ip: "10.10.1.1"}]}
"""
        + netpol(
            "iso",
            "p",
            """
podSelector: {matchLabels: {app: target}}
ingress:
- from: [{podSelector: {matchLabels: {app: other}}}]
  ports: [{port: 80}]
""",
        )
        + netpol(
            "iso",
            "all-egress",
            """
podSelector: {}
policyTypes: [Egress]
egress:
- to: [{namespaceSelector: {}}]
""",
        )
    )
    sem.check(
        manifest,
        pods=[
            ("iso/other", F, T, [], ["iso/all-egress"]),
            ("iso/target", T, T, ["iso/p"], ["iso/all-egress"]),
            # same labels, other namespace: neither iso/p nor iso/all-egress (podSelector: {}) governs it
            ("iso2/target", F, F, [], []),
        ],
        probes=[
            ("iso/other", "iso/target", 80, "TCP", T, T, T),
            ("iso2/target", "iso/target", 80, "TCP", F, T, F),
            ("iso/target", "iso2/target", 80, "TCP", T, T, T),
            ("iso/other", "iso2/target", 8080, "TCP", T, T, T),
            ("iso2/target", "203.0.113.9", 443, "TCP", T, T, N),
            # namespaceSelector: {} matches pods of every namespace, never an external IP
            ("iso/other", "203.0.113.9", 443, "TCP", F, F, N),
        ],
    )


SELECTOR_CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: m}
---
apiVersion: v1
kind: Pod
metadata: {name: p-prod, namespace: m, labels: {env: prod, tier: web}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p-dev, namespace: m, labels: {env: dev, tier: web}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p-nokey, namespace: m, labels: {tier: web}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p-api, namespace: m, labels: {env: prod, tier: api}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p-bare, namespace: m}
spec: {containers: [{name: c, image: registry.example/app:1}]}
"""


def test_selector_operators_choose_governed_pods(sem):
    manifest = (
        SELECTOR_CLUSTER
        + netpol("m", "sel-in", "podSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}")
        + netpol(
            "m", "sel-notin", "podSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}"
        )
        + netpol("m", "sel-exists", "podSelector: {matchExpressions: [{key: env, operator: Exists}]}")
        + netpol("m", "sel-dne", "podSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}")
        + netpol(
            "m",
            "sel-and",
            "podSelector: {matchLabels: {tier: web}, matchExpressions: [{key: env, operator: In, values: [prod]}]}",
        )
        + netpol(
            "m",
            "sel-in-two",
            "podSelector: {matchExpressions: [{key: env, operator: In, values: [dev, test]}]}",
        )
        + netpol(
            "m",
            "sel-two-exprs",
            """
podSelector:
  matchExpressions:
  - {key: tier, operator: In, values: [web]}
  - {key: env, operator: NotIn, values: [dev]}
""",
        )
    )
    sem.check(
        manifest,
        pods=[
            # NotIn and DoesNotExist match pods that lack the key (p-nokey, p-bare)
            ("m/p-api", T, F, ["m/sel-exists", "m/sel-in"], []),
            ("m/p-bare", T, F, ["m/sel-dne", "m/sel-notin"], []),
            ("m/p-dev", T, F, ["m/sel-exists", "m/sel-in-two", "m/sel-notin"], []),
            ("m/p-nokey", T, F, ["m/sel-dne", "m/sel-notin", "m/sel-two-exprs"], []),
            # matchLabels AND matchExpressions: only p-prod has tier=web and env=prod
            ("m/p-prod", T, F, ["m/sel-and", "m/sel-exists", "m/sel-in", "m/sel-two-exprs"], []),
        ],
    )


def test_empty_pod_selector_selects_every_pod_of_the_namespace(sem):
    sem.check(
        SELECTOR_CLUSTER + netpol("m", "all", "podSelector: {}\npolicyTypes: [Egress]"),
        pods=[
            ("m/p-api", F, T, [], ["m/all"]),
            ("m/p-bare", F, T, [], ["m/all"]),
            ("m/p-dev", F, T, [], ["m/all"]),
            ("m/p-nokey", F, T, [], ["m/all"]),
            ("m/p-prod", F, T, [], ["m/all"]),
        ],
        probes=[
            ("m/p-api", "m/p-bare", 80, "TCP", F, F, T),
            ("203.0.113.9", "m/p-api", 80, "TCP", T, N, T),
        ],
    )
