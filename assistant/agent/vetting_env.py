"""What a proposed `kubectl set env` (or an env entry of a patch) may set (part of vetting,
issue 15), judged by the shape of each variable's name and value:

- no proxy, preload, interpreter-path, startup-hook, profiler, class-path, plugin or
  helper-command variables (`HTTPS_PROXY`, `LD_PRELOAD`, `PYTHONPATH`, `DOTNET_STARTUP_HOOKS`,
  `ASPNETCORE_HOSTINGSTARTUPASSEMBLIES`, `LUA_INIT`, `ERL_ZFLAGS`, `GIT_SSH_COMMAND`, ...), no
  Node.js or JVM options that open a debugger, load an agent or a class path, or read more
  options from a file (under any `*_OPTS`/`*_ARGS` name, or any name when the value says
  `-javaagent`), and no value that runs code (`os.execute(...)`, `-eval`, `--require`);
- no switch turned the unsafe way: a protection (security, auth, TLS, verification, CSRF...)
  turned off by a false or empty value or a true one under a negated name (`AUTH_DISABLED`), a
  danger (a debugger, anonymous access, message lookups, plaintext...) turned on, an admin
  role or management endpoint opened; the same for `key: value` pairs inside a value
  (`SPRING_APPLICATION_JSON={"server.ssl.enabled":false}`), and TLS turned off by the value
  (`sslmode=disable` in a DSN, `-insecure`);
- no value that is an address (a URL, `host:port`, a dotted host name or an IP in any form a
  resolver takes) other than a cluster-local name or one the scope has seen, whatever the
  variable is called, unless its name says it holds a code name (`APP_MODULE`, `MAIN_CLASS`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

_REDIRECTING = re.compile(
    r"\w*_PROXY|\w*PROXY_(?:HOST|URL|ADDR\w*|COMMAND|SERVER)|LD_\w+|DYLD_\w+|PYTHON(?:PATH|STARTUP|HOME|INSPECT|"
    r"HTTPSVERIFY)|PERL5(?:LIB|OPT)|RUBY(?:OPT|LIB)|NODE_PATH|BASH_ENV|ENV|PROMPT_COMMAND|"
    r"GCONV_PATH|PATH|(?:REQUESTS|CURL)_CA_BUNDLE|SSL_CERT_(?:FILE|DIR)|NODE_EXTRA_CA_CERTS|"
    r"GIT_SSL_NO_VERIFY|GIT_SSL_CAINFO|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN|"
    r"\w*(?:CA_BUNDLE|CA_CERT|CA_FILE|CACERT|CA_PATH|TRUST_?STORE|SSL_ROOTS|ROOT_CAS?)\w*")
# Variables that make a runtime load code, an agent or a profiler, or run a command of their
# own: .NET startup hooks and profilers, class and library paths, interpreter hooks, helper
# commands (git's ssh, a browser, an editor), OpenSSL's config (which loads engines), glibc's
# tunables, and SSLKEYLOGFILE, which writes the session keys out.
_LOADS_CODE = re.compile(
    r"DOTNET_STARTUP_HOOKS|DOTNET_ADDITIONAL_DEPS|DOTNET_SHARED_STORE|(?:CORECLR|COR)_\w*PROFIL\w*|"
    r"(?:CORECLR|COR|DOTNET)_ENABLE_PROFILING|COMPLUS_\w+|\w*CLASSPATH|PERL\w*|PHPRC|"
    r"PHP_INI_SCAN_DIR|GIT_(?:SSH\w*|EXEC_PATH|ASKPASS|PROXY_COMMAND|CONFIG\w*|EXTERNAL_DIFF|"
    r"TEMPLATE_DIR)|SSH_ASKPASS|OPENSSL_(?:CONF|ENGINES|MODULES)|GLIBC_TUNABLES|MALLOC_\w+|"
    r"BROWSER|EDITOR|VISUAL|PAGER|ELECTRON_RUN_AS_NODE|SSLKEYLOGFILE|GEM_(?:PATH|HOME)|"
    r"LUA_C?PATH\w*|R_PROFILE\w*|R_LIBS\w*|TCLLIBPATH|ERL_LIBS|ERL_\w*FLAGS|"
    r"NODE_REPL_EXTERNAL_MODULE|PYTHON\w+|LUA_INIT\w*|\w*HOSTINGSTARTUP\w*|\w*PRELOAD\w*|"
    r"\w*STARTUP_?(?:HOOKS?|ASSEMBL\w*|SCRIPTS?|CLASS)|\w*INIT_?(?:SCRIPTS?|FILE|CODE|EVAL|COMMAND|CMD)|"
    r"\w*PLUGINS?(?:_(?:PATH|DIRS?|LIST|INSTALL|LOAD|URLS?))?")
# Python variables that change only how the interpreter reports or buffers, not what it loads.
_PYTHON_SAFE = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING",
                          "PYTHONHASHSEED", "PYTHONFAULTHANDLER", "PYTHONUTF8", "PYTHONOPTIMIZE",
                          "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONMALLOC"})
_NODE_SAFE = re.compile(r"--(?:max-old-space-size|max-semi-space-size|stack-size)=\d+|"
                        r"--enable-source-maps|--trace-warnings|--unhandled-rejections=\w+|"
                        r"--dns-result-order=[\w-]+")
# Where JVM options go: the JVM's own variables and any launcher's `*_OPTS`, `*_OPTIONS`,
# `*_ARGS` or `*_FLAGS` (`KAFKA_OPTS`, `JVM_ARGS`, `ES_JAVA_OPTS`...).
_JAVA_VARS = re.compile(r"\w*(?:JAVA|JVM|JDK)\w*|\w*_?(?:OPTS|OPTIONS|ARGS|FLAGS)")
_JAVA_OPENING = re.compile(r"-agent(?:lib|path)|-javaagent|jdwp|-Xdebug|-Xrun|jmxremote|"
                           r"OnOutOfMemoryError|OnError|proxyHost|proxyPort|trustStore|"
                           r"keyStore|-Djava\.security|-Dlog4j|-Dcom\.sun|bootclasspath|--patch-module|"
                           r"-Djava\.(?:ext|endorsed)\.dirs|(?:^|\s)@\S", re.I)
# A JVM agent or debugger, whatever variable carries it.
_JVM_AGENT = re.compile(r"-(?:javaagent|agentlib|agentpath|Xdebug|Xrun)\b", re.I)
# TLS turned off by the value: a DSN's `sslmode=disable`, `useSSL=false`, a `-insecure` flag.
_TLS_OFF_VALUE = re.compile(
    r"(?<![\w-])--?(?:insecure[\w-]*|no-check-certificate|(?:skip|disable|no)-(?:tls|ssl)[\w-]*|"
    r"tls-verify=false)|\b(?:ssl_?mode=(?:disable|allow)|(?:use_?)?(?:ssl|tls)=(?:false|0|off|no|"
    r"disabled?)\b|trustServerCertificate=true|tls(?:Insecure|AllowInvalid\w*)=true|"
    r"(?:ssl|tls)_?verify\w*=(?:false|0|no|off|none)\b|verify_?ssl=(?:false|0|no)\b)|"
    # and in a client's code, in any language: `CERT_NONE`, `check_hostname=False`, a
    # certificate or host name callback that says yes to everything
    r"\b(?:VERIFY_NONE|CERT_NONE|NoopHostnameVerifier|ALLOW_ALL_HOSTNAME_VERIFIER|"
    r"InsecureSkipVerify\s*[:=]\s*true|check_?hostname\s*[:=]\s*False)\b|"
    r"\b\w*(?:accept|allow|trust|ignore)_?\w*?(?:invalid|any|all|untrusted|self_?signed|bad)_?"
    r"(?:certs?|certificates?|host_?names?)\w*\s*(?:[:=]|\(\s*)\s*true\b|"
    r"\b\w*(?:Certificate\w*Validation|HostnameVerifier|checkServerIdentity|TrustManager)\w*\b"
    r"[^.]{0,40}?\b(?:true|accepts?\s+(?:all|every|any)\w*|return(?:s|ing)?\s+(?:true|null))\b",
    re.I)
_TLS_OFF_MODES = frozenset({"disable", "disabled", "allow", "none", "off", "false", "plaintext"})
# Authentication turned off by a mode: `POSTGRES_HOST_AUTH_METHOD=trust`.
_AUTH_NAME = re.compile(r"\w*AUTH\w*(?:METHOD|MODE|TYPE)")
_AUTH_OFF = frozenset({"trust", "none", "disable", "disabled", "off", "false", "no", "0",
                       "anonymous", "alwaysallow"})
# A value that runs code, whatever variable holds it: `os.execute("id")`, `-eval ...`.
_CODE_VALUE = re.compile(
    r"(?<![\w-])(?:--?eval|-e|-r|--require|--import|--(?:experimental-)?loader)(?![\w-])|"
    r"\b(?:os\.execute|os:cmd|io\.popen|os\.system|subprocess\.\w+|__import__|child_process|"
    r"Runtime\.getRuntime|exec|eval|system|popen|spawn|dofile|loadstring|require)\s*\(", re.I)
# Switches, by the words of a name. A protection is turned off by a false or empty value, or by a
# true one when the name negates it (`AUTH_DISABLED=true`, `SKIP_TLS_VERIFY=1`); a danger is
# turned on by any value that is not false, or by a false one when the name negates it
# (`LOG4J_FORMAT_MSG_NO_LOOKUPS=false`).
_PROTECTION = re.compile(r"SECUR|AUTH|TLS|SSL|HTTPS|VERIF|PROTECT|CSRF|XSRF|ENCRYPT|SIGNATURE|"
                         r"SIGNING|(?:^|_)ACLS?(?:_|$)|RBAC|IDENTIFICATION|VALIDAT|PASSWORD|CERT|"
                         r"LOGIN|FIREWALL|REJECT_?UNAUTHORI[SZ]ED|(?:^|_)PIN(?:_|$)")
_DANGER = (r"DEBUG\w*|INSPECT\w*|DIAGNOSTIC\w*|PPROF|JDWP|JPDA|ANONYMOUS|ANON|INSECURE|UNSAFE|"
           r"PLAINTEXT|PERMISSIVE|TRUST_?ALL|LOOKUPS|JNDI|CODEBASE|DESERIALI\w*|EVAL|"
           r"REPL|DEV_?MODE|UNAUTH\w*|ALLOW_?(?:ALL|ANY|EMPTY|ROOT|HTTP|PRIVILEGED|INSECURE)\w*")
_DANGER_NAME = re.compile(rf"(?:^|_)(?:{_DANGER})(?:_|$)|(?<=[A-Z])(?:DEBUG|INSPECT|DIAGNOSTIC)\w*")
_NEGATED_DANGER = re.compile(r"(?:^|_)(?:NO|DISABLE|DISABLED|SKIP|WITHOUT|REJECT|DENY|BLOCK|FORBID|"
                             rf"PREVENT)_(?:\w+_)?(?:{_DANGER})(?:_|$)")
_NEGATION = re.compile(r"DISABLE|SKIP|IGNORE|WITHOUT|BYPASS|(?:^|_)NO_|(?:^|_)OFF(?:_|$)")
# Names that hold a number or a level, not a switch: `AUTH_TIMEOUT=0` turns nothing off.
_QUANTITY = re.compile(r"\w*(?:TIMEOUT|TTL|PORT|SIZE|COUNT|RETRIES|RETRY|INTERVAL|LIMIT|MAX\w*|"
                       r"MIN\w*|AGE|DAYS|HOURS|MINUTES|SECONDS|MS|SEC|DELAY|LEVEL|VERSION|BYTES|"
                       r"WORKERS|THREADS|PERIOD|DURATION|EXPIR\w*|LIFETIME|RATIO|WEIGHT|PERCENT)")
# An admin role handed out, and management endpoints that show the environment, dump the heap or
# stop the app (Spring's actuator, Jolokia, consoles).
_ROLE_NAME = re.compile(r"\w*(?:ROLE|GROUP|PERMISSION|PRIVILEGE|SCOPE|ACCESS_LEVEL)S?")
_ADMIN_VALUES = frozenset({"admin", "administrator", "root", "superuser", "owner", "cluster-admin",
                           "system:masters", "*", "all", "grafanaadmin", "serveradmin"})
# Lists of who may call the app, opened to everyone (`CORS_ALLOWED_ORIGINS=*`).
_OPENING_NAME = re.compile(r"ALLOW|ORIGIN|TRUSTED|WHITELIST|ALLOWLIST|CIDR|SOURCE_RANGE")
# Development or debug mode by environment or profile (`FLASK_ENV=development`, `GIN_MODE=debug`,
# `SPRING_PROFILES_ACTIVE=prod,debug`), and
# credentials anyone would guess.
_MODE_NAME = re.compile(r"\w*(?:ENV|ENVIRONMENT|MODE|PROFILES?(?:_ACTIVE)?)")
_DEVELOPMENT = frozenset({"development", "dev", "debug", "develop", "local"})
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|(?:^|_)PWD$|(?:^|_)PASS$|SECRET(?:_KEY)?$|"
                          r"(?:^|_)TOKEN$")
_DEFAULT_SECRETS = frozenset({"admin", "password", "changeme", "change-me", "root", "secret",
                              "123456", "12345678", "postgres", "mysql", "test", "default",
                              "guest", "letmein", "qwerty", "passw0rd"})
_EXPOSE_NAME = re.compile(r"\w*EXPOS\w*")
_SAFE_ENDPOINTS = frozenset({"health", "info", "prometheus", "metrics", "liveness", "readiness",
                             ""})
_ADMIN_ENDPOINT = re.compile(
    r"\w*(?:MANAGEMENT|ACTUATOR|ENDPOINTS?)_\w*(?:ENV|HEAPDUMP|THREADDUMP|SHUTDOWN|JOLOKIA|"
    r"CONFIGPROPS|BEANS|MAPPINGS|LOGFILE|GATEWAY|RESTART|REFRESH|LOGGERS)\w*|"
    r"\w*(?:H2_CONSOLE|JOLOKIA|ADMIN_CONSOLE|WEB_CONSOLE)\w*")
# What a switch is about, for the refusal's reason.
_REASONS = (
    (re.compile(r"TLS|SSL|HTTPS|VERIF|CERT|IDENTIFICATION|INSECURE|PLAINTEXT|TRUST_?ALL|REJECT"),
     "it turns TLS verification off"),
    (re.compile(r"AUTH|LOGIN|PASSWORD|ANON"), "it turns authentication off"),
    (re.compile(r"DEBUG|INSPECT|DIAGNOSTIC|PPROF|JDWP|JPDA|REPL|DEV_?MODE|EVAL"),
     "it opens a debugger or runs code"))
# `key: value` and `key=value` pairs inside a value (JSON, a DSN, `-Dkey=value`), each judged as a
# variable of its own.
_PAIR = re.compile(r"""["']?([A-Za-z][\w.-]*)["']?\s*[:=]\s*["']?(\{|[^"',;&{}\s]*)|(\})""")
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})
_OFF = _FALSE | {"disable", "disabled", "none", "null"}
_ADDRESS_NAME = re.compile(r"HOST|URL|URI|ADDR|ENDPOINT|SERVER|DSN|BROKER|DOMAIN|GATEWAY|REMOTE|"
                           r"UPSTREAM|BACKEND|PEERS?$|SEEDS?$|NODES$|BOOTSTRAP")
