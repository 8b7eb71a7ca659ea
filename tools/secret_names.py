"""What is a secret by its name, and which values say nothing: `sensitive_name` judges a key
(`DB_PASSWORD`, `PassWord`, `pw`, `X-Api-Key`; not `tokenManager` or `password_file`),
`is_secret_value` spares booleans, references, templates, paths and what was already redacted.
The replacements every keyed rule shares keep the key and its quotes and hide the value.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .key_words import JOINED, NON_LATIN, NON_LATIN_WORD, UNDECOMPOSED, meaning, plain_spelling
from .secret_tokens import REDACTED, SEGMENT, looks_random

_STRONG = ("password", "passwd", "passwort", "passphrase", "secret", "token", "apikey",
           "credential", "privatekey", "accesskey", "secretkey", "mnemonic", "seedphrase",
           "sessionid", "userkey", "authkey")
# A strong word ends a segment, perhaps with a plural or a value suffix: `dbpassword`,
# `passwordhash`, `apikeys`; not `secretsmanager` or `tokenmanager`.
_STRONG_ENDINGS = tuple(w + end for w in _STRONG for end in ("", "s", "hash", "value", "str"))
_NOT_STRONG = frozenset({"tokens", "tokenizer", "tokenize", "tokenized"})
_EXACT = frozenset({"pwd", "pw", "pass", "dsn", "cred", "creds", "signature", "sig",
                    "sessid", "passin", "passout", "privkey", "masterauth", "xsrf", "csrf", "psk",
                    "totp", "bearer", "hmac", "pepper", "signing",
                    "jks", "p12", "pfx"})  # a keystore file: its private keys, encoded
# Whole names (separators dropped) that hold a secret though no word above says so (MySQL's
# `authentication_string` is a password's hash).
_NAMED_SECRETS = ("secretkeybase", "erlangcookie", "honeycombteam", "authenticationstring",
                  "subscriptionkey", "clickhousekey", "insertkey", "connectionstring",
                  "presharedkey", "otpseed", "unlockcode", "accesscode", "adminpin", "passcode",
                  "otpcode", "2facode", "mfacode", "smscode", "totpcode", "verificationcode",
                  "securitycode", "recoverycode", "recoverycodes", "backupcodes",
                  "recoveryphrase")
_EXACT_BROAD = _EXACT | {"auth", "pin", "key", "keys", "private", "conn", "jwt", "salt",
                         "cookie", "otp", "seed", "signing", "unseal",
                         "community"}  # SNMP_COMMUNITY: SNMP's shared secret
# Words that may follow the secret word and still name the secret itself: its versions, stages and
# confirmations (`password_confirmation`, `token_v2`, `api_key_primary`, `db.password.prod`,
# `SECRET_KEY_FALLBACK`). Not `expired`, `reset`, `policy`...: a state or a rule, not the value.
_QUALIFIERS = frozenset({
    "confirmation", "confirm", "confirmed", "again", "repeat", "repeated", "retype", "verify",
    "verification", "new", "old", "current", "previous", "prev", "next", "prod", "production",
    "staging", "stage", "stg", "dev", "test", "qa", "uat", "live", "sandbox", "primary",
    "secondary", "fallback", "backup", "bak", "rotated", "salted", "tmp", "temp", "enc",
    "v", "main", "alt", "legacy", "override", "default", "local", "remote", "admin", "root",
    "attempt",  # Rails' `otp_attempt`, `password_attempt`: what the user typed
})
_PASS_WORDS = frozenset({"bypass", "compass", "multipass", "onepass", "singlepass", "firstpass"})
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "ssh", "encryption", "decryption", "signing", "master",
    "client", "license", "app", "application", "service", "account", "storage", "webhook",
    "hmac", "aes", "gpg", "pgp", "deploy", "admin", "root", "auth", "session", "crypto", "enc",
    "sign", "shared", "wallet", "signer", "validator", "ingest", "integration", "routing",
    "server", "write", "unseal", "recovery", "consumer", "personal", "user", "tls", "ssl",
    "jwt", "cookie", "csrf", "xsrf", "cipher", "dd", "datadog", "mailgun", "stripe", "twilio",
    "sendgrid", "google", "maps", "firebase", "openai", "slack", "github", "gitlab", "live",
})
_CONN_PREFIXES = frozenset({
    "database", "db", "redis", "mongo", "mongodb", "postgres", "postgresql", "pg", "mysql",
    "amqp", "rabbitmq", "broker", "sentry", "conn", "connection",
})
_CONN_LAST = frozenset({"url", "uri", "dsn", "str", "string"})
_VALUE_SUFFIX = frozenset({
    "value", "hash", "b64", "base64", "encoded", "encrypted", "plain", "plaintext", "raw", "text",
    "str", "string", "data", "id", "hex", "bytes",
})
# A name ending in one of these holds something about a secret, not the secret itself.
_SAFE_LAST = frozenset({
    "name", "names", "file", "files", "path", "paths", "dir", "directory", "ref", "url", "uri",
    "endpoint", "host", "hostname", "port", "ttl", "expiry", "expires", "expiration", "timeout",
    "type", "kind", "length", "len", "size", "count", "enabled", "enable", "disabled",
    "required", "mode", "header", "version", "format", "algorithm", "policy", "provider",
    "location", "mount", "prefix", "tokens", "stdin", "min", "max", "require", "source",
    "serializer", "deserializer", "issuer", "audience", "store", "domain", "hasher", "origins",
    "template", "cidr", "age", "level", "registry", "hint", "hosts",
})
# The same words in other languages (`Passwort-Richtlinie`, `Passwortlänge`); where a language
# puts them first (`Politique de mot de passe`, `política de contraseñas`), a preposition follows.
_ABOUT_WORDS = frozenset({
    "richtlinie", "richtlinien", "politique", "politica", "beleid", "polityka", "regel", "regeln",
    "regles", "reglas", "regras", "regole", "anforderungen", "exigences", "requisitos",
    "requisiti", "lange", "laenge", "longueur", "longitud", "lunghezza", "comprimento",
    "komplexitat", "complexite", "complejidad", "ablauf", "expiration", "historique",
})
_OF = frozenset({"de", "des", "du", "di", "del", "della", "da", "do", "dos", "das", "of", "for",
                 "pour", "para", "per", "van", "voor", "fur", "dla"})


def about_a_secret(before: str) -> bool:
    """Whether the words before a key make it a rule about the secret, in a language that puts
    the rule first (`Politique de` before `mot de passe`, `policy for` before `password`)."""
    words = fold_name(before).lower().split()
    return len(words) >= 2 and words[-1] in _OF and words[-2] in _ABOUT_WORDS | _SAFE_LAST


@functools.lru_cache(maxsize=4096)  # names repeat across every replica of every workload
def sensitive_name(name: str, *, broad: bool = False) -> bool:
    """Whether a key names a secret, in any case (`password`, `PassWord`, `PASSWD`, `pw`).

    In log text the secret word must name the value itself (`access_token`, `passwordHash`,
    `X-Api-Key`, `session_id`; not `tokenManager` or `--auth-local`). Env names and ConfigMap
    keys are `broad`: the word may sit anywhere, and KEY, PRIVATE, CONN and DATABASE_URL-like
    names count too.
    """
    if not name.isascii():
        name = fold_name(name)
    if _ALTERNATING_CASE.search(name):  # `PaSsWoRd`: no camelCase word is one or two letters
        name = _ALTERNATING_CASE.sub(lambda m: m.group().lower(), name)
    segs = [s.lower() for s in SEGMENT.findall(name)]
    if not segs or (segs[0] == "existing" and len(segs) > 1):
        return False  # Helm's `existingSecret`: the name of a Secret that holds it
    if segs[-1] in _ABOUT_WORDS or len(segs) > 2 and segs[0] in _ABOUT_WORDS and segs[1] in _OF:
        return False  # a rule about a secret (`Passwort-Richtlinie`, `Politique de mot de passe`)
    return _judged(segs, broad) or _means_secret(name, segs, broad)


# A run of letters whose case changes every one or two letters (`PaSsWoRd`, `sEcReT`): one word
# written to dodge a rule, not camelCase words (`PassWord`, `tokenManager` keep their segments).
_ALTERNATING_CASE = re.compile(
    r"(?<![A-Za-z])(?:[A-Z]{1,2}[a-z]{1,2}|[a-z]{1,2}[A-Z]{1,2}){2,}[A-Za-z]{0,2}(?![A-Za-z])")


def _means_secret(name: str, segs: list[str], broad: bool) -> bool:
    """A key in another language or misspelt: a word for a password, secret or token anywhere
    in it (`senha_db`, `DB_HESLO`, `parola_chiave`, `client_secr3t`, `passowrd`), or a word for a
    key beside one that says which (`clave_api`); the name read in English otherwise."""
    plain = plain_spelling(name)
    if plain != name:
        segs = [s.lower() for s in SEGMENT.findall(plain)]
    meant = [meaning(seg) for seg in segs]
    if segs[-1] in _SAFE_LAST:
        return False
    if any(m not in (None, "key") for m in meant) or any(w in "".join(segs) for w in JOINED):
        return True
    if "key" in meant and any(seg in _KEY_QUALIFIERS for seg in segs):
        return True
    return plain != name and _judged(segs, broad)


# The secret word first, then whose it is (`PASSWORD_DB`, `TOKEN_GITHUB`, `passwordSmtp`,
# `API_KEY_SENDGRID`): only services, vendors and accounts may follow, so `PASSWORD_POLICY`,
# `TOKEN_URL` and `SECRET_NAME` stay what they are.
_LEADING = frozenset({"password", "passwd", "passphrase", "pass", "pwd", "token", "secret",
                      "apikey", "credential", "credentials"})
_WHOSE = _CONN_PREFIXES | _KEY_QUALIFIERS.difference({"private", "public"}) | frozenset({
    "smtp", "mail", "email", "ldap", "ftp", "sftp", "user", "admin", "root", "github", "gitlab",
    "bitbucket", "npm", "pypi", "docker", "registry", "aws", "gcp", "azure", "s3", "minio",
    "elastic", "es", "kafka", "vault", "keycloak", "oauth", "oidc", "sso", "bot", "telegram",
    "discord", "paypal", "shopify", "salesforce", "hubspot", "zendesk", "jira", "confluence"})


def _secret_of(segs: list[str]) -> bool:
    """A secret word followed only by whose secret it is."""
    rest = segs[2:] if segs[:2] == ["api", "key"] else segs[1:] if segs[0] in _LEADING else []
    return bool(rest) and all(seg in _WHOSE or seg.isdigit() for seg in rest)


def _judged(segs: list[str], broad: bool) -> bool:
    """`sensitive_name` on a key's lowercase segments, in English."""
    if any(len(seg) <= 10 and seg.endswith("pw") for seg in segs):
        return True  # `LDAP_BINDPW`, `rootpw`
    if any(_PASSWORD_ABBREVIATION.search(seg) for seg in segs) and segs[-1] not in _SAFE_LAST:
        return True  # `DBPWD`, `PWD_DB`, `pswd`, `pword`: a password's abbreviation anywhere
    if broad and segs[-1] in _CONN_LAST and _CONN_PREFIXES.intersection(segs):
        return True
    if segs[-1] in _SAFE_LAST:
        return False
    if "".join(segs).endswith(_NAMED_SECRETS):
        return True
    if broad and segs[-2:] == ["key", "id"] and segs[-3:-2] != ["access"]:
        return False  # KEY_ID, KMS_KEY_ID, JWT_KEY_ID: which key, not the key (AWS's is)
    if broad:
        joined = "".join(seg for seg in segs if seg not in _NOT_STRONG)
        return (bool(_EXACT_BROAD.intersection(segs)) or any(w in joined for w in _STRONG)
                or any(_ends_in_pass(seg) for seg in segs) or segs[-1] == "sk")  # DJANGO_SK
    if len(segs) > 1 and segs[-2:] == ["session", "id"]:
        return True
    if _secret_of(segs):
        return True
    if len(segs) > 1 and (segs[-1] in _VALUE_SUFFIX or segs[-1].isdigit()):
        segs = segs[:-1]  # password_hash, secret_id, password2
    for _ in range(3):  # password_confirmation, token_v2, api_key_primary, db.password.prod
        if len(segs) > 1 and (segs[-1] in _QUALIFIERS or segs[-1].isdigit()):
            segs = segs[:-1]
    last = segs[-1]
    if last in _EXACT or _ends_in_pass(last) or _STRONG_TYPO.fullmatch(last) or (
            last not in _NOT_STRONG and any(map(last.endswith, _STRONG_ENDINGS))):
        return True
    if len(segs) > 1:  # PassWord, Pass_Phrase: the word spans two segments
        pair = segs[-2] + last
        if any(w in pair and w not in segs[-2] for w in _STRONG):
            return True
    return last in ("key", "keys") and len(segs) > 1 and segs[-2] in _KEY_QUALIFIERS


