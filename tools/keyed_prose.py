"""Secrets in prose: "the password is Summer2024!", "with token 5f4dcc3b...", "new password
hunter2hunter2", where a noun names the secret and the value must look like a credential (a word
after the noun is usually just a word: "token bucket", "password policy"). In the languages
`key_words` knows too ("das Passwort ist x", "密码为x", "пароль — x", "clé d'API = x"), after a
dash or an arrow ("password → x"), and after a key being set ("setting DB_PASSWORD to x"). And
what a person types to log in, by what it is for: one-time codes ("OTP code: 482913"), recovery
codes, a wallet's recovery words.
"""

from __future__ import annotations

import re

from .key_hints import sub_at_keys
from .key_words import NOUNS, PHRASES
from .secret_names import is_secret_value, sensitive_name, unquote_value
from .secret_tokens import REDACTED, harmless_base64


def redact_prose(text: str, lower: str) -> str:
    """The prose rules, each behind its own cheap check on lowercased `lower`."""
    if _PROSE_HINTS.search(lower) is not None or lower.lstrip().startswith(_PROSE_STARTS):
        text = _PROSE.sub(_redact_prose, text)
    if _PROSE_NOUNS.search(lower) and (" " in text or "\t" in text or '"' in text):
        text = _PROSE_VALUE.sub(_redact_prose_value, text)
    if _SPOKEN_HINTS.search(lower) is not None:
        text = sub_at_keys(_SPOKEN, _redact_spoken, text, lower)
    if " to " in lower and _SET_TO_HINTS.search(lower) is not None:
        text = _SET_TO.sub(_redact_set_to, text)
    if "/" in text and _PAIR_HINTS.search(lower):
        text = PAIR.sub(redact_pair, text)
    if "->" in text and '"' in text:
        text = _PLANNED.sub(_redact_planned, text)
    if _CODE_HINTS.search(lower) is not None:
        text = _ONE_TIME_CODE.sub(_redact_code, text)
        text = _CODE_LIST.sub(_redact_code_list, text)
        text = _WORD_LIST.sub(_redact_code, text)
    return text


# One-time codes by what they are for, their digits alone the secret: "OTP code: 482913", "Your
# verification code is 738201", "MFA code 482913", "passcode: 4821". Not "error code 500123" or
# "exit code 137": only the codes a person types to log in.
_CODE_FOR = (r"(?:otp|totp|hotp|2fa|mfa|sms|one[ _-]?time|verification|security|login"
             r"|confirmation|authentication|unlock|access|recovery|backup|scratch)")
_ONE_TIME_CODE = re.compile(
    rf"(?P<head>\b(?:{_CODE_FOR}[ \t_-]?(?:code|pin|passcode|password)|passcode|pin)"
    r"(?:[ \t]+(?:is|was))?[ \t]*[:=]?[ \t]*)(?P<pw>\d{4,12}|\d{3}[ -]\d{3})(?![\w-])",
    re.IGNORECASE)
# Recovery and backup codes, a list of them ("recovery codes: 8f3k-2m9q 4n7p-1x6z"): each holds a
# digit ("recovery codes: 10 remaining" stays).
_CODE = r"(?=[a-z]*\d)[a-z0-9]{4,12}(?:-[a-z0-9]{3,12})?"
_CODE_LIST = re.compile(
    rf"(?P<head>\b(?:recovery|backup|scratch|emergency)[ \t_-]?codes?[ \t]*[:=]?[ \t]*)"
    rf"(?P<pw>{_CODE}(?:[ \t]*[,;]?[ \t]+{_CODE}){{0,31}})(?![\w-])", re.IGNORECASE)
# A wallet's recovery words, twelve or more of them: "seed phrase: abandon ability able ...".
_WORD_LIST = re.compile(
    r"(?P<head>\b(?:(?:seed|recovery|backup|wallet|secret|mnemonic)[ \t_-]?(?:phrase|words)"
    r"|mnemonic)[ \t]*[:=][ \t]*[\"']?)(?P<pw>[a-z]{3,8}(?:[ \t]+[a-z]{3,8}){11,23})\b")
_CODE_HINTS = re.compile(r"code|pin|phrase|words|mnemonic")


def _redact_code(m: re.Match[str]) -> str:
    return m.group("head") + REDACTED


def _redact_code_list(m: re.Match[str]) -> str:
    return m.group() if not any(c.isdigit() for c in m.group("pw")) else _redact_code(m)


