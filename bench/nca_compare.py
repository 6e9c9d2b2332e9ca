"""Compare netpol-audit with the independent analyzer network-config-analyzer (NCA, PyPI) on the same input.

    python bench/nca_compare.py --tier S,2k                          # NCA at .venv-nca/bin/nca (default)
    python bench/nca_compare.py --tier S,2k,edge --json out.json     # also the edge-case cluster, numbers as JSON
    python -m venv .venv-nca && .venv-nca/bin/pip install network-config-analyzer==2.1.0   # NCA, own venv

For each tier: generate the cluster with bench/gen_cluster.py (`-o` only), time the full audit
(`python -m scanner scan INPUT -o DIR --format json,sarif -q`) and NCA's connectivity map
(`nca --connectivity -r INPUT -o txt_no_fw_rules --output_endpoints deployments`) as separate processes
(CPU = user + system time from wait4, peak RSS of that process), then diff the allowed workload-to-workload
connections: `python -m scanner matrix INPUT --level pod -o json` aggregated by owner (ReplicaSet
`<app>-<pod-template-hash>` -> Deployment `<app>`; StatefulSet, DaemonSet, Job, ... as they are; a bare pod is
itself) against NCA's per-workload lines, as TCP/UDP/SCTP port sets (union over the pods of each workload).

Every differing workload pair is explained by re-running the netpol-audit matrix on inputs rewritten to reproduce
one known NCA behaviour each (see DEVIATIONS): a pair is of a documented class when the rewritten inputs make the
two answers equal. docs/nca-comparison.md gives each class with an example and the verdict by the semantics.
Exit status: 0 all differences are documented, 1 some are not, 2 NCA is missing or a tool failed.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NCA = ROOT / ".venv-nca" / "bin" / "nca"
INSTALL_HINT = (f"network-config-analyzer is not installed at {{path}}: install it into its own venv with "
                f"`python3 -m venv {ROOT / '.venv-nca'} && {ROOT / '.venv-nca/bin/pip'} install "
                "network-config-analyzer==2.1.0`, or pass --nca PATH")

# tier -> (pods, policies, namespaces); seed 1 unless --seed
TIERS: dict[str, tuple[int, int, int]] = {"S": (500, 50, 10), "2k": (2000, 200, 40)}
EDGE_TIER = "edge"  # the hand-written cluster of EDGE below: one workload pair per known difference

Json = dict[str, Any]
Pair = tuple[str, str]

# --- port sets: disjoint sorted intervals on one line, TCP/UDP/SCTP shifted apart (as scanner.intervals) --------

PROTOCOLS = ("TCP", "UDP", "SCTP")
_OFF = {p: i << 16 for i, p in enumerate(PROTOCOLS)}
MAX_PORT = 65535
Ports = tuple[tuple[int, int], ...]
NONE: Ports = ()


def _norm(ivs: Iterable[tuple[int, int]]) -> Ports:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ivs):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def _union(a: Ports, b: Ports) -> Ports:
    return _norm((*a, *b))


def _minus(a: Ports, b: Ports) -> Ports:
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def _proto_ports(proto: str, ranges: Iterable[tuple[int, int]]) -> Ports:
    off = _OFF[proto]
    return _norm((off + lo, off + hi) for lo, hi in ranges)


ALL: Ports = _norm(_proto_ports(p, [(1, MAX_PORT)])[0] for p in PROTOCOLS)


def ports_text(s: Ports) -> str:
    """`TCP 8000,9090 UDP 53`, `all` (every port of TCP, UDP and SCTP) or `none`."""
    if s == ALL:
        return "all"
    if not s:
        return "none"
    parts = []
    for proto in PROTOCOLS:
        off = _OFF[proto]
        mine = [(max(lo, off + 1) - off, min(hi, off + MAX_PORT) - off) for lo, hi in s
                if hi >= off + 1 and lo <= off + MAX_PORT]
        if not mine:
            continue
        if mine == [(1, MAX_PORT)]:
            parts.append(f"{proto} all")
        else:
            parts.append(f"{proto} " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in mine))
    return " ".join(parts)


def _parse_ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


# --- workloads --------------------------------------------------------------------------------------------------

FINISHED = ("Succeeded", "Failed")


def _owner(md: Json) -> tuple[str, str] | None:
    refs = [r for r in md.get("ownerReferences") or [] if isinstance(r, dict)]
    chosen = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not chosen or not chosen.get("kind") or not chosen.get("name"):
        return None
    return str(chosen["kind"]), str(chosen["name"])


def workload_of_pod(pod: Json) -> str:
    """`ns/name[Kind]`: the Deployment of a ReplicaSet `<name>-<pod-template-hash>`, other owners as they are,
    a bare pod itself."""
    md = pod["metadata"]
    ns = md.get("namespace") or "default"
    owner = _owner(md)
    if owner is None:
        return f"{ns}/{md['name']}[Pod]"
    kind, name = owner
    h = (md.get("labels") or {}).get("pod-template-hash")
    if kind == "ReplicaSet" and h and name.endswith("-" + h):
        return f"{ns}/{name[: -len(h) - 1]}[Deployment]"
    return f"{ns}/{name}[{kind}]"


def nca_name_of_pod(pod: Json) -> str:
    """The name NCA 2.1 prints for a pod with `-o txt_no_fw_rules --output_endpoints deployments`: the FIRST
    ownerReference, a ReplicaSet owner by its own name (ConnectivityGraph._get_peer_details)."""
    md = pod["metadata"]
    ns = md.get("namespace") or "default"
    refs = [r for r in md.get("ownerReferences") or [] if isinstance(r, dict)]
    if not refs or not refs[0].get("name"):
        return f"{ns}/{md['name']}[Pod]"
    return f"{ns}/{refs[0]['name']}[{refs[0].get('kind', '')}]"


def ref_to_workload(ref: str, pod_wl: dict[str, str]) -> str:
    """A netpol-audit matrix endpoint (`ns/pod` or `ns/Kind/name` for a workload template) as a workload."""
    if ref in pod_wl:
        return pod_wl[ref]
    parts = ref.split("/")
    if len(parts) == 3:
        return f"{parts[0]}/{parts[2]}[{parts[1]}]"
    return f"{ref}[Pod]"


# --- measuring a process ----------------------------------------------------------------------------------------


@dataclass
class Usage:
    cpu_s: float
    wall_s: float
    rss_mb: float
    exit_code: int

    def as_dict(self) -> Json:
        return {"cpu_s": round(self.cpu_s, 3), "wall_s": round(self.wall_s, 3), "rss_mb": round(self.rss_mb, 1),
                "exit_code": self.exit_code}


# A child's peak RSS (ru_maxrss) includes the resident set of the process that forked it, as it was at exec: run
# every measured command from this small, fresh launcher so that a large comparing process does not inflate it.
_LAUNCHER = """
import json, os, subprocess, sys, time
stdout, stderr, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(stdout or os.devnull, "wb") as out, open(stderr, "wb") as err:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=err)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "wall": wall, "rss_kb": ru.ru_maxrss,
                  "code": os.waitstatus_to_exitcode(status)}))
