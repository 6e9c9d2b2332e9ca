"""NP039: paths the policies allow between workloads that no observed flow used (`scan --observed-flows FILE`).

NOT_APPLICABLE without a flow file, when no flow of it names a workload of the input, or when the cluster is
too large for workload-level paths. The comparison is `scanner.flows.observe`: for each workload as a source,
its allowed paths (destination workloads with the ports its egress and their ingress allow; a lone pod with
itself excluded) against the flows observed from it. A path is used when some observed flow to that
destination falls inside its ports.
- one FAIL per workload with an allowed path nothing used (listing them with the rules that admit them), or
  with allowed paths and no observed flow from it at all (idle, or outside what the flow log covers);
- one PASS per other workload: every allowed path was used (ports used more narrowly than allowed are
  narrowing hints in the evidence), or it is allowed no path;
- one FAIL on the cluster when workloads are open on both sides (the source not isolated for egress, the
  destination not for ingress): those pairs are allowed on every port and are summarised there, not listed
  as paths; a source with nothing else to judge gets no finding of its own.
Observed flows the current policies deny are noted in the evidence of their workload (capped).
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import ports_phrase
from scanner.findings import CLUSTER, Result, fail, not_applicable, passed
from scanner.flows import (
    DENIED_LIMIT,
    LIST_LIMIT,
    Observation,
    SourceView,
    narrowing,
    observe,
)
from scanner.intervals import describe_ports

_DENIED_NOTE = ("observed but denied by the current policies: the policies changed since the observation, or the "
                "flow log disagrees with them (a dropped flow exported as seen, or a plugin that enforces "
                "differently)")


@rule("NP039")
def check(ctx: Context) -> Iterator[Result]:
    observed = ctx.observed_flows
    if observed is None:
        yield not_applicable("no observed flows were given (scan --observed-flows FILE)")
        return
    obs = observe(ctx, observed)
    if isinstance(obs, str):
        yield not_applicable(obs)
        return
    if not obs.resolved_flows:
        yield not_applicable(f"none of the {len(observed.flows)} observed flow(s) names a workload, pod or pod "
                             "address of the input: is the flow file from this cluster?",
                             observation=obs.observation_json())
        return
    if obs.open_pairs:
        yield _open_finding(obs)
    for view in obs.sources:
        if view.egress_open and view.open_destinations and not view.paths and not view.denied:
            continue  # only open pairs: the cluster finding covers them
        yield _judge(ctx, obs, view)


def _judge(ctx: Context, obs: Observation, view: SourceView) -> Result:
    w = view.workload
    window = "in the observation window" if obs.flows.window else "in the flow file"
    unused = view.unused
    evidence: dict[str, Any] = {"observation": obs.observation_json(view), "allowed_paths": len(view.paths),
                                **_lists(ctx, obs, view, unused), **w.evidence()}
    tail = ""
    if view.denied:
        first = view.denied[0]
        seen = f", last seen {first['last_seen']}" if first["last_seen"] else ""
        more = f" and {len(view.denied) - 1} more" if len(view.denied) > 1 else ""
        tail = (f"; observed but denied by the current policies: {first['from']} to {first['to']} on "
                f"{first['port']}{seen}{more}")
    if view.open_destinations:
        tail += (f"; it is also not isolated for egress, so {view.open_destinations} workload(s) not isolated "
                 "for ingress are open to it on every port (see the cluster-level NP039 finding)")
        evidence["open_destinations"] = view.open_destinations
    shown = _paths_text([(d, view.paths[d]) for d in (unused or sorted(view.paths))])
    rules = evidence.get("rules") or []
    hint = f"; narrow or remove what admits them: {_first(rules, 4)}" if rules else ""
    if view.paths and not view.flows_from:
        if view.flows_to:
            where = (f"it is the destination of {view.flows_to} observed flow(s), so the flow log covers it: it "
                     "looks idle as a client")
        else:
            where = "it appears in no observed flow at all: either it is idle or the flow log does not cover it"
        return fail(w.subject, f"{w.ref}: no traffic observed from it {window}, yet its policies allow "
                               f"{len(view.paths)} path(s) to other workloads ({shown}); {where}{hint}{tail}",
                    **evidence)
    if unused:
        return fail(w.subject, f"{w.ref}: {len(unused)} of its {len(view.paths)} allowed path(s) to other "
                               f"workloads carried no observed flow {window}: {shown}{hint}{tail}", **evidence)
    if not view.paths:
        message = f"{w.ref}: its policies allow it no path to another workload"
    else:
        message = f"{w.ref}: each of its {len(view.paths)} allowed path(s) to other workloads was used {window}"
        if view.narrower:
            message += (f"; {len(view.narrower)} on fewer ports than allowed (narrowing hints: "
                        f"{_first(view.narrower, 3)})")
    return passed(w.subject, message + tail, **evidence)


def _lists(ctx: Context, obs: Observation, view: SourceView, unused: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if unused:
        rows: list[dict[str, Any]] = []
        rules: set[str] = set()
        for d in unused:
            admits = obs.admitted_by(ctx, view.key, d, view.paths[d])
            rules.update(admits["rules"])
            if len(rows) < LIST_LIMIT:
                rows.append({"to": d, "ports": describe_ports(view.paths[d]),
                             "admitted_by": {"egress": admits["egress"], "ingress": admits["ingress"]}})
        out |= {"unused": rows, "unused_total": len(unused), "rules": sorted(rules)}
    if view.used:
        out["used"] = [{"to": d, "ports": describe_ports(u.ports), "flows": u.flows, "last_seen": u.last_seen}
                       for d, u in sorted(view.used.items())][:LIST_LIMIT]
        out["used_total"] = len(view.used)
    hints = view.narrower
    if hints:
        out["narrowing"] = [{"to": d, **narrowing(view.paths[d], view.used[d].ports)} for d in hints[:LIST_LIMIT]]
        out["narrowing_total"] = len(hints)
    if view.external:
        out["external"] = [{"to": a, "ports": describe_ports(u.ports), "flows": u.flows, "last_seen": u.last_seen}
                           for a, u in sorted(view.external.items())][:LIST_LIMIT]
        out["external_total"] = len(view.external)
    if view.denied:
        out["observed_denied"] = view.denied[:DENIED_LIMIT]
        out["observed_denied_total"] = len(view.denied)
        out["notes"] = [_DENIED_NOTE]
    return out


def _open_finding(obs: Observation) -> Result:
    srcs, dsts = obs.open_sources, obs.open_destinations
    used = [{"from": a, "to": b, "ports": describe_ports(u.ports), "flows": u.flows, "last_seen": u.last_seen}
            for (a, b), u in obs.open_used.items()]
    message = (f"{len(srcs)} workload(s) not isolated for egress ({_first(srcs, 2)}) may connect on every port "
               f"to {len(dsts)} workload(s) not isolated for ingress ({_first(dsts, 2)}): {obs.open_pairs} "
               "pair(s) that observed flows cannot narrow, since no policy restricts them. Isolate them with "
               f"default-deny policies first (NP004, NP005), then allow what the flows show ({len(used)} of "
               "these pairs were observed)")
    return fail(CLUSTER, message, observation=obs.observation_json(), open_pairs=obs.open_pairs,
                open_sources=srcs[:LIST_LIMIT], open_sources_total=len(srcs), open_destinations=dsts[:LIST_LIMIT],
                open_destinations_total=len(dsts), observed_open_pairs=used[:LIST_LIMIT],
                observed_open_pairs_total=len(used))


def _paths_text(paths: list[tuple[str, Any]]) -> str:
    shown = ", ".join(f"{d} on {ports_phrase(p)}" for d, p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _first(items: list[str], n: int) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
