"""What the logs of every container say, read to the end: init containers, sidecars and the
app, the previous log (the crash) and the current one, error lines first and bounded.

A log line a signature recognises becomes a `Said`, with the dependency it names (host:port,
a DNS name, a URL) when it names one. Slow calls count only from one second up: a log that
says "took 12ms" is not latency evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge import SignatureMatch, match_line, seconding
from tools import Obj
from tools.logs import (
    CONTEXT_LINES,
    CONTINUATION,
    FRAME,
    LogExcerpt,
    LogLine,
    is_error_line,
    shape,
)
from tools.secret_names import sensitive_name
from tools.summaries import meta, native_sidecars

from .recovery import GAVE_UP, NEAR_LINES, over, recurring, superseded
from .speakers import runs, spoken_by
from .view import ClusterView

POD_LIMIT = 30  # pods whose every container's logs are read for one question
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s?(ms|s)\b")
_SVC_HOST = re.compile(
    r"\b([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?\b")
_SVC_HOST_PORT = re.compile(
    r"\b([a-z0-9][a-z0-9-]*\.[a-z0-9-]+\.svc(?:\.cluster\.local)?(?::\d+)?)")
_PORT_FIELD = re.compile(r"\bport[\"']?\s*[:=]\s*[\"']?(\d{2,5})\b", re.IGNORECASE)
SLOW_SECONDS = 1.0



@dataclass(frozen=True)
class Said:
    """One recognised line of one container's log."""

    pod: Obj
    container: str
    role: str  # "init", "app" (the first container) or "sidecar"
    match: SignatureMatch
    repeats: int
    previous: bool
    over: bool = False  # the app logged it, then ran clean to the end of its log
    hint: str | None = None  # the dependency another line or the env names, when this one does not
    context: tuple[str, ...] = ()  # lines that continue it (DETAIL, STATEMENT, a cause)

    @property
    def category(self) -> str:
        return self.match.signature.category

    @property
    def target(self) -> str | None:
        """The dependency the line names: the signature's own group, else a Service name, a
        JSON field (upstream, host, addr), a URL's host or a host:port in the line."""
        if _own_disk(self.match, self.pod) or self.match.signature.itself:  # a full disk of
            return None  # its own, its own slow queries: no dependency to blame (the "remote"
        # of a database's slow-query line is its client)
        named, inline = self.match.target, dependency_in(self.match.line)
        if inline and inline.split(":")[0] == meta(self.pod)["name"]:  # "hostname": itself
            inline = None
        if named and inline and ":" not in named and inline.startswith(f"{named}:"):
            return inline  # the same host, with its port
        return named or inline or self.hint


_JSON_HOST = re.compile(
    r'"(?:upstream|host|hostname|addr|address|target|endpoint|server|peer|remote|url|uri|'
    r'broker|bootstrap[_.]?servers?)"\s*:\s*"(?:\w+://)?([\w.-]+(?::\d+)?)(?=[/",\s]|$)',
    re.IGNORECASE)
_URL_HOST = re.compile(r"\b(?:https?|grpc|tcp|postgres(?:ql)?|mysql|redis|amqp|mongodb)://"
                       r"(?:[^/\s]*@)?([\w.-]+\.[a-z][\w-]*(?::\d+)?)", re.IGNORECASE)
# (userinfo up to its last @: a password may hold one; host:port never followed by @, which
# makes it userinfo; a host starts where a name starts, so a long dotted run is read once)
_HOST_PORT = re.compile(r"(?<![\w.-])((?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*:\d{2,5})\b(?!@)",
                        re.IGNORECASE)
_IP_PORT = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}:\d{2,5})\b(?!@)")
_FILES = (".log", ".txt", ".json", ".yaml", ".crt", ".pem", ".key", ".go", ".py", ".js", ".java",
          ".ex", ".exs", ".erl", ".rb", ".kt", ".scala", ".rs", ".cs", ".ts", ".php")  # frames


_KEYWORD_HOST = re.compile(  # urllib3's host='x', port=n; libpq's server at "x" (ip), port n
    r"\bhost=['\"]?([\w.-]+)['\"]?,\s*port=(\d+)|"
    r"server at \"?([\w.-]+)\"?(?: \([^)]*\))?, port (\d+)")


