"""The live backend: the official `kubernetes` client, behind the read-only guard.

Names and namespaces are held to Kubernetes' naming rules before they go into a path
(`kinds.InvalidName` otherwise), and every request passes the guard's allow-list on its way out.
Objects are listed with one request per kind and namespace (no per-pod calls) and parsed as
plain JSON, which is what `kubectl -o json` prints and what the snapshot backend reads. Like
kubectl (`--show-managed-fields=false`), objects come back without `metadata.managedFields`: the
server-side-apply bookkeeping is about half the bytes of a pod, nothing here reads it, and
dropping it before redaction copies each object saves most of that work.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from . import kubeconfigs
from .deadlines import Deadline
from .errors import (
    AnswerTooLarge,
    ConfigurationError,
    Forbidden,
    KindUnavailable,
    NotFound,
    NotKubernetes,
    ReadOnlyViolation,
    ServerError,
    Unauthorized,
    Unreachable,
)
from .guard import ReadOnlyApiClient
from .kinds import Kind, KindInfo, check_container, check_name, check_namespace, info
from .log_ends import both_ends
from .reading import Obj
from .sizes import MAX_LIST_BYTES, mib, too_many_values

_CHUNK = 64 * 1024  # bytes of an answer read (and inflated, when compressed) at a time
NAMESPACE_SEEN_SECONDS = 30.0  # an empty list in a namespace seen this recently is just empty

RequestObserver = Callable[[str, str, str, float], None]
"""Told of every request the live backend sends, once its answer's status is known:
`(verb, resource, outcome, seconds)`, verb `get`/`list`, resource a plural (`pods`, `pods/log`,
`discovery`), outcome `ok` or why not (`unreachable`, `unauthorized`, `forbidden`, `not_found`,
`server_error`, `client_error`). Never the path, a name or the answer's text."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds the live backend waits for the API server: to connect, for each read, and for
    one whole request, its answer's last byte included (`deadlines`)."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeouts: Timeouts | None = None,
    in_cluster_env: dict[str, str] | None = None,
) -> LiveCluster:
    """A live backend from a kubeconfig (and context), else the in-cluster service account
    (`kubeconfigs.load`: what makes either unusable is a `ConfigurationError`)."""
    timeouts = timeouts or Timeouts()
    configuration, source = kubeconfigs.load(kubeconfig=kubeconfig, context=context,
                                             in_cluster_env=in_cluster_env,
                                             plugin_seconds=timeouts.total)
    scheme = str(configuration.proxy or "").split("://", 1)[0].lower()
    if scheme in _SOCKS and importlib.util.find_spec("socks") is None:  # urllib3 needs PySocks
        raise ConfigurationError(f"the kubeconfig's proxy-url {configuration.proxy!r} is a SOCKS "
                                 "proxy, which needs the PySocks package this install does not "
                                 "have; use an http(s) proxy")
    try:
        api_client = ReadOnlyApiClient(configuration)
    except ReadOnlyViolation as e:  # a server address whose path routes into the API itself
        raise ConfigurationError(str(e)) from e
    except ValueError as e:  # urllib3 refuses the proxy (`socks9://x`) its pool manager is for
        raise ConfigurationError(f"the kubeconfig's proxy-url {configuration.proxy!r} is not an "
                                 "http(s) or socks URL") from e

    return LiveCluster(api_client, source, timeouts)


_SOCKS = ("socks4", "socks4a", "socks5", "socks5h")  # the schemes urllib3 sends through PySocks