# "Default credentials: admin / Tr0ub4dor!", "Keycloak admin: admin / x": a user, then its password.
PAIR = re.compile(
    r"(?P<head>\b(?:credentials?|login|admin|account)[ \t]*:[ \t]*[\w.@-]{1,64}[ \t]*/[ \t]*)"
    r"(?P<pw>[^\s/\"'`][^\s]{3,255})(?![^\s])", re.IGNORECASE)
_PAIR_HINTS = re.compile(r"(?:credentials?|login|admin|account)[ \t]*:")
# Terraform's plan: `~ admin_password = "old" -> "new"` (the old value is hidden as a keyed one).
_PLANNED = re.compile(r"(?P<key>[A-Za-z_][\w-]{0,127})[ \t]*=[ \t]*(?:\"[^\"\n]{0,1024}\""
                      r"|\S{1,1024})[ \t]+->[ \t]+\"(?P<pw>[^\"\n]{1,1024})\"")


def redact_pair(m: re.Match[str]) -> str:
    inner = m.group("pw").rstrip(".,;:)")
    if len(inner) < 6 or not CREDENTIAL_SHAPE.match(inner) or not is_secret_value(inner):
        return m.group()
    return m.group("head") + REDACTED + m.group("pw")[len(inner):]


def _redact_planned(m: re.Match[str]) -> str:
    if not sensitive_name(m.group("key")) or not is_secret_value(m.group("pw")):
        return m.group()
    return m.string[m.start():m.start("pw")] + REDACTED + m.string[m.end("pw"):m.end()]


_NOUN = (r"(?:(?:api|access|secret|private)[ _-]?key|password|passwd|passphrase|passcode|secret"
         r"|token|pwd)")
_WHOSE = (r"(?:[ \t]+(?:for|of)[ \t]+(?:the[ \t]+)?(?:user[ \t]+|account[ \t]+)?[^\s,;]+"
          r"(?:[ \t]+(?:user|account))?)?")  # "for the elastic user", "for user admin"
_MADE = (r"[ \t]+(?:is[ \t]+|was[ \t]+|has[ \t]+been[ \t]+)?(?:generated|created|issued)"
         r"(?:[ \t]+for[ \t]+[^\s,;]+)?[ \t]*:")  # "... is generated for root@localhost:"
_IS = (r"[ \t]+(?:(?:was[ \t]+|is[ \t]+)?(?:set|changed|reset)[ \t]+to|is[ \t]+now|is|was|to)"
       r"[ \t]*:?")
_PROSE = re.compile(
    rf"(?P<head>\b(?:{_NOUN}{_WHOSE}(?:{_MADE}|{_IS}|(?<=[^\s:])[ \t]*:(?<=[^:]:))"
    r"|(?:with|using)[ \t]+(?:the[ \t]+)?(?:password|passwd|passphrase|token"
    r"|api[ _-]?key|secret))[ \t]+)(?P<pw>\"[^\"\n]+\"|'[^'\n]+'|`[^`\n]+`|[^\s\"'`]+)",
    re.IGNORECASE,
)
# A secret's noun in the languages `key_words` knows, as the undisguised text spells it
# (`Passwort`, `contrasena`, `mot de passe`, `clé`; `passwort` and `jeton` where the text had
# `пароль`, `密码`, `токен`), and with the article some languages end a noun with (`lösenordet`).
_FOREIGN_NOUN = (rf"(?<![A-Za-z0-9_./-])(?:{NOUNS}|{PHRASES}|secretkey)(?:et|en|a|n|t)?"
                 r"(?![A-Za-z0-9_])")
_PROSE_HINTS = re.compile(r" (?:is|was|to|with|using) | is:|(?:generated|created|issued)"
                          r"(?: for [^\s,;]+)?:|(?:for|of) [^\n]{1,64}:")
_PROSE_STARTS = ("with ", "using ")  # a line that starts "using token ..."
# A secret's noun, then its value with at most a colon between, in prose: "the token <hex>
# expired", "API key: <hex>", "Generated admin password Tr0ub4dor&3x!", "secret <pw> rotated".
# What follows such a noun is usually a word ("token bucket", "password policy"), so the value
# must look like a credential (`_redact_prose_value`).
_PROSE_VALUE = re.compile(
    r"(?P<head>(?<![\w./-])(?:(?:api|access|secret|private|license|auth|app|master)[ _-]?key"
    r"|password|passwd|passphrase|passcode|token|secret|otp|(?:recovery|backup)[ _-]?codes?"
    rf"|{_FOREIGN_NOUN})(?:[ \t]*(?::|->|=>))?(?:[ \t]+|(?=[\"']\S)))"
    r"(?P<pw>\"[^\"\n]{1,256}\"|'[^'\n]{1,256}'|[^\s\"'`=][^\s\"'`]{0,255})(?![^\s\"'`])",
    re.IGNORECASE)
