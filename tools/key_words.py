"""The words a secret's key is made of, in the world's main languages and as people misspell
them: `meaning` tells what one segment of a key stands for (`senha`, `heslo`, `jelszo` are a
password; `geheimnis` a secret; `jeton` a token; `p4ssw0rd`, `passowrd`, `secr3t` what they
misspell), `plain_spelling` undoes leet and spelled-out letters (`p-a-s-s-w-o-r-d`), and
`NON_LATIN_WORD` finds the words of other scripts (`пароль`, `密码`, `비밀번호`) so a key written in
them is judged as its English meaning. `secret_names` judges keys with them; `key_hints` builds
its cheap gates from them.
"""

from __future__ import annotations

import functools
import re

# Letters that do not decompose into a Latin base and an accent (NFKD leaves them whole).
UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                              "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th",
                              "Þ": "TH", "ı": "i", "ð": "d", "Ð": "D", "ħ": "h", "ŀ": "l"})

# Words for a password, folded to ASCII (accents dropped): de, es, ca, gl, pt, it/ro/tr, nl, af,
# pl, cs/sk, sl, hu, tr, sv, no, da, fi, et, lv, lt, hr/sr/bs, fr, id/ms, vi, zh and ja romanized,
# el and ru transliterated, eu, sq, is, sw, cy.
PASSWORD_WORDS = frozenset({
    "passwort", "kennwort", "contrasena", "contrasenya", "contrasinal", "senha", "parola",
    "wachtwoord", "wagwoord", "haslo", "heslo", "geslo", "jelszo", "sifre", "losenord", "passord",
    "kodeord", "adgangskode", "salasana", "parool", "parole", "slaptazodis", "lozinka",
    "motdepasse", "mdp", "katasandi", "katalaluan", "matkhau", "mima", "pasuwado", "kodikos",
    "parol", "pasahitza", "fjalekalim", "lykilord", "nenosiri", "cyfrinair"})
SECRET_WORDS = frozenset({
    "geheimnis", "geheim", "secreto", "secreta", "segreto", "segreta", "segredo", "sekret",
    "tajemstvi", "titok", "hemmelighet", "hemlighet", "hemmelighed", "salaisuus", "rahasia",
    "bimat", "himitsu", "miyao"})
TOKEN_WORDS = frozenset({"jeton", "gettone", "tokenul"})
# Words for a key: like English `key`, a secret only beside a word that says which (`clave_api`).
KEY_WORDS = frozenset({
    "chiave", "clave", "chave", "cle", "schlussel", "schluessel", "sleutel", "klucz", "klic",
    "kljuc", "kulcs", "nokkel", "nyckel", "noegle", "avain", "anahtar", "kunci", "cheie", "clau"})
# Names of more than one word, written with spaces between (`mot de passe : x`).
PHRASES = (r"mot[ _-]de[ _-]passe|kata[ _-](?:sandi|laluan)|mat[ _-]khau|palavra[ _-]passe"
           r"|parola[ _-]d'ordine|clave[ _-]secreta|chiave[ _-]segreta")

# Words of other scripts, and what they mean: a key spelled in them reads as its meaning.
_NON_LATIN = {
    "password": ("пароль", "парола", "лозинка", "密码", "密碼", "口令", "パスワード", "暗証番号",
                 "비밀번호", "암호", "κωδικός", "κωδικος", "συνθηματικό", "كلمة المرور",
                 "كلمة_المرور", "كلمةالمرور", "كلمة السر", "كلمة_السر", "סיסמה", "סיסמא",
                 "पासवर्ड", "कूटशब्द", "পাসওয়ার্ড", "รหัสผ่าน", "رمز عبور", "رمز_عبور", "گذرواژه",
                 "գաղտնաբառ", "პაროლი"),
    "secretkey": ("秘密鍵", "密钥", "密鑰", "秘钥", "비밀키", "секретный ключ", "секретный_ключ"),
    "secret": ("секрет", "секретный", "秘密", "机密", "シークレット", "비밀", "μυστικό", "गुप्त"),
    "token": ("токен", "トークン", "令牌", "토큰", "टोकन", "توكن", "τεκμήριο"),
    "key": ("ключ", "鍵", "键", "κλειδί"),
}
# Read as a word of the tables above, so it counts in any segment (`ПАРОЛЬ_DB`, as `senha_db`).
_READ_AS = {"password": "passwort", "secret": "geheimnis", "token": "jeton", "key": "clave",
            "secretkey": "secretkey"}
NON_LATIN = {word.lower(): _READ_AS[meaning] for meaning, words in _NON_LATIN.items()
             for word in words}