"""


def run_measured(argv: list[str], stdout: Path | None = None, cwd: Path | None = None,
                 ok: tuple[int, ...] = (0,)) -> Usage:
    """Run argv as its own process; CPU = user + system time and peak RSS of that process (wait4)."""
    with tempfile.NamedTemporaryFile(prefix="nca-compare-", suffix=".err") as err:
        p = subprocess.run([sys.executable, "-c", _LAUNCHER, str(stdout or ""), err.name, *argv], cwd=cwd,
                           capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise ToolError(f"cannot run {argv[0]}: {p.stderr.strip()[-2000:]}")
        m = json.loads(p.stdout)
        if m["code"] not in ok:
            tail = Path(err.name).read_text(errors="replace")[-2000:]
            raise ToolError(f"{' '.join(argv)} exited {m['code']}:\n{tail}")
    return Usage(m["cpu"], m["wall"], m["rss_kb"] / 1024, m["code"])


class ToolError(RuntimeError):
    pass


def best(runs: list[Usage]) -> Usage:
    """The run with the least CPU (the least disturbed by other load on a shared machine)."""
    return min(runs, key=lambda u: u.cpu_s)


def default_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# --- the two sides ----------------------------------------------------------------------------------------------


def load_objects(path: Path) -> list[Json]:
    doc = json.loads(path.read_text())
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return [o for o in doc["items"] if isinstance(o, dict)]
    if isinstance(doc, list):
        return [o for o in doc if isinstance(o, dict)]
    raise ToolError(f"{path}: expected a `kind: List` JSON document")


def write_objects(objs: list[Json], path: Path) -> Path:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    return path


def pods_of(objs: list[Json]) -> list[Json]:
    return [o for o in objs if o.get("kind") == "Pod" and isinstance(o.get("metadata"), dict)]


def ours_matrix(python: str, input_path: Path, out: Path) -> Json:
    usage = run_measured([python, "-m", "scanner", "matrix", str(input_path), "--level", "pod", "-o", "json"],
                         stdout=out, cwd=ROOT, ok=(0, 1))
    data: Json = json.loads(out.read_text())
    data["_usage"] = usage
    return data


@dataclass
class Side:
    """Allowed TCP/UDP/SCTP ports per ordered workload pair (self pairs left out), and what was left out."""

    pairs: dict[Pair, Ports]
    intra_workload: int = 0  # pairs of one workload with itself (pod pairs on our side, lines on NCA's)
    non_uniform: int = 0  # ours: workload pairs whose pod pairs do not all allow the same ports
    other_protocols: int = 0  # NCA: workload pairs that also allow protocols other than TCP/UDP/SCTP
    ip_lines: int = 0  # NCA: lines with an IP range at one end (not workload-to-workload)


def aggregate_ours(matrix: Json, objs: list[Json]) -> Side:
    pod_wl = {f"{p['metadata'].get('namespace') or 'default'}/{p['metadata']['name']}": workload_of_pod(p)
              for p in pods_of(objs)}
    size: dict[str, int] = defaultdict(int)
    for p in pods_of(objs):
        if (p.get("status") or {}).get("phase") not in FINISHED:
            size[workload_of_pod(p)] += 1
    side = Side({})
    seen: dict[Pair, set[Ports]] = defaultdict(set)
    count: dict[Pair, int] = defaultdict(int)
    for e in matrix.get("entries", []):
        src, dst = ref_to_workload(e["from"], pod_wl), ref_to_workload(e["to"], pod_wl)
        ports: Ports = NONE
        for proto, spec in (e.get("ports") or {}).items():
            ranges = [(1, MAX_PORT)] if spec == "all" else [r for s in spec for r in _parse_ranges(s)]
            ports = _union(ports, _proto_ports(proto, ranges))
        if src == dst:
            side.intra_workload += 1
            continue
        key = (src, dst)
        side.pairs[key] = _union(side.pairs.get(key, NONE), ports)
        seen[key].add(ports)
        count[key] += 1
    for key, kinds in seen.items():
        full = max(size.get(key[0], 1), 1) * max(size.get(key[1], 1), 1)
        if len(kinds) > 1 or count[key] < full:
            side.non_uniform += 1
    return side


_CUBE = re.compile(r"\{([^{}]*)\}")
_KEY = re.compile(r",(?=[a-z_]+:)")


def parse_nca_conns(text: str) -> tuple[Ports, bool]:
    """NCA's connection text (`All connections`, `All but {...}`, `{protocols:TCP, UDP,dst_ports:53},{...}`) as
    TCP/UDP/SCTP ports, and whether it also allows some other IP protocol (ICMP, ...)."""
    text = text.strip()
    if text == "All connections":
        return ALL, True
    if text == "No connections":
        return NONE, False
    if text.startswith("All but "):
        ports, _ = _parse_cubes(text[len("All but "):])
        return _minus(ALL, ports), True
    return _parse_cubes(text)


def _parse_cubes(text: str) -> tuple[Ports, bool]:
    total: Ports = NONE
    other = False
    cubes = _CUBE.findall(text)
    if not cubes:
        raise ToolError(f"cannot read NCA connection text {text!r}")
    for body in cubes:
        fields = dict(kv.split(":", 1) for kv in _KEY.split(body) if ":" in kv)
        protos_text = fields.get("protocols", "*").strip()
        if protos_text == "*":
            protos, other_here = list(PROTOCOLS), True
        elif protos_text.startswith("all but "):
            excluded = {p.strip() for p in protos_text[len("all but "):].split(",")}
            protos, other_here = [p for p in PROTOCOLS if p not in excluded], True
        else:
            named = {p.strip() for p in protos_text.split(",")}
            protos, other_here = [p for p in PROTOCOLS if p in named], bool(named - set(PROTOCOLS))
        ranges = _parse_ranges(fields["dst_ports"]) if "dst_ports" in fields else [(1, MAX_PORT)]
        for p in protos:
            total = _union(total, _proto_ports(p, ranges))
        other = other or other_here
    return total, other


def aggregate_nca(text: str, objs: list[Json]) -> Side:
    to_wl = {nca_name_of_pod(p): workload_of_pod(p) for p in pods_of(objs)}
    side = Side({})
    others: set[Pair] = set()
    for line in text.splitlines():
        if " => " not in line or " : " not in line:
            continue
        ends, conns = line.split(" : ", 1)
        src_name, dst_name = (x.strip() for x in ends.split(" => ", 1))
        if not src_name.endswith("]") or not dst_name.endswith("]"):
            side.ip_lines += 1  # an IP range at one end
            continue
        src, dst = to_wl.get(src_name, src_name), to_wl.get(dst_name, dst_name)
        ports, other = parse_nca_conns(conns)
        if src == dst:
            side.intra_workload += 1
            continue
        key = (src, dst)
        side.pairs[key] = _union(side.pairs.get(key, NONE), ports)  # NCA prints one line per protocol cube
        if other:
            others.add(key)
    side.other_protocols = len(others)
    return side


# --- the known NCA behaviours, each as a rewrite of the input that makes netpol-audit answer as NCA does ---------

NEVER_PEER: Json = {"podSelector": {"matchLabels": {"nca-compare.invalid/never": "match"}}}


def _selector_matches(sel: Json | None, labels: dict[str, str]) -> bool:
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in sel.get("matchExpressions") or []:
        op, key, values = req.get("operator"), req.get("key"), req.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _ns_labels(objs: list[Json]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for o in objs:
        if o.get("kind") == "Namespace":
            name = o["metadata"]["name"]
            out[name] = {**(o["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
    return out


def _policies(objs: list[Json]) -> Iterable[Json]:
    return (o for o in objs if o.get("kind") == "NetworkPolicy" and isinstance(o.get("spec"), dict))


def _peers(policy: Json) -> Iterable[tuple[list[Json], int, Json]]:
    spec = policy["spec"]
    for direction, field in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            peers = rule.get(field) if isinstance(rule, dict) else None
            if not isinstance(peers, list):
                continue
            for i, peer in enumerate(peers):
                if isinstance(peer, dict):
                    yield peers, i, peer


def _has_key_op(sel: Json | None) -> bool:
    return any(r.get("operator") in ("Exists", "DoesNotExist") for r in (sel or {}).get("matchExpressions") or [])


def rewrite_exists_cross_ns(objs: list[Json]) -> bool:
    """NCA evaluates Exists/DoesNotExist of a peer's podSelector in the policy's namespace only
    (K8sPolicyYamlParser.parse_label_selector_requirement -> get_peers_with_key(self.namespace, ...)), so a peer
    `namespaceSelector: X, podSelector: {key Exists}` never matches pods of another namespace."""
    ns_labels = _ns_labels(objs)
    changed = False
    for pol in _policies(objs):
        ns = pol["metadata"].get("namespace") or "default"
        for peers, i, peer in _peers(pol):
            if peer.get("namespaceSelector") is None or not _has_key_op(peer.get("podSelector")):
                continue
            own = ns_labels.get(ns) or {"kubernetes.io/metadata.name": ns}
            peers[i] = ({"podSelector": peer["podSelector"]} if _selector_matches(peer["namespaceSelector"], own)
                        else copy.deepcopy(NEVER_PEER))
            changed = True
    return changed


def rewrite_ns_empty_value(objs: list[Json]) -> bool:
    """NCA reads a namespace's missing label as the empty value (`labels.get(key, '')` in
    PeerContainer.get_namespace_pods_with_label): `In [""]` / matchLabels `k: ""` then also match namespaces
    without the key, and `NotIn [..., ""]` no longer matches them."""
    changed = False
    for pol in _policies(objs):
        for peers, _i, peer in list(_peers(pol)):
            sel = peer.get("namespaceSelector")
            if not isinstance(sel, dict):
                continue
            exprs = [dict(r) for r in sel.get("matchExpressions") or []]
            exprs += [{"key": k, "operator": "In", "values": [v]} for k, v in (sel.get("matchLabels") or {}).items()]
            if not any("" in (r.get("values") or []) for r in exprs):
                continue
            changed = True
            # OR over "key absent" choices for every In [""] requirement: emit one peer per combination
            variants: list[list[Json]] = [[]]
            for r in exprs:
                vals = r.get("values") or []
                if r.get("operator") == "In" and "" in vals:
                    absent = {"key": r["key"], "operator": "DoesNotExist"}
                    variants = [[*v, r] for v in variants] + [[*v, absent] for v in variants]
                elif r.get("operator") == "NotIn" and "" in vals:
                    variants = [[*v, r, {"key": r["key"], "operator": "Exists"}] for v in variants]
                else:
                    variants = [[*v, r] for v in variants]
            new = [{**peer, "namespaceSelector": {"matchExpressions": v}} for v in variants]
            idx = next(k for k, p in enumerate(peers) if p is peer)
            peers[idx:idx + 1] = new
    return changed


def _ip_blocks(objs: list[Json]) -> list[tuple[Any, list[Any]]]:
    blocks = []
    for pol in _policies(objs):
        for _peers_list, _i, peer in _peers(pol):
            b = peer.get("ipBlock")
            if isinstance(b, dict) and b.get("cidr"):
                try:
                    blocks.append((ipaddress.ip_network(b["cidr"], strict=False),
                                   [ipaddress.ip_network(x, strict=False) for x in b.get("except") or []]))
                except ValueError:
                    continue
    return blocks


def _pod_ips(pod: Json) -> list[str]:
    st = pod.get("status") or {}
    ips = [str(x["ip"]) for x in st.get("podIPs") or [] if isinstance(x, dict) and x.get("ip")]
    return ips or ([str(st["podIP"])] if st.get("podIP") else [])


def _is_host_network(pod: Json) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def _drop_ips(pod: Json) -> None:
    st = pod.get("status")
    if isinstance(st, dict):
        st.pop("podIP", None)
        st.pop("podIPs", None)


def rewrite_no_pod_ips(objs: list[Json]) -> bool:
    """NCA gives pods no IP addresses: an ipBlock never matches a pod (netpol-audit matches pod IPs, flagged
    plugin-dependent). hostNetwork pods, whose IP is the node's, belong to rewrite_host_network."""
    blocks = _ip_blocks(objs)
    pods = [p for p in pods_of(objs) if not _is_host_network(p)]
    hit = False
    for pod in pods:
        for ip in _pod_ips(pod):
            try:
                a = ipaddress.ip_address(ip)
            except ValueError:
                continue
            if any(a.version == net.version and a in net and not any(a in x for x in ex if x.version == a.version)
                   for net, ex in blocks):
                hit = True
    if hit:
        for pod in pods:
            _drop_ips(pod)
    return hit