class LiveCluster:
    """Reads a running cluster. Only GET requests ever leave (see `guard`)."""

    def __init__(self, api: ReadOnlyApiClient, source: str, timeouts: Timeouts) -> None:
        self._api = api
        self._source = source
        self._timeouts = timeouts
        self._max_bytes = MAX_LIST_BYTES
        self._served: dict[str, set[str] | None] = {}
        self._seen_namespaces: dict[str, float] = {}  # name -> when it was last seen to exist
        self.requests = 0  # how many API requests this reader sent (benchmarks count them)
        self._observer: RequestObserver | None = None

    def observe(self, observer: RequestObserver | None) -> None:
        """Tell `observer` of every request from now on (the servers' `/metrics` count them)."""
        self._observer = observer

    @property
    def source(self) -> str:
        return self._source

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]  # ApiClient.close is unannotated

    # --- HTTP ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "sre-assistant (read-only)"}
        for auth in self._api.configuration.auth_settings().values():
            if auth["in"] == "header" and auth["value"]:
                headers[auth["key"]] = auth["value"]
        return headers

    def _send(
        self, path: str, params: dict[str, str] | None, *,
        verb: str = "list", resource: str = "", namespace: str | None = None,
    ) -> tuple[urllib3.BaseHTTPResponse, Deadline]:
        """The answer to `GET path` (its body not read yet) and the deadline it is held to;
        an error status is raised as its `ApiError`."""
        url = self.host + path + ("?" + urlencode(params) if params else "")
        self.requests += 1
        started = time.monotonic()
        deadline = Deadline(connect=self._timeouts.connect, read=self._timeouts.read,
                            total=self._timeouts.total)
        try:
            response = self._api.rest_client.pool_manager.request(
                "GET", url, headers=self._headers(), timeout=deadline,
                preload_content=False, retries=False,
            )
        except urllib3.exceptions.HTTPError as e:
            deadline.cancel()
            self._tell(verb, resource, "unreachable", started)
            raise self._failed(path, deadline, e) from e
        deadline.hold(response)
        self._tell(verb, resource, _outcome(response.status), started)
        if response.status < 400:
            return response, deadline
        message = _status_message(self._body(path, response, deadline))
        if response.status == 401:
            raise Unauthorized(
                f"the API server at {self.host} rejected the credentials (401); refresh the "
                "kubeconfig's token"
            )
        if response.status == 403:
            raise Forbidden(verb, resource, namespace)
        if response.status == 404:
            raise NotFound(message or f"{path} not found")
        if response.status == 400 and verb == "get" and resource == "pods/log":
            raise NotFound(message or "the container has no such log")
        if response.status >= 500:
            raise ServerError(f"the API server at {self.host} failed ({response.status}) for "
                              f"{path}: {message or 'it gave no reason'}; try again later")
        raise ServerError(f"unexpected answer {response.status} from the API server at "
                          f"{self.host} for {path}: {message or 'it gave no reason'}")

    def _body(self, path: str, response: urllib3.BaseHTTPResponse,
              deadline: Deadline) -> bytearray:
        """The answer's body, decoded, once it has all come: no more than `MAX_LIST_BYTES`
        (`AnswerTooLarge`) and within the request's deadline (`Unreachable`)."""
        body = bytearray()
        try:
            for chunk in response.stream(_CHUNK, decode_content=True):
                body += chunk
                if len(body) > self._max_bytes:
                    raise AnswerTooLarge(
                        f"the API server at {self.host} sent more than {mib(self._max_bytes)} "
                        f"for {path}, more than one list may hold; read one namespace at a time "
                        "(-n NAMESPACE)")
        except urllib3.exceptions.HTTPError as e:
            response.close()
            raise self._failed(path, deadline, e) from e
        except AnswerTooLarge:
            response.close()  # the rest is not wanted: the connection goes with it
            raise
        finally:
            deadline.cancel()
            response.release_conn()
        if deadline.expired:  # the server ended the body when its connection was cut
            raise self._late(path, deadline)
        return body

    def _failed(self, path: str, deadline: Deadline, error: Exception) -> Unreachable:
        return self._late(path, deadline) if deadline.expired else Unreachable(
            _unreachable_reason(self.host, error))

    def _late(self, path: str, deadline: Deadline) -> Unreachable:
        return Unreachable(f"the API server at {self.host} did not finish answering {path} "
                           f"within {deadline.seconds:g} s; check the network, or raise "
                           "SRE_CLUSTER__REQUEST_TIMEOUT")

    def _tell(self, verb: str, resource: str, outcome: str, started: float) -> None:
        if self._observer is not None:
            self._observer(verb, resource, outcome, time.monotonic() - started)

    def _get_json(self, path: str, params: dict[str, str] | None = None, **why: Any) -> Obj:
        body = self._body(path, *self._send(path, params, **why))
        crowded = too_many_values(body)
        if crowded:
            raise AnswerTooLarge(f"the answer of the API server at {self.host} for {path} "
                                 f"{crowded}; read one namespace at a time (-n NAMESPACE)")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as e:
            what = "an HTML page" if b"<html" in body[:512].lower() else "not JSON"
            raise self._not_kubernetes(f"answered {path} with {what}") from e
        if not isinstance(data, dict):
            raise self._not_kubernetes(f"answered {path} with JSON that is not an object")
        return data

    def _not_kubernetes(self, what: str) -> NotKubernetes:
        return NotKubernetes(f"{self.host} {what}, not as a Kubernetes API server does; check "
                             "the kubeconfig's server address (and any proxy in front of it)")

    # --- discovery ----------------------------------------------------------------------------

    def _resources(self, group_version: str) -> set[str] | None:
        if group_version not in self._served:
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            try:
                doc = self._get_json(path, verb="get", resource="discovery")
            except NotFound:
                self._served[group_version] = None
            else:
                resources = doc.get("resources")
                if not isinstance(resources, list):
                    raise self._not_kubernetes(f"answered {path} with no resource list")
                self._served[group_version] = {
                    str(r.get("name")) for r in resources if isinstance(r, dict)}
        return self._served[group_version]

    def served_version(self, kind: Kind) -> str:
        """The group/version this server serves `kind` under; raises `KindUnavailable`."""
        entry = info(kind)
        needs_discovery = len(entry.versions) > 1 or entry.versions[0].startswith("metrics.")
        if not needs_discovery:
            return entry.versions[0]
        for group_version in entry.versions:
            resources = self._resources(group_version)
            if resources is not None and entry.plural in resources:
                return group_version
        raise KindUnavailable(
            f"this cluster does not serve {entry.kind} (tried {', '.join(entry.versions)})"
        )

    # --- reads --------------------------------------------------------------------------------

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        entry = info(kind)
        ns = check_namespace(namespace) if entry.namespaced else None
        version = self.served_version(kind)
        params = {}
        if labels:
            params["labelSelector"] = labels
        if fields:
            params["fieldSelector"] = fields
        try:
            doc = self._get_json(
                entry.path(version, ns), params, verb="list", resource=_resource(entry),
                namespace=ns,
            )
        except NotFound as e:
            if version == "v1":  # every Kubernetes API serves the core group's lists
                raise self._not_kubernetes(f"has no {entry.path(version, ns)}") from e
            raise KindUnavailable(f"{entry.kind} is not served at {version}") from e
        items = doc.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise self._not_kubernetes(f"answered {entry.path(version, ns)} with no list of "
                                       "objects")
        for item in items:
            _drop_managed_fields(item)
        if ns and not items:
            self._check_namespace(ns)
        return items

    def _check_namespace(self, namespace: str) -> None:
        """An empty list in a namespace that does not exist means the namespace is wrong (a
        namespace seen to exist a moment ago is not asked about again)."""
        now = time.monotonic()
        if now - self._seen_namespaces.get(namespace, -NAMESPACE_SEEN_SECONDS) \
                < NAMESPACE_SEEN_SECONDS:
            return
        try:
            self.get("Namespace", namespace)
        except Forbidden:
            return  # cannot tell; an empty list is the honest answer
        self._seen_namespaces[namespace] = now

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        entry = info(kind)
        check_name(kind, name)
        ns = check_namespace(namespace) if entry.namespaced else None
        if entry.namespaced and not ns:  # the server has no such path: it would answer 404
            raise NotFound(f"no {entry.kind} named {name} without a namespace; give one")
        version = self.served_version(kind)
        try:
            return _drop_managed_fields(self._get_json(
                entry.path(version, ns, name), verb="get", resource=_resource(entry),
                namespace=ns,
            ))
        except NotFound as e:
            where = f" in namespace {ns}" if ns else ""
            raise NotFound(f"no {entry.kind} named {name}{where}") from e

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        check_namespace(namespace)
        check_name("Pod", pod)
        if not namespace:
            raise NotFound(f"no Pod named {pod} without a namespace; give one")
        params = {"container": str(check_container(container))}
        if previous:
            params["previous"] = "true"
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        yield from both_ends(lambda extra: self._log_chunks(path, namespace, {**params, **extra}))

    def _log_chunks(self, path: str, namespace: str, params: dict[str, str]) -> Iterator[bytes]:
        """The bytes of one `pods/log` answer, as they come, within the request's deadline; the
        answer is dropped when its reader stops early."""
        response, deadline = self._send(
            path, params, verb="get", resource="pods/log", namespace=namespace
        )
        finished = False
        try:
            yield from _waited(response.stream(_CHUNK, decode_content=True), deadline)
            finished = True
        except urllib3.exceptions.HTTPError as e:
            response.close()
            raise self._failed(path, deadline, e) from e
        finally:
            deadline.cancel()
            if not finished:
                response.close()
            response.release_conn()
        if deadline.expired:
            raise self._late(path, deadline)

    def namespaces(self) -> builtins.list[str]:  # `list` here is the method above
        names = ((item.get("metadata") or {}).get("name") for item in self.list("Namespace"))
        return sorted(name for name in names if isinstance(name, str))