# A password's abbreviation inside a segment (`DBPWD`, `PWD_DB`, `pswd`, `pword`, `mypasswd`);
# the shell's `PWD=/app` and `OLDPWD=/` hold paths, which `is_secret_value` spares.
_PASSWORD_ABBREVIATION = re.compile(r"pwd|pswd|psw$|^psw|^pword|passwd|passwort")
# A strong word with one stray letter (`secretz`, `tokenx`); not a plural (`tokens`).
_STRONG_TYPO = re.compile(r"(?:password|secret|token|apikey)[a-rt-z]")
# Names that hold a secret only when their value looks like one (`session=aB3x...`,
# `sid=Zq81...`; not `session=3 of 5`, `access=granted`, `sid=1`, `key=value`).
# `auth: oidc` names a method and `pin: 80` a port: `auth` and `pin` are everyday names too.
# `seed=42` seeds a random generator: a wallet's or an OTP's seed looks like a credential.
_WEAK = frozenset({"seed", "auth", "pin", "key", "session", "sess", "sid", "xsrf", "csrf",
                   "refresh", "access", "nonce", "salt", "otp", "sas", "conn", "connstr",
                   "connection", "cookie", "jwt"})
_WEAK_JOINED = ("connstr", "sastoken", "sasurl")


@functools.lru_cache(maxsize=4096)
def weak_name(name: str) -> bool:
    """Whether a key may hold a secret, though its word is an everyday one too (`key`,
    `session`, `sid`, `refresh`, `access`, `nonce`, `salt`, `otp`, `sas`, `conn_str`,
    `MASTERKEY`): its value decides (`credential_shaped`)."""
    segs = [s.lower() for s in SEGMENT.findall(fold_name(name))]
    if not segs or segs[-1] in _SAFE_LAST:
        return False
    while len(segs) > 1 and (segs[-1] in _VALUE_SUFFIX or segs[-1] in _QUALIFIERS
                             or segs[-1].isdigit()):
        segs = segs[:-1]  # conn_str, session_id, refresh_v2
    last = segs[-1]
    return last in _WEAK or meaning(last) == "key" or "".join(segs).endswith(_WEAK_JOINED) or (
        last.endswith("key") and 4 < len(last) <= 16) or (  # `MASTERKEY`, `dbkey`
        _led_by_secret_word(segs))


