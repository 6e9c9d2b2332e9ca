"""NP015: a pod's effective egress reaches the cloud metadata endpoint (169.254.169.254 or fd00:ec2::254).

Per class, `analysis.address_point_ports` gives the ports on which the pod may connect to each address: all
ports when the pod is not egress-isolated (hostNetwork pods included), otherwise the union of the egress rules
whose peers hold the address (no `to`, or an ipBlock that does not except it; named ports never match an
address). One FAIL per pod that reaches either address on some port, naming the rules that admit it; the
others PASS.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.analysis import address_point_ports, cidr_set
from scanner.engine.exposure import Admit, address_admits, not_isolated_reason, ports_phrase
from scanner.findings import Result, fail, passed
from scanner.intervals import describe_ports

METADATA_ENDPOINTS = {"169.254.169.254": "169.254.169.254/32", "fd00:ec2::254": "fd00:ec2::254/128"}


@rule("NP015")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    for cls in ix.classes:
        reached = {ip: ports for ip in METADATA_ENDPOINTS if (ports := address_point_ports(ix, cls, "egress", ip))}
        reason = not_isolated_reason(ix, cls, "egress")
        admits: dict[str, list[Admit]] = {}
        if reason is None:
            admits = {ip: address_admits(ix, cls, "egress", cidr_set([METADATA_ENDPOINTS[ip]])) for ip in reached}
        for w in ctx.workloads_of(cls):
            subject = w.subject
            if not reached:
                yield passed(subject, f"{w.ref} cannot reach the cloud metadata endpoint",
                             egress_policies=[p.ref for p in ix.policies_for(cls, "egress")], **w.evidence())
                continue
            where = "; ".join(f"{ip} on {ports_phrase(ports)}" for ip, ports in reached.items())
            rules = sorted({a.where for a in (x for v in admits.values() for x in v)})
            fix = ", ".join(METADATA_ENDPOINTS[ip] for ip in reached)
            why = reason or f"admitted by {', '.join(rules)}; except {fix} from the ipBlock or narrow the rule"
            yield fail(subject, f"{w.ref} may connect to the cloud metadata endpoint ({where}): {why}",
                       reachable={ip: describe_ports(ports) for ip, ports in reached.items()},
                       admitted_by=[reason] if reason else
                       [f"{ip}: {a.describe()}" for ip, v in admits.items() for a in v], **w.evidence())