def dependency_in(line: str) -> str | None:
    """host[:port] of the dependency a log line names, if it names one."""
    keyword = _KEYWORD_HOST.search(line)
    if keyword:
        host, port = [g for g in keyword.groups() if g]
        return f"{host}:{port}"
    for pattern in (_SVC_HOST_PORT, _JSON_HOST, _URL_HOST, _HOST_PORT, _IP_PORT):
        for found in pattern.finditer(line):
            host = found.group(1)
            if not host.split(":")[0].lower().endswith(_FILES):
                return host
    return None


def configured_for(found: SignatureMatch, pod: Obj, container: str) -> str | None:
    """The dependency a line that names no host means, by the container's configuration: the
    env variable or flag of that role (`failed to discover OIDC configuration`:
    `--oidc-issuer-url`)."""
    return _env_named(found, _env(pod, container))


def _env_named(found: SignatureMatch, env: list[tuple[str, str]]) -> str | None:
    """The dependency an env variable the signature names holds (DATABASE_HOST), or one whose
    name starts with a word the line says ("slow mongo query": MONGO_URL)."""
    names = found.signature.env
    said = set(_WORDS.findall(found.line.lower()))
    return next((host for name, value in env if (
        names is not None and names.search(name) or name.split("_")[0].lower() in said)
        and (host := dependency_in(value))), None)


def _own_disk(found: SignatureMatch, pod: Obj) -> bool:
    """A full disk logged by a pod that mounts a claim is its own, not a dependency's (a client
    relays its database's `could not extend file`; the database itself mounts the volume),
    unless the message is a server's and the pod does not run that server (Vector relays
    ClickHouse's NOT_ENOUGH_SPACE)."""
    speaker = found.signature.speaker
    return found.signature.category == "storage_full" and any(
        v.get("persistentVolumeClaim") for v in (pod.get("spec") or {}).get("volumes") or []
    ) and (speaker is None or runs(pod, speaker))


def containers(pod: Obj) -> list[tuple[str, str]]:
    """(name, role) of every container of a pod: init containers, the app, sidecars."""
    spec = pod.get("spec") or {}
    sidecars = native_sidecars(pod)
    found = [(c.get("name", ""), "sidecar" if c.get("name") in sidecars else "init")
             for c in spec.get("initContainers") or []]
    for index, container in enumerate(spec.get("containers") or []):
        found.append((container.get("name", ""), "app" if index == 0 else "sidecar"))
    return found


def what_logs_say(view: ClusterView, pods: list[Obj], limit: int = POD_LIMIT) -> list[Said]:
    """Every container's most telling recognised line, previous log first, for up to `limit`
    pods (one pod per workload first, so one noisy workload does not use up the budget)."""
    said: list[Said] = []
    for pod in one_per_workload(view, pods)[:limit]:
        namespace, name = meta(pod).get("namespace", ""), meta(pod)["name"]
        for container, role in containers(pod):
            for previous in (True, False):
                log = view.log(namespace, name, container, previous)
                if log is None:
                    continue
                best: tuple[SignatureMatch, LogLine] | None = None
                aimed: dict[str, str] = {}  # per category, the dependency a line of it names
                matched: list[SignatureMatch] = []
                for line in [*log.errors, *log.tail[-5:]]:
                    found = match_line(line.text)
                    if found is None or not _counts(found):
                        continue
                    matched.append(found)
                    named = found.target or dependency_in(found.line)
                    if named:
                        aimed.setdefault(found.signature.category, named)
                    if best is None or _better(found, best[0]) or recurring(
                            (found, line), best) or superseded(best[1], line):
                        best = (found, line)
                if best is not None:  # a precise cause that names no host ("NotBefore: ...")
                    named = dependency_in(best[0].line)
                    named = None if named and named.split(":")[0] == name else named  # its
                    # own "hostname" field (pino, bunyan) is no dependency
                    speaker = best[0].signature.speaker
                    hint = None if best[0].target or named or \
                        _own_disk(best[0], pod) else \
                        (speaker and spoken_by(view, speaker, pod)) or \
                        _env_named(best[0], _env(pod, container, view)) or \
                        aimed.get(best[0].signature.category) or \
                        _named_elsewhere(best[0].line, log, _env(pod, container, view),
                                         best[0].signature.category == "tls_certificate") or \
                        _named_before(best[1], log) or \
                        (_mounted_address(view, pod)
                         if best[0].signature.category == "dependency_unreachable" else None)
                    said.append(Said(pod, container, role, best[0], best[1].repeats, previous,
                                     over=not previous and over(best[1], log), hint=hint,
                                     context=_context(best[0], log) + _also(best[0], matched)))
    return said


