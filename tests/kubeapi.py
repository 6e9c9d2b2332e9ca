"""A local Kubernetes API server for tests and benchmarks: the read side of the API, faithfully enough for the
official `kubernetes` client, which talks to it through a kubeconfig like to any cluster.

Serves discovery (/version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>), lists cluster-wide
and per namespace with `limit`, `continue` and `resourceVersion` (items without kind/apiVersion, as the real
server sends built-in kinds), GET of one Namespace, and `Status` errors. HTTPS with a bearer token or a client
certificate from a test CA (made with the `openssl` command), or plain HTTP.

Faults, per resource (`pods`, `deployments.apps`, `networkpolicies.crd.projectcalico.org`, as kubectl names
them): 403, a missing API group (404), 429 with Retry-After, 503, slow answers, continue tokens that expire
(410), responses cut short, invalid JSON, connections dropped without an answer, later pages of a list at another
resourceVersion than the first, bodies trickled a byte at a time (slowloris) and huge bodies (gigabytes of
generated JSON streamed in chunks, with or without Content-Length, never held in memory). Every request is
logged.

The server runs in a daemon thread on 127.0.0.1, stops when its `with` block ends, and stops by itself after
`lifetime` seconds in any case.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson


@dataclass(frozen=True)
class ResType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def key(self) -> str:
        """The resource as kubectl names it: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def builtin(self) -> bool:
        return self.group in BUILTIN_GROUPS


BUILTIN_GROUPS = frozenset({"", "apps", "batch", "networking.k8s.io", "apiextensions.k8s.io"})

TYPES: tuple[ResType, ...] = (
    ResType("", "v1", "namespaces", "Namespace", False),
    ResType("", "v1", "nodes", "Node", False),
    ResType("", "v1", "pods", "Pod", True),
    ResType("", "v1", "services", "Service", True),
    ResType("", "v1", "replicationcontrollers", "ReplicationController", True),
    ResType("", "v1", "secrets", "Secret", True),
    ResType("", "v1", "configmaps", "ConfigMap", True),
    ResType("apps", "v1", "deployments", "Deployment", True),
    ResType("apps", "v1", "statefulsets", "StatefulSet", True),
    ResType("apps", "v1", "daemonsets", "DaemonSet", True),
    ResType("apps", "v1", "replicasets", "ReplicaSet", True),
    ResType("batch", "v1", "jobs", "Job", True),
    ResType("batch", "v1", "cronjobs", "CronJob", True),
    ResType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ResType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    ResType("policy.networking.k8s.io", "v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", False),
    ResType("policy.networking.k8s.io", "v1alpha1", "baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy",
            False),
    ResType("policy.networking.k8s.io", "v1alpha2", "clusternetworkpolicies", "ClusterNetworkPolicy", False),
    ResType("crd.projectcalico.org", "v1", "networkpolicies", "NetworkPolicy", True),
    ResType("crd.projectcalico.org", "v1", "globalnetworkpolicies", "GlobalNetworkPolicy", False),
    ResType("projectcalico.org", "v3", "networkpolicies", "NetworkPolicy", True),
    ResType("projectcalico.org", "v3", "globalnetworkpolicies", "GlobalNetworkPolicy", False),
    ResType("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", True),
    ResType("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", False),
)
BY_KIND = {(t.group, t.kind): t for t in TYPES}
PREFERRED = {"policy.networking.k8s.io": "v1alpha1"}


