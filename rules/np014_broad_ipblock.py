"""NP014: an ipBlock broader than the configured bounds, or overlapping the cluster's own ranges.

Broad: the cidr's prefix is shorter than `thresholds.ipv4_min_prefix` / `ipv6_min_prefix` (default /16, /48).
Cluster ranges, when known: a block whose address set (net of `except`) overlaps the pod range (configured
pod CIDRs and the Nodes' podCIDRs: whether an ipBlock applies to pod IPs depends on the network plugin) or the
configured Service range (translated before policy applies), or covers a whole configured node CIDR (a block
of a few node addresses, e.g. the API server, is the documented way to reach them and is not flagged). Only
rules that take effect count. One FAIL per such peer, on its policy; every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.analysis import cidr_set
from scanner.engine.exposure import (
    address_cidrs,
    below_min_prefix,
    cluster_ranges,
    effective_peers,
    min_prefix,
    peer_field,
    rule_ports_text,
)
from scanner.findings import Result, fail, passed
from scanner.intervals import intersect, subtract

_NOTES = {
    "pod": "whether an ipBlock applies to pod IPs is plugin-dependent (some plugins only apply ipBlocks to traffic "
           "leaving the cluster); select pods with podSelector/namespaceSelector instead",
    "service": "Service IPs are usually translated to pod IPs before policy is evaluated, so this part of the "
               "block may match nothing; select the pods behind the Service instead",
    "node": "the node range carries the traffic of every node and hostNetwork pod (kubelet, node agents); "
            "allow only the node addresses and ports meant",
}


@rule("NP014")
def check(ctx: Context) -> Iterator[Result]:
    ranges = cluster_ranges(ctx.index, ctx.config)
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        found = False
        for r, peer in effective_peers(p):
            block = peer.ip_block
            if block is None:
                continue
            broad = below_min_prefix(block, ctx.config)
            overlaps = {k: address_cidrs(both) for k, v in ranges.items()
                        if k != "node" and (both := intersect(block.addresses, v))}
            nodes = [c for c in ctx.config.node_cidrs if not subtract(cidr_set([c]), block.addresses)]
            if nodes:
                overlaps["node"] = nodes
            if not broad and not overlaps:
                continue
            found = True
            reasons = []
            if broad:
                reasons.append(f"has prefix /{block.prefixlen}, shorter than the /{min_prefix(block, ctx.config)} "
                               "bound")
            if "pod" in overlaps:
                reasons.append(f"overlaps the pod range ({', '.join(overlaps['pod'])}), and whether ipBlocks apply "
                               "to pod IPs is plugin-dependent")
            if "service" in overlaps:
                reasons.append(f"overlaps the Service range ({', '.join(overlaps['service'])}), whose addresses are "
                               "usually translated before policy applies")
            if "node" in overlaps:
                reasons.append(f"covers the whole node range ({', '.join(overlaps['node'])})")
            message = f"{p.ref} {peer_field(r, peer)} ({peer.describe()}) {'; '.join(reasons)}"
            yield fail(subject, message, peer=peer_field(r, peer), cidr=block.cidr, excepts=list(block.excepts),
                       direction=r.direction, ports=rule_ports_text(r), prefix=block.prefixlen,
                       min_prefix=min_prefix(block, ctx.config), overlaps=overlaps,
                       notes=[_NOTES[k] for k in overlaps])
        if not found:
            yield passed(subject, f"every ipBlock of {p.ref} is within the bounds and off the cluster's known ranges"
                         if any(peer.ip_block for _, peer in effective_peers(p)) else f"{p.ref} has no ipBlock in a rule that takes effect",
                         known_ranges=sorted(ranges))
