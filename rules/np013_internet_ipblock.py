"""NP013: an ipBlock whose address set, net of `except`, holds public (internet) addresses.

"Public" is every address outside the private, shared, loopback, link-local, documentation and multicast
ranges (`analysis.public_addresses()`), minus the configured `trusted_cidrs`. Only rules that take effect
count, and an egress rule whose ports are all named admits nothing towards an address (a named port never
resolves on an ipBlock), so it is left to NP022. One FAIL per such peer, on its policy: high on ingress,
medium on egress. Every other policy PASSES.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.analysis import cidr_set
from scanner.engine.exposure import address_cidrs, effective_peers, internet, peer_field, rule_ports_text
from scanner.engine.index import rule_port_set
from scanner.findings import Result, fail, passed
from scanner.intervals import intersect, subtract


@rule("NP013")
def check(ctx: Context) -> Iterator[Result]:
    inet = internet(ctx.config)
    family = {4: cidr_set(["0.0.0.0/0"]), 6: cidr_set(["::/0"])}
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        found = False
        for r, peer in effective_peers(p):
            block = peer.ip_block
            if block is None:
                continue
            public = intersect(block.addresses, inet)
            if not public or (r.direction == "egress" and not rule_port_set(r, None)):
                continue
            found = True
            whole = not subtract(intersect(inet, family[block.version]), block.addresses)
            what = f"the whole IPv{block.version} internet" if whole else \
                f"internet addresses ({', '.join(address_cidrs(public, 3))})"
            if r.direction == "ingress":
                message = (f"{p.ref} {peer_field(r, peer)} ({peer.describe()}) admits connections from {what} to "
                           f"the pods it selects on {rule_ports_text(r)}")
            else:
                message = (f"{p.ref} {peer_field(r, peer)} ({peer.describe()}) lets the pods it selects connect to "
                           f"{what} on {rule_ports_text(r)}")
            yield fail(subject, message, severity="high" if r.direction == "ingress" else "medium",
                       peer=peer_field(r, peer), cidr=block.cidr, excepts=list(block.excepts),
                       direction=r.direction, ports=rule_ports_text(r), whole_internet=whole,
                       public_ranges=address_cidrs(public), trusted_cidrs=list(ctx.config.trusted_cidrs))
        if not found:
            yield passed(subject, f"no ipBlock of {p.ref} admits a public address")
