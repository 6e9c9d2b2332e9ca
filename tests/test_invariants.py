"""Metamorphic / property-based invariants of the reachability engine and the scan result.

Each test draws a small valid cluster (tests/strategies.py), changes it in a way whose effect the semantics
(/work/shared/SEMANTICS.md) pins down, loads both versions in-process through `scanner.api.load`, and compares
what the engine says. Unlike tests/test_engine_vs_reference.py these need no oracle: they hold the engine to
relations between its own answers (monotonicity, locality, order independence, round trips).
NETPOL_HYPOTHESIS_EXAMPLES sets the number of examples (default 200; the CLI round trip runs far fewer).
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import reference
import yaml
from conftest import run_cli
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from strategies import EXAMPLES, SETTINGS, clusters, network_policies, rules

from scanner.api import Loaded, load
from scanner.engine.reach import PairCache, namespace_matrix, node_local_pairs, pod_matrix
from scanner.intervals import ALL_PORTS, EMPTY, IntervalSet, ports_text, subtract
from scanner.render.json_out import render

CLI_EXAMPLES = max(1, min(25, EXAMPLES))  # the scan + report round trip runs the whole CLI: keep it short
TIMESTAMP = "2024-01-01T00:00:00Z"
DIRECTIONS = (("ingress", "Ingress", "from"), ("egress", "Egress", "to"))

PairKey = tuple[str, str]
Objects = list[dict[str, Any]]
RuleCase = tuple[Objects, Objects, str, str, bool]  # before, after, policy ref, direction, direction affected
PolicyCase = tuple[Objects, Objects, str]  # before, after (before + the new policy, last), new policy ref


# --------------------------------------------------------------------------------------------------- helpers


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: most of the time went into pure-Python dumping


def cluster_yaml(objects: Objects) -> str:
    return yaml.dump_all(objects, Dumper=_DUMPER, sort_keys=False)


def load_objects(objects: Objects) -> Loaded:
    """Load raw manifest dicts the way the CLI does: one multi-document YAML file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.yaml"
        path.write_text(cluster_yaml(objects), encoding="utf-8")
        loaded = load([str(path)])
    assert not loaded.cluster.invalid_policies, "strategies must only draw valid policies"
    return loaded


def refs(loaded: Loaded) -> list[str]:
    return [ep.ref for ep in loaded.cluster.endpoints]


def matrix_by_ref(loaded: Loaded) -> dict[PairKey, IntervalSet]:
    """`pod_matrix` keyed by (src ref, dst ref); pairs that allow nothing are absent."""
    eps = loaded.cluster.endpoints
    return {(eps[i].ref, eps[j].ref): ports for i, j, ports in pod_matrix(loaded.index)}


def namespaces_of(objects: Objects) -> list[str]:
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    names |= {o["metadata"]["namespace"] for o in objects if o["kind"] != "Namespace"}
    return sorted(names)


def effective_directions(policy: dict[str, Any]) -> list[str]:
    """The policy's effective policyTypes (SEMANTICS.md; `[]` is defaulted like absent, as the API server
    does), from tests/reference.py."""
    types = reference.effective_policy_types(policy)
    return [d for d in ("Ingress", "Egress") if d in types]


def selected_refs(objects: Objects, policy: dict[str, Any]) -> set[str]:
    """Refs of the pods the raw `policy` governs, decided from the manifests (tests/reference.py), not by the
    engine: pods of its namespace whose labels its podSelector (absent = {}) matches."""
    ns = policy["metadata"]["namespace"]
    selector = policy["spec"].get("podSelector") or {}
    return {f"{ns}/{o['metadata']['name']}" for o in objects
            if o["kind"] == "Pod" and o["metadata"]["namespace"] == ns
            and reference.selector_matches(selector, reference.pod_labels(o))}


def side_ports(loaded: Loaded) -> tuple[dict[PairKey, IntervalSet], dict[PairKey, IntervalSet]]:
    """(egress side, ingress side) of every ordered endpoint pair (diagonal included), keyed by refs."""
    index, eps = loaded.index, loaded.cluster.endpoints
    cache = PairCache(index)
    egress: dict[PairKey, IntervalSet] = {}
    ingress: dict[PairKey, IntervalSet] = {}
    for i, s in enumerate(eps):
        cs = index.class_for(i)
        for j, d in enumerate(eps):
            cd = index.class_for(j)
            egress[(s.ref, d.ref)] = cache.egress_ports(cs, cd)
            ingress[(s.ref, d.ref)] = cache.ingress_ports(cs, cd)
    return egress, ingress


