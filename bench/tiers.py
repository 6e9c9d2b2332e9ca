"""Benchmark of the cluster-scoped policy tiers: the same generated cluster audited without and with them.

    python bench/tiers.py                       # sizes 2k and M (about a minute)
    python bench/tiers.py --size 2k,M,L --write # L adds about two minutes; --write updates docs/benchmarks.md

Each size is bench/gen_cluster.py (seed 1) written as a List JSON file, and the tier policies of
`gen_cluster.py --tiers` (an AdminNetworkPolicy over every namespace: Allow 9090 from monitoring, then Pass
everything; a BaselineAdminNetworkPolicy denying ingress from every namespace). Measured in one run:
- `netpol-audit scan CLUSTER.json [TIERS.yaml] --format json -o DIR -q` as its own process, without and with the
  tier policies: CPU, wall, peak RSS (wait4), and the namespace matrix phase (NETPOL_AUDIT_PHASES);
- in a separate process, the namespace matrix through the tiers by `namespace_matrix_grouped` alone, and on
  sizes up to M also by the pairwise oracle: their CPU times and whether they are equal (a benchmark that finds
  them different exits 1 and writes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # bench/run.py: measure, write_block, the sizes

PAIRWISE_MAX_PODS = 20_000  # the pairwise oracle is quadratic in classes: M takes seconds, L hours

AGREE = """
import json, sys, time
from scanner.api import load
from scanner.engine.reach import namespace_matrix_grouped, namespace_matrix_pairwise
ix = load(sys.argv[2:]).index
t = time.process_time(); grouped = namespace_matrix_grouped(ix); tg = time.process_time() - t
got = {"classes": len(ix.classes), "pairs": len(grouped), "grouped_s": tg}
if sys.argv[1] == "pairwise":
    t = time.process_time(); pairwise = namespace_matrix_pairwise(ix); tp = time.process_time() - t
    got.update(pairwise_s=tp, equal=grouped == pairwise)
print(json.dumps(got))
"""


def scan(cluster: Path, extra: list[Path], tmp: Path) -> dict[str, Any]:
    out, phases = tmp / "out", tmp / "phases.jsonl"
    shutil.rmtree(out, ignore_errors=True)
    phases.unlink(missing_ok=True)
    env = {**os.environ, "NETPOL_AUDIT_PHASES": str(phases)}
    m = run.measure([sys.executable, "-m", "scanner", "scan", str(cluster), *map(str, extra), "--format", "json",
                     "-o", str(out), "-q"], env)
    records = [json.loads(line) for line in phases.read_text().splitlines()]
    m["matrix_cpu"] = next(r["cpu"] for r in records if r["phase"] == "namespace matrix")
    shutil.rmtree(out, ignore_errors=True)
    return m


def measure_size(name: str, tmp: Path) -> dict[str, Any]:
    t = run.TIERS[name]
    cluster, tiers = tmp / f"{name}.json", tmp / "tiers.yaml"
    subprocess.run([sys.executable, str(run.ROOT / "bench" / "gen_cluster.py"), "--pods", str(t["pods"]),
                    "--policies", str(t["policies"]), "--namespaces", str(t["namespaces"]), "--seed", "1",
                    "-o", str(cluster), "--tiers", str(tiers)], check=True, capture_output=True)
    row: dict[str, Any] = {"size": name, **t, "without": scan(cluster, [], tmp), "with": scan(cluster, [tiers], tmp)}
    for k in ("without", "with"):
        m = row[k]
        print(f"[{name}] {k} tiers: cpu {m['cpu']:.2f} s, wall {m['wall']:.2f} s, peak RSS {m['rss_mb']:.0f} MB, "
              f"namespace matrix {m['matrix_cpu']:.2f} s", flush=True)
    mode = "pairwise" if t["pods"] <= PAIRWISE_MAX_PODS else "grouped"
    proc = subprocess.run([sys.executable, "-c", AGREE, mode, str(cluster), str(tiers)], capture_output=True,
                          text=True, check=True)
    row["agree"] = json.loads(proc.stdout)
    print(f"[{name}] namespace matrix through the tiers: {json.dumps(row['agree'])}", flush=True)
    cluster.unlink()
    return row


def block(rows: list[dict[str, Any]], sizes: str) -> str:
    lines = ["### Cluster-scoped tiers", "",
             f"`python bench/tiers.py --size {sizes} --write` on {run._machine()}. The same cluster "
             "(bench/gen_cluster.py, seed 1) audited with `scan CLUSTER.json [TIERS.yaml] --format json -q`, "
             "without and with the tier policies of `gen_cluster.py --tiers`. With them, the namespace matrix "
             "cannot use the NetworkPolicy-only path (four cases, rule by rule) and is computed by "
             "`namespace_matrix_grouped`; up to M it is also computed by the pairwise oracle in another process "
             "and compared.", "",
             "| size | pods / classes | without tiers: CPU, wall, peak RSS | with tiers: CPU, wall, peak RSS | "
             "matrix phase with tiers | grouped vs pairwise (CPU) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        a, b, g = r["without"], r["with"], r["agree"]
        check = (f"{g['grouped_s']:.2f} s vs {g['pairwise_s']:.2f} s, {'equal' if g['equal'] else 'DIFFERENT'}"
                 if "equal" in g else f"{g['grouped_s']:.2f} s (pairwise not run: quadratic)")
        lines.append(f"| {r['size']} | {r['pods']:,} / {g['classes']:,} | {a['cpu']:.2f} s, {a['wall']:.2f} s, "
                     f"{a['rss_mb']:.0f} MB | {b['cpu']:.2f} s, {b['wall']:.2f} s, {b['rss_mb']:.0f} MB | "
                     f"{b['matrix_cpu']:.2f} s | {check} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2k,M", help="comma-separated sizes of bench/run.py: 2k, M, L (default 2k,M)")
    ap.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    ap.add_argument("--workdir", help="where to generate (default: a temporary directory)")
    a = ap.parse_args()
    names = [n.strip() for n in a.size.split(",") if n.strip()]
    for n in names:
        if n not in run.TIERS:
            ap.error(f"unknown size {n!r} (one of {', '.join(run.TIERS)})")
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmpdir:
        rows = [measure_size(n, Path(tmpdir)) for n in names]
    if not all(r["agree"].get("equal", True) for r in rows):
        print("the grouped namespace matrix differs from the pairwise oracle: nothing written", file=sys.stderr)
        return 1
    if a.write:
        run.write_block("tiers", block(rows, ",".join(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