def _led_by_secret_word(segs: list[str]) -> bool:
    """`password_utente`, `token_prod_eu`, `secret_lab`: a secret's word, then words that say
    neither whose it is (`_secret_of`) nor what it is about (`PASSWORD_POLICY` stays, its last
    word in `_SAFE_LAST`); a value shaped like a credential decides."""
    return len(segs) > 1 and segs[0] in _LEADING and segs[0] != "pass" and not (
        _ABOUT_WORDS.intersection(segs))


def weak_secret(name: str, value: str) -> bool:
    """Whether a value under an everyday name (`weak_name`) is its secret: shaped like a
    credential, or a PIN's 4 to 12 digits (`pin: 4821`; not `pin: 80`)."""
    if credential_shaped(value):
        return True
    segs = SEGMENT.findall(name.lower())
    return bool(segs) and segs[-1] == "pin" and value.isdigit() and 4 <= len(value) <= 12


_SHAPED = re.compile(r"(?=[^\n]*[0-9])(?=[^\n]*[A-Za-z])[^\s]{8,}|[^\s]*[!#$%^&*+~?]"
                     r"[^\s]*|(?=[^\n]*[A-Z])(?=[^\n]*[a-z])[A-Za-z]{16,}")


def credential_shaped(value: str) -> bool:
    """Whether a value looks like a credential, not a word, a count, a path or a name: 8+
    characters with letters and digits (`Xk9mQ2vLp7`), or a symbol among them (`pa$$word`),
    or 16+ mixed-case letters; never a path, a number, an ISO date or a dotted version."""
    v = value.strip()
    if len(v) < 6 or " " in v or not is_secret_value(v) or sum(map(str.isalpha, v)) < 3:
        return False  # a count, a Windows SID (`S-1-5-21-...`)
    if "/" in v or v.count(".") >= 2 or _DATE_LIKE.match(v) or _NAMEISH.fullmatch(v) or (
            _CACHE_KEY.fullmatch(v)) or (
            _OBJECT_NAME.fullmatch(v) and not _HEX_RUN.search(v)):
        return False
    if v.isalpha():  # `CriticalAddonsOnly`, `AccessDeniedException`: words, not a key
        return len(v) >= 16 and looks_random(v)
    return _SHAPED.fullmatch(v) is not None