_FILE_SUFFIX = re.compile(r"\.(?:ya?ml|json|txt|log|conf|cfg|ini|xml|properties|toml|py|js|"
                          r"jar|sh|pem|crt|key|csv|html?|db|sqlite|env|lock|pid|sock|d)$", re.I)
_LOCAL = re.compile(r"(?:^|\.)(?:svc|svc\.cluster\.local|cluster\.local)$|^localhost$", re.I)
# Names whose dotted values are code or data names, not hosts: `APP_MODULE=shop.wsgi:app`,
# `KAFKA_TOPIC=orders.created`, `OTEL_SERVICE_NAME=checkout.api`.
_CODE_NAME = re.compile(r"MODULE|CLASS|PACKAGE|SETTINGS|LOGGER|LOG_?LEVEL|NAMESPACE|FORMAT|PROFILE|"
                        r"LOCALE|LANG|ENCODING|PATTERN|TOPIC|QUEUE|BUCKET|TABLE|INDEX|STREAM|"
                        r"CHANNEL|EVENT|VERSION|TAG|IMAGE|FILE|PATH|DIR|KEY|TOKEN|SECRET|FIELD|"
                        r"METRIC|SUBJECT|ROUTING|EXCHANGE|MAIN|ENTRY|HANDLER|FUNCTION|NAME|_ID$|"
                        r"EMAIL|SENDER")
