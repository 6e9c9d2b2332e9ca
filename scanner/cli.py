"""Command-line interface: argument parsing, logging set-up, and the one place errors become messages and
exit codes (0 success / allowed, 1 denied or findings, 2 bad input, 3 incomplete)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO, cast

import orjson
import yaml

from scanner import __version__
from scanner.errors import AuditError, InputError
from scanner.textsafe import VisibleStream, one_line

log = logging.getLogger("scanner")

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INCOMPLETE, EXIT_INTERNAL = 0, 1, 2, 3, 4


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("b").rstrip("i")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 512M, 2G)") from None


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return n


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="manifest files, directories (recursive), '-' for stdin, or snapshots")
    p.add_argument("-n", "--namespace", default="default", metavar="NS",
                   help="namespace for namespaced objects that have none (default: %(default)s)")
    _limit_options(p)


def _limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-file-size", type=_size, default=1 << 30, metavar="SIZE",
                   help="refuse input files larger than this after decompression (default: 1G)")
    p.add_argument("--max-documents", type=_positive, default=500_000, metavar="N",
                   help="refuse files with more YAML documents than this (default: %(default)s)")
    p.add_argument("--max-depth", type=_positive, default=200, metavar="N",
                   help="refuse YAML or JSON nested deeper than this (default: %(default)s)")
    p.add_argument("--max-alias-nodes", type=_positive, default=None, metavar="N",
                   help="refuse a YAML document whose aliases expand it beyond N nodes (default: 100,000 or "
                   "4 per byte of the file, whichever is more)")


def _limits(args: argparse.Namespace) -> Any:
    from scanner.collect.files import Limits

    return Limits(args.max_file_size, args.max_documents, args.max_depth, args.max_alias_nodes)


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line (and exit 2), like every other error."""

    def error(self, message: str) -> Any:
        self.exit(2, f"netpol-audit: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _sub_parser(common: argparse.ArgumentParser) -> Any:
    class SubParser(_Parser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(*args, **kwargs)

    return SubParser


def _cluster_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("live cluster (instead of INPUT)")
    g.add_argument("--kubeconfig", metavar="FILE",
                   help="collect from this kubeconfig's cluster (default: $KUBECONFIG, then ~/.kube/config)")
    g.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current context)")
    g.add_argument("--in-cluster", action="store_true",
                   help="collect with the pod's service account (the default inside a pod when no INPUT is given)")
    g.add_argument("--cluster", action="store_true", help="collect from the current kubeconfig context")
    g.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="overall collection deadline; kinds not listed by then make the audit incomplete "
                        "(default: %(default)s)")
    g.add_argument("--max-response-size", type=_size, default=512 << 20, metavar="SIZE",
                   help="refuse an API response (one page of a list) larger than this; the kind is then not "
                        "collected and the audit incomplete (default: 512M)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netpol-audit",
        description="Kubernetes NetworkPolicy compliance and posture audit with exact reachability semantics.")
    parser.add_argument("--version", action="version", version=f"netpol-audit {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line and no warnings")
    # -v/-q also after the command name (netpol-audit scan -q ...)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_sub_parser(common))
    sub.required = True

    p = sub.add_parser("isolation", help="which pods are isolated for ingress and egress, and by which policies")
    _input_options(p)
    p.add_argument("-o", "--output", choices=["table", "json"], default="table")

    p = sub.add_parser("reach", help="may SRC connect to DST on a port, and why")
    _input_options(p)
    p.add_argument("--from", dest="src", metavar="SRC", help="namespace/pod, namespace/Kind/name or an IP")
    p.add_argument("--to", dest="dst", metavar="DST", help="namespace/pod, namespace/Kind/name or an IP")
    p.add_argument("--port", metavar="PORT", help="N, N/PROTO, or a port name of DST (TCP by default)")
    p.add_argument("--queries", metavar="FILE", help="YAML list of {from, to, port, protocol}")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")

    p = sub.add_parser("matrix", help="who may connect to whom, with the allowed ports")
    _input_options(p)
    p.add_argument("--level", choices=["namespace", "pod"], default="namespace")
    p.add_argument("-o", "--output", choices=["table", "json", "csv"], default="table")

    p = sub.add_parser("scan", help="evaluate every rule and framework, and write the results")
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="manifest files, directories (recursive), '-' for stdin, or snapshots; or a live cluster")
    _cluster_options(p)
    p.add_argument("-o", "--output-dir", metavar="DIR", help="write one file per --format into DIR")
    p.add_argument("--format", default=None, metavar="LIST",
                   help="comma-separated: json,sarif,junit,text,md,csv,html,pdf,policyreport (default: text on stdout; "
                        "with -o or --archive-dir: all)")
    p.add_argument("--framework", action="append", default=[], metavar="ID",
                   help="limit to these frameworks (repeatable or comma-separated; e.g. pci-dss,cis-kubernetes)")
    p.add_argument("--fail-on", choices=["critical", "high", "medium", "low", "info", "none"], default="high",
                   help="exit 1 when a finding at or above this severity fails (default: %(default)s)")
    p.add_argument("--config", metavar="FILE", help="scope, system namespaces, rule settings, waivers")
    p.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                   help="report only these namespaces (repeatable; with a live cluster, collect only them)")
    p.add_argument("--default-namespace", default="default", metavar="NS",
                   help="where namespaced objects without metadata.namespace are placed (default: %(default)s)")
    p.add_argument("--exclude-namespace", action="append", default=[], metavar="NS",
                   help="leave these namespaces (glob) out of the report (repeatable)")
    p.add_argument("--rules-dir", action="append", default=[], metavar="DIR", help="load extra rules from DIR")
    p.add_argument("--archive-dir", metavar="DIR",
                   help="scheduled runs: write the snapshot and every report (always the JSON result) into "
                        "DIR/<UTC time>/, keep --keep runs, point DIR/latest at the newest, and report the changes "
                        "since the previous run and the trend of the last --trend runs")
    p.add_argument("--keep", type=int, default=30, metavar="N", help="runs kept in --archive-dir (default: %(default)s)")
    p.add_argument("--trend", type=_positive, default=None, metavar="N",
                   help="with --archive-dir: the report's trend follows the last N runs, this one included "
                        "(default: 12)")
    p.add_argument("--previous", metavar="PATH",
                   help="compare with this earlier scan (a JSON result of scan, a snapshot or manifests) in the "
                        "result's drift and the report's 'Changes since last scan'; with --archive-dir the newest "
                        "archived run is the default")
    p.add_argument("--publish-policyreports", action="store_true",
                   help="live clusters: also server-side apply the results as wgpolicyk8s.io PolicyReports (needs "
                        "create/patch on policyreports; the only write netpol-audit ever makes)")
    p.add_argument("--fix-dir", metavar="DIR", help="write default-deny policies (with a DNS allow) for namespaces "
                   "failing NP002/NP003, after checking what they would change")
    p.add_argument("--timestamp", metavar="RFC3339", help="fix the run time (reproducible output); "
                   "SOURCE_DATE_EPOCH works too")
    p.add_argument("--requirements", metavar="FILE",
                   help="segmentation requirements (YAML allow/deny assertions, docs/requirements.md): each failing "
                        "one is an NP038 finding, each passing one is listed as segmentation evidence")
    p.add_argument("--observed-flows", metavar="FILE",
                   help="connections observed in flow logs (CSV or JSON, docs/observed-flows.md): allowed paths never "
                        "used are NP039 findings")
    _limit_options(p)

    p = sub.add_parser("diff", help="what changed between two scans: connections, findings, policies, posture")
    p.add_argument("old", metavar="OLD", help="the earlier side: a snapshot, manifests (file or directory) or a "
                   "JSON result of scan")
    p.add_argument("new", metavar="NEW", help="the later side, of the same kinds")
    p.add_argument("--format", choices=["text", "md", "json", "html"], default="text")
    p.add_argument("-o", "--output", default="-", metavar="FILE", help="file to write (default: stdout)")
    p.add_argument("--fail-on-new", choices=["critical", "high", "medium", "low", "info"], metavar="SEVERITY",
                   help="exit 1 when a finding at or above SEVERITY is new (or rose to it); exit 3 when a side is "
                   "incomplete")
    p.add_argument("--config", metavar="FILE", help="scope, rule settings and waivers for the sides that are scanned")
    p.add_argument("--default-namespace", default="default", metavar="NS",
                   help="where namespaced objects without metadata.namespace are placed (default: %(default)s)")
    p.add_argument("--rules-dir", action="append", default=[], metavar="DIR", help="load extra rules from DIR")
    _limit_options(p)

    p = sub.add_parser("report", help="re-render a JSON result (html, pdf, ...) without the cluster")
    p.add_argument("--from", dest="source", required=True, metavar="RESULT.json", help="a scan's JSON result")
    p.add_argument("--format", default="html", metavar="FORMAT", help="html, pdf, md, csv, sarif, junit, text, json")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write (- for stdout, not pdf)")

    p = sub.add_parser("rules", help="list the rule catalog")
    p.add_argument("-o", "--output", choices=["table", "md", "json"], default="table")
    p.add_argument("--rules-dir", action="append", default=[], metavar="DIR")

    p = sub.add_parser("snapshot", help="write a verifiable snapshot of the inputs, or verify one")
    p.add_argument("inputs", nargs="*", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="FILE", help="snapshot file to write (.json or .json.gz; - stdout)")
    p.add_argument("--verify", metavar="SNAPSHOT", help="check a snapshot's sha256 and exit (0 ok, 1 mismatch)")
    p.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                   help="live: collect only these namespaces (repeatable); files: where objects without a "
                        "namespace go (the first; default: default)")
    _cluster_options(p)
    _limit_options(p)
    return parser


