"""Issue 15's leak classes A-G (attack 15c), H-I (attack 15e), J-K and L-O (its second
round), P-R and S-W (attack 16), X-Z (its round 6), AA-AD (attack 17), each by name: the
corpus holds entries of every class (`class:` in `tests/data/redaction_corpus.yaml`), and each
comes out with its secret hidden and its key kept, read whole and a line at a time as a log is
read, or as a container's `command`/`args` when that is where it sits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.redacting import REDACTED, redact_lines, redact_text
from tools.scrubbing import redact_object

CORPUS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "data" / "redaction_corpus.yaml").read_text(encoding="utf-8"))
CLASSES = {
    "A": "key-name vocabulary: a name that means secret in any case or affix",
    "B": "a known key with an odd wrapper or separator",
    "C": "a list under a secret's key",
    "D": "a value on the line after its key",
    "E": "records split by the runtime",
    "F": "positional secrets with no key word",
    "G": "bare hex keys after a key word",
    "H": "a key in another language or script, its word in any segment",
    "I": "a key misspelt, in leet or spelled out letter by letter",
    "J": "a table's column named by its header row, the values in the rows below",
    "K": "a program's secret by its position or its flag in a command's words",
    "L": "a config's or a log's own syntax after the key (`CONFIG SET masterauth x`, "
         "`{password, <<\"x\">>}`, `stats auth u:x`, `: PSK \"x\"`, `DB_PASSWORD ?= x`, a crypt "
         "hash, a triple-quoted or block value below its key)",
    "M": "a token as a URL's user, with no password after it",
    "N": "a vendor token whose length differs from the documented one",
    "O": "a password that starts with `/` (not a path: one segment shaped like a credential)",
    "P": "prose in another language: a secret's noun, a copula or particle (`ist`, `est`, `é`, "
         "`为`, `는`), a dash, or a few words saying whose and a colon, then the value",
    "Q": "a value in typographic quotes after a secret's noun (`»x«`, `« x »`, `「x」`, `【x】`)",
    "R": "a separator spelled another way: a dash or an arrow, ` / `, ` - `, `%3D` outside a "
         "query, a C octal or zero-padded HTML escape, `&shy;` in the key, a JSON-escaped tab",
    "W": "English prose: `secret value is x`, `key is x`, `setting KEY to x`, a UUID after a "
         "spaced API key",
    "S": "a credential passed by position to a call in code (`getConnection(url, \"u\", x)`, "
         "`auth=(\"u\", x)`), or a record whose key field names a secret",
    "T": "a config directive's or a command's secret word (`rocommunity x`, `bindpw x`, "
         "`setx API_TOKEN x`, `--basic-auth u:x`, `expect`/`send`, a value after a `\\`)",
    "U": "the object path: a number under a secret's key, a key/val record, SNMP_COMMUNITY, "
         "AUTHKEY, an annotation holding `user:x`",
    "V": "a value a log spreads over lines read one at a time (`<Password>` then x, Hadoop's "
         "`<name>`/`<value>`, `- key:`/`value:`, a table), with a timestamp on every line",
    "X": "the members of a list or mapping under a secret's key (`secrets:` over `- name: db` and "
         "`value: x`, or over `db: x`; TOML's `[[secrets]]`; `- key: password` over `val: x`)",
    "Y": "an XML tag naming a secret split over lines (`<Password` then `>x`, attributes between; "
         "`<add key=\"DbPassword\"` over `value=\"x\"`)",
    "Z": "one-time codes, recovery codes and seed phrases after what they are for (`OTP code: "
         "482913`, `recovery codes: 8f3k-2m9q ...`, twelve recovery words)",
    "AA": "a key no rule tried or whose words were judged apart: `jwt=x`, a secret's word then "
          "a word of any language (`password_utente`), a name in alternating case (`PaSsWoRd`)",
    "AB": "string literals joined in code (`\"pass\" + \"word=x\"`, `\"ab\" +` over `\"cd\"`, "
          "PHP's `.`, SQL's `||`)",
    "AC": "a flat mapping under a secret's key or its plural on one line "
          "(`{\"tokens\": {\"github\": \"x\"}}`, `secrets = { db = \"x\" }`)",
    "AD": "a Terraform `variable` or `output` block marked `sensitive = true`, whatever its name",
}
BY_CLASS = {name: [case for case in CORPUS["secrets"] if case.get("class") == name]
            for name in CLASSES}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_class_has_corpus_entries(name: str) -> None:
    assert len(BY_CLASS[name]) >= 2, CLASSES[name]


@pytest.mark.parametrize("case", [case for name in sorted(CLASSES) for case in BY_CLASS[name]],
                         ids=lambda case: case["id"])
def test_class_entry_hides_its_secret_and_keeps_its_key(case: dict[str, Any]) -> None:
    for out in _outputs(case):
        assert case["secret"] not in out, out
        assert REDACTED in out
        assert all(keep in out for keep in case["keep"]), out


def _outputs(case: dict[str, Any]) -> list[str]:
    """A log entry read whole and a line at a time; an argv entry as a pod's container."""
    if case["where"] == "args":
        container = {"name": "c", "image": "x", **{k: case[k] for k in ("command", "args")
                                                    if k in case}}
        pod = redact_object({"kind": "Pod", "spec": {"containers": [container]}})
        out = pod["spec"]["containers"][0]
        return ["\n".join([*out.get("command", []), *out.get("args", [])])]
    if case["where"] in ("object", "env", "annotation"):
        return [json.dumps(redact_object(_carrier(case)), ensure_ascii=False)]
    return [redact_text(case["text"]), "\n".join(redact_lines(case["text"].split("\n")))]


