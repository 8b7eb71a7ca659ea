"""A read-only Prometheus reader beside the cluster reader: PromQL over HTTP, GET only, bounded.

    metrics = connect_prometheus("http://prometheus.monitoring:9090", bearer_token="...")
    result = metrics.query('up{job="kube-state-metrics"}')     # a `QueryResult`, redacted
    metrics.close()

Six reads leave the process, and nothing else: `GET` of `/api/v1/query`, `query_range`,
`series`, `labels`, `rules` and `alerts` below the configured address, with only the parameters
those endpoints take. `check_metrics_request` is the rule; every request goes through a pool
manager that applies it before a connection is opened (redirects are not followed), like
`guard.ReadOnlyPoolManager` does for the cluster. A refusal is a `ReadOnlyViolation` (a bug).

Errors, beside the cluster's (`errors.py`), so tools map them to the same statuses:

    ApiError
    +-- MetricsError                            anything Prometheus reports
        +-- MetricsUnreachable (Unreachable)    connection refused, DNS, TLS, timeout (retryable)
        |   +-- NotPrometheus                   the address answers, but not as Prometheus does
        +-- MetricsServerError (ServerError)    5xx, a query that timed out there (retryable)
        +-- MetricsUnauthorized (Unauthorized)  401: the token or password is not accepted
        +-- MetricsForbidden                    403: a proxy in front refuses this user
        +-- BadQuery                            400/422: PromQL that does not parse or run
        +-- NotEvaluated                        a snapshot cannot evaluate this PromQL offline

Results are bounded (`Limits`: series, points per series, bytes of a response) and say what they
dropped, and so is the time of each read (its `timeout`, plus 2 s for the answer to come: a
server that trickles it is cut off, as `deadlines` cuts the API server's); label values, rule
expressions and annotations pass the redactor.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    SSLError,
    TimeoutError,
)

from .deadlines import Deadline, watch
from .errors import ApiError, ReadOnlyViolation, ServerError, Unauthorized, Unreachable
from .redacting import redact_label, redact_line

Json = dict[str, Any]
Endpoint = Literal["query", "query_range", "series", "labels", "rules", "alerts"]

_PARAMETERS: dict[str, frozenset[str]] = {
    "query": frozenset({"query", "time", "timeout"}),
    "query_range": frozenset({"query", "start", "end", "step", "timeout"}),
    "series": frozenset({"match[]", "start", "end"}),
    "labels": frozenset({"match[]", "start", "end"}),
    "rules": frozenset({"type"}),
    "alerts": frozenset(),
}
_MAX_URL = 16 * 1024


class MetricsError(ApiError):
    """Prometheus answered with an error, or could not be reached."""


class MetricsUnreachable(MetricsError, Unreachable):
    retryable = True


class NotPrometheus(MetricsUnreachable):
    """The address answers, but not with Prometheus' API (an HTML page, a redirect to a login)."""

    retryable = False


class MetricsServerError(MetricsError, ServerError):
    retryable = True


class MetricsUnauthorized(MetricsError, Unauthorized):
    pass


class MetricsForbidden(MetricsError):
    pass


class BadQuery(MetricsError):
    """The query does not parse, or Prometheus cannot run it (it says why)."""


class NotEvaluated(MetricsError):
    """A snapshot's series cannot answer this expression: it uses PromQL beyond what the offline
    evaluator (`promql.py`) knows. Unknown, not wrong."""


@dataclass(frozen=True)
class Limits:
    series: int = 200
    """Series kept of one result; the rest are counted, not kept."""
    points: int = 1000
    """Points kept per series (the most recent); a range query asks for no more steps."""
    response_bytes: int = 16 * 1024 * 1024
    """Bytes of one response read at most; a larger answer is refused as too large."""


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), oldest first

    @property
    def value(self) -> float:
        """The last value (the only one of an instant vector)."""
        return self.points[-1][1]