def _progress(args: argparse.Namespace) -> Any:
    from scanner.progress import Progress

    return Progress(enabled=False) if args.quiet else Progress()


def _load(args: argparse.Namespace) -> Any:
    from scanner.api import load

    loaded = load(args.inputs, args.namespace, _limits(args), _progress(args))
    for w in loaded.raw.warnings:
        log.warning("%s", w)
    for kind, count in loaded.cluster.skipped_kinds.items():
        log.info("skipped %d object(s) of kind %s (not used by the analysis)", count, kind)
    return loaded


def _report_input_state(loaded: Any) -> int:
    """Print invalid policies and incomplete collection to stderr; the exit status they call for."""
    rc = EXIT_OK
    for p in (*loaded.cluster.invalid_policies, *loaded.cluster.invalid_admin_policies):
        name = f"NetworkPolicy {p.ref}" if p.namespace else p.ref  # a cluster-scoped one's ref names its kind
        for pr in p.problems:
            where = p.source.describe() if p.source else "input"
            print(one_line(f"netpol-audit: error: {where}: {name}: {pr.field}: {pr.reason} "
                           "(invalid: left out of the analysis)"), file=sys.stderr)
        rc = EXIT_INPUT
    admin = loaded.cluster.admin_policies
    if admin:
        listed = ", ".join(a.describe() for a in admin[:5]) + (f" and {len(admin) - 5} more" if len(admin) > 5 else "")
        print(one_line(f"netpol-audit: note: verdicts include {len(admin)} cluster-scoped policy object(s) in their "
                       f"tiers: {listed}"), file=sys.stderr)
    others = loaded.cluster.other_policies
    if others:
        listed = ", ".join(f"{o.kind} {o.namespace + '/' if o.namespace else ''}{o.name}" for o in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        print(f"netpol-audit: warning: the input holds {len(others)} policy object(s) of kinds these verdicts do "
              f"not model ({listed}{more}): verdicts for the pods they select may be wrong", file=sys.stderr)
    if not loaded.raw.collection.complete:
        _report_collection(loaded.raw)
        rc = rc or EXIT_INCOMPLETE
    return rc


def _report_collection(raw: Any) -> None:
    def where(x: dict[str, Any]) -> str:
        return f"{x.get('kind', '?')}{' in ' + x['namespace'] if x.get('namespace') else ''}"

    reasons = "; ".join(f"{where(x)}: {x.get('reason', '?')}" for x in raw.collection.problems)
    print(one_line(f"netpol-audit: warning: the collection is incomplete ({reasons or 'see the snapshot'}): "
                   "verdicts may be wrong"), file=sys.stderr)


def _json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def cmd_isolation(args: argparse.Namespace) -> int:
    from scanner import queries
    from scanner.render.tables import isolation_table

    loaded = _load(args)
    data = queries.isolation(loaded.index)
    print(_json(data) if args.output == "json" else isolation_table(data))
    return _report_input_state(loaded)


def _read_queries(path: str) -> list[Any]:
    from scanner.collect.files import Limits, read_bytes

    data = read_bytes(path, Limits(max_file_bytes=64 << 20))
    try:
        queries = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"invalid YAML: {where}{getattr(e, 'problem', None) or e}", file=path) from None
    if isinstance(queries, dict) and isinstance(queries.get("queries"), list):
        queries = queries["queries"]
    if not isinstance(queries, list):
        raise InputError("must be a YAML list of {from, to, port, protocol}", file=path)
    return queries