def _carrier(case: dict[str, Any]) -> dict[str, Any]:
    """The object an object, env or annotation entry is planted in."""
    if case["where"] == "object":
        return dict(case["object"])
    container = {"name": "c", "image": "x", "env": case.get("env", [])}
    return {"kind": "Pod", "metadata": {"name": "p", "annotations": case.get("annotations", {})},
            "spec": {"containers": [container]}}


@pytest.mark.parametrize("line", [
    "PWD=/home/x", "session=3 of 5", "access=granted", "sid=1", "key=value",
    "Certificate fingerprint SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
    "[node-1][aB3dEf9GhIjKlMnOpQ] joined", "commit 3f9a1c2e8b7d6f5a4c3b2a1e0d9c8b7a6f5e4d3c",
])
def test_everyday_values_under_everyday_names_stay(line: str) -> None:
    assert redact_text(line) == line


def test_a_log_line_inside_an_unterminated_private_key_keeps_its_words() -> None:
    lines = ["2026-12-06 WARN -----BEGIN PRIVATE KEY-----",
             "2026-12-06 WARN MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
             "2026-12-06 WARN interleaved other line"]
    out = list(redact_lines(lines))
    assert "MIIEvQIBADAN" not in out[1]
    assert out[2] == lines[2]


def test_a_manifest_read_from_yaml_keyed_by_numbers_is_redacted_not_a_crash() -> None:
    """YAML reads `1: x` as an int key and `DB_PASSWORD: 48213377` as an int value: the object
    is redacted (no exception), its numeric secret goes as a string one would, its keys stay
    (written as JSON writes them, as text)."""
    manifest = yaml.safe_load("""
kind: ConfigMap
metadata: {name: w, labels: {1: x, password: 99887766}, annotations: {2: z}}
data: {1: x, DB_PASSWORD: 48213377, TOKEN: null, 3: [a, {password: 5551234}]}
binaryData: {4: AAAA}
""")
    out = redact_object(manifest)
    shown = repr(out)
    assert "48213377" not in shown and "99887766" not in shown and "5551234" not in shown
    assert out["data"]["1"] == "x" and out["data"]["TOKEN"] is None
    assert out["metadata"]["labels"]["1"] == "x" and out["metadata"]["annotations"]["2"] == "z"