def isolation_by_ref(loaded: Loaded) -> dict[str, tuple[bool, bool]]:
    index = loaded.index
    return {ep.ref: (index.isolated(index.class_for(i), "ingress"), index.isolated(index.class_for(i), "egress"))
            for i, ep in enumerate(loaded.cluster.endpoints)}


def show(ports: IntervalSet) -> str:
    return ports_text(ports) if ports else "nothing"


# ------------------------------------------------------------------------------------ 1. monotonicity of allows


@st.composite
def cluster_with_added_rule(draw: st.DrawFn) -> RuleCase:
    """(before, after, policy ref, direction, affected): `after` is `before` with one drawn rule appended to one
    policy's ingress or egress list. `affected` says whether the policy's effective policyTypes include that
    direction, which appending to an affected direction never changes (policyTypes absent: Ingress is always
    in, and Egress is in only because `egress` is already a non-empty list, which it stays)."""
    before = draw(clusters())
    if not any(o["kind"] == "NetworkPolicy" for o in before):
        ns = draw(st.sampled_from(namespaces_of(before)))
        before.append(draw(network_policies(ns, "np-extra")))
    policies = [o for o in before if o["kind"] == "NetworkPolicy"]
    policy = draw(st.sampled_from(policies))
    affected_dirs = effective_directions(policy)
    candidates = [(key, peers_key, typ in affected_dirs) for key, typ, peers_key in DIRECTIONS
                  if typ in affected_dirs or policy["spec"].get("policyTypes")]  # explicit: stays unaffected
    key, peers_key, affected = draw(st.sampled_from(candidates))
    rule = draw(rules(peers_key))
    after = copy.deepcopy(before)
    target = next(o for o in after if o["kind"] == "NetworkPolicy" and o["metadata"] == policy["metadata"])
    target["spec"].setdefault(key, [])
    target["spec"][key].append(rule)
    assert effective_directions(target) == affected_dirs
    ref = f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"
    return before, after, ref, key, affected


@SETTINGS
@given(cluster_with_added_rule())
def test_adding_a_rule_never_removes_a_connection(case: RuleCase) -> None:
    """Monotonicity: let C' be C with one valid rule appended to the `ingress` (or `egress`) list of a policy
    whose effective policyTypes include Ingress (or Egress), policyTypes left as they were (so the effective
    policyTypes, hence every pod's isolation, are unchanged; `policyTypes: []` counts as absent, as the API
    server defaults it). Then for every ordered pair of distinct endpoints (src, dst):
    allowed_C(src, dst) ⊆ allowed_C'(src, dst) (port sets of `pod_matrix`; a missing pair is the empty set),
    since the allowed set of an isolated direction is a union over rules and a connection is the intersection
    of its egress and ingress sides. Moreover, if the policy's explicit, non-empty policyTypes leave that
    direction out, the rule is inert: isolation and the pod matrix of C' equal those of C.
    """
    before, after, policy_ref, direction, affected = case
    note(f"rule appended to {direction} of {policy_ref} (direction affected: {affected})")
    event(f"rule appended to {'an affected' if affected else 'an unaffected'} {direction} direction")
    note("--- cluster before ---\n" + cluster_yaml(before))
    lb, la = load_objects(before), load_objects(after)
    assert refs(lb) == refs(la)
    assert isolation_by_ref(lb) == isolation_by_ref(la)
    mb, ma = matrix_by_ref(lb), matrix_by_ref(la)
    lost = {pair: subtract(ports, ma.get(pair, EMPTY)) for pair, ports in mb.items()}
    lost = {pair: ports for pair, ports in lost.items() if ports}
    assert not lost, "connections removed by adding a rule: " + "; ".join(
        f"{s} -> {d}: lost {show(p)} (before {show(mb[(s, d)])}, after {show(ma.get((s, d), EMPTY))})"
        for (s, d), p in sorted(lost.items()))
    if not affected:
        assert ma == mb, "a rule of a direction the policy's policyTypes leave out changed the matrix"


# ------------------------------------------------------------------------------- 2. locality of a new policy


