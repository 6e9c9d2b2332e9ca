"""NP002: no catch-all (empty podSelector) policy in the namespace affects Ingress."""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result
from scanner.rulekit import check_default_deny


@rule("NP002")
def check(ctx: Context) -> Iterator[Result]:
    return check_default_deny(ctx, "ingress")
