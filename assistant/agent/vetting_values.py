"""What a proposed change may set (part of vetting, issue 15): the body of a `kubectl patch`
and the variables of a `kubectl set env`, each judged as an allow-list.

A patch (JSON merge, strategic merge, YAML, or a JSON patch list of operations) is parsed and
walked; every key on the way must be one a fix proposed here may change (replicas, resources,
probes without `exec`, rollout strategy, scheduling preferences, labels...), so `hostAliases`,
`dnsConfig`, `hostNetwork`, `nodeName`, `command`, volumes, owner references and the rest are
refused by not being listed. On the way, an image must come from an origin the pod spec already
uses, replicas must stay above zero, a securityContext may only be tightened, and an env entry
passes the `set env` rules:

- no proxy, preload, interpreter-path, startup-hook, profiler, class-path or helper-command
  variables (`HTTPS_PROXY`, `LD_PRELOAD`, `PYTHONPATH`, `DOTNET_STARTUP_HOOKS`, `CLASSPATH`,
  `GIT_SSH_COMMAND`, ...), no Node.js or JVM options that open a debugger, load an agent or run
  a command (under any `*_OPTS`/`*_ARGS` name, or any name when the value says `-javaagent`);
- nothing that turns TLS or authentication off, by name or by value (`VAULT_SKIP_VERIFY=1`,
  `PGSSLMODE=disable`, `sslmode=disable` in a DSN, `-insecure`, `HOST_AUTH_METHOD=trust`);
- no value that is an address (a URL, `host:port`, a dotted host name or an IP in any form a
  resolver takes) other than a cluster-local name or one the scope has seen.

An `envFrom` is refused: it adds variables the vetting cannot see.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

Origin = Callable[[str], str]

# Keys a patch may pass through or set. Lower case: the API decodes field names exactly, but a
# key that differs only in case is judged as the field it looks like.
_KEYS = frozenset(s.lower() for s in """
metadata spec template jobTemplate containers initContainers name replicas paused minReadySeconds
progressDeadlineSeconds revisionHistoryLimit strategy rollingUpdate maxSurge maxUnavailable
updateStrategy partition suspend schedule startingDeadlineSeconds concurrencyPolicy
successfulJobsHistoryLimit failedJobsHistoryLimit activeDeadlineSeconds backoffLimit parallelism
completions ttlSecondsAfterFinished timeZone terminationGracePeriodSeconds enableServiceLinks
priorityClassName image imagePullPolicy env valueFrom configMapKeyRef key
optional fieldRef fieldPath resourceFieldRef resource divisor resources livenessProbe
readinessProbe startupProbe httpGet path port scheme httpHeaders value tcpSocket grpc service
initialDelaySeconds periodSeconds timeoutSeconds failureThreshold successThreshold ports
containerPort protocol targetPort type minReplicas maxReplicas scaleTargetRef kind apiVersion
securityContext""".split())
# Maps whose keys are data (label keys, resource names): any key, scalar values.
_FREE_MAPS = frozenset({"labels", "annotations", "nodeselector", "limits", "requests",
                        "matchlabels"})
# Subtrees taken whole: where pods may run and how an autoscaler reads its metrics.
_SUBTREES = frozenset({"affinity", "tolerations", "topologyspreadconstraints", "metrics",
                       "behavior"})
_STRATEGY_TYPES = frozenset({"RollingUpdate", "Recreate", "OnDelete"})
# The only securityContext changes that pass: ones that take a privilege away.
_TIGHTER = {"runasnonroot": True, "readonlyrootfilesystem": True,
            "allowprivilegeescalation": False, "privileged": False}

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
    r"LUA_C?PATH\w*|R_PROFILE\w*|R_LIBS\w*|TCLLIBPATH|ERL_LIBS|ERL_AFLAGS|ERL_FLAGS|"
    r"NODE_REPL_EXTERNAL_MODULE|PYTHON\w+")
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
                           r"keyStore|-Djava\.security|-Dlog4j|-Dcom\.sun", re.I)
# A JVM agent or debugger, whatever variable carries it.
_JVM_AGENT = re.compile(r"-(?:javaagent|agentlib|agentpath|Xdebug|Xrun)\b", re.I)
# TLS turned off by the value: a DSN's `sslmode=disable`, `useSSL=false`, a `-insecure` flag.
_TLS_OFF_VALUE = re.compile(
    r"(?<![\w-])--?(?:insecure[\w-]*|no-check-certificate|(?:skip|disable|no)-(?:tls|ssl)[\w-]*|"
    r"tls-verify=false)|\b(?:ssl_?mode=(?:disable|allow)|(?:use_?)?(?:ssl|tls)=(?:false|0|off|no|"
    r"disabled?)\b|trustServerCertificate=true|tls(?:Insecure|AllowInvalid\w*)=true|"
    r"(?:ssl|tls)_?verify\w*=(?:false|0|no|off|none)\b|verify_?ssl=(?:false|0|no)\b)", re.I)
_TLS_NAME = re.compile(r"\w*(?:TLS|SSL|HTTPS)\w*")
_NEGATED_NAME = re.compile(r"DISABLE|INSECURE|SKIP|(?:^|_)NO_?|PORT$")
_TLS_OFF_MODES = frozenset({"disable", "disabled", "allow", "none", "off", "false", "plaintext"})
# Authentication turned off: `POSTGRES_HOST_AUTH_METHOD=trust`, `ALLOW_EMPTY_PASSWORD=yes`.
_AUTH_NAME = re.compile(r"\w*AUTH\w*(?:METHOD|MODE|TYPE|ENABLED?|REQUIRED)")
_AUTH_OFF = frozenset({"trust", "none", "disable", "disabled", "off", "false", "no", "0",
                       "anonymous"})
_NO_AUTH_NAME = re.compile(r"\w*(?:ALLOW_EMPTY_PASSWORD|(?:NO|SKIP|DISABLE)_?AUTH\w*)")
_PROFILE = re.compile(r"apparmor|seccomp|unconfined", re.I)
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})
_ADDRESS_NAME = re.compile(r"HOST|URL|URI|ADDR|ENDPOINT|SERVER|DSN|BROKER|DOMAIN|GATEWAY|REMOTE|"
                           r"UPSTREAM|BACKEND|PEERS?$|SEEDS?$|NODES$|BOOTSTRAP")
_FILE_SUFFIX = re.compile(r"\.(?:ya?ml|json|txt|log|conf|cfg|ini|xml|properties|toml|py|js|"
                          r"jar|sh|pem|crt|key|csv|html?|db|sqlite|env|lock|pid|sock|d)$", re.I)
_LOCAL = re.compile(r"(?:^|\.)(?:svc|svc\.cluster\.local|cluster\.local)$|^localhost$", re.I)


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


def _value_problem(upper: str, value: str) -> str | None:
    """What the value of `upper` turns on or off: a debugger or agent, TLS, authentication."""
    lowered = value.strip().lower()
    if upper == "NODE_OPTIONS" and _NODE_SAFE.sub("", value).strip():
        return "it sets Node.js options that can open a debugger or load code"
    if _JVM_AGENT.search(value) or (_JAVA_VARS.fullmatch(upper) and _JAVA_OPENING.search(value)):
        return "it sets JVM options that open a debugger, load an agent or change trust"
    if upper == "GODEBUG" and "x509" in lowered:
        return "it relaxes certificate checks"
    if _tls_off(upper, lowered) or _TLS_OFF_VALUE.search(value):
        return "it turns TLS verification off"
    if (_AUTH_NAME.fullmatch(upper) and lowered in _AUTH_OFF) or (
            _NO_AUTH_NAME.fullmatch(upper) and lowered not in _FALSE):
        return "it turns authentication off"
    return None


def _tls_off(upper: str, lowered: str) -> bool:
    """Whether variable `upper` set to `lowered` turns TLS or its verification off by its name:
    `VAULT_SKIP_VERIFY=true`, `REDIS_TLS_ENABLED=false`, `PGSSLMODE=disable`."""
    if upper == "NODE_TLS_REJECT_UNAUTHORIZED" and lowered in _FALSE:
        return True
    if re.search(r"INSECURE|SKIP_?(?:TLS_?)?VERIF|NO_?VERIFY|DISABLE_?(?:TLS|SSL)", upper):
        return lowered not in _FALSE
    if re.search(r"(?:SSL|TLS)_?MODE", upper):
        return lowered in _TLS_OFF_MODES
    return bool(_TLS_NAME.fullmatch(upper)) and not _NEGATED_NAME.search(upper) \
        and lowered in _FALSE - {""}


def address_problem(name: str, value: str, hosts: frozenset[str]) -> str | None:
    """A value that points somewhere must point at a cluster name or an address already seen.
    Every host form a resolver takes is read as it would be (`203.0.113.05`, `0xcb007142`,
    `3405803842` and `0313.0.0161.05` are all 203.0.113.5; a bare `2001:db8::66` is an IPv6
    address; `jdbc:postgresql:host` names a host). A value points somewhere when it is an IP,
    has a scheme or a port, or is a dotted name in a variable named for an address (`DB_HOST`,
    `API_URL`...); `com.example.Main` in `MAIN_CLASS`, file names and numbers are not
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
                           or not (named or marked)):
            continue
        if ip is not None and (ip.is_loopback or ip.is_unspecified
                               or ip in _THIS_NETWORK):
            continue
        if (str(ip) if ip is not None else host) in hosts:
            continue
        return "it points the app at an address not seen in the evidence"
    return None


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