# First labels of reverse-DNS code names (`com.example.Main`, `io.grpc`, `app.main`).
_CODE_FIRST = frozenset({"com", "org", "net", "io", "edu", "gov", "de", "uk", "fr", "nl", "ch",
                         "dev", "app", "co", "me", "ai", "java", "javax", "jakarta", "kotlin",
                         "scala", "android", "sun"})


def env_problem(name: str, value: str | None, hosts: frozenset[str]) -> str | None:
    """Why setting variable `name` to `value` may not be proposed (None: unset, or any value)."""
    upper = name.upper()
    if _REDIRECTING.fullmatch(upper):
        return f"it sets {upper}, which redirects or opens the process"
    if _LOADS_CODE.fullmatch(upper) and upper not in _PYTHON_SAFE:
        return f"it sets {upper}, which makes the process load code or run a command"
    if value is None:
        return None
    return _value_problem(upper, value) or address_problem(upper, value, hosts)


def setting_problem(name: str, value: str) -> str | None:
    """Why a setting a step writes out in words (`NODE_TLS_REJECT_UNAUTHORIZED=0`,
    `--anonymous-auth=true`, `verify=False`) may not be advised: judged as a variable of that
    name would be, by its name when it is written as one (upper case), and by its value. Links
    in a step are `vetting_prose`'s, so an address is not judged here."""
    upper = re.sub(r"[.-]", "_", name.lstrip("-")).upper()
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and (
            _REDIRECTING.fullmatch(upper) or _LOADS_CODE.fullmatch(upper)) \
            and upper not in _PYTHON_SAFE:
        return f"it sets {upper}, which redirects the process or makes it load code"
    return _value_problem(upper, value)


