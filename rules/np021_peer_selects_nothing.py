"""NP021: a rule peer whose selectors match no namespace, or no pod in the namespaces they cover.

Every selector peer of every written rule (both directions, so a rule NP023 reports dead is judged too) is
resolved with the engine: its namespaceSelector against the namespaces of the input, then
`Index.peer_matches_class` for the pods (never hostNetwork ones). Peers whose selectors are all empty (`{}`)
mean "everything" on purpose and are not judged; ipBlock peers have no selectors. The message says why: no
namespace carries the label (namespaces carry `kubernetes.io/metadata.name`, not `name`), the namespaces hold
no matching pod, or a podSelector-only peer looks in the policy's own namespace while the pods live elsewhere.
One finding per empty peer; a policy whose selector peers all match something passes.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import (
    class_refs,
    classes_matching_pod_selector,
    is_catch_all_peer,
    namespace_label_hint,
    namespaces_matching,
    peer_classes,
    peer_field,
)
from scanner.engine.index import Index
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import Peer, Policy


def _why_empty(ix: Index, p: Policy, peer: Peer) -> str | None:
    """None when the peer matches some pod; else why it matches nothing."""
    if peer_classes(ix, p, peer):
        return None
    ns_sel, pod_sel = peer.namespace_selector, peer.pod_selector
    if ns_sel is not None:
        namespaces = namespaces_matching(ix, ns_sel)
        if not namespaces:
            hint = namespace_label_hint(ix, ns_sel)
            return (f"namespaceSelector {ns_sel.describe()} matches no namespace in the input"
                    + (f" ({hint})" if hint else ""))
        where = f"namespace(s) {', '.join(namespaces)}"
    else:
        namespaces = [p.namespace]
        where = f"the policy's own namespace {p.namespace} (a podSelector without namespaceSelector looks nowhere else)"
    if pod_sel is None:
        return f"{where} hold(s) no pod a selector can match"
    host = [c for c in ix.classes if c.host_network and c.namespace in namespaces and pod_sel.matches(c.labels)]
    if host:
        why = (f"in {where} only hostNetwork pods ({', '.join(class_refs(ix, host))}) match podSelector "
               f"{pod_sel.describe()}, and selectors never match hostNetwork pods (their traffic carries the "
               "node's IP: only an ipBlock can match it)")
    else:
        why = f"no pod in {where} matches podSelector {pod_sel.describe()}"
    elsewhere = [c for c in classes_matching_pod_selector(ix, pod_sel) if c.namespace not in namespaces]
    if elsewhere:
        other = sorted({c.namespace for c in elsewhere})
        if ns_sel is not None:
            why += f"; such pods exist in {', '.join(other)}, which the namespaceSelector does not match"
        else:
            why += (f"; such pods exist in {', '.join(other)}: to admit them, put a namespaceSelector for that "
                    "namespace and this podSelector in ONE peer")
    return why


@rule("NP021")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    judged = False
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        checked, failed = 0, False
        for r in (*p.ingress, *p.egress):
            for peer in r.peers or ():
                if peer.ip_block is not None or is_catch_all_peer(peer):
                    continue
                checked += 1
                why = _why_empty(ix, p, peer)
                if why is None:
                    continue
                failed = True
                dead = "" if p.affects(r.direction) else (" (the rule is also ignored: policyTypes leaves "
                                                           f"{r.direction.capitalize()} out)")
                yield fail(subject, f"{p.ref} {peer_field(r, peer)} ({peer.describe()}) selects nothing: {why}. "
                                    "It is a silent deny of the traffic it was meant to admit, or a stale allow "
                                    f"for any pod given these labels later{dead}",
                           field=peer_field(r, peer), peer=peer.describe())
        if checked:
            judged = True
            if not failed:
                yield passed(subject, f"each of the {checked} selector peer(s) of {p.ref} matches some pod")
    if not judged:
        yield not_applicable("no policy has a rule peer with a non-empty selector")