def rewrite_node_local(objs: list[Json]) -> bool:
    """NCA has no nodes: it does not allow every connection between a hostNetwork pod and the pods of its node.
    Emulated by giving every hostNetwork pod a node of its own."""
    changed = False
    for i, pod in enumerate(pods_of(objs)):
        if _is_host_network(pod):
            pod["spec"]["nodeName"] = f"nca-compare-own-node-{i}"
            changed = True
    return changed


def rewrite_host_network(objs: list[Json]) -> bool:
    """NCA ignores spec.hostNetwork: a hostNetwork pod is an ordinary pod (selected, isolated, matched by
    selectors), without the node's IP (NCA gives pods none)."""
    changed = False
    for pod in pods_of(objs):
        if _is_host_network(pod):
            pod["spec"]["hostNetwork"] = False
            _drop_ips(pod)
            changed = True
    return changed


def rewrite_finished(objs: list[Json]) -> bool:
    """NCA ignores status.phase: Succeeded/Failed pods take part as if running."""
    changed = False
    for pod in pods_of(objs):
        st = pod.get("status")
        if isinstance(st, dict) and st.get("phase") in FINISHED:
            st["phase"] = "Running"
            changed = True
    return changed


def rewrite_egress_key(objs: list[Json]) -> bool:
    """NCA: without policyTypes, a policy affects Egress when the `egress` key is present at all, even `egress: []`
    (the API server adds Egress only for a non-empty list)."""
    changed = False
    for pol in _policies(objs):
        spec = pol["spec"]
        if not spec.get("policyTypes") and "egress" in spec and not spec.get("egress"):
            spec["policyTypes"] = ["Ingress", "Egress"]
            changed = True
    return changed


