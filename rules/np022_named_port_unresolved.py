"""NP022: a named port that no destination container defines, or that is paired only with ipBlock peers.

A named port resolves on the destination pod: on ingress the pods the policy governs (`Selection.governed`),
on egress every pod the rule reaches (`Index.rule_matches_class`). Each named entry of each written rule is
resolved with `port_spec_set` (name AND protocol) on those pods; when it resolves on none it matches nothing.
An egress rule whose peers are all ipBlocks fails outright: a name cannot resolve on an address (on ingress an
ipBlock source is fine, the name resolves on the governed pod). One finding per unresolved entry; a policy
whose named ports all resolve passes.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import Selection, class_refs, only_ip_blocks, port_destinations, resolves_on
from scanner.engine.index import PodClass
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import PortSpec


def _other_protocols(spec: PortSpec, classes: list[PodClass]) -> list[str]:
    assert isinstance(spec.port, str)
    return sorted({f"{n.protocol} {n.port}" for c in classes for n in c.named_ports
                   if n.name == spec.port and n.protocol != spec.protocol})


@rule("NP022")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    sel = Selection(ix)
    judged = False
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        checked, failed = 0, False
        for r in (*p.ingress, *p.egress):
            named = [(j, s) for j, s in enumerate(r.ports or ()) if isinstance(s.port, str)]
            if not named:
                continue
            dests = [] if r.direction == "egress" and only_ip_blocks(r) else port_destinations(ix, sel, p, r)
            for j, spec in named:
                checked += 1
                if resolves_on(spec, dests):
                    continue
                failed = True
                where = f"{r.field}.ports[{j}]"
                entry = f"named port {spec.port!r}/{spec.protocol}"
                if r.direction == "egress" and only_ip_blocks(r):
                    why = ("it is paired only with ipBlock peers, and a port name resolves on a destination pod's "
                           "containers, never on an address")
                elif not dests:
                    why = ("the policy selects no pod it governs, so there is no destination to resolve it on"
                           if r.direction == "ingress" else "the rule reaches no pod to resolve it on")
                else:
                    pods = ", ".join(class_refs(ix, dests, 3))
                    why = f"no container of the destination pods ({pods}) defines a {spec.protocol} port by that name"
                    other = _other_protocols(spec, dests)
                    if other:
                        why += f" (the name exists as {', '.join(other)}: check the protocol)"
                yield fail(subject, f"{p.ref} {where}: {entry} matches nothing: {why}. The entry admits no "
                                    "traffic; fix the name or write the port number",
                           field=where, port=spec.describe(), destinations=class_refs(ix, dests))
        if checked:
            judged = True
            if not failed:
                yield passed(subject, f"each of the {checked} named port(s) of {p.ref} resolves on a destination pod")
    if not judged:
        yield not_applicable("no policy uses a named port")