@dataclass
class Faults:
    """What goes wrong, per resource key (ResType.key). Counters count down as faults are served."""

    forbidden: set[str] = field(default_factory=set)  # "pods" everywhere, "team-a/pods" in one namespace
    forbidden_namespaces: set[str] = field(default_factory=set)  # GET of these Namespaces: 403
    unauthorized: set[str] = field(default_factory=set)  # lists answered 401 (credentials revoked meanwhile)
    tenant_namespaces: set[str] | None = None  # when set: only these namespaces, no cluster-wide list
    missing_groups: set[str] = field(default_factory=set)  # not in discovery; every path below: 404
    too_many: Counter[str] = field(default_factory=Counter)  # the next N requests: 429
    retry_after: str = "1"
    unavailable: Counter[str] = field(default_factory=Counter)  # the next N requests: 503 (no Retry-After)
    slow: dict[str, float] = field(default_factory=dict)  # delay before every answer
    expire: Counter[str] = field(default_factory=Counter)  # the next N continue tokens presented: 410
    truncate: Counter[str] = field(default_factory=Counter)  # the next N answers: cut in half, then closed
    invalid_json: Counter[str] = field(default_factory=Counter)  # the next N answers: half the JSON, complete HTTP
    drop: Counter[str] = field(default_factory=Counter)  # the next N continue requests: connection reset
    drop_first_page: bool = False  # `drop` applies to first pages too
    rv_change: Counter[str] = field(default_factory=Counter)  # the next N continue pages: another resourceVersion
    trickle: dict[str, float] = field(default_factory=dict)  # every answer: one byte of the body per this many s
    huge: dict[str, int] = field(default_factory=dict)  # every answer: a generated list body of this many bytes
    huge_announced: bool = True  # `huge` with its Content-Length; otherwise chunked, its size unknown in advance


def _token(rv: int, start: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def _untoken(token: str) -> tuple[int, int] | None:
    try:
        d = json.loads(base64.b64decode(token, validate=True))
        return int(d["rv"]), int(d["start"])
    except (ValueError, KeyError, TypeError):
        return None


def status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": extra.pop("metadata", {}), "status": "Failure",
            "message": message, "reason": reason, "code": code, **extra}


