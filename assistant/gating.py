"""What the assistant's HTTP servers (the web chat, the Slack app, the MCP server) read from a
request's headers before letting it in, read strictly, so that no value, however odd, is an
error or is taken for something it is not:

- `host_name`: the host a `Host` header names, or None for a value no browser sends
  (`127.0.0.1:8080@evil.example`, `[::1]evil.example`, a path, several colons outside brackets);
- `same_origin`: whether a browser's `Origin` is this server's own address;
- `same_secret`: a token as presented against the one configured, compared as bytes in
  constant time (any character, none ASCII, is a no, never a 500).
"""

from __future__ import annotations

import hmac
import ipaddress
import re

# reg-name (letters, digits, `-`, `.`, `_`) or a bracketed IPv6 literal, then an optional port
_HOST = re.compile(r"(?P<name>[a-z0-9._-]+|\[(?P<v6>[0-9a-f:.]+)\])(?::[0-9]{1,5})?")


def host_name(host: str) -> str | None:
    """`127.0.0.1:8080` -> `127.0.0.1`, `[::1]:8080` -> `::1`, `Localhost` -> `localhost`; None
    for anything else (userinfo, a path, text after `]`, a bare IPv6 address, spaces)."""
    match = _HOST.fullmatch(host.lower())
    if match is None:
        return None
    if match["v6"] is not None:
        return match["v6"] if _is_ip(match["v6"]) else None
    return match["name"]


def same_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether a browser's `Origin` is the address this request reached (`host` as its `Host`
    header says, already judged by `host_name`): `http` or `https`, no path, no userinfo, the
    same host and port. When `host` is a loopback name the browser reached this server directly,
    so the scheme must be the request's own too (on another name a TLS proxy may sit in front:
    an `https` page, a plain-`http` request)."""
    name = host_name(host)
    if name is None:
        return False
    schemes = {scheme.lower()} if _is_loopback(name) else {"http", "https"}
    return origin.lower() in {f"{s}://{host.lower()}" for s in schemes}


def same_secret(presented: bytes, expected: str) -> bool:
    """Whether the bytes presented (a header's as sent: `value.encode("latin-1")`) are the
    configured secret's UTF-8, in constant time."""
    return hmac.compare_digest(presented, expected.encode())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name == "localhost"