_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)*(?:ms|s|m|h|d|%)?$")
_OBJECT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")  # checkout-7d9f8b6c4-x2k9p
_CACHE_KEY = re.compile(  # a namespaced id: `orders:<uuid>`, `user:42:cart`
    r"[a-z][\w-]{0,32}(?::[a-z][\w-]{0,32})*:(?:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\d+)"
    r"(?::[a-z][\w-]{0,32})*", re.IGNORECASE)
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")
_NAMEISH = re.compile(r"[a-z]+(?:[-_][a-z]+)*(?:[-_.]\d+)?")


# Letters that look like Latin ones (Cyrillic, Greek): a key spelled with them is still the key.
_HOMOGLYPHS = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u04bb\u0432\u043a"
    "\u043c\u043d\u0442\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423"
    "\u0425\u0406\u0408\u0405\u03bf\u03b1\u03b5\u03c1\u03ba\u03bd\u03c4\u03c5\u03c7\u0391"
    "\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "aeopcyxijsdhbkmhtABEKMHOPCTYXIJSoaepkvtuxABEZHIKMNOPTYX")


@functools.lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """What a character of a key stands for: fullwidth and compatibility forms folded (NFKC),
    Cyrillic and Greek look-alikes made Latin, accents dropped, invisible format characters
    (zero-width spaces, soft hyphens, direction marks) dropped."""
    if unicodedata.category(char) == "Cf":
        return ""
    folded = unicodedata.normalize("NFKC", char).translate(_HOMOGLYPHS).translate(UNDECOMPOSED)
    if not folded.isascii():  # an accented letter: its base (`contraseña` is `contrasena`)
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded)
                         if not unicodedata.combining(c))
    return folded if folded.isascii() else char