def cmd_reach(args: argparse.Namespace) -> int:
    from scanner import queries
    from scanner.engine.reach import parse_port, resolve, verdict
    from scanner.render.tables import side_by_side

    if args.queries:
        if args.src or args.dst or args.port:
            raise InputError("give either --queries or --from/--to/--port, not both", field="--queries")
        qs = _read_queries(args.queries)
        loaded = _load(args)
        results = []
        for i, q in enumerate(qs):
            try:
                results.append(queries.reach_one(loaded.index, q, f"query {i}"))
            except InputError as e:
                raise InputError(e.detail, file=args.queries, obj=e.obj, field=e.field) from None
        if args.output == "json":
            print(_json(results))
        else:
            for r in results:
                print(r["explanation"])
                print()
        return _report_input_state(loaded)
    missing = [f for f, v in (("--from", args.src), ("--to", args.dst), ("--port", args.port)) if not v]
    if missing:
        raise InputError(f"{', '.join(missing)} required (or --queries FILE)", field=missing[0])
    loaded = _load(args)
    src = resolve(loaded.index, args.src, "--from")
    dst = resolve(loaded.index, args.dst, "--to")
    proto, number, label = parse_port(args.port, None, dst, "--port")
    v = verdict(loaded.index, src, dst, proto, number, label)
    if args.output == "json":
        print(_json(queries.reach_one(loaded.index, {"from": args.src, "to": args.dst, "port": args.port},
                                      "--from/--to")))
    else:
        print(f"{'ALLOWED' if v.allowed else 'DENIED'}  {src.ref} -> {dst.ref} on {label}")
        if v.note:
            print(v.note)
        print()
        left = v.egress.lines() if v.egress else [f"egress: {src.ref} is an address outside the pod network: "
                                                   "no egress policy applies"]
        right = v.ingress.lines() if v.ingress else [f"ingress: {dst.ref} is an address outside the pod "
                                                      "network: no ingress policy applies"]
        print(side_by_side(left, right))
    state = _report_input_state(loaded)
    return state or (EXIT_OK if v.allowed else EXIT_FINDINGS)


