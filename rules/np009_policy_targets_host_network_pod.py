"""NP009: a policy's podSelector matches hostNetwork pods, on which it has no effect.

For every valid policy, the hostNetwork classes among those `Index.selecting` returns. A policy with a
non-empty podSelector that matches them is reported at the default severity (its author targeted those pods);
a catch-all (`podSelector: {}`) cannot avoid them and still governs the other pods, so it is reported as low:
the finding then says that the namespace's default deny does not cover those pods.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import Selection, class_refs, pod_count
from scanner.findings import Result, fail, not_applicable, passed


@rule("NP009")
def check(ctx: Context) -> Iterator[Result]:
    sel = Selection(ctx.index)
    if not ctx.cluster.policies:
        yield not_applicable("the input holds no valid NetworkPolicy")
        return
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        host = [c for c in sel.selected(p) if c.host_network]
        if not host:
            yield passed(subject, f"{p.ref} selects no hostNetwork pod")
            continue
        pods = class_refs(ctx.index, host)
        others = len(sel.governed(p))
        if p.pod_selector.is_empty:
            message = (f"{p.ref} selects every pod of {p.namespace}, including {pod_count(host)} hostNetwork "
                       f"pod(s) ({', '.join(pods)}) on which it has no defined effect: the namespace's policies do "
                       "not protect them (move them to a namespace of their own, or drop hostNetwork)")
            yield fail(subject, message, severity="low", host_network_pods=pods, other_selected_classes=others)
        else:
            message = (f"{p.ref}'s podSelector {p.pod_selector.describe()} matches {pod_count(host)} hostNetwork "
                       f"pod(s) ({', '.join(pods)}): NetworkPolicy has no defined effect on pods on the host network "
                       "(most plugins ignore it), so it protects nothing there; drop hostNetwork, or protect their "
                       "ports on the node (host firewall) instead")
            yield fail(subject, message, host_network_pods=pods, other_selected_classes=others)