@dataclass(frozen=True)
class Deviation:
    id: str
    title: str
    right: str  # who is right by /work/shared/SEMANTICS.md and the Kubernetes documentation
    rewrite: Callable[[list[Json]], bool]
    stage: int  # order in the combined rewrite: namespace selectors, then peers, then pods


# The attribution order: a differing pair is of the first class whose rewrite alone gives NCA's answer.
DEVIATIONS: tuple[Deviation, ...] = (
    Deviation("node-local", "a hostNetwork pod and a pod on the same node: netpol-audit allows everything (traffic "
              "with the pod's own node), NCA knows no nodes", "netpol-audit", rewrite_node_local, 3),
    Deviation("host-network-pod", "hostNetwork pods: netpol-audit never counts them as isolated and matches them "
              "only by the node IP in ipBlocks; NCA treats them as ordinary pods", "netpol-audit (undefined by the "
              "API; the most common implementation)", rewrite_host_network, 4),
    Deviation("ipblock-matches-pod-ip", "an ipBlock containing pod IPs: netpol-audit matches those pods "
              "(plugin-dependent, as the conformance suite expects), NCA never does", "plugin-dependent",
              rewrite_no_pod_ips, 5),
    Deviation("nca-exists-cross-namespace", "NCA: podSelector Exists/DoesNotExist next to a namespaceSelector "
              "matches only pods of the policy's own namespace", "netpol-audit (NCA bug)", rewrite_exists_cross_ns,
              2),
    Deviation("nca-namespace-empty-label-value", "NCA: a namespace without the key matches `In [\"\"]` / "
              "`key: \"\"` and not `NotIn [\"\"]` (missing label read as empty)", "netpol-audit (NCA bug)",
              rewrite_ns_empty_value, 1),
    Deviation("finished-pod", "Succeeded/Failed pods: netpol-audit leaves them out (no IP), NCA keeps them",
              "netpol-audit", rewrite_finished, 6),
    Deviation("egress-empty-list", "`egress: []` without policyTypes: NCA isolates egress, the API server does "
              "not add Egress", "netpol-audit (NCA bug)", rewrite_egress_key, 1),
)
SCOPE_NOTES = {
    "intra_workload": "connections between pods of one workload: NCA never prints them (self-loops), so they are "
                      "not compared",
    "other_protocols": "NCA also models ICMP and every other IP protocol; netpol-audit's matrix covers TCP, UDP "
                       "and SCTP, so NCA's answer is compared on those three",
    "non_uniform": "workload pairs whose pod pairs differ: both sides are compared as the union over the pods",
}