_WORDS = re.compile(r"[a-z][a-z0-9]{3,}")
_COMMON = {"error", "errors", "timeout", "timed", "exceeded", "failed", "failure", "request",
           "requests", "call", "calls", "http", "https", "connect", "connection", "refused",
           "level", "time", "warn", "info", "duration", "cluster", "local", "default", "with",
           "from", "after", "while", "service", "client", "server", "upstream", "svc"}


def _named_elsewhere(line: str, log: LogExcerpt, env: list[tuple[str, str]],
                     tls: bool = False) -> str | None:
    """The dependency an error line means but does not name ("pricing: timeout of 2000ms"):
    a host another line of the same log names, or an env value (PRICING_URL), that shares a
    word with the line."""
    words = set(_WORDS.findall(line.lower())) - _COMMON
    if not words:
        return None
    for other in [*log.errors, *log.head, *log.tail]:
        host = dependency_in(other.text)
        if host and words & set(re.split(r"[.:_-]", host.lower())):
            return host
        keyed = next((h for m in _KEYED_HOST.finditer(other.text)  # "sentinels":
                      if m.group(1).lower() in words  # "redis.cache.svc:26379" (never a
                      and (h := dependency_in(m.group(2)))), None)  # "caller": "notify.go:732")
        if keyed:
            return keyed
    for name, value in env:
        host = dependency_in(value)
        if host and words & set(re.split(r"[.:_/-]", f"{name}.{value}".lower())):
            return host
    named = {h for h in (dependency_in(e.text) for e in log.errors) if h}
    if len(named) == 1:
        return named.pop()  # the one dependency its errors name
    if not tls:  # slowness or an error with no host may be the app's own
        return None
    configured = {h for _, value in env if (h := dependency_in(value)) and ".svc" in h}
    return configured.pop() if len(configured) == 1 else None  # the one Service its env names


_KEYED_HOST = re.compile(r"\"?([A-Za-z][\w-]{2,40})\"?\s*[:=]\s*\"?"
                         r"((?:[a-z0-9-]+\.)+[a-z0-9-]+:\d{2,5})\b")


def _named_before(line: LogLine, log: LogExcerpt) -> str | None:
    """The dependency the nearest error record above a line names: the record a stack trace's
    "Caused by: ...NotYetValid" belongs to names the broker it was talking to."""
    above = sorted((e for e in [*log.errors, *log.head, *log.tail]
                    if line.number - NEAR_LINES <= e.number < line.number),
                   key=lambda e: -e.number)
    return next((h for h in (dependency_in(e.text) for e in above if is_error_line(e.text)) if h),
                None)


def _mounted_address(view: ClusterView, pod: Obj) -> str | None:
    """The one in-cluster Service address (`name.ns.svc[.cluster.local]:port`) the ConfigMaps
    a pod mounts name: where a log shipper's or proxy's upstream is written (Vector's
    `address: vector-aggregator.logging.svc.cluster.local:6000`)."""
    values = [str(value)[:CONFIG_CHARS] for name in mounted_config_maps(pod) for value in (
        (view.find("ConfigMap", name, meta(pod).get("namespace")) or {}).get("data") or {}
    ).values()]
    found = {m.group(1) for value in values for m in _SVC_HOST_PORT.finditer(value)
             if ":" in m.group(1)}
    if not found:  # a host and its port in fields of their own (Debezium's
        found = {f"{m.group(1)}:{port.group(1)}" for value in values  # database.hostname,
                 for m in _SVC_HOST_PORT.finditer(value)  # database.port)
                 for port in [_PORT_FIELD.search(value)] if port and ":" not in m.group(1)}
    return found.pop() if len(found) == 1 else None


CONFIG_CHARS = 64 * 1024  # of each ConfigMap value: where hosts are named, not a dashboard


