"""NP023: the policy has ingress (egress) rules but its explicit `policyTypes` leaves that direction out.

Only policies with explicit policyTypes are judged: when policyTypes is omitted the API server adds Egress
whenever egress rules are written, so no rule can be dead. A direction counts as written when its list holds at
least one rule (`ingress: []` is no rule). The message adds the consequence: when another policy isolates the
selected pods in that direction, the traffic those dead rules were meant to allow is denied.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import Selection, class_refs
from scanner.findings import Result, fail, not_applicable, passed
from scanner.model import DIRECTIONS


@rule("NP023")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    sel = Selection(ix)
    judged = False
    for p in ctx.cluster.policies:
        if not p.policy_types_explicit:
            continue
        judged = True
        subject = ctx.policy_subject(p)
        types = ", ".join(sorted(p.policy_types))
        notes, dead = [], {}
        for direction in DIRECTIONS:
            written = p.written_rules(direction)
            if not written or p.affects(direction):
                continue
            word = direction.capitalize()
            dead[direction] = [r.field for r in written]
            note = f"its {len(written)} {direction} rule(s) are ignored because policyTypes [{types}] leaves {word} out"
            isolated = [c for c in sel.governed(p) if ix.isolated(c, direction)]
            if isolated:
                others = sorted({q.ref for c in isolated for q in ix.policies_for(c, direction)})
                note += (f"; its pods ({', '.join(class_refs(ix, isolated, 3))}) are {direction}-isolated by "
                         f"{', '.join(others)}, so the traffic those rules describe is denied")
            notes.append(note)
        if notes:
            yield fail(subject, f"{p.ref}: {'; '.join(notes)}. Add the direction to policyTypes, or delete the "
                                "rules if they are obsolete", policy_types=sorted(p.policy_types),
                       dead_rules=dead)
        else:
            yield passed(subject, f"{p.ref}: policyTypes [{types}] covers every direction it writes rules for")
    if not judged:
        yield not_applicable("no policy lists policyTypes explicitly (with policyTypes omitted no rule is ignored)")