def patch_problem(patches: list[str], patch_type: str, origins: frozenset[str],
                  hosts: frozenset[str], origin: Origin) -> str | None:
    """Why a patch body may not be proposed; None when every key and value it sets may be."""
    for text in patches:
        try:
            body = yaml.safe_load(text)  # JSON is YAML; either may be given
        except yaml.YAMLError:
            try:
                body = json.loads(text)
            except ValueError:
                return "the patch does not parse"
        items = _json_patch(body) if patch_type == "json" or isinstance(body, list) \
            else [([], body)]
        if isinstance(items, str):
            return items
        if not items or any(not p and not isinstance(v, dict) for p, v in items):
            return "the patch is not an object"
        for path, value in items:
            problem = _walk(path, value, origins, hosts, origin)
            if problem:
                return problem
    return None


def _json_patch(body: Any) -> list[tuple[list[str], Any]] | str:
    if not isinstance(body, list):
        return "the JSON patch is not a list of operations"
    items = []
    for op in body:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove", "test"):
            return "the JSON patch has an operation that is not add, replace or remove"
        path = [p.replace("~1", "/").replace("~0", "~")
                for p in str(op.get("path", "")).split("/")[1:]]
        value = op.get("value")
        items.append((path, None if op["op"] == "remove" else value))
    return items