def _value_problem(upper: str, value: str) -> str | None:
    """What the value of `upper` turns on or off: a debugger or agent, TLS, authentication."""
    lowered = value.strip().lower()
    if upper == "NODE_OPTIONS" and _NODE_SAFE.sub("", value).strip():
        return "it sets Node.js options that can open a debugger or load code"
    if _JVM_AGENT.search(value) or (_JAVA_VARS.fullmatch(upper) and _JAVA_OPENING.search(value)):
        return "it sets JVM options that open a debugger, load an agent or change trust"
    if _CODE_VALUE.search(value):
        return "its value runs code"
    if upper == "GODEBUG" and "x509" in lowered:
        return "it relaxes certificate checks"
    if _tls_off(upper, lowered) or turns_tls_off(value):
        return "it turns TLS verification off"
    if _AUTH_NAME.fullmatch(upper) and lowered in _AUTH_OFF:
        return "it turns authentication off"
    for name, item in [(upper, lowered), *_pairs(value)]:
        problem = _switch_problem(name, item)
        if problem:
            return problem
    return None


def _pairs(value: str) -> list[tuple[str, str]]:
    """The `key: value` pairs inside a value, each key as a variable name would be written, by
    its path through nested objects: `{"auth":{"enabled":false}}` (or the same with its quotes
    lost to a shell) is `AUTH_ENABLED=false`."""
    found: list[tuple[str, str]] = []
    path: list[str] = []
    for key, item, close in _PAIR.findall(value):
        if close:
            path = path[:-1]
        elif item == "{":
            path.append(key)
        else:
            found.append(("_".join([*path, key]), item))
    return [(re.sub(r"[.-]", "_", key).upper(), item.strip().lower()) for key, item in found]