def mounted_config_maps(pod: Obj) -> set[str]:
    """The names of the ConfigMaps a pod mounts as volumes, projected ones too."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    names = {(v.get("configMap") or {}).get("name") for v in volumes} | {
        (source.get("configMap") or {}).get("name") for v in volumes
        for source in (v.get("projected") or {}).get("sources") or []}
    return {str(n) for n in names if n}


def _env(pod: Obj, container: str, view: ClusterView | None = None) -> list[tuple[str, str]]:
    """(name, literal value) of a container's env (values from Secrets are never here), and
    of its `--flag=value` and `--flag value` arguments as FLAG_NAME (`--oidc-issuer-url`);
    with `view`, the values it takes from ConfigMaps too (`envFrom`, `configMapKeyRef`)."""
    spec = pod.get("spec") or {}
    for each in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if each.get("name") == container:
            argv = [str(a) for a in [*(each.get("command") or []), *(each.get("args") or [])]]
            return [(str(e.get("name", "")), str(e["value"])[:_VALUE_CHARS])
                    for e in each.get("env") or []
                    if isinstance(e, dict) and isinstance(e.get("value"), str)] + _flags(
                argv) + (_from_config_maps(view, pod, each) if view is not None else [])
    return []


def _from_config_maps(view: ClusterView, pod: Obj, container: Obj) -> list[tuple[str, str]]:
    """(name, value) of the env a container takes from ConfigMaps: every key of an `envFrom`
    one (with its prefix), and each `configMapKeyRef`."""
    namespace = meta(pod).get("namespace")
    found: list[tuple[str, str]] = []
    for source in container.get("envFrom") or []:
        name = ((source or {}).get("configMapRef") or {}).get("name")
        data = ((view.find("ConfigMap", str(name), namespace) or {}).get("data") or {}
                if name else {})
        found += [(f"{source.get('prefix') or ''}{key}", str(value)[:_VALUE_CHARS])
                  for key, value in data.items() if isinstance(value, str)]
    for each in container.get("env") or []:
        ref = ((each or {}).get("valueFrom") or {}).get("configMapKeyRef") or {}
        value = ((view.find("ConfigMap", str(ref["name"]), namespace) or {}).get("data") or {}
                 ).get(ref.get("key")) if ref.get("name") else None
        if isinstance(value, str):
            found.append((str(each.get("name", "")), value[:_VALUE_CHARS]))
    return found


_VALUE_CHARS = 512  # a dependency's address is short; a longer value is read this far
_FLAG = re.compile(r"--?([a-zA-Z][\w.-]*)(?:=(.*))?", re.DOTALL)


def _flags(argv: list[str]) -> list[tuple[str, str]]:
    """(FLAG_NAME, value) of the flags of a command line; never a flag that names a secret
    (`--client-secret=...`: its value is no dependency, and is not repeated anywhere)."""
    pairs = []
    for at, arg in enumerate(argv):
        found = _FLAG.fullmatch(arg)
        if found is None:
            continue
        value = found.group(2)
        if value is None and at + 1 < len(argv) and not argv[at + 1].startswith("-"):
            value = argv[at + 1]
        value = (value or "").split(maxsplit=1)[0][:_VALUE_CHARS] if (value or "").strip() \
            else ""  # (one word: `--a=x --b=y` glued in one argument is two flags)
        if value and not sensitive_name(found.group(1), broad=True):
            pairs.append((re.sub(r"[.-]", "_", found.group(1)).upper(), value))
    return pairs


def _context(found: SignatureMatch, log: LogExcerpt) -> tuple[str, ...]:
    """Up to three distinct lines that continue the lines this signature recognises (the
    STATEMENT after "still waiting for AccessExclusiveLock", the cause under an exception; not
    its stack frames), and the line after it that says the app gave up ("Task is being killed
    and will not recover until manually restarted")."""
    lines = sorted({line.number: line for line in [*log.errors, *log.head, *log.tail]}.items())
    kept: dict[str, str] = {}
    gave_up: str | None = None
    for index, (_, line) in enumerate(lines):
        same = match_line(line.text)
        if same is None or same.signature.id != found.signature.id:
            continue
        following = list(line.context)
        for number, after in lines[index + 1:index + 1 + CONTEXT_LINES]:
            if number - line.number > CONTEXT_LINES or not CONTINUATION.search(after.text):
                break
            following.append(after.text)
        for text in following:
            if not FRAME.match(text):
                kept.setdefault(shape(text), text.strip())
        gave_up = gave_up or next((after.text.strip() for number, after in lines[index + 1:]
                                   if number - line.number <= NEAR_LINES
                                   and GAVE_UP.search(after.text)), None)
        if len(kept) >= 3:
            break
    if gave_up is None and found.signature.category == "slow_dependency":
        gave_up = next((line.text.strip()[:300] for _, line in lines
                        if DROPPED_INDEX.search(line.text)), None)  # what slowed the queries
    return tuple(list(kept.values())[:3 if gave_up is None else 2]) + (
        (gave_up,) if gave_up else ())


# a database's own line that it dropped an index (MongoDB's dropIndexes, SQL's DROP INDEX)
DROPPED_INDEX = re.compile(r"CMD: dropIndexes|\bDROP INDEX\b|\bdropIndex(?:es)?\(", re.IGNORECASE)
def _also(best: SignatureMatch, matched: list[SignatureMatch]) -> tuple[str, ...]:
    second = seconding(best, matched)
    return (second.line.strip(),) if second else ()


def _better(found: SignatureMatch, best: SignatureMatch) -> bool:
    """A higher-priority line; of equal ones, the later, unless only the earlier names the
    dependency ("Failed to connect to broker kafka-0...: x509" beats "got error from broker -1")."""
    if found.signature.priority != best.signature.priority:
        return found.signature.priority > best.signature.priority
    named = (found.target or dependency_in(found.line), best.target or dependency_in(best.line))
    return bool(named[0]) or not named[1]


_INFO_LEVEL = re.compile(r"\"level\":\s*(?:30|\"info\")|\blevel=info\b|\[?\bINFO\b\]?",
                         re.IGNORECASE)
# a setting that is not set, and what the app does instead: it runs without that feature
_FEATURE_OFF = re.compile(r"\b(?:disabled|disabling|skipp(?:ed|ing)|optional|not enabled|"
                          r"will not be|won't be|ignor(?:ed|ing)|falling back|defaulting)\b",
                          re.IGNORECASE)

# an app's call home for a newer version or its usage report: nothing it serves waits on it
_PHONE_HOME = re.compile(r"\b(?:latest (?:release|version)|new(?:er)? (?:release|version)|"
                         r"update check|check(?:ing)? for updates?|version check|telemetry|"
                         r"usage (?:stats|statistics|report|data))\b", re.IGNORECASE)


def _counts(found: SignatureMatch) -> bool:
    if found.signature.id == "http-unauthorized" and _INFO_LEVEL.search(found.line):
        return False  # an auth service's own answer to a user ("otp verify failed", 401)
    if found.signature.category == "missing_env" and _FEATURE_OFF.search(found.line):
        return False  # "Plugin "google" is disabled: GOOGLE_CLIENT_ID is not set"
    if found.signature.category == "dependency_unreachable" and _PHONE_HOME.search(found.line):
        return False  # "Unable to get latest release from GitHub: getaddrinfo EAI_AGAIN ..."
    if found.signature.id == "slow-call-ms":  # "durationMs": 8371
        return float(found.groups[0]) / 1000 >= SLOW_SECONDS
    if found.signature.id != "slow-call":
        return True
    duration = _DURATION.search(found.groups[0] if found.groups else found.line)
    if duration is None:
        return False
    value = float(duration.group(1)) / (1000 if duration.group(2) == "ms" else 1)
    return value >= SLOW_SECONDS


def one_per_workload(view: ClusterView, pods: list[Obj]) -> list[Obj]:
    """The pods ordered one per workload first, then the rest: a budget of N reads reaches N
    workloads before it reads a second pod of any."""
    from .workloads import workload_ref

    first: dict[str, Obj] = {}
    rest: list[Obj] = []
    for pod in pods:
        owner = workload_ref(view, pod)
        if owner in first:
            rest.append(pod)
        else:
            first[owner] = pod
    return [*first.values(), *rest]


def namespaces_named(said: list[Said]) -> set[str]:
    """Namespaces that the dependencies in the logs live in (`name.ns.svc`)."""
    return namespaces_in(f"{item.match.line} {item.target or ''}" for item in said)


def namespaces_in(texts: Iterable[str]) -> set[str]:
    """Namespaces that cluster DNS names in these texts point to (`name.ns.svc`)."""
    return {match.group(3) for text in texts for match in _SVC_HOST.finditer(text)}
