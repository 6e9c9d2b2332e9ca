"""Build the two snapshots of the drift example from examples/shop-cluster (run from the repository root):

    python examples/drift/make_snapshots.py

- `2026-11-01.snapshot.json`: the cluster as the example ships it (the "current" scan);
- `2026-05-01.snapshot.json`: the same cluster six months earlier, before three changes: the `search` policy
  did not exist (search took traffic from anywhere), the `api` policy also reached Redis in shop-db, and
  the `catalog` workload could not reach the internet.

`netpol-audit diff examples/drift/2026-05-01.snapshot.json examples/drift/2026-11-01.snapshot.json` shows them;
`make demo` writes that diff next to the reports. tests/test_diff.py checks that the current snapshot still
matches examples/shop-cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EPOCH = {"2026-05-01": "1777593600", "2026-11-01": "1793491200"}


def _older(tree: Path) -> None:
    path = tree / "shop" / "network-policies.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    kept = []
    for d in docs:
        name = d["metadata"]["name"]
        if name == "search":
            continue
        if name == "api":
            d["spec"]["egress"].append({
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop-db"}},
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}],
                "ports": [{"protocol": "TCP", "port": "redis"}]})
        if name == "catalog":
            d["spec"]["egress"] = [r for r in d["spec"]["egress"]
                                   if not any("ipBlock" in p for p in r.get("to", []))]
        kept.append(d)
    path.write_text(yaml.safe_dump_all(kept, sort_keys=False))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for date in EPOCH:
            tree = Path(tmp) / date / "shop-cluster"
            shutil.copytree(ROOT / "examples" / "shop-cluster", tree)
            if date == "2026-05-01":
                _older(tree)
            subprocess.run([sys.executable, "-m", "scanner", "snapshot", "shop-cluster", "-o",
                            str(HERE / f"{date}.snapshot.json")], cwd=tree.parent, check=True,
                           env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH[date], "PYTHONPATH": str(ROOT)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