_PROSE_NOUNS = re.compile(
    rf"\b(?:pass(?:word|wd|phrase|code)|token|secret|[a-z]*key|otp|codes?)\b"
    rf"|{_FOREIGN_NOUN}")


_KEY_VALUE = re.compile(r"[\w.-]*=")  # "token is key=value", not `u*Xq=9k2Lm+3vRtW_pZa`
CREDENTIAL_SHAPE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])|.*[!@#$%^&*~+?<>|\\]|.+[A-Z]|[a-z]{16,}$")
# What follows a secret's noun and is no credential: names and versions (`db-credentials`,
# `v1.28.3`, `kube-api-access-x2k9p`), paths, numbers, short words.
_NAME_LIKE = re.compile(r"[a-z0-9]+(?:[-.:][a-z0-9]+)+")
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")
_PROSE_SHAPE = re.compile(
    r"(?=[^\n]{8})(?=.*\d)(?=.*[A-Za-z])|.*[!@#$%^&*~+?<>|\\]|[a-z]{16,}$|[0-9a-f]{16,}$")


def _redact_prose(m: re.Match[str]) -> str:
    """"the password is Summer2024!": a value that looks like a credential, or is quoted; not
    "the password is incorrect" nor "the secret is db-credentials"."""
    pw = m.group("pw")
    open_, close, inner = unquote_value(pw)
    if not open_:
        inner = pw.rstrip(".,;:)")
        close = pw[len(inner):]
        if (len(inner) < 4 or _KEY_VALUE.match(inner) or "://" in inner
                or not CREDENTIAL_SHAPE.match(inner)):
            return m.group()
    if not is_secret_value(inner):
        return m.group()
    return m.group("head") + open_ + REDACTED + close


def _redact_prose_value(m: re.Match[str]) -> str:
    """"the token 5f4dcc3b... expired", "new password hunter2hunter2": a value that looks like a
    credential (or is quoted); not "token bucket", "secret db-credentials", "password policy"."""
    hidden = _hidden_credential(m.group("pw"))
    return m.group() if hidden is None else m.group("head") + hidden


def _hidden_credential(pw: str) -> str | None:
    """`pw` with the credential it holds hidden (its quotes and trailing punctuation kept), when
    it looks like one or is quoted and is no name (`db-credentials`), word, number or digest
    (`sha256:...`); else None. A UUID is one: an API key or a token (`Heroku API key: <uuid>`)."""
    open_, close, inner = unquote_value(pw)
    if not open_:
        inner = _ESCAPED_END.sub("", pw).rstrip(".,;:)")  # `\n` ending a JSON log's string
        if inner.rstrip("?!").isalpha():
            inner = inner.rstrip("?!")  # "did someone rotate the password again?"
        close = pw[len(inner):]
        if _UUID.fullmatch(inner):
            return REDACTED + close
        if (len(inner) < 6 or "://" in inner or "/" in inner or inner.isdigit()
                or _DIGEST_NAMED.match(inner)
                or not _PROSE_SHAPE.match(inner) or inner.startswith(("-", "$", "<", "("))
                or (_NAME_LIKE.fullmatch(inner) and not _HEX_RUN.search(inner))
                or (inner[:1].isupper() and inner[1:].isalpha() and inner[1:].islower())
                or harmless_base64(inner)):
            return None
    elif len(inner.strip()) < 4 or "/" in inner or (
            _NAME_LIKE.fullmatch(inner) and not _HEX_RUN.search(inner)):
        return None  # secret "db-credentials" not found
    if REDACTED in inner or not is_secret_value(inner):
        return None
    return open_ + REDACTED + close


_ESCAPED_END = re.compile(r"(?:\\[nrt])+$")
_DIGEST_NAMED = re.compile(r"(?:sha\d*|md5|blake2b?)[:-][0-9a-f]", re.IGNORECASE)  # a hash
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# A secret's noun, then what says its value follows, in the words of any language `key_words`
# knows: a copula (`das Passwort ist x`, `le mot de passe est x`, `a senha é x`, `密码为x`,
# `パスワードは「x」`, `비밀번호는 x`, `the secret value is x`, `key is x`), a dash or an arrow
# (`пароль — x`, `password→x`, `password <- x`, `password / x`), or a colon or `=` after a few
# words that say whose (`пароль от базы: x`, `jeton d'accès = x`, `mot de passe de la base : x`)
# or after a name split in two (`Pass Word = x`).
# The value must look like a credential, as after any noun in prose (`_hidden_credential`).
_COPULA = (r"[ \t]+(?:is|was|ist|lautet|war|est|etait|es|era|e|eh|ar|er|jest|je|to|on|sera"
           r"|la|adalah|ialah|هي|هو|היא|הוא)"
           r"(?:[ \t]+(?:now|jetzt|maintenant|ahora|agora|ora|nu|teraz))?(?![^\s:])[ \t]*:?"
           r"|[ \t]*[为為是はが는은이가][ \t]*:?")  # Chinese, Japanese, Korean: no space
_SPELLED = r"[ \t]*(?:[—–→⇒⟶⟹➔➜↦»≔∶꞉]|<-|[ \t][-/~](?=[ \t]))|\t"
_WHOSE_WORD = r"(?:[ \t]+[^\s:=\"]{1,24})"  # a word saying whose (`für admin`)
# An English noun in a sentence of another language, whose by an elided article (`token
# d'authentification : x`, `la password dell'utente è x`, `API key d'admin : x`).
_ELIDED = r"[ \t]+(?:d|l|dell|dall|all|nell|sull|qu)['’][^\s:=\"]{1,24}"
# A colon after them first (`mot de passe de la base : x`, where `la` reads as Vietnamese `là`).
_WHOSE_WORDS = rf"{_WHOSE_WORD}{{0,4}}?[ \t]*[:=]|{_COPULA}|{_WHOSE_WORD}{{1,4}}?(?:{_COPULA})"
_SPOKEN = re.compile(
    r"(?P<head>(?:[A-Za-z0-9_.-]{0,63}[_.-])?"  # a key's other segments (`db_`); tried where
    rf"(?:{_FOREIGN_NOUN}(?:{_WHOSE_WORDS}|{_SPELLED})"  # a key hint's run starts (`sub_at_keys`)
    r"|(?:(?:api|access|secret|private)[ _-]?key"
    r"|pass(?:[ \t]*(?:word|phrase|code))|passwd|secret|token|pwd|key)(?:[ \t]+(?:value|string))?"
    rf"(?:{_ELIDED}{_WHOSE_WORD}{{0,3}}?)?(?:{_COPULA}|[ \t]*[:=]|{_SPELLED}))[ \t]*)"
    r"(?P<pw>\"[^\"\n]{1,256}\"|'[^'\n]{1,256}'|[^\s\"'`\u3000-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
    r"[^\s\"'`\u3000-\u30ff\u4e00-\u9fff\uac00-\ud7af]{0,255})",  # to a kana, hanzi, hangul
    re.IGNORECASE)
_SPOKEN_HINTS = re.compile(  # on lowercased text: a noun and a copula, or a spelled separator
    rf"(?:pass|secret|token|key|pwd)[a-z]*(?: value| string)?(?:{_COPULA})"
    rf"|(?:pass|secret|token|key|pwd)[a-z]*{_ELIDED}"
    r"|pass[ \t]+(?:word|phrase|code)|[—–→⇒⟶⟹➔➜↦»≔∶꞉]|<-| [-/~] |\t|" + _FOREIGN_NOUN)
# "setting DB_PASSWORD to x", "changed admin_token to x": a key named in prose, set to a value.
_SET_TO = re.compile(
    r"(?P<head>\b(?:set|sets|setting|change[sd]?|changing|update[sd]?|updating|rotate[sd]?"
    r"|rotating)[ \t]+(?P<key>[A-Za-z][\w.-]{0,63})[ \t]+to[ \t]+)"
    r"(?P<pw>\"[^\"\n]{1,256}\"|'[^'\n]{1,256}'|[^\s\"'`]{1,256})",
    re.IGNORECASE)
_SET_TO_HINTS = re.compile(r"(?:set|chang|updat|rotat)[a-z]* [\w.-]*(?:pass|secret|token|key|pw)")


def _redact_spoken(m: re.Match[str]) -> str:
    """"das Passwort ist x", "密码为x", "password — x", "пароль от базы: x": hidden when `x`
    looks like a credential; "the key is missing", "Passwort: gesetzt" stay."""
    hidden = _hidden_credential(m.group("pw"))
    return m.group() if hidden is None else m.group("head") + hidden


def _redact_set_to(m: re.Match[str]) -> str:
    """"setting DB_PASSWORD to x": hidden when the key names a secret and `x` looks like a
    credential; "set replicas to 3", "set secret_name to db-credentials" stay."""
    if not sensitive_name(m.group("key")):
        return m.group()
    hidden = _hidden_credential(m.group("pw"))
    return m.group() if hidden is None else m.group("head") + hidden
