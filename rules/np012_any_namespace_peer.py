"""NP012: a peer whose namespaceSelector matches every namespace, including namespaces created later.

`namespaceSelector: {}` (or one that only requires `kubernetes.io/metadata.name`, which every namespace carries)
in a rule that takes effect. One FAIL per such peer, on its policy; with a podSelector in the same peer the
finding says that any namespace qualifies as long as a pod carries those labels. Every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import effective_peers, peer_field, rule_ports_text, selects_every_namespace
from scanner.findings import Result, fail, passed


@rule("NP012")
def check(ctx: Context) -> Iterator[Result]:
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        hits = [(r, peer) for r, peer in effective_peers(p) if selects_every_namespace(peer.namespace_selector)]
        if not hits:
            yield passed(subject, f"no peer of {p.ref} selects every namespace")
            continue
        for r, peer in hits:
            where = peer_field(r, peer)
            verb = "admits traffic from" if r.direction == "ingress" else "allows traffic to"
            if peer.pod_selector is None or peer.pod_selector.is_empty:
                whom = "every pod of every namespace"
            else:
                whom = f"pods labelled {peer.pod_selector.describe()} in every namespace"
            message = (f"{p.ref} {where} ({peer.describe()}) {verb} {whom}, including namespaces created later, "
                       f"on {rule_ports_text(r)}")
            yield fail(subject, message, peer=where, selector=peer.describe(), direction=r.direction,
                       ports=rule_ports_text(r))
