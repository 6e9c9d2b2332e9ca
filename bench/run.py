"""Benchmarks: run netpol-audit commands on generated clusters and record CPU, wall time and peak RSS.

    python bench/run.py --tier core          # 2,000 pods: 10,000 reach queries, isolation, matrix, scan
    python bench/run.py --tier core --write  # and rewrite the table in docs/benchmarks.md

Each command runs as its own process (as a user runs it), measured with wait4(): CPU = user + system time,
peak RSS = the child's maximum resident set. Compare ratios within one run; the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = {"core": {"pods": 2000, "policies": 200, "namespaces": 40, "queries": 10000}}


def measure(argv: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}: {err}")
    return {"cpu": ru.ru_utime + ru.ru_stime, "wall": wall, "rss_mb": ru.ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default="core", choices=sorted(TIERS))
    ap.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    a = ap.parse_args()
    t = TIERS[a.tier]
    exe = [sys.executable, "-m", "scanner"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cluster, queries = f"{tmp}/cluster.json", f"{tmp}/queries.json"
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen_cluster.py"), "--pods", str(t["pods"]),
                        "--policies", str(t["policies"]), "--namespaces", str(t["namespaces"]), "--seed", "1",
                        "-o", cluster, "--queries", str(t["queries"]), "--queries-out", queries], check=True,
                       capture_output=True)
        steps = [
            ("start-up (--version)", [*exe, "--version"]),
            ("isolation -o json", [*exe, "isolation", cluster, "-o", "json"]),
            (f"reach --queries ({t['queries']} queries)", [*exe, "reach", cluster, "--queries", queries, "-o", "json"]),
            ("matrix --level namespace", [*exe, "matrix", cluster, "-o", "json"]),
            ("scan (all rules, json+sarif)", [*exe, "scan", cluster, "-o", f"{tmp}/out", "--format", "json,sarif",
                                              "-q"]),
        ]
        for name, argv in steps:
            m = measure(argv)
            rows.append((name, m))
            print(f"{name:40s} cpu {m['cpu']:6.2f}s  wall {m['wall']:6.2f}s  rss {m['rss_mb']:7.1f} MB")
    if a.write:
        table = ["| command | CPU s | wall s | peak RSS MB |", "|---|---:|---:|---:|"]
        table += [f"| {n} | {m['cpu']:.2f} | {m['wall']:.2f} | {m['rss_mb']:.0f} |" for n, m in rows]
        header = (f"### Tier {a.tier}: {t['pods']} pods, {t['policies']} policies, {t['namespaces']} namespaces\n\n"
                  f"`python bench/run.py --tier {a.tier} --write` on {dt.date.today().isoformat()}, "
                  f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.\n\n")
        doc = ROOT / "docs" / "benchmarks.md"
        text = doc.read_text() if doc.exists() else "# Benchmarks\n"
        start = f"<!-- tier {a.tier} -->"
        end = f"<!-- /tier {a.tier} -->"
        block = f"{start}\n{header}" + "\n".join(table) + f"\n{end}"
        if start in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        doc.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
