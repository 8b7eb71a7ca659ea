"""Who may reach the web chat, checked on every request before any route runs.

- Host: the `Host` header must be a plain host name and port (`gating.host_name`) naming one of
  `allowed_hosts` (default: loopback names). A page on another site that rebinds its DNS name
  to 127.0.0.1 sends its own name, and is refused (400).
- Origin: a browser's cross-site POST carries an `Origin` that is not this server's address
  (`gating.same_origin`: the scheme too, on a loopback name): refused (403). Requests without
  `Origin` (curl, scripts) are judged by the rest.
- Who: with `token` set, a request needs `Authorization: Bearer <token>` or the cookie the page
  gets from opening `/?token=<token>` once (HttpOnly, SameSite=Strict); with `trusted_header`
  set (`X-Forwarded-User`, as oauth2-proxy sends), a request needs that header, and its value is
  the user the investigation runs for. Otherwise 401. `/healthz` and `/readyz` need neither.
- Metrics: `/metrics` is held to the same checks as the chat, unless `metrics_token` is set:
  then it needs `Authorization: Bearer <metrics_token>` and nothing else, since Prometheus
  reaches a pod by its address (no allowed host name) and cannot sign in through a proxy. The
  chat's own token does not open it then, nor does the metrics token open the chat.

Each refusal is `{"error": sentence}` saying which setting to change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from ..gating import host_name, same_origin, same_secret
from ..settings import WebSettings

COOKIE = "sre_web_token"


def _refuse(status: int, sentence: str) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status)


class Gate:
    """The checks above, as an HTTP middleware function."""

    def __init__(self, config: WebSettings) -> None:
        self.hosts = {h.lower().strip("[]") for h in config.allowed_hosts}
        self.token = config.token.get_secret_value() if config.token else None
        self.trusted_header = config.trusted_header
        self.metrics_token = (config.metrics_token.get_secret_value()
                              if config.metrics_token else None)

    async def __call__(self, request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path == "/metrics" and self.metrics_token is not None:
            bearer = request.headers.get("authorization", "").encode("latin-1")  # as sent
            if not same_secret(bearer, f"Bearer {self.metrics_token}"):
                return _refuse(401, "The metrics need SRE_WEB__METRICS_TOKEN: send "
                                    "Authorization: Bearer <token>.")
            return await call_next(request)
        hosts = request.headers.getlist("host")
        if len(hosts) > 1:  # which one a proxy routed by is unknown (RFC 9112 asks a 400)
            return _refuse(400, "The request carries more than one Host header.")
        host = hosts[0] if hosts else ""
        name = host_name(host)
        if name is None:
            return _refuse(400, "The Host header is not a host name and port.")
        if "*" not in self.hosts and name not in self.hosts:
            return _refuse(400, "This host name is not served here; add it to "
                                "SRE_WEB__ALLOWED_HOSTS if it is yours.")
        origin = request.headers.get("origin")
        if origin is not None and not same_origin(origin, host, request.url.scheme):
            return _refuse(403, "Requests from other sites are refused; open the chat from "
                                "its own address.")
        if request.url.path in ("/healthz", "/readyz"):  # the kubelet's probes carry no token
            return await call_next(request)
        if self.token is not None:
            return await self._with_token(request, call_next, self.token)
        if self.trusted_header is not None:
            user = request.headers.get(self.trusted_header, "").strip()
            if not user:
                return _refuse(401, f"Sign in first: this chat runs behind a proxy that sets "
                                    f"{self.trusted_header}, and this request has none.")
            request.state.user = user
        return await call_next(request)

    async def _with_token(self, request: Request,
                          call_next: Callable[[Request], Awaitable[Response]],
                          token: str) -> Response:
        offered = request.query_params.get("token")
        if request.url.path == "/" and offered is not None:
            if not same_secret(offered.encode("utf-8", "replace"), token):
                return _refuse(401, "Wrong token; ask whoever runs the chat for the link.")
            landing = RedirectResponse("/", status_code=303)  # the token leaves the address
            landing.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return landing
        bearer = request.headers.get("authorization", "")
        presented = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else \
            request.cookies.get(COOKIE, "")
        if not same_secret(presented.encode("latin-1"), token):  # header bytes as sent
            return _refuse(401, "This chat needs its token: open the link with ?token=... "
                                "once, or send Authorization: Bearer <token>.")
        return await call_next(request)
