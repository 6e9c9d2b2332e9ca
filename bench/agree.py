"""Agreement check for the fast engine: namespace matrix vs the pairwise oracle vs the brute-force reference.

    python bench/agree.py --pods 500 --policies 50 --namespaces 10 --seed 1 [--sample N] [--verdict-pairs N]

`check(objects)` loads raw objects (a generated cluster, or a hypothesis-drawn one) into the engine and compares:

1. `namespace_matrix` (rule by rule) with `namespace_matrix_pairwise` (every class pair), unless the cluster has
   more than `pairwise_limit` classes (the oracle is quadratic; the result then says "skipped");
2. the namespace matrix with tests/reference.py on a fixed list of probe ports, for ordered pairs of distinct live
   pods (all of them, or a deterministic sample): a pod pair the reference allows on a probe puts that probe in
   the matrix entry of their namespaces; with all pairs also the converse (an entry holds a probe only if some
   pod pair of those namespaces is allowed on it);
3. the engine's explaining path (`resolve` + `verdict`, what `netpol-audit reach` prints) with the reference,
   per pod pair and probe, including both sides.

Two facts the reference does not model are layered on top of it here, each read from the raw objects and
counted in the result: traffic between a pod and the node it runs on is always allowed (SEMANTICS.md; two pods
with the same spec.nodeName where one uses the host network), and templates (workloads without pods) are
endpoints of the engine only (the converse check skips their namespaces; neither generator makes any).

Cost: the reference is evaluated once per distinct *reference signature* pair (`memo=True`): everything the
reference reads of a pod (namespace, all labels, hostNetwork, which policy ipBlocks hold one of its IPs,
container ports), so two pods with equal signatures get equal reference verdicts by construction of
reference.py. The explaining path costs about 30 us per verdict; above `verdict_pairs` checked pairs it runs on
one pair per distinct signature pair (every behaviour the reference can tell apart) plus a deterministic
random sample up to `verdict_pairs`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import reference  # noqa: E402  (tests/reference.py: imports nothing from scanner)

from scanner.api import load  # noqa: E402
from scanner.engine.reach import namespace_matrix, namespace_matrix_pairwise, resolve, verdict  # noqa: E402
from scanner.intervals import IntervalSet, contains, port_point, ports_text  # noqa: E402

# (port, protocol): the numbers tests/strategies.py and bench/gen_cluster.py use (named ports resolve to 80,
# 8080, 8000, 3000, 9090, 9153, 9808, 10249, 10254, 53), range edges (50-90, 80-443, 443-8080, 8000-8100,
# 8000-9000), a port nothing names (5432) and the other protocols.
PROBES: tuple[tuple[int, str], ...] = (
    (53, "UDP"), (53, "TCP"), (80, "TCP"), (90, "TCP"), (443, "TCP"), (444, "TCP"), (3000, "TCP"),
    (5432, "TCP"), (8000, "TCP"), (8050, "TCP"), (8080, "TCP"), (8100, "TCP"), (8101, "TCP"), (9090, "TCP"),
    (9153, "TCP"), (9808, "TCP"), (10249, "TCP"), (10254, "TCP"), (80, "UDP"), (8080, "UDP"), (53, "SCTP"),
    (9000, "SCTP"),
)
PAIRWISE_LIMIT = 3000
VERDICT_PAIRS = 20000
MAX_REPORTED = 20

PodKey = tuple[str, str]


def load_objects(objects: list[dict[str, Any]]) -> Any:
    """Raw objects into the engine, in process (`scanner.api.load` on a temporary `kind: List` file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}), encoding="utf-8")
        return load([str(path)])


def _ref_text(key: PodKey) -> str:
    return f"{key[0]}/{key[1]}"