NON_LATIN_WORD = re.compile(
    "(?i:" + "|".join(map(re.escape, sorted(NON_LATIN, key=len, reverse=True))) + ")")

# What a key hint must also find (lowercased text): the words above, their first letters as
# people misspell them (`pasword`, `p4ssw0rd`, `secr3t`, `t0ken`), and spelled-out letters.
def _trie(words: frozenset[str]) -> str:
    """A regex matching any of `words`, as a tree of their letters: the engine tries one branch
    per letter instead of every word at every position."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        parts = [re.escape(c) + branch(child) for c, child in sorted(node.items()) if c]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
        return f"(?:{body})?" if "" in node else body  # a word ends here, or goes on

    return branch(tree)


_MISSPELT = r"p[a4@][s5$]|[s5][e3]c[e3]?r|t[o0]k|p[-_.]a[-_.]s|s[-_.]e[-_.]c|t[-_.]o[-_.]k"
PASSWORD_HINTS = f"{_trie(PASSWORD_WORDS)}|{_MISSPELT}|{PHRASES}"
# French `cle` (`clé d'API`) only as a word of its own: inside words it is everywhere (`cycle`).
HINTS = (f"{_trie(SECRET_WORDS | TOKEN_WORDS | KEY_WORDS - {'cle'})}|{PASSWORD_HINTS}"
         r"|cle(?<![a-z]cle)(?![a-z])")
# Any of the words above as a noun of prose (`das Passwort ist x`: `keyed_prose`).
NOUNS = _trie(PASSWORD_WORDS | SECRET_WORDS | TOKEN_WORDS | KEY_WORDS)
# Names of more than one segment (`mot_de_passe`, `kata_sandi`), their segments joined.
JOINED = ("motdepasse", "katasandi", "katalaluan", "matkhau", "palavrapasse", "clavesecreta",
          "chiavesegreta")

# Misspellings: how far (edits) a segment may be from the word it means. `token` is short: only
# a swap or a doubled letter, never another letter (`taken`, `woken`).
_TARGETS = {"password": 2, "passphrase": 2, "secret": 1, "token": 1}
_SHORTEST = 5  # shorter segments (`pass`, `pin`, `auth`, `tok`) are never a misspelling
# English words as close to a target as its misspellings are.
_REAL_WORDS = frozenset({"passport", "passports", "paraphrase", "taken", "woken", "toked",
                         "tokes", "toker", "tokens", "secrets", "passwords", "passwd", "secrete",
                         "tolen", "broken", "spoken"})
_LEET = str.maketrans("0134578@$", "oieastbas")
_LEET_RUN = re.compile(r"(?<=[A-Za-z])[0134578@$]{1,2}(?=[A-Za-z])")
_SPELLED = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][-_.]){3,}[A-Za-z](?![A-Za-z])")


def plain_spelling(name: str) -> str:
    """`name` with leet undone (`p4ssw0rd`, `pa55word`, `secr3t`) and letters spelled out one by
    one joined (`p-a-s-s-w-o-r-d`); `name` itself when it has neither."""
    if any(c in name for c in "0134578@$"):
        name = _LEET_RUN.sub(_unleet, name)
    if _SPELLED.search(name):
        name = _SPELLED.sub(lambda m: m.group()[::2], name)
    return name


def _unleet(m: re.Match[str]) -> str:
    letters = m.group().translate(_LEET)
    return letters.upper() if m.string[m.start() - 1].isupper() else letters


@functools.lru_cache(maxsize=4096)
def meaning(seg: str) -> str | None:
    """The English word a lowercase segment of a key stands for, when it is a word of another
    language (`senha`: password) or a misspelling (`passowrd`: password); else None."""
    if seg in PASSWORD_WORDS:
        return "password"
    if seg in SECRET_WORDS:
        return "secret"
    if seg in TOKEN_WORDS:
        return "token"
    if seg in KEY_WORDS:
        return "key"
    if len(seg) < _SHORTEST or seg in _REAL_WORDS or not seg.isalpha():
        return None
    for target, most in _TARGETS.items():
        if seg != target and abs(len(seg) - len(target)) <= most and (
                _distance(seg, target, swaps_only=target == "token") <= most):
            return target
    return None


def _distance(a: str, b: str, *, swaps_only: bool = False) -> int:
    """Edits from `a` to `b`, a swap of neighbours counting one (optimal string alignment).
    `swaps_only`: a changed letter costs too much to count (only swaps, insertions and
    deletions)."""
    change = len(a) + len(b) if swaps_only else 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else change
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[len(b)]