def _drop_managed_fields(obj: Obj) -> Obj:
    metadata = obj.get("metadata")
    if type(metadata) is dict:
        metadata.pop("managedFields", None)
    return obj


def _resource(entry: KindInfo) -> str:
    if entry.kind in ("PodMetrics", "NodeMetrics"):
        return f"{entry.plural}.metrics.k8s.io"
    return entry.plural


def _waited(chunks: Iterator[bytes], deadline: Deadline) -> Iterator[bytes]:
    """`chunks`, with `deadline`'s clock running only while the server is waited for: a long
    log takes its reader a while, and that is no slowness of the server."""
    while True:
        deadline.resume()
        try:
            chunk = next(chunks, None)
        finally:
            deadline.pause()
        if chunk is None:
            return
        yield chunk


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    named = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return named.get(status) or ("server_error" if status >= 500 else "client_error")


MAX_STATUS_MESSAGE = 300  # characters of a server's error message repeated to the user


def _status_message(body: bytes | bytearray | None) -> str:
    """The `message` of a Kubernetes Status body, as one printable line (a server's text may
    hold terminal escapes, carriage returns or 200,000 lines: none of it reaches a terminal)."""
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return ""
    message = str(doc.get("message", "")) if isinstance(doc, dict) else ""
    printable = " ".join(_CONTROL.sub(" ", message[:MAX_STATUS_MESSAGE * 4]).split())
    return printable[:MAX_STATUS_MESSAGE] + ("..." if len(printable) > MAX_STATUS_MESSAGE else "")


_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|"
                      r"[\x00-\x1f\x7f-\x9f]")  # CSI and OSC sequences, then C0/C1 controls


def _unreachable_reason(host: str, error: Exception) -> str:
    text = repr(error).lower()
    if "timed out" in text or "timeout" in text:
        return f"the API server at {host} did not answer in time; check the network or VPN"
    if "certificate" in text or "ssl" in text:
        return f"TLS to the API server at {host} failed; check the kubeconfig's CA"
    if "name or service not known" in text or "nodename nor servname" in text:
        return f"the API server host in {host} does not resolve; check the kubeconfig"
    return f"cannot reach the API server at {host}; is the cluster up and the context right?"