def _memoize_policies_for(cluster: reference.Cluster) -> None:
    """Cache `policies_for` per (namespace, labels, direction): `governs` reads nothing else of the pod."""
    original = cluster.policies_for
    cache: dict[tuple[str, tuple[tuple[str, str], ...], str], list[Any]] = {}

    def policies_for(pod: Any, direction: str) -> list[Any]:
        key = (reference.pod_key(pod)[0], tuple(sorted(reference.pod_labels(pod).items())), direction)
        got = cache.get(key)
        if got is None:
            got = cache[key] = original(pod, direction)
        return got

    cluster.policies_for = policies_for  # type: ignore[method-assign]


def _ip_blocks(cluster: reference.Cluster) -> list[dict[str, Any]]:
    """The distinct ipBlocks of all policies: the only way the reference looks at a pod's IPs."""
    seen: dict[str, dict[str, Any]] = {}
    for policy in cluster.policies:
        spec = policy.get("spec") or {}
        for rules_key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(rules_key) or []:
                for peer in rule.get(peers_key) or []:
                    if "ipBlock" in peer:
                        seen.setdefault(json.dumps(peer["ipBlock"], sort_keys=True), peer["ipBlock"])
    return list(seen.values())


def _signature(pod: Any, blocks: list[dict[str, Any]]) -> tuple[object, ...]:
    """Everything reference.py reads of a pod (see the module docstring)."""
    ips = reference.pod_ips(pod)
    return (
        reference.pod_key(pod)[0],
        tuple(sorted(reference.pod_labels(pod).items())),
        reference.is_host_network(pod),
        tuple(any(reference.ip_in_block(ip, b) for ip in ips) for b in blocks),
        json.dumps(reference.container_ports(pod), sort_keys=True),
    )


def _node_local(a: Any, b: Any) -> bool:
    """A pod and its node: both on one spec.nodeName, one of them on the host network."""
    node = (a.get("spec") or {}).get("nodeName")
    return bool(node) and node == (b.get("spec") or {}).get("nodeName") and (
        reference.is_host_network(a) or reference.is_host_network(b))


def _pairs(n: int, sample: int | None, seed: int) -> tuple[list[tuple[int, int]], bool]:
    """Ordered pairs of distinct indices below n: all of them, or `sample` drawn with `seed`; (pairs, all?)."""
    total = n * (n - 1)
    if sample is None or sample >= total:
        return [(i, j) for i in range(n) for j in range(n) if i != j], True
    rng = random.Random(seed)
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < sample:
        i, j = rng.randrange(n), rng.randrange(n)
        if i != j:
            chosen.add((i, j))
    return sorted(chosen), False


def _mask(ports: IntervalSet, points: list[int]) -> int:
    return sum(1 << k for k, x in enumerate(points) if contains(ports, x))


def _probe_names(mask: int) -> str:
    return ",".join(f"{p}/{proto}" for k, (p, proto) in enumerate(PROBES) if mask >> k & 1)


