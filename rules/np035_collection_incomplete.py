"""NP035: the collection from a live cluster was incomplete: a kind could not be listed (RBAC, timeout) or a
namespace was skipped.

Not applicable to manifest input (nothing was collected). Otherwise fails on the cluster, listing every
collection problem, when `ctx.complete` is False, and passes when the collection was complete.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import CLUSTER, Result, fail, not_applicable, passed


def _describe(problem: dict[str, str | None]) -> str:
    what = problem.get("kind") or "?"
    if problem.get("namespace"):
        what += f" in {problem['namespace']}"
    return f"{what}: {problem.get('reason') or 'unknown reason'}"


@rule("NP035")
def check(ctx: Context) -> Iterator[Result]:
    if ctx.source_type == "manifests":
        yield not_applicable("the input is manifests: nothing was collected from a cluster")
        return
    problems = [dict(p) for p in ctx.collection_problems]
    if ctx.complete:
        yield passed(CLUSTER, f"every kind was listed in every namespace ({ctx.source_type} input)")
        return
    listed = "; ".join(_describe(p) for p in problems) or "the snapshot marks it incomplete without details"
    yield fail(CLUSTER, f"the collection is incomplete ({listed}): every verdict that depends on the missing "
                        "objects may be wrong and is marked incomplete, never passed; fix the permissions or "
                        "time-outs and collect again", problems=problems)
