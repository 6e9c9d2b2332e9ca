"""NP007: an egress-isolated pod cannot reach cluster DNS on UDP and TCP.

Cluster DNS is `ctx.dns_classes` (`k8s-app: kube-dns` in kube-system, or the pods behind the kube-dns
Service). For every egress-isolated class (DNS pods themselves excepted: they resolve upstream), the allowed
ports towards each DNS class (`PairCache.ports`: the pod's egress AND the DNS pod's ingress) must include the
DNS pod's real DNS ports on both protocols: its container ports named `dns`/`dns-tcp` of that protocol, else
53. When the input holds no DNS pod, the pods are judged against a synthetic kube-system pod labelled
`k8s-app: kube-dns` serving 53/UDP and 53/TCP, added to a separate index (the context's is not touched).
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import index_with
from scanner.engine.index import Index, PodClass
from scanner.engine.reach import PairCache
from scanner.findings import Result, fail, not_applicable, passed
from scanner.intervals import contains, describe_ports, port_point
from scanner.model import Endpoint, NamedPort

_DNS_PORT_NAMES = ("dns", "dns-tcp")
_SYNTHETIC = Endpoint("kube-system", "cluster-dns (assumed)", "Pod", {"k8s-app": "kube-dns"},
                      (NamedPort("dns", "UDP", 53), NamedPort("dns-tcp", "TCP", 53)), False)


def _dns_ports(cls: PodClass) -> list[tuple[str, int]]:
    out = []
    for proto in ("UDP", "TCP"):
        named = sorted({p.port for p in cls.named_ports if p.name in _DNS_PORT_NAMES and p.protocol == proto})
        out += [(proto, n) for n in named or [53]]
    return out


def _label(ix: Index, cls: PodClass) -> str:
    eps = [ix.cluster.endpoints[i].ref for i in cls.members]
    return eps[0] + (f" (+{len(eps) - 1} more)" if len(eps) > 1 else "")


@rule("NP007")
def check(ctx: Context) -> Iterator[Result]:
    ix, pairs, dns = ctx.index, ctx.pairs, list(ctx.dns_classes)
    synthetic = not dns
    if synthetic:
        ix, syn = index_with(ctx.cluster, _SYNTHETIC)
        pairs, dns = PairCache(ix), [syn]
    dns_ids = {c.id for c in dns}
    assumed = (" (no cluster DNS pod in the input: judged against an assumed kube-system pod labelled "
               "k8s-app=kube-dns serving 53/UDP and 53/TCP)") if synthetic else ""
    judged = False
    for cls in ix.classes:
        if cls.id in dns_ids or not ix.isolated(cls, "egress"):
            continue
        judged = True
        isolating = [p.ref for p in ix.policies_for(cls, "egress")]
        problems, details, fixes = [], {}, set()
        for d in dns:
            need = _dns_ports(d)
            allowed = pairs.ports(cls, d)
            missing = [(proto, n) for proto, n in need if not contains(allowed, port_point(proto, n))]
            name = _label(ix, d)
            details[name] = {"needed": [f"{n}/{proto}" for proto, n in need],
                             "allowed": describe_ports(allowed),
                             "missing": [f"{n}/{proto}" for proto, n in missing]}
            if not missing:
                continue
            eg, ing = pairs.egress_ports(cls, d), pairs.ingress_ports(cls, d)
            blockers = []
            if any(not contains(eg, port_point(proto, n)) for proto, n in missing):
                blockers.append(f"no egress rule of {', '.join(isolating)} admits it")
                fixes.add("add an egress rule to the kube-dns pods on those UDP and TCP ports")
            if any(not contains(ing, port_point(proto, n)) for proto, n in missing):
                blockers.append(f"the ingress policies of {name} do not admit it")
                fixes.add("admit this pod in the ingress policies of the DNS pods")
            details[name]["blocked_by"] = blockers
            problems.append(f"{', '.join(f'{n}/{proto}' for proto, n in missing)} to {name} ("
                            f"{' and '.join(blockers)})")
        members = [i for i in cls.members if i < len(ctx.cluster.endpoints)]  # not the synthetic DNS pod
        for w in ctx.workloads(members):
            if problems:
                yield fail(w.subject, f"{w.ref} is egress-isolated (by {', '.join(isolating)}) but cannot reach "
                                      f"cluster DNS: {'; '.join(problems)}{assumed}. Name lookups will fail: "
                                      f"{' and '.join(sorted(fixes))} (keep the deny)",
                           egress_policies=isolating, dns=details, assumed_dns=synthetic, **w.evidence())
            else:
                targets = "; ".join(f"{name} on {', '.join(d['needed'])}" for name, d in details.items())
                yield passed(w.subject, f"{w.ref} may reach cluster DNS: {targets}{assumed}",
                             egress_policies=isolating, dns=details, assumed_dns=synthetic, **w.evidence())
    if not judged:
        yield not_applicable("no pod is egress-isolated, so none can be cut off from cluster DNS")
