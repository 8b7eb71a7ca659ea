"""Credentials known by their shape alone, with no key to name them: the vendor table
(`secret_prefixes.yaml`, plus the user's own prefixes) and random-looking runs of token
characters. Hashes, UUIDs, digests, hostnames, CamelCase identifiers and the word-like pieces of
a URL path are not random-looking and stay; SSH public keys stay.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

import yaml

REDACTED = "[REDACTED]"
PREFIXES_FILE = Path(__file__).with_name("secret_prefixes.yaml")


def redact_runs(text: str) -> str:
    """Every run of 20+ token characters (`[A-Za-z0-9+/_~.=%-]`) that is a vendor token or
    random-looking, hidden; its `name=` prefix and the word-like pieces of a URL path stay."""
    return _CANDIDATE.sub(_judge_candidate, text)


class _Vendors:
    """The vendor table: literal prefixes (a cheap first check), the patterns they start, and
    the few prefix-less shapes."""

    def __init__(self, table: list[dict[str, object]], extra: tuple[str, ...]) -> None:
        prefixes: list[str] = []
        patterns, shapes = [], []
        for entry in table:
            if "shape" in entry:
                shapes.append(f"(?:{entry['shape']})")
                continue
            given = entry["prefix"]
            literal = [str(p) for p in given] if isinstance(given, list) else [str(given)]
            prefixes += literal
            patterns.append(f"(?:{'|'.join(map(re.escape, literal))})(?:{entry['body']})")
        prefixes += extra
        patterns += [re.escape(p) + r"[\w+/~.=%-]{8,}" for p in extra]
        self.prefixes = tuple(prefixes)
        self.tokens = re.compile("|".join(patterns))
        self.shapes = re.compile("|".join(shapes) or "(?!)")

    def fullmatch(self, run: str) -> bool:
        return bool((run.startswith(self.prefixes) and self.tokens.fullmatch(run))
                    or self.shapes.fullmatch(run))


_extra_prefixes: tuple[str, ...] = ()


def use_prefixes(extra: Iterable[str]) -> None:
    """Add the user's own token prefixes (`acme_live_`: the prefix, then 8+ token characters)
    to the vendor table."""
    global _extra_prefixes
    _extra_prefixes = tuple(p for p in extra if p)
    known_token.cache_clear()


@functools.cache
def known_token() -> _Vendors:
    """The vendor table, read at first use, with the user's own prefixes."""
    table = yaml.safe_load(PREFIXES_FILE.read_text(encoding="utf-8"))
    return _Vendors(table, _extra_prefixes)


_BRACKETED_ID = re.compile(r"\[[\w-]{22}\]|\{[\w-]{22}\}")
_SSH_PUBLIC_KEY = re.compile(r"(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-[\w.@-]+)[ \t]$")
_CANDIDATE = re.compile(r"(?<![\w+/~.=%-])[\w+/~.=%-]{20,}", re.ASCII)
_RUN_KEY = re.compile(r"-{0,2}[A-Za-z_][\w.-]{0,63}=(?=[^=])")
_SLASH = re.compile(r"(/|%2[Ff])")
# Short words that CamelCase identifiers are made of (AddOrUpdateTaintOnNode, GetPodByName).
_SHORT_WORDS = sorted(set(
    "in on or to by of as up is at no if id ip do io os get set add new run pod err map key log "
    "max min use has can all any not for the and dir env api app ctx msg req obj val var sub net "
    "tcp udp dns vol dev cpu mem raw job tag top old end out off via too may per cfg src dst tmp "
    "pkg cmd fmt str mgr ref uid gid pid url uri ttl tls ssl rpc sig arg opt buf len num now one "
    "two big bad pvc csi nfs ebs gce aws ctl ops".split()), key=len, reverse=True)