@st.composite
def cluster_with_added_policy(draw: st.DrawFn) -> PolicyCase:
    before = draw(clusters())
    ns = draw(st.sampled_from(namespaces_of(before)))
    new = draw(network_policies(ns, "np-new"))
    after = [*copy.deepcopy(before), new]
    return before, after, f"{ns}/np-new"


@SETTINGS
@given(cluster_with_added_policy())
def test_a_new_policy_leaves_the_sides_of_the_pods_it_does_not_select_unchanged(case: PolicyCase) -> None:
    """Locality: let C' be C plus one new valid NetworkPolicy N, and let U be the endpoints N does not select.
    A policy only isolates and only allows for the pods it selects, so for every P in U:
      - P's ingress and egress isolation are the same in C and C';
      - ingress side: for every source S (any endpoint), the ports P's own policies admit from S,
        `PairCache.ingress_ports(S, P)`, are equal in C and C';
      - egress side: for every destination D, `PairCache.egress_ports(P, D)` is equal in C and C';
      - hence for S, D both in U (S != D) the pod-matrix entry is equal, and for every S and P in U the
        connection S -> P in C' is within what P's ingress admitted from S in C (allowed_C'(S, P) ⊆
        ingress_C(S, P)); symmetrically allowed_C'(P, D) ⊆ egress_C(P, D). (Node-local pairs are all-open in
        both and left out.)
    The connection S -> P itself may grow: N may open S's egress when N selects S.
    """
    before, after, new_ref = case
    note("--- cluster before ---\n" + cluster_yaml(before))
    note("--- new policy ---\n" + cluster_yaml(after[-1:]))
    lb, la = load_objects(before), load_objects(after)
    assert refs(lb) == refs(la)
    unselected = set(refs(la)) - selected_refs(after, after[-1])
    event("new policy selects " + ("no endpoint" if len(unselected) == len(refs(la)) else
                                   "every endpoint" if not unselected else "some endpoints"))
    iso_b, iso_a = isolation_by_ref(lb), isolation_by_ref(la)
    for p in sorted(unselected):
        assert iso_a[p] == iso_b[p], f"{p}: (ingress, egress) isolation {iso_b[p]} -> {iso_a[p]}"
    eg_b, in_b = side_ports(lb)
    eg_a, in_a = side_ports(la)
    problems = []
    for (s, d) in sorted(in_b):
        if d in unselected and in_a[(s, d)] != in_b[(s, d)]:
            problems.append(f"ingress side {s} -> {d}: {show(in_b[(s, d)])} -> {show(in_a[(s, d)])}")
        if s in unselected and eg_a[(s, d)] != eg_b[(s, d)]:
            problems.append(f"egress side {s} -> {d}: {show(eg_b[(s, d)])} -> {show(eg_a[(s, d)])}")
    assert not problems, f"unselected pods changed by {new_ref}:\n" + "\n".join(problems)

    eps = la.cluster.endpoints
    local = {(eps[i].ref, eps[j].ref) for i, j in node_local_pairs(la.index)}
    mb, ma = matrix_by_ref(lb), matrix_by_ref(la)
    for (s, d) in sorted(in_b):
        if s == d or (s, d) in local:
            continue
        after_ports = ma.get((s, d), EMPTY)
        if s in unselected and d in unselected:
            assert after_ports == mb.get((s, d), EMPTY), f"{s} -> {d} changed, neither selected by {new_ref}"
        if d in unselected:
            extra = subtract(after_ports, in_b[(s, d)])
            assert not extra, f"{s} -> {d} allows {show(extra)} that {d}'s ingress did not admit before"
        if s in unselected:
            extra = subtract(after_ports, eg_b[(s, d)])
            assert not extra, f"{s} -> {d} allows {show(extra)} that {s}'s egress did not allow before"


# ------------------------------------------------------------------------------------ 3. order independence