# --- the comparison ---------------------------------------------------------------------------------------------


def diff(ours: dict[Pair, Ports], nca: dict[Pair, Ports]) -> list[Pair]:
    return sorted(k for k in ours.keys() | nca.keys() if ours.get(k, NONE) != nca.get(k, NONE))


def classify(objs: list[Json], differing: list[Pair], nca: dict[Pair, Ports], ours: dict[Pair, Ports],
             python: str, work: Path) -> dict[Pair, str]:
    """The class of each differing pair: the first deviation whose rewrite alone makes netpol-audit give NCA's
    answer; else the deviations whose rewrites change the pair, joined by "+", when all rewrites together give
    NCA's answer; else "unexplained"."""
    if not differing:
        return {}
    applied: list[Deviation] = []
    single: dict[str, dict[Pair, Ports]] = {}
    for dev in DEVIATIONS:
        one = copy.deepcopy(objs)
        if not dev.rewrite(one):
            continue
        applied.append(dev)
        path = write_objects(one, work / f"rewrite-{dev.id}.json")
        single[dev.id] = aggregate_ours(ours_matrix(python, path, work / f"matrix-{dev.id}.json"), one).pairs
    emulated = ours
    if len(applied) > 1:
        combined = copy.deepcopy(objs)
        for dev in sorted(applied, key=lambda d: d.stage):
            dev.rewrite(combined)
        path = write_objects(combined, work / "rewrite-all.json")
        emulated = aggregate_ours(ours_matrix(python, path, work / "matrix-all.json"), combined).pairs
    elif applied:
        emulated = single[applied[0].id]
    out: dict[Pair, str] = {}
    for pair in differing:
        want = nca.get(pair, NONE)
        first = next((d.id for d in applied if single[d.id].get(pair, NONE) == want), None)
        if first:
            out[pair] = first
        elif emulated.get(pair, NONE) == want:
            out[pair] = "+".join(d.id for d in applied if single[d.id].get(pair, NONE) != ours.get(pair, NONE))
        else:
            out[pair] = "unexplained"
    return out