def _walk(path: list[str], value: Any, origins: frozenset[str], hosts: frozenset[str],
          origin: Origin) -> str | None:
    """Judge `value` at `path` (keys; list indices are skipped)."""
    keys = [k.lower() for k in path if not (k.isdigit() or k == "-")]
    for i, key in enumerate(keys):
        if i and keys[i - 1] in _FREE_MAPS:
            break
        if key in _SUBTREES:
            return None
        if key == "env" and i == len(keys) - 1:
            return _env_entries(value, hosts)
        if key not in _KEYS and key not in _FREE_MAPS:
            return f"it patches {path[i] if path[i].isascii() else '?'}, which a proposed fix " \
                   "may not change"
    last = keys[-1] if keys else ""
    if isinstance(value, dict):
        if last in _FREE_MAPS:
            if any(isinstance(v, (dict, list)) for v in value.values()):
                return "it patches a label or resource map with nested values"
            if _PROFILE.search(" ".join(f"{k} {v}" for k, v in value.items())):
                return "it loosens the security context"  # AppArmor or seccomp annotations
            return None
        if last == "securitycontext":
            return _tighter(value)
        for key, item in value.items():
            if not isinstance(key, str):
                return "the patch has a key that is not text"
            problem = _walk([*path, key], item, origins, hosts, origin)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        for item in value:
            problem = _walk(path, item, origins, hosts, origin)
            if problem:
                return problem
        return None
    return _leaf(keys, value, origins, origin)


def _leaf(keys: list[str], value: Any, origins: frozenset[str], origin: Origin) -> str | None:
    last = keys[-1] if keys else ""
    parent = keys[-2] if len(keys) > 1 else ""
    if last == "image" and (not isinstance(value, str) or origin(value) not in origins):
        return "it changes an image to a registry the pod spec does not already use"
    if last in ("replicas", "minreplicas") and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        return "it scales to zero (or to no number) replicas"
    if parent == "securitycontext" and _TIGHTER.get(last) is not value:
        return "it loosens the security context"
    if last == "type" and (parent not in ("strategy", "updatestrategy")
                           or value not in _STRATEGY_TYPES):
        return "it changes a type a proposed fix may not change"
    if last == "securitycontext":  # set to null, or removed
        return "it loosens the security context"
    return None


def _tighter(context: dict[str, Any]) -> str | None:
    if all(_TIGHTER.get(str(k).lower()) is v for k, v in context.items()):
        return None
    return "it loosens the security context"


def _env_entries(value: Any, hosts: frozenset[str]) -> str | None:
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return "it patches an env entry it does not name"
        keys = {str(k).lower() for k in entry}
        if not keys <= {"name", "value", "valuefrom"}:
            return "it patches an env entry with unknown fields"
        source = entry.get("valueFrom")
        if source is not None and not (isinstance(source, dict) and set(source) <= {
                "configMapKeyRef", "fieldRef", "resourceFieldRef"}):
            return "it takes an env value from a source a proposed fix may not use"
        raw = entry.get("value")
        problem = env_problem(entry["name"], None if raw is None else str(raw), hosts)
        if problem:
            return problem
    return None


def env_assignments(words: list[str]) -> Iterator[tuple[str, str | None]]:
    """`KEY=VALUE` (and `KEY-`, unset) words of `kubectl set env`, as (name, value or None)."""
    for word in words:
        name, has_value, value = word.partition("=")
        if has_value:
            yield name, value
        elif word.endswith("-"):
            yield word[:-1], None
