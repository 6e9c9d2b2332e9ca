"""Live collection: list the kinds the analysis needs from a cluster's API server into one raw snapshot.

Owns talking to the API server (through the official `kubernetes` client: kubeconfig, context, in-cluster
service account), discovery of the optional policy APIs, paginated lists (`limit`/`continue`), retries with
backoff, timeouts and the overall deadline, and an honest record of what could not be collected
(`RawSnapshot.collection`). Each page is parsed with orjson and each item projected at once
(`scanner.collect.project`), so memory follows the snapshot, not the size of the API responses; the client's
model classes are never used for lists. It never asks for Secrets or ConfigMaps, never records credentials,
and must not interpret objects: that belongs to `scanner.parse`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson

from scanner import __version__
from scanner.bulk import bulk_load
from scanner.collect import CollectionStatus, RawObject, RawSnapshot
from scanner.collect.project import CLUSTER, project, scope_of
from scanner.errors import CollectionError
from scanner.progress import Progress

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 60.0  # seconds, one request (connect and the whole response), within the overall deadline
MAX_ATTEMPTS = 5  # per request: the first try and up to four retries
MAX_RESTARTS = 3  # of one list whose continue token expired (410 Gone) or whose resourceVersion changed
# The largest response body read, in bytes (one page of a list, or one discovery document): a bigger one, announced
# by Content-Length or streamed, is refused unread or stops being read at the limit, and the kind is recorded as not
# collected, not retried. Real pages of `limit` objects are a few MiB; the cap bounds memory against a broken or
# hostile server. `collect(max_response_bytes=...)` overrides it; the default is read when `collect` is called.
MAX_RESPONSE_BYTES = 512 << 20
BACKOFF_BASE = 0.25  # seconds; doubles with each retry, with jitter
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0
_READ_CHUNK = 1 << 20
_ERROR_BODY_LIMIT = 64 << 10
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Resource:
    """One list endpoint: a kind served by an API group/version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    advisory: bool = False  # a failure to list it is a warning, not an incomplete collection

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """The kind as problems name it: `Pod`, or `NetworkPolicy.crd.projectcalico.org` for plugin groups."""
        return self.kind if self.group in BUILTIN_GROUPS else f"{self.kind}.{self.group}"

    def path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"
        if namespace is not None:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{base}/{self.plural}"


BUILTIN_GROUPS = frozenset({"", "apps", "batch", "networking.k8s.io", "apiextensions.k8s.io"})

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
# Always listed, in this order: policies first, pods (the bulk) last, so a deadline costs the least.
FIXED: tuple[Resource, ...] = (
    NAMESPACES,
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    Resource("", "v1", "services", "Service", True),
    Resource("", "v1", "nodes", "Node", False),
    Resource("apps", "v1", "deployments", "Deployment", True),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True),
    Resource("", "v1", "replicationcontrollers", "ReplicationController", True),
    Resource("batch", "v1", "jobs", "Job", True),
    Resource("batch", "v1", "cronjobs", "CronJob", True),
    Resource("", "v1", "pods", "Pod", True),
)
# Names and groups only, for plugin detection; not part of any verdict.
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                advisory=True)
# Listed only when discovery shows the group serving the kind (any version, the preferred one first).
OPTIONAL: dict[str, tuple[str, ...]] = {
    "policy.networking.k8s.io": ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"),
    "crd.projectcalico.org": ("NetworkPolicy", "GlobalNetworkPolicy"),
    "projectcalico.org": ("NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy",
                          "StagedGlobalNetworkPolicy"),
    "cilium.io": ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"),
}