def make_input(tier: str, pods: int, policies: int, namespaces: int, seed: int, python: str, work: Path) -> Path:
    path = work / f"cluster-{tier}.json"
    if tier == EDGE_TIER:
        return write_objects(edge_cluster(), path)
    subprocess.run([python, str(ROOT / "bench" / "gen_cluster.py"), "--pods", str(pods), "--policies", str(policies),
                    "--namespaces", str(namespaces), "--seed", str(seed), "-o", str(path)], check=True,
                   capture_output=True, cwd=ROOT)
    return path


def nca_argv(nca_path: str, input_path: Path, out: Path) -> list[str]:
    return [nca_path, "--connectivity", "-r", str(input_path), "-o", "txt_no_fw_rules", "--output_endpoints",
            "deployments", "-f", str(out)]


def nca_version(nca_path: str) -> str:
    p = subprocess.run([nca_path, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"(\d+\.\d+\.\d+)", p.stdout + p.stderr)
    return m.group(1) if m else "unknown"


def compare(tier_name: str, pods: int, policies: int, namespaces: int, seed: int, nca_path: str,
            python: str | None = None, repeat: int = 1, workdir: Path | None = None) -> Json:
    """Run both tools on one generated cluster; return the numbers and the classified differences."""
    python = python or default_python()
    with tempfile.TemporaryDirectory(prefix=f"nca-{tier_name}-") as tmp:
        work = workdir / tier_name if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        input_path = make_input(tier_name, pods, policies, namespaces, seed, python, work)
        objs = load_objects(input_path)
        pod_count = len(pods_of(objs))
        scan_runs = [run_measured([python, "-m", "scanner", "scan", str(input_path), "-o", str(work / "scan"),
                                   "--format", "json,sarif", "-q"], cwd=ROOT, ok=(0, 1)) for _ in range(repeat)]
        nca_out = work / "nca.txt"
        nca_runs = []
        for _ in range(repeat):
            nca_out.unlink(missing_ok=True)  # nca -f appends to an existing file
            nca_runs.append(run_measured(nca_argv(nca_path, input_path, nca_out), cwd=work))
        matrix = ours_matrix(python, input_path, work / "matrix.json")
        ours_side = aggregate_ours(matrix, objs)
        nca_side = aggregate_nca(nca_out.read_text(), objs)
        differing = diff(ours_side.pairs, nca_side.pairs)
        classes = classify(objs, differing, nca_side.pairs, ours_side.pairs, python, work)
    scan, nca = best(scan_runs), best(nca_runs)
    by_class: dict[str, int] = defaultdict(int)
    who_more: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    examples: dict[str, Json] = {}
    for pair in differing:
        c = classes[pair]
        by_class[c] += 1
        o, n = ours_side.pairs.get(pair, NONE), nca_side.pairs.get(pair, NONE)
        more = "netpol-audit" if _minus(n, o) == NONE else "NCA" if _minus(o, n) == NONE else "both"
        who_more[c][more] += 1
        if c not in examples:
            examples[c] = {"from": pair[0], "to": pair[1], "netpol_audit": ports_text(o), "nca": ports_text(n),
                           "more": more}
    compared = ours_side.pairs.keys() | nca_side.pairs.keys()
    return {
        "tier": tier_name, "pods": pod_count, "policies": sum(1 for _ in _policies(objs)),
        "namespaces": sum(1 for o in objs if o.get("kind") == "Namespace"), "seed": seed,
        "nca": {**nca.as_dict(), "version": nca_version(nca_path),
                "command": " ".join(nca_argv("nca", Path("INPUT"), Path("OUT")))},
        "netpol_audit_scan": {**scan.as_dict(), "command": "python -m scanner scan INPUT -o DIR --format "
                                                           "json,sarif -q"},
        "cpu_ratio": round(nca.cpu_s / scan.cpu_s, 2) if scan.cpu_s else None,
        "repeat": repeat,
        "workload_pairs": len(compared),
        "identical": len(compared) - len(differing),
        "differences": len(differing),
        "netpol_audit_matrix": {**matrix["_usage"].as_dict(), "command": "python -m scanner matrix INPUT --level "
                                                                      "pod -o json"},
        "by_class": dict(sorted(by_class.items())),
        "allows_more_by_class": {c: dict(v) for c, v in sorted(who_more.items())},
        "examples": examples,
        "undocumented": by_class.get("unexplained", 0),
        "scope": {"intra_workload_pod_pairs_netpol_audit": ours_side.intra_workload,
                  "intra_workload_lines_nca": nca_side.intra_workload,
                  "non_uniform_pairs_netpol_audit": ours_side.non_uniform,
                  "pairs_with_other_protocols_nca": nca_side.other_protocols,
                  "ip_range_lines_nca": nca_side.ip_lines},
    }


# --- the edge-case cluster: one workload pair per known difference, plus controls that must agree ----------------


def _pod(ns: str, name: str, labels: dict[str, str], ip: str, ports: list[Json] | None = None,
         owner: tuple[str, str] | None = None, host_network: bool = False, phase: str = "Running",
         node: str = "node-1") -> Json:
    md: Json = {"name": name, "namespace": ns, "labels": labels}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}]
    spec: Json = {"nodeName": node, "containers": [{"name": "main", "ports": ports or []}]}
    if host_network:
        spec["hostNetwork"] = True
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec,
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}]}}