def _switch_problem(upper: str, lowered: str) -> str | None:
    """What variable `upper` set to `lowered` switches the unsafe way, by the words of its name:
    a danger on, a protection off, an admin role given, an admin endpoint opened."""
    off = lowered in _OFF
    protection = _PROTECTION.search(upper)
    if protection and not _QUANTITY.fullmatch(upper) and off != bool(_NEGATION.search(upper)):
        return _reason(upper, f"it turns {_word(upper, protection.group(0))} off")
    danger = _DANGER_NAME.search(upper)
    if danger and off == bool(_NEGATED_DANGER.search(upper)):
        return _reason(upper, f"it turns on {_word(upper, danger.group(0).strip('_'))}")
    if _ROLE_NAME.fullmatch(upper) and lowered in _ADMIN_VALUES:
        return "it grants an admin role"
    if _OPENING_NAME.search(upper) and lowered in ("*", "0.0.0.0/0", "::/0"):
        return "it opens the app to every origin or address"
    if _MODE_NAME.fullmatch(upper) and not _DEVELOPMENT.isdisjoint(re.split(r"[,\s]+", lowered)):
        return "it puts the app in development or debug mode"
    if _SECRET_NAME.search(upper) and lowered in _DEFAULT_SECRETS:
        return "it sets a default or trivial credential"
    exposed = set(re.split(r"[,\s]+", lowered))
    if (_EXPOSE_NAME.fullmatch(upper) and not exposed <= _SAFE_ENDPOINTS) \
            or (_ADMIN_ENDPOINT.fullmatch(upper) and not off):
        return "it opens management endpoints"
    return None


