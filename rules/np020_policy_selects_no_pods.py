"""NP020: a policy whose non-empty podSelector selects no pod it can govern in its namespace.

A policy governs the classes of its namespace that `Index.selecting` returns, hostNetwork classes excepted;
finished pods are not endpoints at all. A catch-all (`podSelector: {}`) guards pods created later, so it is
judged and always passes. The message says when the selector matches only hostNetwork or finished pods, and
when pods with matching labels exist in other namespaces (a podSelector never looks beyond its namespace).
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import Selection, class_refs, classes_matching_pod_selector, pod_count
from scanner.findings import Result, fail, not_applicable, passed


@rule("NP020")
def check(ctx: Context) -> Iterator[Result]:
    sel = Selection(ctx.index)
    if not ctx.cluster.policies:
        yield not_applicable("the input holds no valid NetworkPolicy")
        return
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        if p.pod_selector.is_empty:
            yield passed(subject, f"{p.ref} is a catch-all (podSelector {{}}): it guards every pod of "
                                  f"{p.namespace}, including pods created later")
            continue
        governed = sel.governed(p)
        if governed:
            yield passed(subject, f"{p.ref} governs {pod_count(governed)} pod(s)",
                         pods=class_refs(ctx.index, governed))
            continue
        notes = []
        host = [c for c in sel.selected(p) if c.host_network]
        if host:
            notes.append(f"it matches only hostNetwork pods ({', '.join(class_refs(ctx.index, host))}), which "
                         "NetworkPolicy does not govern")
        finished = sorted(ig.endpoint.ref for ig in ctx.cluster.ignored
                          if ig.endpoint.namespace == p.namespace and p.pod_selector.matches(ig.endpoint.labels))
        if finished:
            notes.append(f"it matches only finished pods ({', '.join(finished[:5])})")
        elsewhere = classes_matching_pod_selector(ctx.index, p.pod_selector, exclude_namespace=p.namespace)
        if elsewhere:
            notes.append("pods with matching labels exist in other namespaces "
                         f"({', '.join(class_refs(ctx.index, elsewhere))}), but a policy only selects pods of "
                         "its own namespace")
        message = (f"{p.ref}'s podSelector {p.pod_selector.describe()} selects no pod it can govern in "
                   f"namespace {p.namespace}" + (f" ({'; '.join(notes)})" if notes else "")
                   + ": the policy is stale or mis-targeted, and would silently apply to any pod given these "
                     "labels later; fix the selector or delete the policy")
        yield fail(subject, message, pod_selector=p.pod_selector.describe(),
                   host_network_pods=class_refs(ctx.index, host), finished_pods=finished[:5])