def _pol(ns: str, name: str, spec: Json) -> Json:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name,
                                                                                        "namespace": ns},
            "spec": spec}


def edge_cluster() -> list[Json]:
    """A small cluster where each known difference shows on its own workload pair (see docs/nca-comparison.md)."""
    http = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    objs: list[Json] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": lab}}
        for n, lab in (("edge-a", {"team": "alpha"}), ("edge-b", {"team": "beta", "tier": ""}),
                       ("edge-c", {"team": "gamma"}))
    ]
    objs += [
        # edge-a: clients, each egress-restricted by its own policy
        _pod("edge-a", "exists-client-7d4b9-aaaaa", {"app": "exists-client", "pod-template-hash": "7d4b9"},
             "10.9.0.1", owner=("ReplicaSet", "exists-client-7d4b9")),
        _pod("edge-a", "ipblock-client-0", {"app": "ipblock-client"}, "10.9.0.2", owner=("StatefulSet",
                                                                                         "ipblock-client")),
        _pod("edge-a", "empty-egress", {"app": "empty-egress"}, "10.9.0.3", node="node-2"),
        # edge-b: servers; nothing isolates their ingress but `lonely`
        _pod("edge-b", "db-0", {"app": "db", "tier": "data"}, "10.9.1.1", [{"name": "pg", "containerPort": 5432,
                                                                            "protocol": "TCP"}],
             owner=("StatefulSet", "db")),
        _pod("edge-b", "web-5f6c7-bbbbb", {"app": "web", "tier": "front", "pod-template-hash": "5f6c7"},
             "10.9.1.2", http, owner=("ReplicaSet", "web-5f6c7")),
        _pod("edge-b", "web-5f6c7-ccccc", {"app": "web", "tier": "front", "pod-template-hash": "5f6c7"},
             "10.9.1.3", http, owner=("ReplicaSet", "web-5f6c7")),
        _pod("edge-b", "agent-x1y2z", {"app": "agent"}, "192.168.0.10", owner=("DaemonSet", "agent"),
             host_network=True, node="node-2"),
        _pol("edge-b", "agent-deny-ingress", {"podSelector": {"matchLabels": {"app": "agent"}},
                                              "policyTypes": ["Ingress"]}),
        _pod("edge-b", "migrate-28000000-q8k2p", {"app": "migrate"}, "10.9.1.9", owner=("Job", "migrate-28000000"),
             phase="Succeeded"),
        # edge-c: an ingress-isolated API reachable from every pod (a namespaceSelector {} peer) on named port http
        _pod("edge-c", "api-6b8d9-ddddd", {"app": "api", "pod-template-hash": "6b8d9"}, "10.9.2.1", http,
             owner=("ReplicaSet", "api-6b8d9")),
        _pol("edge-c", "api-from-all-pods", {"podSelector": {"matchLabels": {"app": "api"}},
                                             "policyTypes": ["Ingress"],
                                             "ingress": [{"from": [{"namespaceSelector": {}}],
                                                          "ports": [{"port": "http"},
                                                                    {"port": 53, "protocol": "UDP"}]}]}),
        # exists-client -> pods of edge-b having `tier` (and pods of namespaces with an empty `tier` label)
        _pol("edge-a", "exists-egress", {"podSelector": {"matchLabels": {"app": "exists-client"}},
                                         "policyTypes": ["Egress"],
                                         "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
                                             "kubernetes.io/metadata.name": "edge-b"}},
                                             "podSelector": {"matchExpressions": [{"key": "tier",
                                                                                   "operator": "Exists"}]}}]},
                                                    {"to": [{"namespaceSelector": {"matchExpressions": [
                                                        {"key": "tier", "operator": "In", "values": [""]}]},
                                                        "podSelector": {"matchLabels": {"app": "api"}}}],
                                                     "ports": [{"port": 8080}]}]}),
        # ipblock-client -> 10.9.1.0/24 on 5432: contains db-0's pod IP
        _pol("edge-a", "ipblock-egress", {"podSelector": {"matchLabels": {"app": "ipblock-client"}},
                                          "policyTypes": ["Egress"],
                                          "egress": [{"to": [{"ipBlock": {"cidr": "10.9.1.0/24"}}],
                                                      "ports": [{"port": 5432}]}]}),
        # `egress: []` and no policyTypes: isolates ingress only (API server defaulting)
        _pol("edge-a", "empty-egress", {"podSelector": {"matchLabels": {"app": "empty-egress"}},
                                        "ingress": [{"from": [{"podSelector": {}}]}], "egress": []}),
    ]
    # Controls, where both tools must agree: named ports resolved on the destination (egress: the peer),
    # endPort, UDP without a port, SCTP, NotIn on missing keys, a namespace missing from the input, a policy that
    # selects no pod, the intersection of the two sides.
    objs += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-d", "labels": {"team": "delta"}}},
        _pod("edge-d", "client", {"app": "client"}, "10.9.3.1"),
        _pod("edge-d", "srv-a-9f8g7-eeeee", {"app": "srv", "role": "a", "pod-template-hash": "9f8g7"}, "10.9.3.2",
             [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], owner=("ReplicaSet", "srv-a-9f8g7")),
        _pod("edge-d", "srv-b-0", {"app": "srv", "role": "x"}, "10.9.3.3",
             [{"name": "http", "containerPort": 9000, "protocol": "TCP"},
              {"name": "diameter", "containerPort": 3868, "protocol": "SCTP"}], owner=("StatefulSet", "srv-b")),
        _pod("edge-undeclared", "stray", {}, "10.9.4.1"),
        _pol("edge-d", "client-egress", {"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
                                         "egress": [
                                             {"to": [{"podSelector": {"matchLabels": {"app": "srv"}}}],
                                              "ports": [{"port": "http"}, {"port": "diameter", "protocol": "SCTP"}]},
                                             {"to": [{"namespaceSelector": {"matchExpressions": [
                                                 {"key": "team", "operator": "NotIn", "values": ["alpha"]}]},
                                                 "podSelector": {"matchExpressions": [
                                                     {"key": "role", "operator": "NotIn", "values": ["x"]}]}}],
                                              "ports": [{"protocol": "UDP"}]},
                                             {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
                                              "ports": [{"port": 3868, "protocol": "SCTP"}]}]}),
        _pol("edge-d", "srv-ingress", {"podSelector": {"matchLabels": {"app": "srv"}}, "policyTypes": ["Ingress"],
                                       "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {
                                           "matchExpressions": [{"key": "app", "operator": "In",
                                                                 "values": ["client", "web"]}]}}],
                                           "ports": [{"port": 8000, "endPort": 9000}, {"port": 5353, "protocol": "UDP"},
                                                     {"protocol": "SCTP"}]}]}),
        _pol("edge-d", "nobody", {"podSelector": {"matchLabels": {"app": "nothing"}}, "policyTypes": ["Ingress"]}),
    ]
    return objs


