"""NP017: a rule with an `endPort` range wider than `thresholds.max_port_range`, or that opens every port
(no `ports`, or a port entry without `port`, i.e. every port of its protocol) towards a broad peer.

Broad peers: every peer (no `from`/`to`), every pod of every namespace (a namespaceSelector matching every
namespace with no narrowing podSelector), or an ipBlock whose prefix is shorter than the configured bound.
Only rules that take effect count. One FAIL per such rule, on its policy; every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import below_min_prefix, every_pod_of_every_namespace, rule_ports_text
from scanner.findings import Result, fail, passed
from scanner.model import DIRECTIONS


@rule("NP017")
def check(ctx: Context) -> Iterator[Result]:
    limit = ctx.config.max_port_range
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        found = False
        for r in (r for d in DIRECTIONS for r in p.rules(d)):
            wide = [s for s in r.ports or () if isinstance(s.port, int) and s.end_port is not None
                    and s.end_port - s.port + 1 > limit]
            every_port = r.ports is None or any(s.port is None for s in r.ports)
            if r.peers is None:
                broad = [f"any {r.peer_field} (no `{r.peer_field}`)"]
            else:
                broad = [f"{r.peer_field}[{x.index}] {x.describe()}" for x in r.peers
                         if every_pod_of_every_namespace(x)
                         or (x.ip_block is not None and below_min_prefix(x.ip_block, ctx.config))]
            reasons = []
            if wide:
                reasons.append(f"port range(s) {', '.join(s.describe() for s in wide)} span more than {limit} ports")
            if every_port and broad:
                what = "every port and protocol" if r.ports is None else \
                    "every port of " + ", ".join(s.protocol for s in r.ports if s.port is None)
                reasons.append(f"it opens {what} towards broad peer(s): {'; '.join(broad)}")
            if not reasons:
                continue
            found = True
            yield fail(subject, f"{p.ref} {r.field}: {' and '.join(reasons)}; list only the ports needed",
                       rule=r.field, ports=rule_ports_text(r), wide_ranges=[s.describe() for s in wide],
                       broad_peers=broad if every_port else [], max_port_range=limit)
        if not found:
            yield passed(subject, f"every rule of {p.ref} lists bounded ports or narrow peers")
