"""NP010: an ingress rule with no `from` (every source, in or out of the cluster).

Only rules that take effect count: a rule in a direction the policy's effective policyTypes leave out is dead
(NP023's business), not an allow-all. One FAIL per such rule, on its policy: medium when the rule lists ports,
high when it does not (then it allows everything). Every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import check_allow_all
from scanner.findings import Result


@rule("NP010")
def check(ctx: Context) -> Iterator[Result]:
    return check_allow_all(ctx, "ingress")