class _Failed(Exception):
    """One request (after its retries) or one list failed; `reason` is the line recorded as the problem."""

    def __init__(self, reason: str, status: int | None = None, *, fatal: bool = False,
                 deadline: bool = False, retry_after: float | None = None, retry: bool = True,
                 restart: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.fatal = fatal  # not worth retrying (TLS): the server cannot be used
        self.deadline = deadline  # the overall deadline ended it
        self.retry_after = retry_after  # seconds the server asked us to wait (429, 503)
        self.retry = retry  # False: the same request would fail the same way (a response over the size limit)
        self.restart = restart  # the list is not one consistent snapshot: start it again, like after a 410


@dataclass(slots=True)
class _Stats:
    objects: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0


@dataclass(slots=True)
class _Session:
    """Requests with per-request timeouts, retries and the overall deadline. One thread."""

    client: Any  # kubernetes.client.ApiClient
    host: str
    timeout: float
    deadline: float
    request_timeout: float
    max_attempts: int
    max_response_bytes: int = MAX_RESPONSE_BYTES
    stats: _Stats = field(default_factory=_Stats)
    sleep: Callable[[float], None] = time.sleep

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def out_of_time(self) -> _Failed:
        return _Failed(f"not collected: the overall timeout of {self.timeout:g}s was reached", deadline=True)

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        """The decoded JSON body of a GET, retrying what may pass (429, 5xx, resets, timeouts, bad bodies)."""
        attempt = 0
        while True:
            attempt += 1
            remaining = self.remaining()
            if remaining <= 0:
                raise self.out_of_time()
            try:
                body = self._get(path, query, min(self.request_timeout, remaining))
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError as e:
                    raise _Failed(f"invalid JSON in the response ({len(body)} bytes): {e}") from None
            except _Failed as e:
                if e.fatal or e.deadline or not e.retry or (e.status is not None and e.status not in _RETRY_STATUS):
                    raise
                if self.remaining() <= 0:  # the deadline cut the request short
                    raise _Failed(f"{e.reason}: the overall timeout of {self.timeout:g}s was reached", e.status,
                                  deadline=True) from None
                failure = e
            if attempt >= self.max_attempts:
                raise _Failed(f"{failure.reason} (gave up after {attempt} attempts)", failure.status)
            if failure.retry_after is not None:
                delay = failure.retry_after + random.uniform(0, 0.1)
            else:
                delay = _backoff(attempt)
            if delay >= self.remaining():
                raise _Failed(f"{failure.reason}; not retried: the overall timeout of {self.timeout:g}s would "
                              "pass first", failure.status, deadline=True)
            log.info("GET %s: %s; retrying in %.2fs (attempt %d of %d)", path, failure.reason, delay, attempt + 1,
                     self.max_attempts)
            self.stats.retries += 1
            self.sleep(delay)

    def _get(self, path: str, query: list[tuple[str, Any]] | None, limit: float) -> bytes:
        import urllib3.exceptions as ux
        from kubernetes.client.exceptions import ApiException

        self.stats.requests += 1
        started = time.monotonic()
        request = self.client.param_serialize(method="GET", resource_path=path, query_params=query or None,
                                              header_params={"Accept": "application/json"},
                                              auth_settings=["BearerToken"])
        response = None
        complete = False
        try:
            response = self.client.call_api(*request, _request_timeout=limit).response
            status = int(response.status)
            if not 200 <= status <= 299:
                raise _status_failure(status, response, _read_capped(response, _ERROR_BODY_LIMIT))
            cap = self.max_response_bytes
            announced = _content_length(response)
            if announced is not None and announced > cap:
                raise _Failed(f"response too large: {announced} bytes announced, over the limit of {cap} bytes "
                              "per response; not read", retry=False)
            chunks = []
            size = 0
            while True:
                if time.monotonic() - started > limit:
                    raise _Failed(f"timed out after {limit:.3g}s reading the response")
                chunk = response.read1(min(_READ_CHUNK, cap + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise _Failed(f"response too large: over the limit of {cap} bytes per response; stopped "
                                  "reading it", retry=False)
                chunks.append(chunk)
            complete = True
            return b"".join(chunks)
        except ApiException as e:  # the client turns TLS failures into status 0
            raise _Failed(f"TLS error talking to {self.host}: {_one_line(str(e.reason))}", fatal=True) from None
        except ux.MaxRetryError as e:  # urllib3 wraps connection failures when retries are exhausted
            raise _transport_failure(e.reason or e, limit, self.host) from None
        except (ux.HTTPError, OSError) as e:
            raise _transport_failure(e, limit, self.host) from None
        finally:
            if response is not None:
                if not complete:  # never hand a connection with unread bytes back to the pool
                    response.close()
                response.release_conn()


def _content_length(response: Any) -> int | None:
    try:
        value = int(response.headers.get("Content-Length") or "")
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def _read_capped(response: Any, cap: int) -> bytes:
    try:
        return bytes(response.read(cap))
    except Exception:  # the status is what matters; the body only adds to the message
        return b""


def _status_failure(status: int, response: Any, body: bytes) -> _Failed:
    message = ""
    try:
        doc = orjson.loads(body)
        if isinstance(doc, dict):
            message = str(doc.get("message") or doc.get("reason") or "")
    except orjson.JSONDecodeError:
        message = body[:200].decode("utf-8", "replace").strip()
    phrase = str(getattr(response, "reason", "") or "")
    text = f"HTTP {status}{' ' + phrase if phrase else ''}"
    if status == 404 and not message:
        message = "the server could not find the requested resource"
    retry_after = _retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
    return _Failed(f"{text}: {_one_line(message)}" if message else text, status, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return float(max(0.0, min(seconds, RETRY_AFTER_CAP)))


def _transport_failure(e: BaseException, limit: float, host: str) -> _Failed:
    import ssl

    import urllib3.exceptions as ux

    if isinstance(e, ux.SSLError | ssl.SSLError):
        return _Failed(f"TLS error talking to {host}: {_one_line(str(e))}", fatal=True)
    if isinstance(e, ux.NewConnectionError | ConnectionRefusedError):  # before timeouts: urllib3 makes it one
        return _Failed(f"cannot connect to {host}: {_one_line(str(e))}")
    if isinstance(e, ux.TimeoutError | TimeoutError):
        return _Failed(f"timed out after {limit:.3g}s")
    if isinstance(e, ux.ProtocolError) and "IncompleteRead" in str(e):
        return _Failed("truncated response: the connection closed before the announced length was read")
    return _Failed(f"connection failed: {_one_line(str(e))}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _backoff(attempt: int) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


@dataclass(slots=True)
class _Collector:
    session: _Session
    namespaces: list[str]
    page_size: int
    progress: Progress
    snap: RawSnapshot
    kinds_done: int = 0
    kinds_total: int = 0
    first_request: bool = True
    strings: dict[str, str] = field(default_factory=dict)

    # ----- problems

    def problem(self, res: Resource | str, namespace: str | None, reason: str) -> None:
        label = res if isinstance(res, str) else res.label
        where = f" in namespace {namespace}" if namespace else ""
        if isinstance(res, Resource) and res.advisory:
            self.snap.warnings.append(f"cluster: {label}{where} not collected ({reason}); plugin detection "
                                      "cannot use them")
            log.info("%s%s not collected: %s", label, where, reason)  # the CLI prints the warnings
            return
        self.snap.collection.complete = False
        entry: dict[str, Any] = {"kind": label, "namespace": namespace, "reason": reason}
        self.snap.collection.problems.append(entry)
        log.info("%s%s not collected completely: %s", label, where, reason)  # the CLI reports problems

    def request(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        """`session.get_json`, turning a failure of the very first request into a CollectionError."""
        first, self.first_request = self.first_request, False
        try:
            return self.session.get_json(path, query)
        except _Failed as e:
            if first and (e.status == 401 or e.fatal or (e.status is None and not e.deadline)):
                if e.status == 401:
                    raise CollectionError(f"{self.session.host}: the API server rejected the credentials "
                                          f"(401 Unauthorized): {e.reason}") from None
                raise CollectionError(f"{self.session.host}: cannot talk to the API server: {e.reason}") from None
            raise

    # ----- discovery

    def discover(self) -> list[Resource]:
        """The optional policy kinds this server serves, from /apis and each group/version's resource list."""
        try:
            doc = self.request("/apis")
        except _Failed as e:
            self.problem("APIGroupList", None,
                         f"discovery failed, so AdminNetworkPolicy, Calico and Cilium policies could not be "
                         f"looked for: {e.reason}")
            return []
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list):
            self.problem("APIGroupList", None,
                         "discovery returned no list of API groups, so AdminNetworkPolicy, Calico and Cilium "
                         "policies could not be looked for")
            return []
        found: list[Resource] = []
        for g in groups:
            if not isinstance(g, dict) or g.get("name") not in OPTIONAL:
                continue
            name = str(g["name"])
            wanted = list(OPTIONAL[name])
            for version in _versions(g):
                if not wanted:
                    break
                try:
                    listing = self.request(f"/apis/{name}/{version}")
                except _Failed as e:
                    self.problem(f"APIResourceList {name}/{version}", None, f"discovery failed: {e.reason}")
                    continue
                resources = listing.get("resources") if isinstance(listing, dict) else None
                for r in resources if isinstance(resources, list) else []:
                    if not isinstance(r, dict) or "/" in str(r.get("name", "")) or r.get("kind") not in wanted:
                        continue
                    wanted.remove(str(r["kind"]))
                    found.append(Resource(name, version, str(r["name"]), str(r["kind"]), bool(r.get("namespaced"))))
        return found

    # ----- lists

    def plan(self, optional: list[Resource]) -> list[tuple[Resource, str | None]]:
        """(resource, namespace) in the order they are listed; namespace None is cluster-wide."""
        resources = [*FIXED[:2], *optional, *FIXED[2:], CRDS]
        out: list[tuple[Resource, str | None]] = []
        for res in resources:
            if self.namespaces and (res.namespaced or res is NAMESPACES):  # Namespaces: one GET each
                out.extend((res, ns) for ns in self.namespaces)
            else:
                out.append((res, None))
        return out

    def run(self) -> None:
        optional = self.discover()
        plan = self.plan(optional)
        self.kinds_total = len(plan)
        for i, (res, ns) in enumerate(plan):
            if self.session.remaining() <= 0:
                for r, n in plan[i:]:
                    self.problem(r, n, self.session.out_of_time().reason)
                return
            if res is NAMESPACES and ns is not None:
                self.get_namespace(ns)
            else:
                self.list_all(res, ns)
            self.kinds_done += 1

    def get_namespace(self, ns: str) -> None:
        try:
            doc = self.request(NAMESPACES.path(None) + "/" + quote(ns, safe=""))
        except _Failed as e:
            reason = e.reason
            if e.status == 404:
                reason = f"namespace {ns} does not exist ({e.reason})"
            elif e.status == 403:
                reason = f"cannot read the namespace's labels, which namespaceSelectors match ({e.reason})"
            self.problem(NAMESPACES, ns, reason)
            return
        if not isinstance(doc, dict):
            self.problem(NAMESPACES, ns, "the response is not a Namespace")
            return
        kept: list[RawObject] = []
        self.take([doc], NAMESPACES, "Namespace", "v1", None, kept)
        self.snap.objects.extend(kept)
        self.session.stats.pages += 1

    def list_all(self, res: Resource, ns: str | None) -> None:
        """Every page of one list; restarted from the start when its continue token expires (410 Gone) or a page
        comes at another resourceVersion than the first (the pages would not be one consistent snapshot)."""
        restarts = 0
        while True:
            kept: list[RawObject] = []
            token: str | None = None
            version: str | None = None
            try:
                while True:
                    query: list[tuple[str, Any]] = [("limit", self.page_size)]
                    if token:
                        query.append(("continue", token))
                    token, version = self.page(res, ns, query, kept, version)
                    if not token:
                        self.snap.objects.extend(kept)
                        log.info("listed %d %s%s", len(kept), res.label, f" in {ns}" if ns else "")
                        return
            except _Failed as e:
                restart = e.restart or (e.status == 410 and bool(token))
                if restart and restarts < MAX_RESTARTS:
                    restarts += 1
                    log.info("%s: %s; restarting the list (%d of %d)", res.label,
                             e.reason if e.restart else "the continue token expired (410 Gone)", restarts,
                             MAX_RESTARTS)
                    continue
                reason = e.reason
                if restart:
                    reason = f"{reason} (the list was restarted {restarts} times)"
                elif e.status == 404:
                    reason = f"{res.api_version} {res.plural} not served: {reason}"
                if kept:
                    reason = f"{reason}; {len(kept)} objects listed before it were kept"
                self.snap.objects.extend(kept)  # a consistent prefix of the list; the problem says it is partial
                self.problem(res, ns, reason)
                return

    def page(self, res: Resource, ns: str | None, query: list[tuple[str, Any]], kept: list[RawObject],
             version: str | None) -> tuple[str | None, str | None]:
        """One page into `kept`: (the continue token or None, the list's resourceVersion). `version` is the first
        page's: a later page at another one is refused before any of its items is kept."""
        doc = self.request(res.path(ns), query)
        if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
            raise _Failed(f"the response is not a {res.kind}List")
        md = doc.get("metadata")
        rv = md.get("resourceVersion") if isinstance(md, dict) else None
        rv = rv if isinstance(rv, str) and rv else None
        if version is not None and rv is not None and rv != version:
            raise _Failed(f"the list's metadata.resourceVersion changed between pages ({version}, then {rv}): the "
                          "pages are not one consistent snapshot", restart=True)
        list_kind = doc.get("kind")
        item_kind = list_kind[:-4] if isinstance(list_kind, str) and list_kind.endswith("List") else res.kind
        av = doc.get("apiVersion")
        api_version = av if isinstance(av, str) and av else res.api_version
        self.take(doc.get("items") or [], res, item_kind, api_version, ns, kept)
        self.session.stats.pages += 1
        token = md.get("continue") if isinstance(md, dict) else None
        self.progress.update(f"cluster: {res.label}{' in ' + ns if ns else ''} ({self.kinds_done + 1}/"
                             f"{self.kinds_total}): {self.session.stats.objects} objects, "
                             f"{self.session.stats.pages} pages")
        return (token if isinstance(token, str) and token else None), (version or rv)

    def share(self, obj: dict[str, Any]) -> dict[str, Any]:
        """One copy of each repeated string of the fields that repeat across objects (namespaces, label values,
        owners, nodes, container and port names): equal values, a sixth less memory at 150k pods."""
        md = obj["metadata"]
        _share_keys(md, ("namespace",), self.strings)
        labels = md.get("labels")
        if isinstance(labels, dict):
            _share_keys(labels, labels, self.strings)
        for ref in _dicts(md.get("ownerReferences")):
            _share_keys(ref, ("apiVersion", "kind", "name"), self.strings)
        if obj["kind"] == "Pod":
            spec, status = obj.get("spec"), obj.get("status")
            if isinstance(spec, dict):
                _share_keys(spec, ("nodeName",), self.strings)
                for c in (*_dicts(spec.get("containers")), *_dicts(spec.get("initContainers"))):
                    _share_keys(c, ("name",), self.strings)
                    for port in _dicts(c.get("ports")):
                        _share_keys(port, ("name", "protocol"), self.strings)
            if isinstance(status, dict):
                _share_keys(status, ("phase", "hostIP"), self.strings)
        return obj

    def take(self, items: list[Any], res: Resource, item_kind: str, api_version: str, ns: str | None,
             kept: list[RawObject]) -> None:
        """Project each item of a page (kind and apiVersion set from the list, as the API leaves them out)."""
        bad = 0
        for item in items:
            if not isinstance(item, dict):
                bad += 1
                continue
            if "kind" not in item:
                item["kind"] = item_kind
            if "apiVersion" not in item:
                item["apiVersion"] = api_version
            md = item.get("metadata")
            if not isinstance(md, dict) or not isinstance(md.get("name"), str) or not md["name"]:
                bad += 1
                continue
            scope = scope_of(str(item["apiVersion"]), str(item["kind"]))
            if scope is None:
                av = str(item["apiVersion"])
                self.snap.skipped_kinds[f"{av}/{item['kind']}" if "/" not in av else f"{av}, {item['kind']}"] += 1
                continue
            if scope != CLUSTER and not isinstance(md.get("namespace"), str):
                if ns is None:
                    bad += 1
                    continue
                md["namespace"] = ns
            kept.append(RawObject(self.share(project(item))))
        if bad:
            self.snap.warnings.append(f"cluster: {bad} {res.label} items without a name or namespace were "
                                      "left out")
        self.session.stats.objects += len(items) - bad


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _share_keys(d: dict[str, Any], keys: Iterable[str], cache: dict[str, str]) -> None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, str):
            d[k] = cache.setdefault(v, v)


def _versions(group: dict[str, Any]) -> list[str]:
    preferred = group.get("preferredVersion")
    pv = preferred.get("version") if isinstance(preferred, dict) else None
    versions = [str(v["version"]) for v in group.get("versions") or [] if isinstance(v, dict) and v.get("version")]
    return ([str(pv)] if pv else []) + [v for v in versions if v != pv]


def _public_url(url: str) -> str:
    """The server URL without any user information."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _configuration(kubeconfig: str | None, context: str | None, in_cluster: bool) -> tuple[Any, str]:
    """The client configuration and how the cluster is described in the snapshot's inputs."""
    import kubernetes.config
    import urllib3
    from kubernetes.client import Configuration

    kconfig: Any = kubernetes.config  # untyped functions

    cfg = Configuration()
    if in_cluster:
        if kubeconfig or context:
            raise CollectionError("--in-cluster uses the pod's service account: leave out --kubeconfig and "
                                  "--context")
        try:
            kconfig.load_incluster_config(client_configuration=cfg)
        except Exception as e:  # ConfigException, OSError: one line for the user
            raise CollectionError(f"in-cluster configuration: {_one_line(str(e))}") from None
        described = f"{_public_url(cfg.host)} (in-cluster service account)"
    else:
        # The client reads $KUBECONFIG when it is imported: resolve it now, explicitly.
        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        if not any(os.path.exists(os.path.expanduser(p)) for p in path.split(os.pathsep) if p):
            raise CollectionError(f"kubeconfig {path}: no such file (give --kubeconfig, set KUBECONFIG, or use "
                                  "--in-cluster)")
        try:
            contexts, current = kconfig.list_kube_config_contexts(config_file=path)
            names = [str(c.get("name")) for c in contexts or [] if isinstance(c, dict)]
            if context is not None and context not in names:
                raise CollectionError(f"kubeconfig {path}: no context named {context!r} (it has "
                                      f"{', '.join(names) or 'none'})")
            kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                     persist_config=False)
        except CollectionError:
            raise
        except Exception as e:  # ConfigException, YAML and file errors: one line for the user
            raise CollectionError(f"kubeconfig {path}: {_one_line(str(e))}") from None
        name = context or (current.get("name") if isinstance(current, dict) else None) or "?"
        described = f"{_public_url(cfg.host)} (context {name})"
    cfg.retries = urllib3.util.Retry(total=0, redirect=0, raise_on_redirect=False)  # retries are ours
    cfg.connection_pool_maxsize = 1
    return cfg, described




def collect(kubeconfig: str | None, context: str | None, in_cluster: bool, namespaces: list[str],
            timeout: float, progress: Progress, page_size: int = 500, *,
            request_timeout: float = REQUEST_TIMEOUT, max_attempts: int = MAX_ATTEMPTS,
            max_response_bytes: int | None = None) -> RawSnapshot:
    """Collect a cluster into a raw snapshot (source type "cluster").

    Cluster-wide, or only `namespaces` (each namespaced kind listed per namespace, each Namespace read with
    GET) for identities without cluster-wide rights. `timeout` is a hard deadline for the whole collection;
    kinds not listed by then are recorded as not collected. Kinds that cannot be listed are recorded in
    `collection` (complete False) with what was listed kept. Raises CollectionError when nothing usable can be
    collected: bad kubeconfig or context, credentials rejected (401) or the server unreachable on the first
    request. `max_response_bytes` caps each response body (default MAX_RESPONSE_BYTES).
    """
    from kubernetes.client import ApiClient

    if timeout <= 0:
        raise CollectionError(f"the timeout must be positive, not {timeout:g}s")
    if page_size < 1:
        raise CollectionError(f"the page size must be positive, not {page_size}")
    cap = MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
    if cap < 1:
        raise CollectionError(f"the response size limit must be positive, not {cap}")
    wanted = sorted(set(namespaces))
    if "" in wanted:
        raise CollectionError("a namespace name cannot be empty")
    cfg, described = _configuration(kubeconfig, context, in_cluster)
    if wanted:
        described = f"{described[:-1]}; namespaces {', '.join(wanted)})"
    snap = RawSnapshot(objects=[], inputs=[described], source_type="cluster", collection=CollectionStatus())
    client: Any = ApiClient(configuration=cfg)
    client.user_agent = f"netpol-audit/{__version__}"  # how the collection shows in the API server's audit log
    session = _Session(client, _public_url(cfg.host), timeout, time.monotonic() + timeout,
                       max(0.001, request_timeout), max(1, max_attempts), cap)
    collector = _Collector(session, wanted, page_size, progress, snap)
    started = time.monotonic()
    try:
        with bulk_load():
            collector.run()
    finally:
        client.close()
        progress.done()
    s = session.stats
    log.info("collected %d objects from %s in %d pages, %d requests, %d retries, %.1fs%s", len(snap.objects),
             described, s.pages, s.requests, s.retries, time.monotonic() - started,
             "" if snap.collection.complete else " (incomplete)")
    return snap
