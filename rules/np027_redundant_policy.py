"""NP027: a policy whose removal changes no pod's allowed connections.

For every class the policy selects (hostNetwork pods excluded: no policy applies to them) and every direction
it affects, the allowance with and without it is compared (`Contributions.policy_change`): per peer class the
allowed ports, and over the address space the ports per address range. Isolation counts: when the policy is
the only one isolating a pod in a direction, removing it opens everything it does not allow, so it is not
redundant unless it allows everything. A catch-all (`podSelector: {}`) is also judged for pods created later
in its namespace (governed by the catch-alls alone), so the only default-deny of a namespace is never
redundant even when specific policies isolate every current pod.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.redundancy import Contributions
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import DIRECTIONS


def _names(refs: list[str]) -> str:
    return ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")


@rule("NP027")
def check(ctx: Context) -> Iterator[Result]:
    if not ctx.cluster.policies:
        yield not_applicable("no valid NetworkPolicy in the input")
        return
    contrib = Contributions(ctx.index)
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        gap = contrib.policy_change(p)
        if gap is not None:
            yield passed(subject, f"removing {p.ref} would change {gap.describe()} ({gap.direction})",
                         change=gap.to_json())
            continue
        selected = [c for c in ctx.classes_by_namespace.get(p.namespace, []) if p in ctx.index.selecting(c)]
        governed = [c for c in selected if not c.host_network]
        pods = sorted(ep.ref for c in governed for ep in ctx.endpoints_of(c))
        directions = [d for d in DIRECTIONS if p.affects(d)]
        others = sorted({q.ref for c in governed for d in directions
                         for q in ctx.index.policies_for(c, d) if q is not p})
        later = sorted({q.ref for d in directions for q in contrib.catch_alls(p.namespace, d) if q is not p}) \
            if p.pod_selector.is_empty else []
        if not governed:
            why = ("selects no pod that NetworkPolicy applies to" if not selected else
                   "selects only hostNetwork pods, which NetworkPolicy does not apply to")
            if later:
                why += f", and {_names(later)} already cover pods created later"
            message = f"{p.ref} {why}: removing it changes no pod's allowed connections"
        elif not others:
            message = (f"{p.ref} allows everything in the direction(s) it affects, so the {len(pods)} pod(s) it "
                       "selects are allowed exactly what they would be without it: removing it changes no pod's "
                       "allowed connections")
        else:
            what = f"{_names(others)} already isolate the {len(pods)} pod(s) it selects"
            if later:
                what += f" ({_names(later)} also pods created later)"
            what = (f"{what} and allow everything it allows" if any(p.rules(d) for d in directions)
                    else f"it only isolates, and {what}")
            message = (f"{p.ref} adds nothing: {what}, so removing it changes no pod's allowed connections (keep "
                       "it only to document intent: it would matter again if those policies changed)")
        yield fail(subject, message, pods=pods[:20], pod_count=len(pods), covered_by=sorted(set(others) | set(later)),
                   directions=directions)