_WORD = re.compile(
    r"[A-Z]?[a-z]{3,}|[A-Z]{2,}(?=[A-Z][a-z]|[^A-Za-z]|$)|(?:"
    + "|".join(w.title() + "|" + w for w in _SHORT_WORDS)
    + r")(?=[A-Z0-9_/-]|$)"
)
_PIECES = re.compile(r"[-_/+.~=]+")
_SEPARATORS = _PIECES
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
_LOWER_PIECE = re.compile(r"[a-z0-9._~-]*")
SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")  # case and digit runs of a name
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def looks_random(token: str) -> bool:
    """Mixed case, not made of words, high Shannon entropy. Measured on random base62/base64:
    misses ~3.5% of 20-character tokens, ~0.8% at 32, ~0.3% at 40; flags 3 of 11,908
    mixed-case identifiers from the Kubernetes source."""
    if token.islower() or token.isupper():
        return False
    n = len(token)
    chars = set(token)
    if not (chars & _UPPER and chars & _LOWER):
        return False
    pieces = _PIECES.split(token)  # GlobalSign_Root_CA_-_R3, io_k8s_api_core_v1_PodSpec
    if len(pieces) > 1 and all(map(_is_name_piece, pieces)):
        return False
    letters = n - sum(map(len, _SEPARATORS.findall(token)))
    if sum(map(len, _WORD.findall(token))) >= 0.7 * letters:  # CamelCase identifiers, paths
        return False
    entropy = -sum(c / n * math.log2(c / n) for c in Counter(token).values())
    return entropy >= min(4.0, 0.8 * math.log2(n))


def _is_name_piece(piece: str) -> bool:
    """Short, a version, or few case/digit runs (`DigiCert`, `RSA4096`, not `xP1Fz0t9Ob`)."""
    n = len(piece)
    return n <= 4 or bool(_VERSION.fullmatch(piece)) or n >= 3 * len(SEGMENT.findall(piece))


def _is_path_piece(piece: str) -> bool:
    """`api`, `v1`, `sendMessage`, `AbCdEf.webp`: a piece of a URL path, not of a token (a
    random name with a media file's extension is a stored file's, not a credential)."""
    return bool(_LOWER_PIECE.fullmatch(piece)) or (
        piece.isalpha() and sum(map(len, _WORD.findall(piece))) >= 0.8 * len(piece)) or (
        _MEDIA_FILE.fullmatch(piece) is not None)


# A stored file's or a bundler's asset's name (Vite's `index-BfK3x9Qz.js`).
_MEDIA_FILE = re.compile(r"[\w-]{1,128}\.(?:webp|png|jpe?g|gif|svg|ico|avif|bmp|tiff?|mp[34]|webm"
                         r"|ogg|wav|css|woff2?|ttf|otf|eot|m?js|cjs|map|wasm)")
# Base64 that is no credential: a JSON document (a list's `continue` token, a payload), a PEM
# certificate (`caBundle`), an image. Judged decoded; JSON holding a secret stays hidden.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_BASE64_JSON = ("eyJ", "eyA", "W3s", "WyJ", "W10")  # `{"`, `{ `, `[{`, `["`, `[]`
_BASE64_PUBLIC = ("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",  # -----BEGIN CERTIFICATE-----
                  "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS",  # -----BEGIN PUBLIC KEY-----
                  "iVBORw0KGgo", "R0lGODlh", "R0lGODdh", "/9j/", "UklGR", "JVBERi0")
_ARN_BEFORE = re.compile(r"\barn:[\w-]+:[\w-]+:[\w-]*:\d*:(?:[\w-]+[:/])?$")
# Keys of a digest or a public key's thumbprint: go.sum's `h1:`, JOSE's `x5t`.
_DIGEST_KEYS = frozenset({"h1", "x5t", "x5t#s256"})
_NUMBERED = re.compile(r"(?:[-_.]?\d+)+$")  # `x-amz-id-2`, `token_id_2`
_HEAD_KEYS = re.compile(r"([A-Za-z_][\w.-]*)=")
_KEY_BEFORE = re.compile(r"(?P<key>[A-Za-z][\w.-]{0,63})[\"']?[ \t]*[:=][ \t]*[\"']?$")


