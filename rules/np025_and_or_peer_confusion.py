"""NP025: a rule lists a broad namespaceSelector peer and a podSelector peer as separate items, where one
combined peer (AND) was likely meant.

For each written rule, every pair of a namespaceSelector-only peer N and a podSelector-only peer P in the same
`from`/`to` list is a candidate. It is reported when a combined peer was likely meant:
- N is broad: it matches every namespace (`{}`) or several namespaces of the input; or
- N matches the policy's own namespace, so P (which only looks there) adds nothing; or
- P matches no pod of the policy's namespace, while the combined peer (N AND P) would match some pod.
Otherwise (N names one other namespace and P finds its pods at home) the OR is taken as deliberate. Pods
admitted by each reading are counted with `Index.peer_matches_class`. One finding per rule.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import (
    namespaces_matching,
    peer_classes,
    pod_count,
    selects_every_namespace,
)
from scanner.engine.index import Index
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import Peer, Policy, Rule


def _confusion(ix: Index, p: Policy, r: Rule, n: Peer, q: Peer) -> str | None:
    """Why N OR P looks like a mistaken N AND P, or None."""
    assert n.namespace_selector is not None and q.pod_selector is not None
    namespaces = namespaces_matching(ix, n.namespace_selector)
    combined = Peer(n.index, pod_selector=q.pod_selector, namespace_selector=n.namespace_selector)
    ns_pods, pod_pods = pod_count(peer_classes(ix, p, n)), pod_count(peer_classes(ix, p, q))
    and_pods = pod_count(peer_classes(ix, p, combined))
    if selects_every_namespace(n.namespace_selector):
        scope = "every pod of every namespace, present and future"
        reason = "the namespaceSelector matches every namespace"
    else:
        scope = f"every pod of namespace(s) {', '.join(namespaces) or '(none)'}"
        if len(namespaces) > 1:
            reason = f"the namespaceSelector matches {len(namespaces)} namespaces"
        elif p.namespace in namespaces:
            reason = (f"the namespaceSelector already admits every pod of {p.namespace}, so the podSelector item "
                      "adds nothing")
        elif pod_pods == 0 and and_pods > 0:
            reason = (f"no pod of {p.namespace} matches the podSelector, but {and_pods} pod(s) in "
                      f"{', '.join(namespaces)} do")
        else:
            return None
    return (f"{r.peer_field}[{n.index}] (namespaceSelector {n.namespace_selector.describe()}) and "
            f"{r.peer_field}[{q.index}] "
            f"(podSelector {q.pod_selector.describe()}) are separate items, which Kubernetes ORs: {scope} "
            f"({ns_pods} pod(s) today), OR pods labelled {q.pod_selector.describe()} in the policy's own "
            f"namespace {p.namespace} ({pod_pods}); {reason}. Written as ONE item with both selectors (AND) it "
            f"would admit only pods labelled {q.pod_selector.describe()} in those namespaces ({and_pods} today)")


@rule("NP025")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    judged = False
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        candidates, failed = 0, False
        for r in (*p.ingress, *p.egress):
            peers = r.peers or ()
            ns_only = [x for x in peers if x.namespace_selector is not None and x.pod_selector is None]
            pod_only = [x for x in peers if x.pod_selector is not None and x.namespace_selector is None
                        and not x.pod_selector.is_empty]  # `podSelector: {}` (all pods here) is no label to AND
            reasons = []
            for n in ns_only:
                for q in pod_only:
                    candidates += 1
                    why = _confusion(ix, p, r, n, q)
                    if why:
                        reasons.append(why)
            if reasons:
                failed = True
                field = f"{r.field}.{r.peer_field}"
                yield fail(subject, f"{p.ref} {field}: " + " | ".join(reasons) + ". If that was meant, merge the "
                                    "two items into one (in YAML, remove the '-' before the second selector)",
                           field=field, peers=[x.describe() for x in peers])
        if candidates:
            judged = True
            if not failed:
                yield passed(subject, f"{p.ref}: its separate namespaceSelector and podSelector items look like a "
                                      "deliberate OR (the namespace is a single other one, and the podSelector "
                                      "finds pods in the policy's namespace)")
        elif any(r.peers for r in (*p.ingress, *p.egress)):
            judged = True
            yield passed(subject, f"{p.ref}: no rule lists a namespaceSelector item and a podSelector item "
                                  "separately")
    if not judged:
        yield not_applicable("no policy has a rule with peers")
