"""NP008: a namespaced object in manifest input has no `metadata.namespace`.

The loader placed such objects in `--namespace` (default `default`) and recorded them in
`Cluster.defaulted_objects`; each is a failure. Every other namespaced object the analysis keeps (pods and
workload templates, policies, services, other policy kinds) was judged and passes. Objects read from a live
cluster always carry their namespace, so for cluster input without defaulted objects the rule does not apply.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, Subject, fail, not_applicable, passed


@rule("NP008")
def check(ctx: Context) -> Iterator[Result]:
    c = ctx.cluster
    defaulted = set(c.defaulted_objects)
    if ctx.source_type == "cluster" and not defaulted:
        yield not_applicable("objects read from a live cluster always carry their namespace")
        return
    for kind, ns, name in sorted(defaulted):
        yield fail(Subject(kind, ns, name), f"{kind} {name} has no metadata.namespace: `kubectl apply` puts it "
                                            "in whatever namespace is current at apply time (analysed here as "
                                            f"{ns!r}); set metadata.namespace explicitly",
                   analysed_namespace=ns)
    seen: set[tuple[str, str, str]] = set()
    objects = [(e.kind, e.namespace, e.name) for e in c.endpoints]
    objects += [("NetworkPolicy", p.namespace, p.name) for p in c.policies]
    objects += [("NetworkPolicy", p.namespace, p.name) for p in c.invalid_policies]
    objects += [("Service", s.namespace, s.name) for s in c.services]
    objects += [(o.kind, o.namespace, o.name) for o in c.other_policies if o.namespace is not None]
    for key in sorted(objects):
        if key in defaulted or key in seen:
            continue
        seen.add(key)
        yield passed(Subject(*key), f"{key[0]} {key[2]} names its namespace {key[1]!r}")
    if not defaulted and not seen:
        yield not_applicable("the input holds no namespaced object")
