"""NP028: a namespace that has policies, yet they allow exactly what no policy would: they restrict nothing.

For every pod of the namespace (per class; hostNetwork pods are never restricted) and both directions, the
allowance its governing policies give is compared with "everything" (`Contributions.namespace_restriction`):
every peer class on every port, and every address on every port. When the namespace has catch-all policies,
a pod created later (governed by the catch-alls alone) is judged too. A namespace with policies but neither
pods nor catch-alls is not judged (there is nothing they could restrict yet; NP020 reports dangling policies).
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.redundancy import Contributions
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import DIRECTIONS


@rule("NP028")
def check(ctx: Context) -> Iterator[Result]:
    contrib = Contributions(ctx.index)
    judged = False
    for ns, policies in sorted(ctx.index.policies_by_ns.items()):
        if not policies:
            continue
        classes = ctx.classes_by_namespace.get(ns, [])
        catch_all = any(contrib.catch_alls(ns, d) for d in DIRECTIONS)
        if not classes and not catch_all:
            continue
        judged = True
        subject = ctx.namespace_subject(ns)
        gap = contrib.namespace_restriction(ns)
        refs = sorted(p.ref for p in policies)
        if gap is not None:
            yield passed(subject, f"the policies of {ns} restrict connections, e.g. they deny {gap.describe()} "
                                  f"({gap.direction})", denied=gap.to_json(), policies=refs)
            continue
        hostnet = sorted(ep.ref for c in classes if c.host_network for ep in ctx.endpoints_of(c))
        message = (f"namespace {ns} has {len(policies)} NetworkPolicy object(s), yet every pod in it is allowed "
                   "exactly what it would be without any policy, in both directions: they restrict nothing")
        if hostnet and len(hostnet) == sum(len(c.members) for c in classes):
            message += " (its pods all use the host network, which NetworkPolicy does not apply to)"
        yield fail(subject, message, policies=refs,
                   pods=sum(len(c.members) for c in classes), host_network_pods=hostnet[:20])
    if not judged:
        yield not_applicable("no namespace has both NetworkPolicies and pods (or a catch-all policy)")