def fold_name(name: str) -> str:
    """A key as it reads (`pаss\u200bword` is `password`, `hasło` is `haslo`, `DB_ПАРОЛЬ` is
    `DB_password`), for judging it, never for showing."""
    if NON_LATIN_WORD.search(name):
        name = NON_LATIN_WORD.sub(lambda m: NON_LATIN[m.group().lower()], name)
    return "".join(c if c.isascii() else fold_char(c) for c in name)


_PASSWORD_WORDS = re.compile(r"pass|pwd?$|^pw")


@functools.lru_cache(maxsize=1024)
def names_password(name: str) -> bool:
    """Whether a key names a password or passphrase: chosen by a human, it may hold spaces
    (`password=correct horse battery staple`), where a token never does."""
    return sensitive_name(name) and any(
        (_PASSWORD_WORDS.search(seg) and seg not in _PASS_WORDS) or meaning(seg) in _CHOSEN
        for seg in (s.lower() for s in SEGMENT.findall(plain_spelling(fold_name(name)))))


_CHOSEN = ("password", "passphrase")  # what `meaning` calls a password in another language


# Names whose value may be a `user:password` pair (`SMTP_LOGIN=app:pw`, `OAUTH_CLIENT=id:secret`).
_LOGIN_LAST = frozenset({"login", "logins", "client", "userpass", "basicauth", "account", "user",
                         "username", "userinfo", "usr"})