def cmd_matrix(args: argparse.Namespace) -> int:
    from scanner import queries
    from scanner.render.tables import matrix_csv, matrix_table

    loaded = _load(args)
    data = queries.matrix(loaded.index, args.level)
    if args.output == "json":
        print(_json(data))
    elif args.output == "csv":
        sys.stdout.write(matrix_csv(data))
    else:
        print(matrix_table(data))
    return _report_input_state(loaded)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from scanner.collect import snapshot as snapshot_io
    from scanner.collect.files import Limits, read_bytes
    from scanner.parse import parse

    if args.verify:
        if args.inputs or args.output:
            raise InputError("--verify takes only the snapshot file", field="--verify")
        content = snapshot_io.load_document(read_bytes(args.verify, Limits(args.max_file_size)), args.verify)
        ok, recorded, computed = snapshot_io.verify(content)
        if ok:
            print(f"OK {args.verify}: sha256 {recorded} ({len(content.get('objects') or [])} objects, "
                  f"created {content.get('created_at')} by netpol-audit {content.get('tool_version')})")
            return EXIT_OK
        print(f"netpol-audit: FAILED {args.verify}: recorded sha256 {recorded or '(none)'} but the content "
              f"hashes to {computed}: the snapshot was changed after it was written", file=sys.stderr)
        return EXIT_FINDINGS
    if not args.output:
        raise InputError("-o FILE is required (.json, .json.gz, or - for stdout)", field="-o")
    raw = _collect_raw(args, list(args.namespace), _progress(args))
    cluster = parse(raw)  # refuse to keep evidence that cannot be analysed
    if not raw.collection.complete:
        _report_collection(raw)
    content = snapshot_io.build(raw)
    snapshot_io.write(content, args.output)
    if args.output != "-":
        print(f"wrote {args.output}: {len(raw.objects)} objects ({len(cluster.endpoints)} pods and templates, "
              f"{len(cluster.policies) + len(cluster.invalid_policies)} NetworkPolicies), sha256 "
              f"{content['sha256']}", file=sys.stderr)
    return EXIT_OK if raw.collection.complete else EXIT_INCOMPLETE


def _live_mode(args: argparse.Namespace) -> bool:
    """Collect from a cluster? Explicit flags, or no INPUT while running inside a pod."""
    import os

    explicit = bool(args.kubeconfig or args.context or args.in_cluster or args.cluster)
    if explicit and args.inputs:
        raise InputError("give INPUT files or a live cluster (--kubeconfig/--context/--cluster/--in-cluster), "
                         "not both", field="INPUT")
    if not explicit and not args.inputs:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(
                "/var/run/secrets/kubernetes.io/serviceaccount/token"):
            args.in_cluster = True
            return True
        raise InputError("give INPUT (manifests or a snapshot), or a cluster: --kubeconfig FILE, --cluster, "
                         "--in-cluster", field="INPUT")
    return explicit


def _collect_raw(args: argparse.Namespace, namespaces: list[str], progress: Any,
                 default_namespace: str | None = None) -> Any:
    from scanner.collect.files import load_files

    if _live_mode(args):
        from scanner.collect.live import collect

        return collect(args.kubeconfig, args.context, args.in_cluster, namespaces, args.timeout, progress,
                       max_response_bytes=args.max_response_size)
    default_ns = default_namespace or (namespaces[0] if namespaces else "default")
    return load_files(args.inputs, default_ns, _limits(args), progress)