def harmless_base64(core: str) -> bool:
    if not _BASE64.fullmatch(core):
        return False
    if not core.startswith(_BASE64_JSON + _BASE64_PUBLIC):
        return _base64_prose(core)
    if core.startswith(_BASE64_PUBLIC):
        return True
    body = core.rstrip("=")
    body = body[: len(body) // 4 * 4]  # a cut token: what decodes
    try:
        text = base64.b64decode(body.replace("-", "+").replace("_", "/"), validate=True)
        decoded = text.decode("utf-8", "ignore")
    except (binascii.Error, ValueError):
        return False
    if not decoded.isprintable():
        return False
    from .redacting import redact_text  # noqa: PLC0415  # the judge of the decoded text

    return redact_text(decoded) == decoded


def _base64_prose(core: str) -> bool:
    """Base64 of a sentence (`aGVsbG8gd29ybGQgZnJvbSB0aGUgY2hlY2tvdXQgc2VydmljZQ==`, five words
    or more, letters only): a message, not a credential; judged decoded, like JSON."""
    if len(core) < 32 or len(core) % 4:
        return False
    try:
        decoded = base64.b64decode(core.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    if not decoded.isascii():
        return False
    words = decoded.decode().split(" ")
    if len(words) < 5 or not all(w.isalpha() for w in words):
        return False
    from .redacting import redact_text  # noqa: PLC0415  # the judge of the decoded text

    return redact_text(decoded.decode()) == decoded.decode()


_HEX_TEXT = re.compile(r"(?:[0-9a-f]{2})+|(?:[0-9A-F]{2})+")


def _hides_a_secret(run: str) -> bool:
    """Hex that spells text holding a secret (`password=...` hex-dumped). A digest or an id
    almost never decodes to printable text, so this costs nothing for them."""
    text = bytes.fromhex(run)
    if not (text.isascii() and text.decode().isprintable()):
        return False
    from .redacting import redact_text  # noqa: PLC0415  # the judge of the decoded text

    decoded = text.decode()
    return redact_text(decoded) != decoded


def _spared(m: re.Match[str], head: str, core: str) -> bool:
    """A random-looking run that is no credential (asked only of runs about to be hidden): base64
    of JSON, a certificate or an image; an id by its key; an ARN's resource."""
    if known_token().fullmatch(core):
        return False
    return (harmless_base64(core) or _names_an_id(m, head) or _AWS_ID.fullmatch(core) is not None
            or _ARN_BEFORE.search(m.string, max(0, m.start() - 120), m.start()) is not None)


# An AWS resource's id, as its docs write them too (`subnet-0bb1c79de3EXAMPLE`).
_AWS_ID = re.compile(r"(?:subnet|vpc|sg|ami|vol|eni|igw|nat|rtb|snap|acl|vpce|tgw|pcx|eipalloc"
                     r"|lt|i)-[0-9a-f]{8,17}(?:EXAMPLE[0-9]?)?")


def _names_an_id(m: re.Match[str], head: str) -> bool:
    """`ExtendedRequestId: Ow+0wn...`, `request_id=...`, `x-amz-id-2`: an id by its key (not
    `session_id`, `secret_id`, `access_key_id`, which `sensitive_name` knows); a digest's key
    (`h1:`, `x5t=`)."""
    names = _HEAD_KEYS.findall(head)
    name = names[-1] if names else ""
    if not name:
        before = _KEY_BEFORE.search(m.string, max(0, m.start() - 80), m.start())
        name = before.group("key") if before else ""
    segments = [seg.lower() for seg in SEGMENT.findall(name)]
    while len(segments) > 1 and segments[-1].isdigit():
        segments.pop()  # S3's `x-amz-id-2`
    if name.lower() in _DIGEST_KEYS:
        return True
    if not segments or segments[-1] not in ("id", "ids"):
        return False
    from .secret_names import sensitive_name  # noqa: PLC0415  # it imports this module

    return not sensitive_name(name) and not sensitive_name(_NUMBERED.sub("", name))


def _is_token(core: str) -> bool:
    if known_token().fullmatch(core):
        return True
    plain = unquote(core) if "%" in core else core
    return looks_random(plain.rstrip("="))


def _judge_candidate(m: re.Match[str]) -> str:
    """A run of token characters: keep its `name=` prefixes, its trailing dots and the
    lowercase path pieces at either end; hide the rest if it is a token."""
    run = m.group()
    if run.startswith(("sha256-", "sha384-", "sha512-")):
        return run  # a subresource integrity digest
    if run.startswith("AAAA") and _SSH_PUBLIC_KEY.search(m.string, max(0, m.start() - 40),
                                                          m.start()):
        return run  # `ssh-ed25519 AAAAC3Nz... user@host`: a public key
    head = ""
    for _ in range(4):  # a=b=c: a few `name=` prefixes at most
        key = _RUN_KEY.match(run) if "=" in run else None
        if not key or not (key.group().islower() or not looks_random(key.group()[:-1])):
            break
        head, run = head + key.group(), run[key.end():]
    core = run.rstrip(".")
    tail = run[len(core):]
    if len(core) == 43 and m.string.endswith(("SHA256:", "sha256:"), 0, m.start()) and (
            not head):
        return m.group()  # OpenSSH's `SHA256:<base64>` fingerprint of a public key
    if len(core) == 22 and not head and not tail and _BRACKETED_ID.fullmatch(
            m.string, max(0, m.start() - 1), m.end() + 1) and not known_token().fullmatch(core):
        return m.group()  # Elasticsearch's node, cluster and index ids: `[es-0][aB3d...]`
    if len(core) >= 32 and _HEX_TEXT.fullmatch(core) and _hides_a_secret(core):
        return head + REDACTED + tail
    if "/" not in core and "%2" not in core:
        if len(core) >= 20 and _is_token(core) and not _spared(m, head, core):
            return head + REDACTED + tail
        return m.group()
    pieces = _SLASH.split(core)  # pieces at even indexes, separators between
    start, end = 0, len(pieces)
    while start < end and _is_path_piece(pieces[start]):
        start += 2
    while end > start and _is_path_piece(pieces[end - 1]):
        end -= 2
    middle = "".join(pieces[start:end])
    if len(middle) < 16 or not _is_token(middle) or _spared(m, head, core):
        return _after_secret_segment(m, head, pieces, tail)
    return head + "".join([*pieces[:start], REDACTED, *pieces[end:]]) + tail


# Path segments whose next segment is a key (PagerDuty's `/integration/<key>/enqueue`, webhooks).
_KEYED_SEGMENTS = frozenset({"integration", "integrations", "hooks", "webhook", "webhooks"})
_LOWER_TOKEN = re.compile(r"[0-9a-f]{24,}|(?=[a-z]*\d)(?=\d*[a-z])[0-9a-z]{32,}")


def _after_secret_segment(m: re.Match[str], head: str, pieces: list[str], tail: str) -> str:
    """A lowercase or hex token in a URL path, right after a segment that names a secret:
    `/reset-password/<hex>`, `/tokens/<hex>`, `/api-keys/<hex>` (not `/commits/<sha>`)."""
    from .secret_names import sensitive_name  # noqa: PLC0415  # it imports this module

    hidden = False
    for i in range(2, len(pieces), 2):
        segment = pieces[i - 2].lower()
        if _LOWER_TOKEN.fullmatch(pieces[i]) and (segment in _KEYED_SEGMENTS or (
                sensitive_name(segment, broad=True) and not segment.endswith(("id", "ids")))):
            pieces[i], hidden = REDACTED, True
    return head + "".join(pieces) + tail if hidden else m.group()
