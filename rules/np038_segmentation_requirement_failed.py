"""NP038: segmentation requirements (`scan --requirements FILE`, scanner.requirements) that do not hold.

NOT_APPLICABLE without a requirement file. One result per requirement, subject `Requirement/<id>`:
- deny: FAIL when some matched source may connect to some matched destination (other than itself) on a
  listed port (any port when none are listed): node-local pairs count (always allowed), and each flow names
  the rules on both sides that admit it;
- allow: FAIL when some matched source cannot reach some matched destination on every listed port (on any
  port when none are listed), naming what each side admits and the policies isolating the side that blocks;
- either: FAIL when `from` or `to` matches nothing (a deny that matches nothing proves nothing).
A PASS says what was checked (workloads, endpoints, addresses, ports), so it can be cited as evidence.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import ports_phrase
from scanner.findings import Result, Subject, fail, not_applicable, passed
from scanner.intervals import describe_ports, ports_text
from scanner.requirements import EndpointSpec, Flow, Matched, Outcome, Requirement, RequirementSet, evaluate

LISTED = 50  # flows listed per requirement (the totals count them all)


@rule("NP038")
def check(ctx: Context) -> Iterator[Result]:
    reqs: RequirementSet | None = ctx.requirements
    if reqs is None:
        yield not_applicable("no segmentation requirements were given (scan --requirements FILE)")
        return
    for req in reqs.requirements:
        out = evaluate(ctx, req)
        subject = Subject("Requirement", None, req.id)
        evidence = _evidence(reqs, req, out)
        if out.reason is not None:
            yield fail(subject, f"requirement {req.id} ({req.describe()}) cannot hold: {out.reason}",
                       reason=out.reason, **evidence)
        elif out.holds:
            yield passed(subject, f"requirement {req.id} holds: {_checked(req, out)}", **evidence)
        else:
            yield fail(subject, _failure(req, out), **evidence)


def _evidence(reqs: RequirementSet, req: Requirement, out: Outcome) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "requirement": {"id": req.id, "type": req.kind, "from": req.source.text, "to": req.destination.text,
                        "ports": "any" if req.ports is None else describe_ports(req.ports),
                        "description": req.description, "defined_at": reqs.location(req)},
        "sources": out.source.to_json(req.source, LISTED),
        "destinations": out.destination.to_json(req.destination, LISTED),
        "pairs_checked": out.pairs,
    }
    if out.flows or (out.reason is None and not out.holds):
        key = "flows" if req.kind == "deny" else "blocked"
        ev[key] = [_flow(req, f) for f in out.flows[:LISTED]]
        ev[f"{key}_total"] = len(out.flows)
        ev["policies"] = out.policies
    return ev


def _flow(req: Requirement, f: Flow) -> dict[str, Any]:
    entry: dict[str, Any] = {"from": f.source, "to": f.destination}
    if req.kind == "deny":
        entry["ports"] = describe_ports(f.ports)
    else:
        entry["missing_ports"] = describe_ports(f.ports) if req.ports is not None else "any"
    if f.addresses:
        entry["addresses"] = list(f.addresses)
    entry["egress_of_source"] = list(f.egress)
    entry["ingress_of_destination"] = list(f.ingress)
    entry["policies"] = list(f.policies)
    if f.note:
        entry["node_local"] = f.note
    return entry


def _side(req_side: EndpointSpec, m: Matched) -> str:
    if req_side.is_address:
        return req_side.text
    n, w = len(m.endpoints), len(m.workloads)
    return f"{w} workload(s) ({n} endpoint(s)) of {req_side.text}"


def _checked(req: Requirement, out: Outcome) -> str:
    src, dst = _side(req.source, out.source), _side(req.destination, out.destination)
    if req.kind == "deny":
        on = "any port" if req.ports is None else ports_text(req.ports)
        return f"no connection from {src} to {dst} is allowed on {on}"
    on = "some port" if req.ports is None else f"every port of {ports_text(req.ports)}"
    return f"each of {src} can reach each of {dst} on {on}"


def _failure(req: Requirement, out: Outcome) -> str:
    first = out.flows[0]
    more = f" (and {len(out.flows) - 1} more)" if len(out.flows) > 1 else ""
    if req.kind == "deny":
        return (f"requirement {req.id} ({req.describe()}) does not hold: {len(out.flows)} source/destination "
                f"pair(s) may connect, e.g. {first.source} -> {first.destination} on {ports_phrase(first.ports)}"
                f"{more}")
    missing = "any port" if req.ports is None else ports_text(first.ports)
    return (f"requirement {req.id} ({req.describe()}) does not hold: {len(out.flows)} source/destination pair(s) "
            f"cannot connect, e.g. {first.source} -> {first.destination} (blocked on {missing}){more}")