@dataclass
class QueryResult:
    query: str
    kind: Literal["vector", "matrix", "scalar"]
    series: list[Series] = field(default_factory=list)
    at: float | None = None  # evaluation time of an instant query
    dropped_series: int = 0
    dropped_points: int = 0

    @property
    def note(self) -> str | None:
        """What the bounds left out, for humans; None when nothing was."""
        parts = []
        if self.dropped_series:
            kept = len(self.series)
            parts.append(f"{kept + self.dropped_series} series, the first {kept} kept")
        if self.dropped_points:
            parts.append(f"{self.dropped_points} older points dropped")
        return "; ".join(parts) or None


class Metrics(Protocol):
    """A read-only view of one Prometheus (or of the series a snapshot holds)."""

    @property
    def source(self) -> str: ...

    def now(self) -> float:
        """The time "now" means: the wall clock live, the capture time of a snapshot."""
        ...

    def query(self, promql: str, at: float | None = None) -> QueryResult: ...

    def query_range(self, promql: str, start: float, end: float, step: float) -> QueryResult: ...

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]: ...

    def labels(self) -> list[str]: ...

    def rules(self) -> list[Json]: ...

    def alerts(self) -> list[Json]: ...

    def close(self) -> None: ...


def check_metrics_request(method: str, url: str, *, prefix: str = "") -> Endpoint:
    """The endpoint `method url` reads; `ReadOnlyViolation` unless it is one of the six reads.

    `url` is absolute or a path with its query; `prefix` is the path Prometheus is served below
    (`/prometheus` behind a proxy), "" at the root.
    """
    if method != "GET":
        raise ReadOnlyViolation(f"refused {method[:20]!r} {url[:120]!r}: only GET leaves")
    if len(url) > _MAX_URL or not url.isascii() or not url.isprintable() or " " in url:
        raise ReadOnlyViolation(f"refused GET {url[:120]!r}: not a plain URL")
    parts = urlsplit(url)
    if parts.fragment or "%" in parts.path or "\\" in parts.path:
        raise ReadOnlyViolation(f"refused GET {url[:120]!r}: not a plain path")
    base = f"{prefix}/api/v1/"
    endpoint = parts.path[len(base):] if parts.path.startswith(base) else ""
    if endpoint not in _PARAMETERS:
        raise ReadOnlyViolation(
            f"refused GET {parts.path[:120]!r}: only {prefix}/api/v1/"
            f"{{{','.join(_PARAMETERS)}}} are read")
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    extra = sorted(set(keys) - _PARAMETERS[endpoint])
    if extra:
        raise ReadOnlyViolation(f"refused GET {parts.path}: parameter {extra[0][:40]!r} is not "
                                f"one {endpoint} takes")
    return endpoint  # type: ignore[return-value]


class _Watching:
    """A connection pool that holds each request to its `Deadline` (`deadlines.watch`)."""

    def _make_request(self, conn: Any, method: str, url: str, *args: Any,
                      **kwargs: Any) -> Any:
        watch(conn, kwargs.get("timeout"))
        return super()._make_request(conn, method, url, *args, **kwargs)  # type: ignore[misc]


class _WatchedPool(_Watching, urllib3.HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watching, urllib3.HTTPSConnectionPool):
    pass


class _ReadOnlyPoolManager(urllib3.PoolManager):
    """A pool manager whose every request is checked before a connection is opened, whose
    answers are never followed elsewhere (no redirects), and whose pools keep deadlines."""

    def __init__(self, origin: str, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._origin = origin
        self._prefix = prefix
        self.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}

    def urlopen(self, method: str, url: str, redirect: bool = True,  # type: ignore[override]
                **kw: Any) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self._origin:
            raise ReadOnlyViolation(f"refused {method} {url[:120]!r}: not the configured "
                                    "Prometheus")
        check_metrics_request(method, url, prefix=self._prefix)
        if kw.get("body") not in (None, b"", ""):
            raise ReadOnlyViolation(f"refused {method} {url[:120]!r}: a read sends no body")
        return super().urlopen(method, url, redirect=False, **kw)


