"""NP004: a pod (or workload template) that no policy affecting Ingress selects: every source may reach it."""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result
from scanner.rulekit import check_pod_isolation


@rule("NP004")
def check(ctx: Context) -> Iterator[Result]:
    return check_pod_isolation(ctx, "ingress")