def _shuffled(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    return draw(st.permutations(items)) if len(items) > 1 else list(items)


@st.composite
def cluster_and_shuffle(draw: st.DrawFn) -> tuple[Objects, Objects]:
    """(objects, the same objects in another order, with every policy's rule, peer and port lists permuted)."""
    objects = draw(clusters())
    shuffled = copy.deepcopy(_shuffled(draw, objects))
    for obj in shuffled:
        if obj["kind"] != "NetworkPolicy":
            continue
        spec = obj["spec"]
        for key, _, peers_key in DIRECTIONS:
            if spec.get(key):
                spec[key] = _shuffled(draw, spec[key])
                for rule in spec[key]:
                    for field in (peers_key, "ports"):
                        if rule.get(field):
                            rule[field] = _shuffled(draw, rule[field])
        if spec.get("policyTypes"):
            spec["policyTypes"] = _shuffled(draw, spec["policyTypes"])
    return objects, shuffled


@SETTINGS
@given(cluster_and_shuffle())
def test_order_of_objects_rules_and_peers_does_not_matter(case: tuple[Objects, Objects]) -> None:
    """Order independence: permuting the input documents (Namespaces, Pods and NetworkPolicies interleaved),
    and inside each policy its ingress/egress rules, each rule's peers and ports, and its policyTypes, gives
    the same set of endpoints, the same isolation of each, the same `pod_matrix` as a dict
    {(src ref, dst ref): ports} and the same `namespace_matrix` (policies never conflict; lists are ORed).
    """
    objects, shuffled = case
    note("--- cluster ---\n" + cluster_yaml(objects))
    note("--- shuffled ---\n" + cluster_yaml(shuffled))
    la, lb = load_objects(objects), load_objects(shuffled)
    assert sorted(refs(la)) == sorted(refs(lb))
    assert isolation_by_ref(la) == isolation_by_ref(lb)
    ma, mb = matrix_by_ref(la), matrix_by_ref(lb)
    diff = sorted(set(ma) ^ set(mb) | {k for k in set(ma) & set(mb) if ma[k] != mb[k]})
    assert not diff, "pod matrix depends on order: " + "; ".join(
        f"{s} -> {d}: {show(ma.get((s, d), EMPTY))} vs {show(mb.get((s, d), EMPTY))}" for s, d in diff)
    assert namespace_matrix(la.index) == namespace_matrix(lb.index)


# ------------------------------------------------------------------------------------- 4. JSON round trip


@settings(SETTINGS, max_examples=CLI_EXAMPLES)
@given(clusters())
def test_scan_json_is_canonical_and_report_reproduces_it(objects: Objects) -> None:
    """Round trip: the text T of `scan FILE --format json` (exit status 0 or 1) is in canonical form,
    `render(json.loads(T)) == T`, and `report --from result.json --format json` reproduces T byte for byte,
    both on stdout (`-o -`) and into a file.
    """
    note("--- cluster ---\n" + cluster_yaml(objects))
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "cluster.yaml"
        manifest.write_text(cluster_yaml(objects), encoding="utf-8")
        rc, text, err = run_cli("scan", manifest, "--format", "json", "--timestamp", TIMESTAMP)
        assert rc in (0, 1), f"scan exit status {rc}; stderr: {err}"
        assert render(json.loads(text)) == text
        result = Path(tmp) / "result.json"
        result.write_bytes(text.encode("utf-8"))
        rc, again, err = run_cli("report", "--from", result, "--format", "json", "-o", "-")
        assert rc == 0, f"report exit status {rc}; stderr: {err}"
        assert again == text
        copy_path = Path(tmp) / "copy.json"
        rc, _, err = run_cli("report", "--from", result, "--format", "json", "-o", copy_path)
        assert rc == 0, f"report -o FILE exit status {rc}; stderr: {err}"
        assert copy_path.read_bytes() == result.read_bytes()


# ----------------------------------------------------------------------------------- 5. no policy, all open


@SETTINGS
@given(clusters())
def test_without_policies_every_pair_is_open_on_every_port(objects: Objects) -> None:
    """No policy, no isolation: removing every NetworkPolicy leaves no endpoint isolated in either direction,
    and `pod_matrix` holds every ordered pair of distinct endpoints with ALL_PORTS (every port of TCP, UDP and
    SCTP), and no pair of an endpoint with itself.
    """
    bare = [o for o in objects if o["kind"] != "NetworkPolicy"]
    note("--- cluster ---\n" + cluster_yaml(bare))
    loaded = load_objects(bare)
    assert not any(ingress or egress for ingress, egress in isolation_by_ref(loaded).values())
    names = refs(loaded)
    expected = {(s, d): ALL_PORTS for s in names for d in names if s != d}
    assert matrix_by_ref(loaded) == expected