_SENDING = 2.0  # seconds past the query's `timeout` for its answer to come, last byte included


class LivePrometheus:
    """Prometheus' HTTP API, read-only (see the module docstring)."""

    def __init__(self, url: str, *, bearer_token: str | None = None,
                 username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, timeout: float = 10.0,
                 limits: Limits | None = None) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) address of Prometheus: {url!r}")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.limits = limits or Limits()
        self.timeout = timeout
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path
        self._headers = {"Accept": "application/json"}
        if bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        elif username is not None:
            pair = f"{username}:{password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        tls: dict[str, Any] = {}
        if parts.scheme == "https":
            tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_file}
        self._pool = _ReadOnlyPoolManager(
            self._origin, self._prefix, num_pools=2, retries=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout), **tls)

    @property
    def source(self) -> str:
        return f"Prometheus {self.url}"

    def now(self) -> float:
        return time.time()

    # --- the six reads ------------------------------------------------------------------------

    def query(self, promql: str, at: float | None = None) -> QueryResult:
        at = self.now() if at is None else at
        data = self._get("query", {"query": promql, "time": _stamp(at),
                                   "timeout": f"{self.timeout:g}s"})
        return self._result(promql, data, at)

    def query_range(self, promql: str, start: float, end: float, step: float) -> QueryResult:
        step = max(step, (end - start) / max(self.limits.points - 1, 1), 1.0)
        data = self._get("query_range", {"query": promql, "start": _stamp(start),
                                         "end": _stamp(end), "step": f"{step:g}",
                                         "timeout": f"{self.timeout:g}s"})
        return self._result(promql, data, None)

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        data = self._get("series", {"match[]": list(match), "start": _stamp(start),
                                    "end": _stamp(end)})
        return [_labels(item) for item in _items(data)[: self.limits.series]]

    def labels(self) -> list[str]:
        return [redact_line(str(name)) for name in _items(self._get("labels", {}))]

    def rules(self) -> list[Json]:
        groups = (self._get("rules", {}) or {}).get("groups") or []
        return [_scrubbed(rule) for group in groups for rule in group.get("rules") or []]

    def alerts(self) -> list[Json]:
        return [_scrubbed(alert) for alert in (self._get("alerts", {}) or {}).get("alerts") or []]

    def close(self) -> None:
        self._pool.clear()

    # --- the wire -----------------------------------------------------------------------------

    def _get(self, endpoint: Endpoint, params: Mapping[str, str | list[str]]) -> Any:
        pairs = [(k, item) for k, v in params.items()
                 for item in (v if isinstance(v, list) else [v])]
        url = f"{self.url}/api/v1/{endpoint}" + (f"?{urlencode(pairs)}" if pairs else "")
        deadline = Deadline(connect=min(self.timeout, 5.0), read=self.timeout,
                            total=self.timeout + _SENDING)
        try:
            response = self._pool.request("GET", url, headers=self._headers,
                                          preload_content=False, timeout=deadline)
        except HTTPError as e:
            deadline.cancel()
            raise self._late(deadline) or MetricsUnreachable(
                f"Prometheus at {self.url} is unreachable: {_why(e)}") from e
        deadline.hold(response)
        try:
            body = response.read(self.limits.response_bytes + 1)
        except HTTPError as e:
            raise self._late(deadline) or MetricsUnreachable(
                f"Prometheus at {self.url} stopped answering: {_why(e)}") from e
        finally:
            deadline.cancel()
            response.release_conn()
        late = self._late(deadline)  # the answer ended when its connection was cut
        if late:
            raise late
        if len(body) > self.limits.response_bytes:
            raise BadQuery(f"the answer of Prometheus is larger than "
                           f"{self.limits.response_bytes // 1024 // 1024} MiB: narrow the query "
                           "(more label matchers, a shorter range)")
        return self._payload(response.status, body)

    def _late(self, deadline: Deadline) -> MetricsUnreachable | None:
        """The error for an answer cut off at its deadline; None when it was not."""
        if not deadline.expired:
            return None
        return MetricsUnreachable(f"Prometheus at {self.url} did not finish answering within "
                                  f"{deadline.seconds:g} s; check the network, or raise "
                                  "SRE_PROMETHEUS__TIMEOUT")

    def _payload(self, status: int, body: bytes) -> Any:
        where = f"Prometheus at {self.url}"
        if status == 401:
            raise MetricsUnauthorized(
                f"{where} refused the credentials (401): check SRE_PROMETHEUS__BEARER_TOKEN, "
                "or SRE_PROMETHEUS__USERNAME and SRE_PROMETHEUS__PASSWORD")
        if status == 403:
            raise MetricsForbidden(f"{where} (or a proxy in front of it) refused this user "
                                   "(403): it needs read access to /api/v1")
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict) or "status" not in document:
            raise NotPrometheus(f"{where} answered {status}, but not as Prometheus' API does: "
                                "check SRE_PROMETHEUS__URL (the address of Prometheus itself, "
                                "e.g. http://prometheus-operated.monitoring:9090)")
        if document["status"] == "success":
            return document.get("data")
        error = redact_line(str(document.get("error") or "no reason given"))[:300]
        kind = str(document.get("errorType") or "")
        if status in (400, 422) or kind in ("bad_data", "execution"):
            raise BadQuery(f"Prometheus refused the query: {error}")
        if kind == "timeout" or status == 503:
            raise MetricsServerError(f"{where} gave up on the query ({kind or status}): {error}")
        raise MetricsServerError(f"{where} failed ({status}): {error}")

    def _result(self, promql: str, data: Any, at: float | None) -> QueryResult:
        return bounded_result(promql, data, at, self.limits)


