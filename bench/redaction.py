"""Redaction throughput on a synthetic 10 MB container log (what `logs` and `sre snapshot` stream).

    .venv/bin/python bench/redaction.py [--mb 10] [--repeat 3]

Prints MB/s through `redact_line` (line by line, as logs are read) and `redact_text` (one blob,
as tool results are redacted before a model sees them); best of `--repeat` runs. Then the time
for 1 MB of the same log, and for 16 KiB adversarial lines (the longest log line the readers
keep) shaped to make a rule try a key at every character: `pw`*8192 took 4.4 s before the key
rules were bounded (90 KB of `key`: 113 s), now milliseconds; and the worst of them. The log is
seeded, so runs compare: mostly everyday lines (logfmt, JSON, access logs, stack traces, kubelet
messages), one line in fifty carrying a credential.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from tools.redacting import redact_line, redact_text  # noqa: E402

_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "redaction_corpus.yaml"

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EVERYDAY = [
    'ts={ts} level=info msg="GET /api/orders/{n}" status=200 duration={ms}ms '
    "pod=checkout-7d9f8b6c4-x2k9p trace={hex32}",
    '{{"ts":"{ts}","level":"info","logger":"orders.api","msg":"order placed","order_id":{n},'
    '"user":"u{n}","latency_ms":{ms},"request_id":"{uuid}"}}',
    '10.244.1.{b} - - [15/Jan/2024:10:23:45 +0000] "GET /healthz HTTP/1.1" 200 2 "-" '
    '"kube-probe/1.29" {ms}',
    "\tat com.example.orders.OrderService.placeOrder(OrderService.java:{n})",
    "E0115 10:23:45.{n} 1 reflector.go:229] k8s.io/client-go/tools/cache: watch of *v1.Pod "
    "ended with: an error on the server",
    "{ts} WARN  [main] o.h.e.j.s.SqlExceptionHelper : SQL Error: 0, SQLState: 08001 "
    "(connection to db.shop.svc:5432 refused)",
    "Successfully pulled image \"registry.example.com/shop/checkout@sha256:{hex64}\" in {ms}ms",
    "{ts} INFO token refresh scheduled in 3600s for client orders-api (ttl=1h, keys=4)",
]
_SECRETS = [
    "ts={ts} level=debug msg=login user=u{n} password=pw{n}!x",
    "auth header Authorization: Bearer {tok40}",
    "connecting to postgres://orders:{tok16}@db.shop.svc:5432/orders",
    '{{"level":"debug","config":{{"apiKey":"{tok32}","endpoint":"https://partner.example.com"}}}}',
    "using github token ghp_{tok36} for release upload",
]


def make_log(megabytes: float, seed: int = 15) -> list[str]:
    rng = random.Random(seed)

    def fill(template: str) -> str:
        return template.format(
            ts=f"2024-01-15T10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
            n=rng.randrange(100_000), ms=rng.randrange(2000), b=rng.randrange(256),
            hex32="".join(rng.choices("0123456789abcdef", k=32)),
            hex64="".join(rng.choices("0123456789abcdef", k=64)),
            uuid=f"550e8400-e29b-41d4-a716-{rng.getrandbits(48):012x}",
            tok16="".join(rng.choices(_ALNUM, k=16)), tok32="".join(rng.choices(_ALNUM, k=32)),
            tok36="".join(rng.choices(_ALNUM, k=36)), tok40="".join(rng.choices(_ALNUM, k=40)),
        )

    lines, size = [], 0
    while size < megabytes * 1_000_000:
        line = fill(rng.choice(_SECRETS) if rng.random() < 0.02 else rng.choice(_EVERYDAY))
        lines.append(line)
        size += len(line) + 1
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = make_log(args.mb)
    blob = "\n".join(lines)
    megabytes = len(blob.encode()) / 1_000_000
    for name, run in (("redact_line", lambda: [redact_line(line) for line in lines]),
                      ("redact_text", lambda: redact_text(blob))):
        best = min(_timed(run) for _ in range(args.repeat))
        print(f"{name:12s} {megabytes:.1f} MB in {best:.2f} s: {megabytes / best:.1f} MB/s")
    small = "\n".join(make_log(1.0))
    print(f"{'1 MB mixed':24s} {min(_timed(lambda: redact_text(small)) for _ in range(3)):.3f} s")
    worst = ("", 0.0)
    for name, line in _ADVERSARIAL.items():
        best = min(_timed(lambda line=line: redact_line(line)) for _ in range(args.repeat))
        print(f"{name:24s} {len(line):6d} chars in {best * 1000:.1f} ms")
        worst = max(worst, (name, best), key=lambda pair: pair[1])
    print(f"worst 16 KiB line: {worst[0]} in {worst[1] * 1000:.1f} ms")
    for name, text in _ADVERSARIAL_TEXTS.items():
        best = min(_timed(lambda text=text: redact_text(text)) for _ in range(args.repeat))
        print(f"{name:40s} {len(text) / 1_000_000:.2f} MB in {best:.2f} s")
    corpus = yaml.safe_load(_CORPUS.read_text(encoding="utf-8"))
    changed = [t for t in corpus["traps"] if redact_text(t) != t or redact_line(t) != t]
    print(f"false positives: {len(changed)} of {len(corpus['traps'])} text traps changed "
          f"({100 * len(changed) / len(corpus['traps']):.1f}%)")
    return 0


_ADVERSARIAL = {  # 16 KiB each
    "'pw' * 8192": "pw" * 8192,
    "'key' * 5461": "key" * 5461,
    "'token' * 3276": "token" * 3276,
    "'key.' * 4096": "key." * 4096,
    "'-pw ' * 4096": "-pw " * 4096,
    "'\"pw\":' * 3276": '"pw":' * 3276,
    "password=a, spaces, b": "password=a" + " " * 16_000 + "b",
    "'authorization: ' * 1092": "authorization: " * 1092,
    # the rules added after attack-15: prose nouns, disguised keys, encodings, value shapes
    "'password Tr0ub4dor! ' * 780": "password Tr0ub4dor! " * 780,
    "'token 5f4dcc3b ' * 1092": "token 5f4dcc3b " * 1092,
    "'p\\u0430ss\\u200bword=' * 1365": "p\u0430ss\u200bword=" * 1365,
    "'pass&#119;ord=x ' * 1024": "pass&#119;ord=x " * 1024,
    "'%77' * 5461": "%77" * 5461,
    "'%253D' * 3276": "%253D" * 3276,
    "'key:[' * 3276": "key:[" * 3276,
    "'password -> ' * 1365": "password -> " * 1365,
    "'AUTH ' * 3276": "AUTH " * 3276,
    "'x' * 16000 + '_password=y'": "x" * 16_000 + "_password=y",
    "'\\uff50' * 16384": "\uff50" * 16_384,
    # attack 15c's rules: odd wrappers, lists, quoted pairs, SQL, hex after a key, login pairs
    "'password -- ' * 1365": "password -- " * 1365,
    "'pw (' * 4096": "pw (" * 4096,
    "'tokens=[\"a\", ' * 1365": 'tokens=["a", ' * 1365,
    "'\"pw\" ' * 3276": '"pw" ' * 3276,
    "insert into t (password) values ('a', ...)": "insert into t (password) values ("
                                                    + "'a', " * 3270 + ")",
    "'key a b ' + hex * 500": "key a b " * 500 + "0123456789abcdef" * 750,
    "'login a/' * 2048": "login a/" * 2048,
    "'echo x | ' * 1820 + 'base64'": "echo x | " * 1820 + "base64",
}


# Whole texts (a ConfigMap value): BEGIN lines with no END took 8 s, 1 MB of them 158 s.
_ADVERSARIAL_TEXTS = {
    "'-----BEGIN CERTIFICATE-----\\n' * 8000": "-----BEGIN CERTIFICATE-----\n" * 8000,
    "1 MB of '-----BEGIN CERTIFICATE-----\\n'": "-----BEGIN CERTIFICATE-----\n" * 36_000,
    "1 MB of '-----BEGIN PUBLIC KEY-----\\n'": "-----BEGIN PUBLIC KEY-----\n" * 38_000,
    "1 MB of 'password=\\n'": "password=\n" * 100_000,
}


def _timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
