"""The chat page (`chat.html`, shipped beside this module) and the headers it is served with.

The page is one file with its script and style inline, no CDN and no build step. Its
Content-Security-Policy allows exactly that inline script and style (by their sha256) and
requests to this server, nothing else: cluster text is untrusted, and even if some of it were
ever parsed as HTML, no script it carried would run. The page itself renders every such
string with `textContent`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

_INLINE = {"script": re.compile(r"<script>(.*?)</script>", re.S),
           "style": re.compile(r"<style>(.*?)</style>", re.S)}


@dataclass(frozen=True)
class Page:
    html: str
    headers: dict[str, str]


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def load() -> Page:
    """The page and its security headers (computed once per app, not at import)."""
    html = resources.files(__package__).joinpath("chat.html").read_text(encoding="utf-8")
    hashes = {kind: " ".join(_sha256(body) for body in pattern.findall(html))
              for kind, pattern in _INLINE.items()}
    policy = "; ".join((
        "default-src 'none'",
        f"script-src {hashes['script']}",
        f"style-src {hashes['style']}",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))
    return Page(html=html, headers={
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    })
