"""The read-only guard: every request the live backend could send is checked before it leaves.

Three layers, so no code path, ours or the client library's, can write to a cluster:
- `check_request` is the rule: only GET, and never a subresource that executes, forwards, proxies
  or attaches, and never a Secret;
- `ReadOnlyPoolManager` wraps the urllib3 pool every request of the `kubernetes` client goes
  through, and applies the rule to each request;
- `ReadOnlyApiClient` applies it in `call_api` (what every generated API method calls) and refuses
  to have `call_api` or its REST client swapped, which is how the client's `stream()` reaches the
  websocket transport used by exec, attach and port-forward.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from kubernetes.client import ApiClient, Configuration

from .errors import ReadOnlyViolation

_FORBIDDEN_PATH = re.compile(r"/(exec|attach|portforward|proxy)(/|$|\?)")
_SECRETS_PATH = re.compile(r"/secrets(/|$|\?)")


def check_request(method: str, url: str) -> None:
    """Raise `ReadOnlyViolation` unless `method url` is a plain read of a non-Secret resource."""
    verb = method.upper()
    path = urlsplit(url).path
    if verb != "GET":
        raise ReadOnlyViolation(f"refused {verb} {path}: this assistant is read-only")
    if _FORBIDDEN_PATH.search(path):
        raise ReadOnlyViolation(f"refused GET {path}: exec, attach, port-forward and proxy are off")
    if _SECRETS_PATH.search(path):
        raise ReadOnlyViolation(f"refused GET {path}: Secrets are never read")


class ReadOnlyPoolManager:
    """A urllib3 pool manager proxy that lets only reads through."""

    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "_inner", inner)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_request(method, url)
        return self._inner.request(method, url, *args, **kwargs)

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_request(method, url)
        return self._inner.urlopen(method, url, *args, **kwargs)

    def request_encode_url(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_request(method, url)
        return self._inner.request_encode_url(method, url, *args, **kwargs)

    def request_encode_body(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_request(method, url)
        return self._inner.request_encode_body(method, url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise ReadOnlyViolation(f"the read-only pool manager cannot be changed ({name})")


_LOCKED = frozenset({"call_api", "rest_client", "request"})


class ReadOnlyApiClient(ApiClient):
    """An `ApiClient` whose every request is checked, and whose transport cannot be swapped."""

    _sealed: bool

    def __init__(self, configuration: Configuration) -> None:
        object.__setattr__(self, "_sealed", False)
        super().__init__(configuration)
        # The proxy stands in for the PoolManager (same methods, through `__getattr__`).
        self.rest_client.pool_manager = cast(
            urllib3.PoolManager, ReadOnlyPoolManager(self.rest_client.pool_manager)
        )
        object.__setattr__(self, "_sealed", True)

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_request(method, url)
        return super().call_api(method, url, *args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LOCKED and self._sealed:
            raise ReadOnlyViolation(
                f"refused to replace {name}: exec, attach and port-forward are off"
            )
        object.__setattr__(self, name, value)
