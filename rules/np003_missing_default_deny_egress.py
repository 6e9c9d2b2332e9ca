"""NP003: no catch-all (empty podSelector) policy in the namespace affects Egress."""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result
from scanner.rulekit import check_default_deny


@rule("NP003")
def check(ctx: Context) -> Iterator[Result]:
    return check_default_deny(ctx, "egress")
