"""NP001: a namespace that holds pods has no NetworkPolicy at all (CIS 5.3.2, literally)."""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, fail, passed


@rule("NP001")
def check(ctx: Context) -> Iterator[Result]:
    for ns, members in ctx.endpoints_by_namespace.items():
        subject = ctx.namespace_subject(ns)
        policies = ctx.index.policies_by_ns.get(ns, [])
        if policies:
            yield passed(subject, f"{len(policies)} NetworkPolicy object(s) in the namespace",
                         policies=sorted(p.ref for p in policies))
        else:
            yield fail(subject, f"namespace {ns} holds {len(members)} pod(s) and no NetworkPolicy",
                       pods=len(members))