def _reason(upper: str, otherwise: str) -> str:
    """The refusal for a switch named `upper`, by what it is about."""
    return next((reason for words, reason in _REASONS if words.search(upper)), otherwise)


def _word(upper: str, part: str) -> str:
    """The word of name `upper` that holds `part`, lower case: `security` for `SECUR`."""
    found = re.search(rf"[A-Z0-9]*{re.escape(part)}[A-Z0-9]*", upper)
    return (found.group(0) if found else part).lower()


def _tls_off(upper: str, lowered: str) -> bool:
    """Whether variable `upper` set to `lowered` turns TLS off by a mode: `PGSSLMODE=disable`,
    `REDIS_TLS_MODE=allow` (switches by name are `_switch_problem`'s)."""
    return bool(re.search(r"(?:SSL|TLS)_?MODE", upper)) and lowered in _TLS_OFF_MODES


def turns_tls_off(text: str) -> bool:
    """Whether `text` says to turn TLS or its verification off: `sslmode=disable`, `useSSL=false`,
    `--insecure`, `verify_ssl=false`."""
    return bool(_TLS_OFF_VALUE.search(text))


def address_problem(name: str, value: str, hosts: frozenset[str]) -> str | None:
    """A value that points somewhere must point at a cluster name or an address already seen.
    Every host form a resolver takes is read as it would be (`203.0.113.05`, `0xcb007142`,
    `3405803842` and `0313.0.0161.05` are all 203.0.113.5; a bare `2001:db8::66` is an IPv6
    address; `jdbc:postgresql:host` names a host). A value points somewhere when it is an IP,
    has a scheme or a port, or is a dotted name: in a variable named for an address (`DB_HOST`,
    `API_URL`...) any dotted name, in any other (`SMTP_RELAY`, `SYSLOG_TARGET`) one shaped like a
    host. `com.example.Main`, `shop.wsgi` in `APP_MODULE`, file names and numbers are not
    addresses."""
    named = bool(_ADDRESS_NAME.search(name))
    for part in re.split(r"[,;\s]+", value.strip()):
        target = None if "<" in part else _target(part)
        if target is None:
            continue
        host, marked = target
        ip = _ip(host, loose=named or marked)
        if ip is None and ("." not in host or _FILE_SUFFIX.search(host)
                           or re.fullmatch(r"[\d.]+", host) or _LOCAL.search(host)
                           or not (named or marked or _host_shaped(host, name))):
            continue
        if ip is not None and (ip.is_loopback or ip.is_unspecified
                               or ip in _THIS_NETWORK):
            continue
        if (str(ip) if ip is not None else host) in hosts:
            continue
        return "it points the app at an address not seen in the evidence"
    return None


