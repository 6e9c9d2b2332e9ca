"""Benchmark of the live collector: a generated cluster served by tests/kubeapi.py, collected by
scanner.collect.live through the official client, against the floor of merely parsing the same pages.

    python bench/collect_live.py                      # 150,000 pods, pages of 500, HTTPS + token
    python bench/collect_live.py --pods 20000
    python bench/collect_live.py --pods 20000 --lean  # the generator's small pods, not API-shaped ones

The objects come from bench/gen_cluster.py. By default each object is dressed the way an API server returns it
(gen_cluster.api_shaped and api_object: uid, resourceVersion, managedFields and defaults; pods also get
annotations, volumes, env, probes, resources, conditions, containerStatuses: about 7 KB of JSON, like the 1.15 GB
PodList of a real 150k-pod cluster); --lean serves the generator's objects as they are.
Every page is serialised once, before anything is timed, and the server only writes bytes.

Collector: a separate process, started before the parent builds the cluster (so its peak RSS is its own),
measured inside (process CPU and wall time around collect(), VmHWM) and by wait4(). Floor: orjson.loads of every
page the collector reads, with the garbage collector off, in the parent. Targets: peak RSS under 1 GB at
150,000 pods and collection CPU at most about 2x the floor.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ----- the child: collects


def child() -> int:
    import logging

    import orjson  # noqa: F401 - imported before the baseline, as the CLI would

    from scanner.collect.live import collect
    from scanner.progress import Progress

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    job = json.loads(sys.stdin.readline())
    rss_before = _status_kb("VmRSS")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    snap = collect(job["kubeconfig"], None, False, [], job["timeout"], Progress(enabled=False),
                   page_size=job["page_size"])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    kinds: dict[str, int] = {}
    for o in snap.objects:
        kinds[o.obj["kind"]] = kinds.get(o.obj["kind"], 0) + 1
    print(json.dumps({"cpu": cpu, "wall": wall, "rss_before_kb": rss_before, "hwm_kb": _status_kb("VmHWM"),
                      "objects": len(snap.objects), "kinds": kinds, "complete": snap.collection.complete,
                      "problems": snap.collection.problems}), flush=True)
    return 0


# ----- the parent: serves and measures


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _dressed(gen: Any, pods: list[dict[str, Any]], lean: bool) -> Iterator[dict[str, Any]]:
    for i, p in enumerate(pods):
        yield p if lean else gen.api_shaped(p, i)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lean", action="store_true", help="serve the generator's objects as they are")
    ap.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child()

    # The collector's process first, while this one is small (a child's peak RSS includes its parent's at exec).
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "--child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    sys.path.insert(0, str(ROOT / "tests"))
    kubeapi = _load(ROOT / "tests" / "kubeapi.py", "kubeapi")
    gen = _load(ROOT / "bench" / "gen_cluster.py", "gen_cluster")

    t0 = time.perf_counter()
    namespaces = max(40, a.pods // 150)
    objects = gen.generate(a.pods, max(200, a.pods // 15), namespaces, a.seed)
    pods = [o for o in objects if o["kind"] == "Pod"]
    others = [o if a.lean else gen.api_object(o, len(pods) + k)
              for k, o in enumerate(o for o in objects if o["kind"] != "Pod")]
    del objects
    with tempfile.TemporaryDirectory() as tmp:
        pki = None if a.http else kubeapi.make_pki(Path(tmp) / "pki")
        api = kubeapi.KubeAPI(others, tls=not a.http, pki=pki, lifetime=3600)
        api.prepare(a.page_size)
        pod_type = kubeapi.BY_KIND[("", "Pod")]

        pod_bytes = api.prepare_pages(pod_type, _dressed(gen, pods, a.lean), len(pods), a.page_size)
        del pods
        pages = list(api.pages.values())
        total = sum(len(p) for p in pages)
        print(f"cluster: {a.pods} pods ({'lean' if a.lean else 'API-shaped'}, {pod_bytes / a.pods:.0f} bytes each), "
              f"{len(others)} other objects; {len(pages)} pages, {total / 2**20:.0f} MiB of JSON; "
              f"built in {time.perf_counter() - t0:.1f}s", flush=True)

        # The floor: parse every page, nothing else.
        import orjson

        gc.disable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for body in pages:
            orjson.loads(body)
        floor_cpu, floor_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        gc.enable()
        del pages

        with api:
            kubeconfig = api.kubeconfig(Path(tmp) / "kubeconfig")
            wall0 = time.perf_counter()
            proc.stdin.write(json.dumps({"kubeconfig": kubeconfig, "timeout": 3600, "page_size": a.page_size}) + "\n")
            proc.stdin.flush()
            out = proc.stdout.readline()
            _, status, ru = os.wait4(proc.pid, 0)
            total_wall = time.perf_counter() - wall0
            errors = list(api.errors)
    if os.waitstatus_to_exitcode(status) != 0 or not out:
        raise SystemExit(f"the collector failed (exit {os.waitstatus_to_exitcode(status)})")
    r = json.loads(out)
    if not r["complete"] or errors:
        raise SystemExit(f"incomplete collection: {r['problems']} {errors[:1]}")
    hwm_mb, wait4_mb = r["hwm_kb"] / 1024, ru.ru_maxrss / 1024
    ratio = r["cpu"] / floor_cpu
    print(f"collected: {r['objects']} objects ({r['kinds'].get('Pod', 0)} pods), complete")
    print(f"floor (orjson.loads of every page, GC off): CPU {floor_cpu:.2f}s, wall {floor_wall:.2f}s")
    print(f"collect(): CPU {r['cpu']:.2f}s, wall {r['wall']:.2f}s; process CPU (wait4) "
          f"{ru.ru_utime + ru.ru_stime:.2f}s, wall {total_wall:.2f}s")
    print(f"peak RSS: {hwm_mb:.0f} MB (VmHWM; {r['rss_before_kb'] / 1024:.0f} MB after imports), "
          f"wait4 ru_maxrss {wait4_mb:.0f} MB")
    print(f"ratio collect CPU / floor CPU: {ratio:.2f}x (target <= ~2x: {'ok' if ratio <= 2.2 else 'MISSED'}); "
          f"peak RSS {'ok' if hwm_mb < 1024 else 'MISSED'} against 1 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
