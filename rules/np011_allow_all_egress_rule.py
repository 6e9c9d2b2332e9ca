"""NP011: an egress rule with no `to` (every destination, in or out of the cluster).

Only rules that take effect count: egress rules of a policy whose effective policyTypes leave Egress out are
dead (NP023's business). One FAIL per such rule, on its policy: medium when the rule lists ports, high when it
does not. Every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import check_allow_all
from scanner.findings import Result


@rule("NP011")
def check(ctx: Context) -> Iterator[Result]:
    return check_allow_all(ctx, "egress")