def _catalog(rules_dirs: list[str]) -> Any:
    from pathlib import Path

    from scanner.catalog import load_catalog
    from scanner.resources import bundled

    return load_catalog([bundled("rules"), *(Path(d) for d in rules_dirs)])


def cmd_rules(args: argparse.Namespace) -> int:
    from scanner.render.catalog import render_rules

    print(render_rules(_catalog(args.rules_dir), args.output), end="")
    return EXIT_OK


def _run_time(args: argparse.Namespace) -> Any:
    import datetime as dt

    from scanner.collect.snapshot import now_utc

    if args.timestamp:
        try:
            t = dt.datetime.fromisoformat(args.timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{args.timestamp!r} is not an RFC 3339 time", field="--timestamp") from None
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    import os

    return now_utc() if os.environ.get("SOURCE_DATE_EPOCH") else None


def cmd_scan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scanner.config import load_config
    from scanner.engine import Index
    from scanner.mapping import load_frameworks
    from scanner.parse import parse
    from scanner.render import FORMATS, renderer, write_format
    from scanner.scan import ScanOptions, build_result

    formats = [f.strip() for f in (args.format or ("json,sarif,junit,text,md,csv,html,pdf,policyreport"
                                                    if args.output_dir or args.archive_dir else "text")).split(",")
               if f.strip()]
    for f in formats:
        if f not in FORMATS:
            raise InputError(f"unknown format {f!r} (one of {', '.join(FORMATS)})", field="--format")
    if args.archive_dir and args.output_dir:
        raise InputError("give -o DIR or --archive-dir DIR, not both", field="--archive-dir")
    if args.archive_dir and "json" not in formats:
        formats.append("json")  # the canonical record: the next run's drift and trend read it
    if args.trend is not None and not args.archive_dir:
        raise InputError("the trend follows the runs of an archive: give --archive-dir DIR", field="--trend")
    if not (args.output_dir or args.archive_dir) and (len(formats) > 1 or formats == ["pdf"]):
        raise InputError("several formats, or pdf, need -o DIR", field="--format")
    from scanner.bulk import bulk_load
    from scanner.phases import phase
    from scanner.resources import bundled

    with phase("catalog"):
        config = load_config(args.config)
        catalog = _catalog(args.rules_dir)
        frameworks = load_frameworks(bundled("rules") / "frameworks", set(catalog.rules))
    wanted = []
    for name in [n.strip() for item in args.framework for n in item.split(",") if n.strip()]:
        matches = [k for k in frameworks if k == name or k.startswith(name + "-") or k.startswith(name)]
        if not matches:
            raise InputError(f"unknown framework {name!r} (one of {', '.join(frameworks)}; a prefix such as "
                             "pci-dss also works)", field="--framework")
        wanted += matches
    if args.publish_policyreports and not _live_mode(args):
        raise InputError("PolicyReports are published to the cluster that was scanned: use with a live cluster",
                         field="--publish-policyreports")
    progress = _progress(args)
    with bulk_load():
        with phase("read input"):
            raw = _collect_raw(args, list(args.namespace), progress, getattr(args, "default_namespace", None))
        with phase("model"):
            cluster = parse(raw)
        for w in raw.warnings:  # after the model: it adds the duplicate-object warnings
            log.warning("%s", w)
        with phase("index"):
            index = Index(cluster, config.label_keys())
    for ip in cluster.invalid_policies:  # also NP026 findings; said here so a CI log shows them at once
        for pr in ip.problems:
            print(f"netpol-audit: warning: {ip.source.describe() if ip.source else 'input'}: NetworkPolicy "
                  f"{ip.ref}: {pr.field}: {pr.reason} (invalid: left out of the analysis, see NP026)",
                  file=sys.stderr)
    if not raw.collection.complete:
        _report_collection(raw)
    requirements = observed = None
    if args.requirements:
        from scanner.requirements import load_requirements

        requirements = load_requirements(args.requirements)
    if args.observed_flows:
        from scanner.flows import load_flows

        observed = load_flows(args.observed_flows)
    ctx = _context(raw, cluster, index, config, requirements, observed)
    opts = ScanOptions(frameworks=wanted, namespaces=list(args.namespace),
                       exclude_namespaces=list(args.exclude_namespace),
                       fail_on=args.fail_on, started_at=_run_time(args),
                       input_description=_input_description(raw))
    previous = None
    if args.previous:  # scanned with this run's options, so that only the cluster's changes show
        with phase("previous scan"):
            previous = _diff_side(args.previous, args, catalog, frameworks, config, opts, requirements, observed)
    result = build_result(ctx, catalog, frameworks, opts, progress)
    if args.fix_dir:
        from scanner.fix import remediate

        result["remediation"] = remediate(ctx, raw, result, args.fix_dir,
                                          lambda c: build_result(c, catalog, frameworks, opts))
    workloads = _current_workloads(args, ctx, result, previous)
    # Every output renders from the canonical JSON form, exactly as `report --from` does. JSON and SARIF are
    # order-independent (sorted keys, sorted lists) and render the same from the result as built, so when they
    # are all that is asked for the copy is skipped (tests/test_report.py holds both paths equal). The model
    # is no longer needed (only the raw snapshot, for the archive): free it first.
    del ctx, index, cluster
    if not args.archive_dir:
        del raw
    direct = bool(args.output_dir) and args.quiet and set(formats) <= {"json", "sarif"} and not (
        args.archive_dir or args.publish_policyreports or args.previous)
    if not direct:
        with phase("canonical form"):
            blob = orjson.dumps(result, option=orjson.OPT_SORT_KEYS)
            del result
            result = orjson.loads(blob)
            del blob
    if args.previous or args.archive_dir:  # before the archive is pruned
        with phase("drift and trend"):
            _drift_and_trend(args, result, previous, workloads, config)
        del previous, workloads
    if args.archive_dir:
        args.output_dir = _archive_run(args, raw, result)
    if args.output_dir:
        out = Path(args.output_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            for f in formats:
                progress.update(f"writing {f}")
                with phase(f"write {f}"):
                    write_format(f, result, str(out / f"netpol-audit.{FORMATS[f][1]}"))
            progress.done()
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror or e}", file=str(out)) from None
        if not args.quiet:
            print(renderer("text")(result))
            print(f"\nwrote {', '.join(str(out / f'netpol-audit.{FORMATS[f][1]}') for f in formats)}")
    else:
        text = renderer(formats[0])(result)
        print(text, end="" if text.endswith("\n") else "\n")
    if args.publish_policyreports:
        from scanner.publish import publish

        problems = publish(result, args.kubeconfig, args.context, args.in_cluster, list(args.namespace))
        for line in problems:
            print(f"netpol-audit: error: publishing PolicyReports: {line}", file=sys.stderr)
        if problems:
            return EXIT_INPUT
    summary = result["summary"]
    if summary["result"] == "incomplete":
        return EXIT_INCOMPLETE
    return EXIT_FINDINGS if summary["gating_findings"] else EXIT_OK


def _validate_result(result: Any, path: str) -> None:
    """One line naming the file and the JSON path of the first problem, for anything that is not a result."""
    import jsonschema

    from scanner.resources import result_schema

    if isinstance(result, dict) and result.get("schema_version") not in (None, 1):
        raise InputError(f"unsupported result schema_version {result.get('schema_version')!r} (this version "
                         "reads 1)", file=path, field="schema_version")
    schema = orjson.loads(result_schema().read_bytes())
    validator = jsonschema.Draft202012Validator(schema)
    error = next(iter(sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise InputError(f"not a valid netpol-audit result: {error.message[:200]}", file=path,
                         field=where or None)


def _archive_run(args: argparse.Namespace, raw: Any, result: dict[str, Any]) -> str:
    """Create DIR/<UTC time>/ with the snapshot, prune the oldest runs beyond --keep, update DIR/latest."""
    import os
    import shutil
    from pathlib import Path

    from scanner.collect import snapshot as snapshot_io
    from scanner.history import SNAPSHOT_FILE, is_run_dir, run_name

    if args.keep < 1:
        raise InputError("must be at least 1", field="--keep")
    base = Path(args.archive_dir)
    run = base / run_name(result["run"]["started_at"])
    try:
        run.mkdir(parents=True, exist_ok=True)
        snapshot_io.write(snapshot_io.build(raw), str(run / SNAPSHOT_FILE))
        runs = sorted(d for d in base.iterdir() if d.is_dir() and not d.is_symlink() and is_run_dir(d.name))
        for old in runs[: max(0, len(runs) - args.keep)]:
            shutil.rmtree(old)
        latest = base / "latest"
        tmp = base / ".latest.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run.name)
        os.replace(tmp, latest)
    except OSError as e:
        raise InputError(f"cannot write the archive: {e.strerror or e}", file=str(base)) from None
    return str(run)


def _current_workloads(args: argparse.Namespace, ctx: Any, result: dict[str, Any],
                       previous: Any) -> tuple[Any, str | None]:
    """This run's workload-level connections, while its model is still there, when there is something to
    compare them with: a `--previous` side that has them, or an archived run with its snapshot (computed only
    while cheap: `history.ARCHIVE_WORKLOAD_PAIRS`)."""
    from pathlib import Path

    from scanner import history
    from scanner.diff import workload_connections

    if previous is not None:
        if previous.workloads is None:
            return None, None
        return workload_connections(ctx)
    if not args.archive_dir:
        return None, None
    base = Path(args.archive_dir)
    earlier = history.earlier_runs(base, history.run_name(result["run"]["started_at"]))
    if not earlier:
        return None, None
    if not (base / earlier[-1] / history.SNAPSHOT_FILE).is_file():
        return None, f"not computed: the previous run's {history.SNAPSHOT_FILE} is not in the archive"
    workloads, note = workload_connections(ctx, history.ARCHIVE_WORKLOAD_PAIRS)
    return workloads, note and f"{note} (`netpol-audit diff` of the two archived snapshots computes it)"


def _drift_and_trend(args: argparse.Namespace, result: dict[str, Any], previous: Any,
                     workloads: tuple[Any, str | None], config: Any) -> None:
    """Add `drift` (from `--previous`, else the newest readable archived run) and, with an archive, `history`
    (the last --trend runs, this one last) to the canonical result."""
    from pathlib import Path

    from scanner import history
    from scanner.diff import Side

    started = result["run"]["started_at"]
    archive = history.Archive()
    name = None
    if args.archive_dir:
        name = history.run_name(started)
        archive = history.read_archive(Path(args.archive_dir), name, args.keep,
                                       args.trend or history.DEFAULT_TREND, _limits(args))
    current = Side("current", result, workloads[0], workloads[1], started)
    about: dict[str, Any] | None = None
    if previous is not None:
        previous.label = "previous"
        about = {"source": "file", "path": args.previous, "run": None}
    elif archive.previous is not None:
        before = archive.previous
        wl: Any = None
        note: str | None = workloads[1] or f"not computed: the previous run's {history.SNAPSHOT_FILE} is not in the archive"
        if workloads[0] is not None and before.snapshot is not None:
            wl, note = _archived_workloads(str(before.snapshot), args, config)
        previous = Side("previous", before.result, wl, note, before.result["run"].get("started_at"))
        about = {"source": "archive", "path": None, "run": before.run}
    result["drift"] = history.drift(previous, current, about, archive.skipped)
    if args.archive_dir:
        result["history"] = [*archive.entries, history.entry(result, name)]


def _archived_workloads(path: str, args: argparse.Namespace, config: Any) -> tuple[Any, str | None]:
    """The workload-level connections of an archived run, from its snapshot (not rescanned: only the model
    and the index are built). A snapshot that cannot be read leaves the drift at namespace level, with why."""
    import zlib

    from scanner.collect.files import load_files
    from scanner.diff import workload_connections
    from scanner.engine import Index
    from scanner.history import ARCHIVE_WORKLOAD_PAIRS
    from scanner.parse import parse
    from scanner.progress import Progress

    try:
        raw = load_files([path], args.default_namespace, _limits(args), Progress(enabled=False))
        cluster = parse(raw)
    except (AuditError, zlib.error) as e:  # zlib.error: a damaged gzip stream
        log.warning("archived snapshot %s: %s: the drift is at namespace level", path, e)
        return None, f"not computed: the previous run's snapshot could not be read ({one_line(str(e))[:200]})"
    ctx = _context(raw, cluster, Index(cluster, config.label_keys()), config)
    workloads, note = workload_connections(ctx, ARCHIVE_WORKLOAD_PAIRS)
    return workloads, note and f"{note} (`netpol-audit diff` of the two archived snapshots computes it)"


def cmd_report(args: argparse.Namespace) -> int:
    from scanner.collect.files import Limits, read_bytes
    from scanner.render import FORMATS, renderer, write_format

    if args.format not in FORMATS:
        raise InputError(f"unknown format {args.format!r} (one of {', '.join(FORMATS)})", field="--format")
    data = read_bytes(args.source, Limits())
    try:
        result = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e}", file=args.source) from None
    _validate_result(result, args.source)
    if args.output == "-":
        if args.format == "pdf":
            raise InputError("a PDF needs a file (-o FILE)", field="-o")
        sys.stdout.write(renderer(args.format)(result))
        return EXIT_OK
    try:
        write_format(args.format, result, args.output)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", file=args.output) from None
    return EXIT_OK


def _diff_side(path: str, args: argparse.Namespace, catalog: Any, frameworks: Any, config: Any,
               opts: Any = None, requirements: Any = None, observed: Any = None) -> Any:
    """One side of a diff (or `scan --previous`): a JSON result as it is, or input scanned here with `opts`
    (the scan's frameworks, namespaces and fail-on; defaults for `diff`)."""
    import dataclasses
    from pathlib import Path

    from scanner.collect import snapshot as snapshot_io
    from scanner.collect.files import load_files, read_bytes
    from scanner.diff import Side, load_result_document, workload_connections
    from scanner.engine import Index
    from scanner.parse import parse
    from scanner.scan import ScanOptions, build_result

    if Path(path).is_file():
        data = read_bytes(path, _limits(args))
        doc = None if snapshot_io.looks_like_snapshot(data) else load_result_document(data)
        del data
        if doc is not None:
            _validate_result(doc, path)
            return Side(path, doc, None, "a JSON result holds no workload-level connections: give snapshots for them",
                        doc["run"].get("started_at"))
    raw = load_files([path], args.default_namespace, _limits(args), _progress(args))
    cluster = parse(raw)
    for w in raw.warnings:
        log.warning("%s", w)
    ctx = _context(raw, cluster, Index(cluster, config.label_keys()), config, requirements, observed)
    result = build_result(ctx, catalog, frameworks, dataclasses.replace(
        opts or ScanOptions(), input_description=_input_description(raw)))
    result = orjson.loads(orjson.dumps(result, option=orjson.OPT_SORT_KEYS))
    workloads, note = workload_connections(ctx)
    return Side(path, result, workloads, note, raw.snapshot_created_at[0] if raw.snapshot_created_at else None)


def _context(raw: Any, cluster: Any, index: Any, config: Any, requirements: Any = None,
             observed_flows: Any = None) -> Any:
    """The rules' view of one loaded input (with the requirement and observed-flow files, when given)."""
    from scanner.context import Context
    from scanner.plugin import detect_plugin

    return Context(cluster, index, config, raw.source_type, raw.collection.complete,
                   tuple(raw.collection.problems), detect_plugin(cluster), requirements, observed_flows)


def _input_description(raw: Any) -> dict[str, Any]:
    return {"type": raw.source_type, "inputs": list(raw.inputs), "snapshot_sha256": list(raw.snapshot_sha256)}


def cmd_diff(args: argparse.Namespace) -> int:
    from scanner.config import load_config
    from scanner.diff import diff, new_at_or_above
    from scanner.mapping import load_frameworks
    from scanner.render.diff_out import render_diff
    from scanner.resources import bundled

    config = load_config(args.config)
    catalog = _catalog(args.rules_dir)
    frameworks = load_frameworks(bundled("rules") / "frameworks", set(catalog.rules))
    old = _diff_side(args.old, args, catalog, frameworks, config)
    new = _diff_side(args.new, args, catalog, frameworks, config)
    d = diff(old, new)
    text = render_diff(d, args.format)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror or e}", file=args.output) from None
    if d["incomplete"]:
        print(one_line(f"netpol-audit: warning: incomplete side(s): {', '.join(d['incomplete'])}: changes may be "
                       "artefacts of the missing data"), file=sys.stderr)
    if args.fail_on_new:
        if d["incomplete"]:
            return EXIT_INCOMPLETE
        if new_at_or_above(d, args.fail_on_new):
            return EXIT_FINDINGS
    return EXIT_OK


COMMANDS = {"isolation": cmd_isolation, "diff": cmd_diff, "reach": cmd_reach, "matrix": cmd_matrix, "snapshot": cmd_snapshot,
            "scan": cmd_scan, "rules": cmd_rules, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Everything written to stderr passes through `visible()`: messages quote names, file
    names and values from the input, and a terminal must not run what they hold."""
    real = sys.stderr
    sys.stderr = cast(TextIO, VisibleStream(real))
    try:
        return _main(argv)
    finally:
        sys.stderr = real


class _OneLineFormatter(logging.Formatter):
    """Log messages quote input (file names, fields): each stays one line; a -vv traceback still follows."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # "warning:" in lower case, like every other line the CLI prints
        lowered = logging.makeLogRecord({**record.__dict__, "levelname": record.levelname.lower()})
        return one_line(super().formatMessage(lowered))


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    root = logging.getLogger("scanner")
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("netpol-audit: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    try:
        return COMMANDS[args.command](args)
    except AuditError as e:
        print(f"netpol-audit: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("netpol-audit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except RecursionError:
        print("netpol-audit: error: the input is nested too deeply to analyse", file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:  # a bug: one line (never a traceback unless asked for) and a distinct status
        log.debug("internal error", exc_info=True)
        print(f"netpol-audit: internal error: {type(e).__name__}: {str(e)[:300]} (run with -vv for details; "
              "please report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
