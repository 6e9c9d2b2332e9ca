"""The fast namespace matrix (rule by rule) against its pairwise oracle and the brute-force reference.

Every comparison goes through bench/agree.py `check`: namespace_matrix == namespace_matrix_pairwise, the matrix
holds a probe port for a namespace pair iff the reference (plus node-local traffic, which it does not model)
allows some pod pair of those namespaces on it, and the explaining path (`reach`) agrees per pod pair.
NETPOL_HYPOTHESIS_EXAMPLES sets the number of random clusters (default 200).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import bench_module
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import EXAMPLES, SETTINGS, clusters

from scanner.engine.reach import namespace_matrix, namespace_matrix_pairwise
from scanner.intervals import ALL_PORTS, port_range, ports_text

VERDICT_PAIRS = 1500  # explaining-path pairs per generated cluster: one per signature pair, then a sample


agree = bench_module("agree")


def _failure(result: dict[str, Any], objects: list[dict[str, Any]] | None = None) -> str:
    text = f"{result['count']} disagreement(s):\n" + "\n".join(result["disagreements"])
    if objects is not None:
        text += "\n--- cluster YAML ---\n" + yaml.safe_dump_all(objects, sort_keys=False)
    return text


@SETTINGS
@given(clusters())
def test_fast_namespace_matrix_equals_pairwise_and_reference_on_random_clusters(
    objects: list[dict[str, Any]],
) -> None:
    result = agree.check(objects, memo=False, verdict_pairs=None)  # every pair, the reference asked each time
    assert result["all_pairs"] is True
    assert result["matrix_vs_pairwise"] == "equal", _failure(result, objects)
    assert result["count"] == 0, _failure(result, objects)


@st.composite
def clusters_on_nodes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """strategies.clusters() with pods spread over two nodes (or none): hostNetwork pods then reach the pods of
    their node on every port (node-local traffic), which the reference leaves to bench/agree.py."""
    objects = draw(clusters())
    for obj in objects:
        if obj["kind"] == "Pod":
            node = draw(st.sampled_from(["node-a", "node-b", None]))
            if node is not None:
                obj["spec"]["nodeName"] = node
    return objects


@settings(SETTINGS, max_examples=max(1, EXAMPLES // 2))
@given(clusters_on_nodes())
def test_fast_namespace_matrix_equals_pairwise_and_reference_with_node_local_traffic(
    objects: list[dict[str, Any]],
) -> None:
    result = agree.check(objects, memo=False, verdict_pairs=None)
    assert result["matrix_vs_pairwise"] == "equal", _failure(result, objects)
    assert result["count"] == 0, _failure(result, objects)


@pytest.mark.parametrize(
    ("pods", "policies", "namespaces", "seed"),
    [(120, 30, 8, 1), (120, 30, 8, 2), (120, 30, 8, 3), (40, 90, 5, 4)],
    ids=["seed1", "seed2", "seed3", "more-policies-than-pods"],
)
def test_fast_namespace_matrix_agrees_on_generated_clusters(pods: int, policies: int, namespaces: int,
                                                           seed: int) -> None:
    objects = agree.generate(pods, policies, namespaces, seed)
    result = agree.check(objects, verdict_pairs=VERDICT_PAIRS)
    assert result["pods"] == pods
    assert result["pairs_checked"] == pods * (pods - 1)
    assert result["matrix_vs_pairwise"] == "equal", _failure(result)
    assert result["count"] == 0, _failure(result)


def test_generated_cluster_has_fewer_classes_than_pods_and_known_matrix_entries() -> None:
    """120 pods / 30 policies / 8 namespaces, seed 1, checked by hand against the generated objects:

    - monitoring has no policy (its pods are open both ways); every ns-0002 pod is a `frontend-0` replica with
      container ports http 8080/TCP and metrics 9090/TCP. ns-0002's ingress: default-deny, allow-scrape-14
      (from monitoring pods with app.kubernetes.io/name In [prometheus], named port `metrics`) and
      allow-frontend-0-grpc (named port `grpc`, which no pod defines). No pod of either namespace uses the
      host network, so monitoring -> ns-0002 is exactly 9090/TCP.
    - ns-0002 -> monitoring: ns-0002's egress allows only kube-dns pods in kube-system (allow-dns) and pods of
      ingress-nginx (allow-to-ingress-nginx-22): no entry.
    - ns-0002 -> kube-system: 120 pods make one node (node-0) and kube-proxy runs there on the host network,
      so traffic between it and every ns-0002 pod is node-local: every port.
    """
    objects = agree.generate(120, 30, 8, 1)
    loaded = agree.load_objects(objects)
    index = loaded.index
    assert len(index.cluster.endpoints) == 120
    assert len(index.classes) == 23  # StatefulSet pod names and template hashes do not split classes
    assert len(index.classes) < len(index.cluster.endpoints)
    matrix = namespace_matrix(index)
    assert matrix == namespace_matrix_pairwise(index)
    assert ports_text(matrix[("monitoring", "ns-0002")]) == "TCP 9090"
    assert matrix[("monitoring", "ns-0002")] == port_range("TCP", 9090, 9090)
    assert ("ns-0002", "monitoring") not in matrix
    assert matrix[("ns-0002", "kube-system")] == ALL_PORTS
    ns_0002 = [o for o in objects if o["kind"] == "Pod" and o["metadata"]["namespace"] == "ns-0002"]
    assert len(ns_0002) == 5
    assert {o["metadata"]["labels"]["app.kubernetes.io/name"] for o in ns_0002} == {"frontend-0"}
    assert {o["spec"]["nodeName"] for o in objects if o["kind"] == "Pod"} == {"node-0"}