_LOGIN_PAIR = re.compile(r"(?P<user>[\w.@+-]{1,64}):(?P<pw>[^\s:/@\"',;]{4,256})")


def names_community(name: str) -> bool:
    """`--community`, `SNMP_COMMUNITY`, `example.com/community`: an SNMP community string, the
    shared secret of SNMP v1 and v2c."""
    return name.lower().rstrip("=").endswith("community")


def names_login(name: str) -> bool:
    """Whether a key may hold `user:password` (`SMTP_LOGIN`, `OAUTH_CLIENT`, `basic_auth`)."""
    segs = [s.lower() for s in SEGMENT.findall(fold_name(name))]
    return bool(segs) and (segs[-1] in _LOGIN_LAST or "".join(segs[-2:]) in _LOGIN_LAST)


def login_password(value: str) -> re.Match[str] | None:
    """The `user:password` pair `value` is, when its second half looks like a password: not a
    port or an id (`1000:1000`, `broker:9092`), not a short lowercase word (`app:readonly`)."""
    m = _LOGIN_PAIR.fullmatch(value)
    if not m:
        return None
    pw = m.group("pw")
    if pw.isdigit() or (pw.isalpha() and pw.islower() and len(pw) < 10):
        return None
    return m if is_secret_value(pw) else None


def _ends_in_pass(seg: str) -> bool:
    """`storepass`, `keypass`, `requirepass`, `pgpass`; not `bypass`."""
    return len(seg) > 4 and seg.endswith("pass") and seg not in _PASS_WORDS


_PLACEHOLDER = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Z_][A-Z0-9_]*|\$[a-z_][a-z0-9_]*|\{\{.*[\s.].*\}\}|\*+"
    r"|%\(\w+\)s|<[\w -]*>|\([a-z ]{1,40}\)|(?:file|fd):\S+|stdin"
    r"|SIG[A-Z]{2,8}(?:[ \t]+[a-z][a-z ]*)?"
    r"|.*\[REDACTED(?:\](?![\w!#$%&*+/=?^~-])|$).*",  # what was redacted, not `[REDACTED]pw`
    re.DOTALL,
)
_NOT_SECRET = frozenset({"", "\\", "true", "false", "null", "none", "nil", "yes", "no", "redacted",
                         "enabled", "disabled", "on", "off", "required", "optional",
                         # what a log says about a secret: `password: incorrect`
                         "incorrect", "invalid", "missing", "expired", "wrong", "empty", "unset",
                         "set", "changed", "updated", "accepted", "rejected", "denied", "ok",
                         "hidden", "masked", "omitted", "provided", "present", "absent",
                         "unknown", "blank", "mismatch", "ignored", "generated", "supplied",
                         # the same in other languages (`Passwort: gesetzt`)
                         "gesetzt", "geändert", "défini", "définie", "defini", "definie",
                         "modifié", "modifie", "definido",
                         "definida", "configurado", "configurada", "impostato", "impostata",
                         "установлен", "已设置", "已修改", "設定済み"})
_FILE_PATH = re.compile(r"(?:/[\w.@~-]+)+/?|/")
_RELATIVE_PATH = re.compile(  # secret/data/shop/db; a secret's name: prod/db, shop/db-credentials
    r"[a-z0-9_.-]+(?:/[a-z0-9_.-]+){2,}|[a-z][a-z_-]{1,63}(?:/[a-z][a-z_.-]{1,63})+")


