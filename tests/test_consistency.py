"""The class path (matrix) and the explaining path (reach) must give the same verdict for every pair."""

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLE, ROOT

from scanner.api import load
from scanner.engine.reach import PairCache, Target, node_local_pairs, verdict
from scanner.intervals import contains, port_point

PORTS = [("TCP", 53), ("UDP", 53), ("TCP", 80), ("TCP", 443), ("TCP", 3000), ("TCP", 5432), ("TCP", 6379),
         ("TCP", 8080), ("TCP", 8050), ("TCP", 8443), ("TCP", 9090), ("TCP", 9121), ("SCTP", 9000)]


def check_agreement(paths):
    loaded = load(paths)
    ix = loaded.index
    eps = loaded.cluster.endpoints
    cache = PairCache(ix)
    local = set(node_local_pairs(ix))
    checked = 0
    for i, a in enumerate(eps):
        for j, b in enumerate(eps):
            if i == j:
                continue
            ports = cache.ports(ix.class_for(i), ix.class_for(j))
            for proto, port in PORTS:
                v = verdict(ix, Target(a.ref, a, i), Target(b.ref, b, j), proto, port, f"{port}/{proto}")
                expected = (i, j) in local or contains(ports, port_point(proto, port))
                assert v.allowed == expected, v.explanation()
                checked += 1
    return checked


def test_example_cluster_matrix_equals_queries():
    assert check_agreement([str(EXAMPLE)]) == 20 * 19 * len(PORTS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_cluster_matrix_equals_queries(tmp_path, seed):
    out = tmp_path / "c.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_cluster.py"), "--pods", "60", "--policies", "40",
                    "--namespaces", "6", "--seed", str(seed), "-o", str(out)], check=True, capture_output=True)
    n = sum(1 for o in json.loads(out.read_text())["items"] if o["kind"] == "Pod")
    assert check_agreement([str(out)]) == n * (n - 1) * len(PORTS)