# --- output -----------------------------------------------------------------------------------------------------


def table(results: list[Json]) -> str:
    head = ("tier", "pods", "NCA CPU s", "NCA wall s", "NCA RSS MB", "scan CPU s", "scan wall s", "scan RSS MB",
            "CPU ratio", "pairs", "identical", "differences by class")
    rows = []
    for r in results:
        n, s = r["nca"], r["netpol_audit_scan"]
        classes = ", ".join(f"{k} {v}" for k, v in r["by_class"].items()) or "-"
        rows.append((r["tier"], str(r["pods"]), f"{n['cpu_s']:.2f}", f"{n['wall_s']:.2f}", f"{n['rss_mb']:.0f}",
                     f"{s['cpu_s']:.2f}", f"{s['wall_s']:.2f}", f"{s['rss_mb']:.0f}",
                     f"{r['cpu_ratio']:.1f}x" if r["cpu_ratio"] else "-", str(r["workload_pairs"]),
                     str(r["identical"]), classes))
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (head, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default="S,2k", help=f"comma-separated: {', '.join(TIERS)}, {EDGE_TIER} "
                                                   "(default: %(default)s)")
    ap.add_argument("--nca", default=str(DEFAULT_NCA), help="the nca executable (default: %(default)s)")
    ap.add_argument("--python", default=default_python(), help="python that runs netpol-audit and gen_cluster "
                                                               "(default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="time each tool N times, keep the least CPU")
    ap.add_argument("--json", metavar="OUT", help="write the numbers and differences as JSON")
    ap.add_argument("--workdir", metavar="DIR", help="keep inputs and both tools' outputs in DIR/<tier>/")
    ap.add_argument("--examples", action="store_true", help="print one example pair per difference class")
    a = ap.parse_args(argv)
    tiers = [t.strip() for t in a.tier.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in TIERS and t != EDGE_TIER]
    if unknown:
        ap.error(f"unknown tier(s) {', '.join(unknown)} (known: {', '.join(TIERS)}, {EDGE_TIER})")
    nca_path = a.nca if os.sep in a.nca else (shutil.which(a.nca) or a.nca)
    if not (os.path.isfile(nca_path) and os.access(nca_path, os.X_OK)):
        print(INSTALL_HINT.format(path=a.nca), file=sys.stderr)
        return 2
    results = []
    try:
        for t in tiers:
            pods, policies, namespaces = TIERS.get(t, (0, 0, 0))
            results.append(compare(t, pods, policies, namespaces, a.seed, nca_path, a.python, max(a.repeat, 1),
                                   Path(a.workdir) if a.workdir else None))
            print(f"tier {t} done", file=sys.stderr)
    except (ToolError, subprocess.CalledProcessError) as e:
        print(f"nca_compare: {e}", file=sys.stderr)
        return 2
    print(table(results))
    if a.examples:
        for r in results:
            for c, ex in r["examples"].items():
                print(f"{r['tier']} {c}: {ex['from']} -> {ex['to']}: netpol-audit {ex['netpol_audit']}; "
                      f"NCA {ex['nca']}")
    undocumented = sum(r["undocumented"] for r in results)
    if undocumented:
        print(f"{undocumented} difference(s) not of a documented class: rerun with --workdir DIR --examples",
              file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps({"results": results,
                                            "classes": {d.id: {"title": d.title, "right": d.right}
                                                        for d in DEVIATIONS},
                                            "scope_notes": SCOPE_NOTES}, indent=2) + "\n")
    return 1 if undocumented else 0


if __name__ == "__main__":
    sys.exit(main())