def is_secret_value(value: str) -> bool:
    """False for values that say nothing (booleans, `$(VAR)` references, templates, `***`,
    what was already redacted) and for paths such as `/var/secrets/google/key.json` or the Vault
    path `secret/data/shop/db`, which SREs need to see."""
    v = value.strip()
    if v.lower() in _NOT_SECRET or _PLACEHOLDER.fullmatch(v) or _SAYS_WHERE.match(v):
        return False
    if _RELATIVE_PATH.fullmatch(v) or _SECRET_OBJECT.fullmatch(v) or _DOT_PATH.fullmatch(v):
        return False
    if ";" in v and "=" in v and _plain_connection_string(v):
        return False
    return not (_FILE_PATH.fullmatch(v) and not looks_random(v))


# What a log says instead of the value: `not set (using SSO)`, `from secret db-credentials`.
_SAYS_WHERE = re.compile(
    r"(?:not|never)[ \t]+(?:set|required|configured|provided|needed|used|supplied|changed)\b"
    r"|from[ \t]+(?:(?:the|a|an)[ \t]+)?(?:secret|env|environment|file|vault|configmap"
    r"|keychain|keyring|parameter|ssm)\b", re.IGNORECASE)
# A Kubernetes Secret's name (`db-credentials`, `basic-auth`, `api-tls`), which keys such as
# `auth-secret`, `secret` and `existingSecret` hold: lowercase words joined by `-`, the last one
# what such Secrets are named for.
_SECRET_OBJECT = re.compile(
    r"(?:[a-z]{2,}-)+(?:credentials|creds|secrets?|tls|auth|certs?)"
    r"|basic-auth")
_DOT_PATH = re.compile(r"\.{1,2}/[\w./-]{1,256}")  # `./pw.txt`, `../secrets/db`
_CONNECTION_PART = re.compile(r"[ \t]*(?P<key>[A-Za-z][\w .-]{0,63}?)[ \t]*=")


def _plain_connection_string(value: str) -> bool:
    """An ADO.NET or ODBC connection string with no password in it
    (`Server=db;Database=shop;Integrated Security=true`): each part's key names no secret."""
    parts = [p for p in value.split(";") if p.strip()]
    keys = [_CONNECTION_PART.match(p) for p in parts]
    return len(parts) >= 2 and all(keys) and not any(
        sensitive_name(k.group("key").replace(" ", "_"), broad=True) for k in keys if k)


def slash_led_secret(key: str, value: str) -> bool:
    """A password that starts with `/` under a key that names a password, secret or token
    (`password=/Xk9mQ2vL`): one segment shaped like a credential, no file's extension. A real
    path has more segments (`DB_PASSWORD=/etc/app/pw`) or sits under `*_FILE`, `*_PATH` keys,
    which name no secret; the shell's `PWD` holds a directory."""
    segment = value.strip()[1:]
    return value.strip()[:1] == "/" and "/" not in segment and "." not in segment and (
        key.lower() not in _SHELL_DIRECTORIES and sensitive_name(key) and credential_shaped(
            segment))


_SHELL_DIRECTORIES = frozenset({"pwd", "oldpwd"})


def keep_head(m: re.Match[str]) -> str:
    """Replacement for rules with a `head` to keep and a `pw` to hide (unless it says nothing)."""
    if not is_secret_value(m.group("pw")):
        return m.group()
    return m.group("head") + (m.groupdict().get("scheme") or "") + REDACTED


def keep_quotes(m: re.Match[str]) -> str:
    """Like `keep_head`, for a `pw` that may be quoted (`'...'`, `"..."`, CDATA)."""
    pw = m.group("pw")
    open_, close, inner = unquote_value(pw)
    if not is_secret_value(inner):
        return m.group()
    return m.group("head") + open_ + REDACTED + close


def unquote_value(pw: str) -> tuple[str, str, str]:
    if pw.startswith("<![CDATA[") and pw.endswith("]]>"):
        return "<![CDATA[", "]]>", pw[9:-3]
    if pw.startswith('\\"') and pw.endswith('\\"') and len(pw) >= 4:
        return '\\"', '\\"', pw[2:-2]
    if len(pw) >= 2 and pw[0] in "\"'`" and pw[-1] == pw[0]:
        return pw[0], pw[0], pw[1:-1]
    trailing = len(pw) - len(pw.rstrip(" \t"))
    return "", pw[len(pw) - trailing:], pw[: len(pw) - trailing]