def _host_shaped(host: str, name: str) -> bool:
    """Whether dotted `host`, in a variable not named for an address, reads as a host name:
    letters (of any script: a look-alike is still a host), digits and hyphens, a top-level
    label of letters, not a reverse-DNS code name, in a
    variable whose name does not say it holds a code or data name."""
    labels = host.split(".")
    return not _CODE_NAME.search(name) and labels[0] not in _CODE_FIRST \
        and all(re.fullmatch(r"[^\W_](?:[\w-]*[^\W_])?", label) and "_" not in label
                for label in labels) \
        and bool(re.fullmatch(r"[^\W\d_]{2,63}", labels[-1]))


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # a port or a count read as an address
# `scheme:` or `scheme://`, as many as are stacked (`jdbc:postgresql://`); not `host:8080`.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:(?://)?(?!\d)", re.I)


def _target(part: str) -> tuple[str, bool] | None:
    """The host `part` names, lower case, and whether a scheme or a port marks it as an
    address; None when it names none."""
    bare = part.strip("[]").split("%")[0]
    try:
        if ipaddress.ip_address(bare).version == 6:
            return bare.lower(), True
    except ValueError:
        pass
    rest, marked = part, False
    while scheme := _SCHEME.match(rest):
        rest, marked = rest[scheme.end():], True
    rest = rest.partition("/")[0].rpartition("@")[2]  # no path, no user
    if rest.startswith("["):
        host, _, after = rest[1:].partition("]")
    else:
        found = re.match(r"[^:/?#;,\\]*", rest)
        host = found.group(0) if found else ""
        after = rest[len(host):]
    marked = marked or bool(re.match(r":\d", after))
    host = host.lower().rstrip(".")
    return (host, marked) if host else None


def _ip(host: str, loose: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as the IP a resolver would make of it (inet_aton: octal `0313`, hex `0xcb`, one to
    four parts); a form other than four parts only when `loose` (`1.2.3` is a version and `30`
    a number unless the variable names an address)."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    parts = host.split(".")
    if len(parts) != 4 and not loose:
        return None
    numbers = [_c_number(p) for p in parts]
    if not 1 <= len(parts) <= 4 or any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(parts)):
        return None
    total = last
    for i, n in enumerate(head):
        total += n << (8 * (3 - i))
    return ipaddress.IPv4Address(total)


def _c_number(text: str) -> int | None:
    """A number as C's strtoul with base 0 reads it: `0x1f` hex, `017` octal, `17` decimal."""
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None



def env_assignments(words: list[str]) -> Iterator[tuple[str, str | None]]:
    """`KEY=VALUE` (and `KEY-`, unset) words of `kubectl set env`, as (name, value or None)."""
    for word in words:
        name, has_value, value = word.partition("=")
        if has_value:
            yield name, value
        elif word.endswith("-"):
            yield word[:-1], None