def check(objects: list[dict[str, Any]], *, sample: int | None = None, seed: int = 0, memo: bool = True,
          pairwise_limit: int = PAIRWISE_LIMIT, verdict_pairs: int | None = VERDICT_PAIRS) -> dict[str, Any]:
    """Compare the engine with its pairwise oracle and with tests/reference.py (see the module docstring).

    `sample`: number of ordered pod pairs to check (None: all). `memo=False` asks the reference about every
    pair itself. `verdict_pairs`: when more pairs are checked than this, the explaining path runs on one pair
    per distinct signature pair plus a sample up to this many (None: on every checked pair)."""
    timings: dict[str, float] = {}
    problems: list[str] = []
    t0 = time.perf_counter()
    loaded = load_objects(objects)
    index = loaded.index
    timings["load"] = time.perf_counter() - t0

    # ---- 1. fast matrix against the pairwise oracle
    t0 = time.perf_counter()
    matrix = namespace_matrix(index)
    timings["namespace_matrix"] = time.perf_counter() - t0
    vs_pairwise: str | list[dict[str, str]]
    notes: list[str] = []
    if len(index.classes) > pairwise_limit:
        vs_pairwise = "skipped"
        notes.append(f"pairwise oracle skipped: {len(index.classes)} classes > {pairwise_limit}")
    else:
        t0 = time.perf_counter()
        oracle = namespace_matrix_pairwise(index)
        timings["namespace_matrix_pairwise"] = time.perf_counter() - t0
        diff = [{"from": a, "to": b, "fast": ports_text(matrix.get((a, b), ())),
                 "pairwise": ports_text(oracle.get((a, b), ()))}
                for a, b in sorted(set(matrix) | set(oracle)) if matrix.get((a, b)) != oracle.get((a, b))]
        vs_pairwise = diff or "equal"
        problems += [f"namespace_matrix != namespace_matrix_pairwise at {d['from']} -> {d['to']}: "
                     f"fast {d['fast']!r}, pairwise {d['pairwise']!r}" for d in diff]

    # ---- the same pods on both sides
    t0 = time.perf_counter()
    cluster = reference.Cluster(objects)
    if memo:
        _memoize_policies_for(cluster)
    keys: list[PodKey] = sorted(cluster.pods)
    engine_pods = {(e.namespace, e.name) for e in index.cluster.endpoints if e.kind == "Pod"}
    template_ns = {e.namespace for e in index.cluster.endpoints if e.kind != "Pod"}
    if template_ns:
        notes.append(f"templates (engine-only endpoints) in {sorted(template_ns)}: converse check skips them")
    if engine_pods != set(keys):
        problems.append(f"live pods differ: engine only {sorted(engine_pods - set(keys))[:5]}, "
                        f"reference only {sorted(set(keys) - engine_pods)[:5]}")
    engine_ignored = sorted((ig.endpoint.namespace, ig.endpoint.name) for ig in index.cluster.ignored
                            if ig.endpoint.kind == "Pod")
    if engine_ignored != cluster.finished:
        problems.append(f"ignored pods differ: engine {engine_ignored[:5]}, reference {cluster.finished[:5]}")
    keys = [k for k in keys if k in engine_pods]
    pods = [cluster.pods[k] for k in keys]
    blocks = _ip_blocks(cluster)
    sig_ids: dict[tuple[object, ...], int] = {}
    sid = [sig_ids.setdefault(_signature(p, blocks), len(sig_ids)) if memo else i for i, p in enumerate(pods)]

    # ---- 2. reference per pod pair and probe, against the namespace matrix
    points = [port_point(proto, port) for port, proto in PROBES]
    engine_mask = {key: _mask(ports, points) for key, ports in matrix.items()}
    pairs, all_pairs = _pairs(len(keys), sample, seed)
    sides_memo: dict[tuple[int, int], tuple[tuple[bool | None, bool | None], ...]] = {}
    ref_ns_mask: dict[tuple[str, str], int] = {}
    node_local = 0

    def expected(i: int, j: int) -> tuple[bool, tuple[tuple[bool | None, bool | None], ...]]:
        """(node-local?, (egress, ingress) per probe) for pods i -> j."""
        if _node_local(pods[i], pods[j]):
            return True, ((True, True),) * len(PROBES)
        key = (sid[i], sid[j])
        got = sides_memo.get(key)
        if got is None:
            got = sides_memo[key] = tuple(cluster.sides(keys[i], keys[j], port, proto) for port, proto in PROBES)
        return False, got

    for i, j in pairs:
        local, sides = expected(i, j)
        node_local += local
        mask = 0
        for k, (eg, ing) in enumerate(sides):
            if eg is not False and ing is not False:
                mask |= 1 << k
        ns_pair = (keys[i][0], keys[j][0])
        if all_pairs:
            ref_ns_mask[ns_pair] = ref_ns_mask.get(ns_pair, 0) | mask
        missing = mask & ~engine_mask.get(ns_pair, 0)
        if missing:
            why = "node-local (added to the reference here)" if local else "the reference allows"
            problems.append(f"matrix {ns_pair[0]} -> {ns_pair[1]} lacks {_probe_names(missing)}: {why} "
                            f"{_ref_text(keys[i])} -> {_ref_text(keys[j])} on it")
    if all_pairs:
        for ns_pair, have in sorted(engine_mask.items()):
            if ns_pair[0] in template_ns or ns_pair[1] in template_ns:
                continue
            extra = have & ~ref_ns_mask.get(ns_pair, 0)
            if extra:
                problems.append(f"matrix {ns_pair[0]} -> {ns_pair[1]} holds {_probe_names(extra)}, but the "
                                "reference allows no pod pair of these namespaces on it")
    timings["reference"] = time.perf_counter() - t0

    # ---- 3. the explaining path per pod pair and probe
    t0 = time.perf_counter()
    if verdict_pairs is None or len(pairs) <= verdict_pairs:
        vpairs = pairs
    else:
        firsts: dict[tuple[int, int, bool], tuple[int, int]] = {}
        for i, j in pairs:
            firsts.setdefault((sid[i], sid[j], _node_local(pods[i], pods[j])), (i, j))
        chosen = set(firsts.values())
        rest = [p for p in pairs if p not in chosen]
        fill = max(0, verdict_pairs - len(chosen))
        chosen.update(random.Random(seed + 1).sample(rest, min(fill, len(rest))))
        vpairs = sorted(chosen)
    targets: dict[int, tuple[Any, Any]] = {}

    def target(i: int) -> tuple[Any, Any]:
        got = targets.get(i)
        if got is None:
            ref = _ref_text(keys[i])
            got = targets[i] = (resolve(index, ref, "from"), resolve(index, ref, "to"))
        return got

    for i, j in vpairs:
        local, sides = expected(i, j)
        src, dst = target(i)[0], target(j)[1]
        for (port, proto), (eg, ing) in zip(PROBES, sides, strict=True):
            v = verdict(index, src, dst, proto, port, f"{port}/{proto}")
            want = (eg is not False and ing is not False, eg, ing)
            got = (v.allowed, v.egress.allowed if v.egress else None, v.ingress.allowed if v.ingress else None)
            if got != want:
                problems.append(f"verdict {src.ref} -> {dst.ref} on {port}/{proto}: engine (allowed, egress, "
                                f"ingress)={got}, reference={want}"
                                + (" (node-local, added to the reference here)" if local else "")
                                + f"; engine explanation: {v.explanation()!r}")
    timings["verdicts"] = time.perf_counter() - t0

    return {
        "pods": len(keys),
        "classes": len(index.classes),
        "pairs_checked": len(pairs),
        "all_pairs": all_pairs,
        "verdict_pairs_checked": len(vpairs),
        "node_local_pairs": node_local,
        "reference_evaluations": len(sides_memo) * len(PROBES),
        "probes": [f"{p}/{proto}" for p, proto in PROBES],
        "matrix_entries": len(matrix),
        "matrix_vs_pairwise": vs_pairwise,
        "disagreements": problems[:MAX_REPORTED],
        "count": len(problems),
        "notes": notes,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_cluster", ROOT / "bench" / "gen_cluster.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generate(pods: int, policies: int, namespaces: int, seed: int) -> list[dict[str, Any]]:
    """bench/gen_cluster.py's lean objects."""
    objects: list[dict[str, Any]] = _generator().generate(pods, policies, namespaces, seed)
    return objects


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=500)
    ap.add_argument("--policies", type=int, default=50)
    ap.add_argument("--namespaces", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample", type=int, help="check this many random ordered pod pairs (default: all)")
    ap.add_argument("--verdict-pairs", type=int, default=VERDICT_PAIRS,
                    help="pairs through the explaining path beyond one per signature pair (0: only those)")
    ap.add_argument("--all-verdicts", action="store_true", help="every checked pair through the explaining path")
    ap.add_argument("--pairwise-limit", type=int, default=PAIRWISE_LIMIT)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    objects = generate(a.pods, a.policies, max(a.namespaces, 4), a.seed)
    result = check(objects, sample=a.sample, seed=a.seed, pairwise_limit=a.pairwise_limit,
                   verdict_pairs=None if a.all_verdicts else a.verdict_pairs)
    result["seconds"]["total"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(result, indent=2))
    return 1 if result["count"] else 0


if __name__ == "__main__":
    sys.exit(main())
