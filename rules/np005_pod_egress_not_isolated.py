"""NP005: a pod (or workload template) that no policy affecting Egress selects: it may reach anything."""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result
from scanner.rulekit import check_pod_isolation


@rule("NP005")
def check(ctx: Context) -> Iterator[Result]:
    return check_pod_isolation(ctx, "egress")
