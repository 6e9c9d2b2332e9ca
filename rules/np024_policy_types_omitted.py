"""NP024: `policyTypes` is omitted (absent or an empty list), so the API server's defaulting decides the
directions: Ingress always, Egress only when `spec.egress` holds at least one rule.

One finding per such policy, stating what the defaulting made of it and the usual misreading (a "deny all"
without egress rules does not isolate egress; `egress: []` does not add Egress). Policies that list
policyTypes pass.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, fail, not_applicable, passed


@rule("NP024")
def check(ctx: Context) -> Iterator[Result]:
    if not ctx.cluster.policies:
        yield not_applicable("the input holds no valid NetworkPolicy")
        return
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        types = sorted(p.policy_types)
        if p.policy_types_explicit:
            yield passed(subject, f"{p.ref} lists policyTypes [{', '.join(types)}]")
            continue
        if "Egress" in p.policy_types:
            why = ("because it has egress rules it defaulted to [Egress, Ingress], and deleting its last egress rule "
                   "would silently stop it isolating egress")
        elif p.egress_field == "empty":
            why = "it defaulted to [Ingress] only: `egress: []` does not add Egress, so egress is not isolated"
        else:
            why = "with no egress rules it defaulted to [Ingress] only, so it does not isolate egress"
            if not p.ingress:
                why += " (a \"deny all\" written this way denies ingress only)"
        yield fail(subject, f"{p.ref} omits policyTypes: {why}. Write policyTypes out so the directions it "
                            "isolates are explicit", effective_policy_types=types)