class KubeAPI:
    """The server. `objects` are full manifests (dicts with apiVersion, kind, metadata)."""

    def __init__(self, objects: Iterable[dict[str, Any]] = (), *, tls: bool = True, pki: Pki | None = None,
                 token: str | None = "test-token", faults: Faults | None = None,
                 groups: Iterable[str] = (), lifetime: float = 120.0, server_fields: bool = True,
                 policy_reports: bool = False) -> None:
        if tls and pki is None:
            raise ValueError("TLS needs a Pki (make_pki)")
        self.tls = tls
        self.pki = pki
        self.token = token
        self.faults = faults or Faults()
        self.lifetime = lifetime
        self.requests: list[tuple[str, str]] = []  # (path, query) of every request, authenticated or not
        self.errors: list[str] = []  # tracebacks of the server's own failures (a test should find none)
        self.huge_sent: list[int] = []  # bytes of each `huge` body written before it ended or the client left
        self.rv = 1000
        self.store: dict[ResType, list[dict[str, Any]]] = {t: [] for t in TYPES}
        self.served_groups = {t.group for t in TYPES if t.builtin} | set(groups)
        self.pages: dict[tuple[str, int, int], bytes] = {}  # pre-serialised pages (benchmarks)
        self.policy_reports = policy_reports  # the PolicyReport CRDs are installed: server-side apply works
        self.applied: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        for obj in objects:
            self.add(obj, server_fields=server_fields)

    # ----- the cluster

    def add(self, obj: dict[str, Any], server_fields: bool = True) -> dict[str, Any]:
        """Store a copy of `obj`, with the fields the API server sets (uid, resourceVersion, ...)."""
        group = obj["apiVersion"].rpartition("/")[0] if "/" in obj["apiVersion"] else ""
        t = BY_KIND[(group, obj["kind"])]
        stored = copy.deepcopy(obj)
        stored["apiVersion"] = t.group_version
        self.rv += 1
        if server_fields:
            md = stored.setdefault("metadata", {})
            md.setdefault("uid", f"00000000-0000-4000-8000-{self.rv:012d}")
            md["resourceVersion"] = str(self.rv)
            md.setdefault("creationTimestamp", "2026-11-01T00:00:00Z")
            md.setdefault("managedFields", [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                                             "time": "2026-11-01T00:00:00Z", "fieldsType": "FieldsV1",
                                             "fieldsV1": {"f:metadata": {"f:labels": {}}}}])
        if t.namespaced:
            stored["metadata"].setdefault("namespace", "default")
        self.store[t].append(stored)
        if not t.builtin:
            self.served_groups.add(t.group)
        return stored

    def objects(self) -> list[dict[str, Any]]:
        """Every stored object, as served (with apiVersion and kind)."""
        return [o for t in TYPES for o in self.store[t]]

    def items(self, t: ResType, namespace: str | None) -> list[dict[str, Any]]:
        objs = self.store[t]
        if namespace is not None:
            objs = [o for o in objs if o["metadata"].get("namespace") == namespace]
        return sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def prepare(self, limit: int) -> int:
        """Serialise every cluster-wide list in pages of `limit` once (what benchmarks time is the client)."""
        n = 0
        for t in TYPES:
            if t.group in self.served_groups:
                items = self.items(t, None)
                for start in range(0, max(1, len(items)), limit):
                    self.pages[(self._list_path(t, None), limit, start)] = self._page(t, items, start, limit,
                                                                                     self.rv)
                    n += 1
        return n

    def prepare_pages(self, t: ResType, items: Iterator[dict[str, Any]], total: int, limit: int) -> int:
        """Serialise one list in pages from an iterator, keeping only the bytes (for clusters too big to hold
        as dicts). `total` is the number of items the iterator yields."""
        path = self._list_path(t, None)
        start = 0
        batch: list[dict[str, Any]] = []
        size = 0
        for item in items:
            batch.append(item)
            if len(batch) == limit:
                body = self._page_of(t, batch, start, start + limit < total, total - start - limit, self.rv)
                self.pages[(path, limit, start)] = body
                size += len(body)
                start += limit
                batch = []
        if batch or start == 0:
            body = self._page_of(t, batch, start, False, 0, self.rv)
            self.pages[(path, limit, start)] = body
            size += len(body)
        return size

    # ----- lifecycle

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> KubeAPI:
        api = self
        ctx = None
        if self.tls:
            assert self.pki is not None
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.pki.server_cert, self.pki.server_key)
            ctx.load_verify_locations(self.pki.ca_cert)
            ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, or a bearer token

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 64

            def get_request(self) -> tuple[Any, Any]:
                sock, addr = self.socket.accept()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go servers do
                if ctx is not None:
                    sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, addr

            def handle_error(self, request: Any, client_address: Any) -> None:
                exc = sys.exc_info()[1]
                if not isinstance(exc, OSError):  # resets and TLS failures are part of the tests; bugs are not
                    api.errors.append(traceback.format_exc())
                    traceback.print_exc()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 20  # idle keep-alive connections end
            server_version = "kubeapi-test"

            def setup(self) -> None:
                super().setup()
                if isinstance(self.connection, ssl.SSLSocket):
                    self.connection.settimeout(10)
                    self.connection.do_handshake()
                    self.connection.settimeout(self.timeout)

            def do_GET(self) -> None:
                api.handle(self)

            def do_PATCH(self) -> None:
                api.handle_apply(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kubeapi", daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def __enter__(self) -> KubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- kubeconfig

    def kubeconfig(self, path: Path, *, token: str | None = None, client_cert: bool = False,
                   context: str = "test", namespace: str | None = None,
                   extra_contexts: Iterable[str] = ()) -> str:
        """Write a kubeconfig for this server (the token given, or this server's; or the client certificate)."""
        user: dict[str, Any] = {}
        if client_cert:
            assert self.pki is not None
            user = {"client-certificate": str(self.pki.client_cert), "client-key": str(self.pki.client_key)}
        else:
            user = {"token": token if token is not None else self.token}
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            assert self.pki is not None
            cluster["certificate-authority"] = str(self.pki.ca_cert)
        ctx: dict[str, Any] = {"cluster": "test-cluster", "user": "test-user"}
        if namespace:
            ctx["namespace"] = namespace
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
            "clusters": [{"name": "test-cluster", "cluster": cluster}],
            "users": [{"name": "test-user", "user": user}],
            "contexts": [{"name": c, "context": ctx} for c in (context, *extra_contexts)],
        }
        path.write_text(json.dumps(doc, indent=1))
        return str(path)

    # ----- requests

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append((parts.path, parts.query))
        if not self._authenticated(h):
            return self._send(h, 401, status(401, "Unauthorized", "Unauthorized"))
        seg = [unquote(s) for s in parts.path.strip("/").split("/")] if parts.path.strip("/") else []
        if seg == ["version"]:
            return self._send(h, 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-kubeapi-test"})
        if seg == ["api"]:
            return self._send(h, 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})
        if seg == ["apis"]:
            return self._send(h, 200, {"kind": "APIGroupList", "apiVersion": "v1",
                                       "groups": [self._group(g) for g in self._groups()]})
        if seg[:1] == ["api"] and seg[1:2] == ["v1"]:
            group, version, rest = "", "v1", seg[2:]
        elif seg[:1] == ["apis"] and len(seg) >= 2:
            group = seg[1]
            if group not in self._groups():
                return self._not_found(h)
            if len(seg) == 2:
                return self._send(h, 200, {"kind": "APIGroup", "apiVersion": "v1", **self._group(group)})
            version, rest = seg[2], seg[3:]
        else:
            return self._not_found(h)
        types = [t for t in TYPES if t.group == group and t.version == version]
        if not types:
            return self._not_found(h)
        if not rest:
            return self._send(h, 200, {"kind": "APIResourceList", "apiVersion": "v1",
                                       "groupVersion": types[0].group_version, "resources": [
                                           {"name": t.plural, "singularName": t.kind.lower(),
                                            "namespaced": t.namespaced, "kind": t.kind,
                                            "verbs": ["get", "list", "watch"]} for t in types]})
        namespace: str | None = None
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if group == "" and len(rest) == 2 and rest[0] == "namespaces":
            return self._get_namespace(h, rest[1])
        t = next((t for t in types if [t.plural] == rest), None)
        if t is None or (namespace is not None and not t.namespaced):
            return self._not_found(h)
        return self._list(h, t, namespace, query)

    def handle_apply(self, h: BaseHTTPRequestHandler) -> None:
        """Server-side apply of PolicyReports: recorded in `self.applied`; 404 unless `policy_reports`."""
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        with self._lock:
            self.requests.append((parts.path, parts.query))
        if not self._authenticated(h):
            return self._send(h, 401, status(401, "Unauthorized", "Unauthorized"))
        if not parts.path.startswith("/apis/wgpolicyk8s.io/v1alpha2/") or not self.policy_reports:
            return self._not_found(h)
        if h.headers.get("Content-Type") != "application/apply-patch+yaml":
            return self._send(h, 415, status(415, "UnsupportedMediaType", "apply-patch expected"))
        doc = json.loads(body)
        with self._lock:
            self.applied.append((parts.path, parse_qs(parts.query), doc))
        return self._send(h, 200, doc)

    def _authenticated(self, h: BaseHTTPRequestHandler) -> bool:
        if isinstance(h.connection, ssl.SSLSocket) and h.connection.getpeercert():
            return True  # verified against the test CA
        scheme, _, value = (h.headers.get("Authorization") or "").partition(" ")
        return self.token is not None and scheme.lower() == "bearer" and value.strip() == self.token

    def _groups(self) -> list[str]:
        return sorted(g for g in self.served_groups if g and g not in self.faults.missing_groups)

    def _group(self, g: str) -> dict[str, Any]:
        versions = sorted({t.version for t in TYPES if t.group == g})
        preferred = PREFERRED.get(g, versions[0])
        return {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in versions],
                "preferredVersion": {"groupVersion": f"{g}/{preferred}", "version": preferred}}

    def _not_found(self, h: BaseHTTPRequestHandler) -> None:
        self._send(h, 404, status(404, "NotFound", "the server could not find the requested resource",
                                  details={}))

    def _take(self, counter: Counter[str], key: str) -> bool:
        with self._lock:
            if counter.get(key, 0) > 0:
                counter[key] -= 1
                return True
        return False

    def _get_namespace(self, h: BaseHTTPRequestHandler, name: str) -> None:
        f = self.faults
        if name in f.forbidden_namespaces or (f.tenant_namespaces is not None and name not in f.tenant_namespaces):
            return self._send(h, 403, status(403, "Forbidden", f'namespaces "{name}" is forbidden: User '
                                             f'"tenant" cannot get resource "namespaces" in API group "" in the '
                                             f'namespace "{name}"', details={"name": name, "kind": "namespaces"}))
        t = BY_KIND[("", "Namespace")]
        for o in self.store[t]:
            if o["metadata"]["name"] == name:
                return self._send(h, 200, o)
        return self._send(h, 404, status(404, "NotFound", f'namespaces "{name}" not found',
                                         details={"name": name, "kind": "namespaces"}))

    def _list_path(self, t: ResType, namespace: str | None) -> str:
        base = f"/apis/{t.group}/{t.version}" if t.group else "/api/v1"
        return f"{base}/namespaces/{namespace}/{t.plural}" if namespace else f"{base}/{t.plural}"

    def _list(self, h: BaseHTTPRequestHandler, t: ResType, namespace: str | None,
              query: dict[str, list[str]]) -> None:
        f = self.faults
        key = t.key
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        if key in f.unauthorized:
            return self._send(h, 401, status(401, "Unauthorized", "Unauthorized"))
        if (key in f.forbidden or f"{namespace}/{key}" in f.forbidden
                or (f.tenant_namespaces is not None and (namespace is None or namespace not in f.tenant_namespaces))):
            return self._send(h, 403, status(403, "Forbidden", f'{key} is forbidden: User "tenant" cannot list '
                                             f'resource "{t.plural}" in API group "{t.group}" {scope}',
                                             details={"group": t.group, "kind": t.plural}))
        if self._take(f.too_many, key):
            return self._send(h, 429, status(429, "TooManyRequests", "Too many requests, please try again later.",
                                             details={"retryAfterSeconds": 1}),
                              headers={"Retry-After": f.retry_after})
        if self._take(f.unavailable, key):
            return self._send(h, 503, status(503, "ServiceUnavailable", "the server is currently unable to "
                                             "handle the request"))
        if key in f.slow:
            time.sleep(f.slow[key])
        limit = int(query.get("limit", ["0"])[0] or 0)
        cont = query.get("continue", [""])[0]
        rv, start = self.rv, 0
        if cont:
            parsed = _untoken(cont)
            if parsed is None:
                return self._send(h, 400, status(400, "BadRequest", "continue key is not valid: illegal base64 "
                                                 "data"))
            rv, start = parsed
            if self._take(f.rv_change, key):
                rv += 1  # as if the pages came from another snapshot
            if self._take(f.expire, key):
                return self._send(h, 410, status(
                    410, "Expired", "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the continue token "
                    "in this response to retrieve the remainder of the results. Continuing with the provided "
                    "token results in an inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in the list.",
                    metadata={"continue": _token(self.rv, start)}))
        if (cont or f.drop_first_page) and self._take(f.drop, key):
            return self._reset(h)
        if key in f.huge:
            return self._send_huge(h, t, f.huge[key], f.huge_announced)
        path = self._list_path(t, namespace)
        body = self.pages.get((path, limit, start))
        if body is None:
            items = self.items(t, namespace)
            body = self._page(t, items, start, limit or len(items) or 1, rv)
        if self._take(f.truncate, key):
            return self._send_raw(h, 200, body[: len(body) // 2], length=len(body), close=True)
        if self._take(f.invalid_json, key):
            return self._send_raw(h, 200, body[: len(body) // 2])
        if key in f.trickle:
            return self._send_trickle(h, body, f.trickle[key])
        return self._send_raw(h, 200, body)

    def _page(self, t: ResType, items: list[dict[str, Any]], start: int, limit: int, rv: int) -> bytes:
        chunk = items[start:start + limit]
        more = start + limit < len(items)
        return self._page_of(t, chunk, start, more, len(items) - start - limit, rv)

    def _page_of(self, t: ResType, chunk: list[dict[str, Any]], start: int, more: bool, remaining: int,
                 rv: int) -> bytes:
        if t.builtin:  # built-in lists leave kind and apiVersion out of their items
            chunk = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in chunk]
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if more:
            md["continue"] = _token(rv, start + len(chunk))
            md["remainingItemCount"] = remaining
        return orjson.dumps({"kind": f"{t.kind}List", "apiVersion": t.group_version, "metadata": md,
                             "items": chunk})

    # ----- writing

    def _send(self, h: BaseHTTPRequestHandler, code: int, doc: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._send_raw(h, code, orjson.dumps(doc), headers=headers)

    def _send_raw(self, h: BaseHTTPRequestHandler, code: int, body: bytes, *, length: int | None = None,
                  close: bool = False, headers: dict[str, str] | None = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.send_header("Audit-Id", f"test-{len(self.requests)}")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if close:
            h.send_header("Connection", "close")
        h.end_headers()
        try:
            h.wfile.write(body)
        except OSError:
            h.close_connection = True
        if close:
            h.close_connection = True

    def _send_trickle(self, h: BaseHTTPRequestHandler, body: bytes, interval: float) -> None:
        """The headers at once, then the body one byte per `interval` seconds until the client goes away."""
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.close_connection = True
        try:
            for i in range(len(body)):
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass

    def _send_huge(self, h: BaseHTTPRequestHandler, t: ResType, size: int, announced: bool) -> None:
        """A valid `size`-byte list body (padded with spaces to the exact length), generated and written in 1 MiB
        pieces until written or the client goes away: the server never holds more than one piece."""
        head = orjson.dumps({"kind": f"{t.kind}List", "apiVersion": t.group_version,
                             "metadata": {"resourceVersion": str(self.rv)}})[:-1] + b',"items":['
        item = b'{"metadata":{"name":"x","namespace":"default"}},'
        piece = item * ((1 << 20) // len(item))
        tail = b'{"metadata":{"name":"y","namespace":"default"}}]}'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if announced:
            h.send_header("Content-Length", str(size))
        else:
            h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.close_connection = True

        sent = 0

        def write(data: bytes) -> None:
            nonlocal sent
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if not announced else data)
            sent += len(data)

        try:
            write(head)
            left = size - len(head) - len(tail)
            while left >= len(piece):
                write(piece)
                left -= len(piece)
            k = left // len(item)  # the rest: whole items, then spaces
            if k:
                write(item * k)
            if left - k * len(item):
                write(b" " * (left - k * len(item)))
            write(tail)
            if not announced:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        with self._lock:
            self.huge_sent.append(sent)

    def _reset(self, h: BaseHTTPRequestHandler) -> None:
        """Drop the connection without an answer (a TCP reset)."""
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# ----- test PKI


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing here (verification must fail against it)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(directory: Path) -> Pki:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256), with `openssl`."""
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                 "-subj", f"/CN=netpol-audit {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=clientAuth\n")
    for name, subj in (("server", "/CN=kube-apiserver"), ("client", "/O=system:masters/CN=netpol-audit")):
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return Pki(d / "ca.crt", d / "ca.key", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key",
               d / "other-ca.crt")