def bounded_result(promql: str, data: Any, at: float | None, limits: Limits) -> QueryResult:
    """A query's `data` (as the API shapes it) within `limits`, labels redacted."""
    kind = (data or {}).get("resultType")
    raw = (data or {}).get("result")
    if kind == "scalar" and isinstance(raw, list):
        return QueryResult(promql, "scalar", [Series({}, (_point(raw),))], at)
    if kind not in ("vector", "matrix") or not isinstance(raw, list):
        raise NotPrometheus(f"not a Prometheus query result (resultType {kind!r})")
    result = QueryResult(promql, kind, at=at, dropped_series=max(len(raw) - limits.series, 0))
    for item in raw[: limits.series]:
        points = [_point(item["value"])] if kind == "vector" else [
            _point(p) for p in item.get("values") or []]
        if len(points) > limits.points:
            result.dropped_points += len(points) - limits.points
            points = points[-limits.points:]
        result.series.append(Series(_labels(item.get("metric") or {}), tuple(points)))
    return result


def _point(pair: Sequence[Any]) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])


def _labels(metric: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): redact_label(str(k), str(v)) for k, v in metric.items()}


def _items(data: Any) -> list[Any]:
    return data if isinstance(data, list) else []


def _scrubbed(entry: Json) -> Json:
    """A rule or an alert with every string in it redacted (queries, labels, annotations)."""
    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact_line(value)
        if isinstance(value, dict):  # labels and annotations: judged with their names
            return {k: redact_label(str(k), v) if isinstance(v, str) else scrub(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value
    return dict(scrub(entry))


def _stamp(seconds: float) -> str:
    return f"{seconds:.3f}"


def _why(error: HTTPError) -> str:
    """A sentence for a connection failure, never the library's own text."""
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, NameResolutionError):
        return "its host name does not resolve"
    if isinstance(reason, SSLError):
        return "the TLS handshake failed (is SRE_PROMETHEUS__CA_FILE the CA that signed it?)"
    if isinstance(reason, NewConnectionError):  # a ConnectTimeoutError too, in urllib3 2
        return "the connection was refused or has no route"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    return "the connection failed"


def connect_prometheus(url: str, **options: Any) -> LivePrometheus:
    """A live reader of the Prometheus at `url` (see `LivePrometheus` for the options)."""
    return LivePrometheus(url, **options)
