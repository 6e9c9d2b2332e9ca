"""NP026: a NetworkPolicy the API server would reject (SEMANTICS.md, Validity).

The parser already judged validity exactly as the API server does and kept every problem (field and reason)
of each rejected object in `cluster.invalid_policies` (and, for the cluster-scoped tiers' kinds,
`cluster.invalid_admin_policies`); such an object takes no part in the analysis. One failure per invalid
policy lists them all; every valid policy passes.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, Subject, fail, not_applicable, passed


@rule("NP026")
def check(ctx: Context) -> Iterator[Result]:
    cluster = ctx.cluster
    if not (cluster.policies or cluster.invalid_policies or cluster.admin_policies
            or cluster.invalid_admin_policies):
        yield not_applicable("no NetworkPolicy in the input")
        return
    for ia in cluster.invalid_admin_policies:
        reasons = "; ".join(f"{p.field}: {p.reason}" for p in ia.problems)
        yield fail(Subject(ia.kind, None, ia.name),
                   f"{ia.ref} would be rejected by the API server ({reasons}); it is left out of the analysis, so "
                   "nothing it was meant to allow or deny is in effect",
                   problems=[{"field": p.field, "reason": p.reason} for p in ia.problems],
                   source=ia.source.describe() if ia.source else None)
    for a in cluster.admin_policies:
        yield passed(Subject(a.kind, None, a.name), f"{a.ref} is valid")
    for ip in cluster.invalid_policies:
        reasons = "; ".join(f"{p.field}: {p.reason}" for p in ip.problems)
        yield fail(Subject("NetworkPolicy", ip.namespace, ip.name),
                   f"NetworkPolicy {ip.ref} would be rejected by the API server ({reasons}); it is left out of "
                   "the analysis, so nothing it was meant to allow or isolate is in effect",
                   problems=[{"field": p.field, "reason": p.reason} for p in ip.problems],
                   source=ip.source.describe() if ip.source else None)
    for p in cluster.policies:
        yield passed(ctx.policy_subject(p), f"NetworkPolicy {p.ref} is valid")
