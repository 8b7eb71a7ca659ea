"""Redaction of Kubernetes objects as the API returns them: the text rules of `redacting` applied
to the fields where values live (env, args, ConfigMap data, labels and selectors, annotations,
event and status messages, last-applied configurations), and Secret data replaced outright.
Every other string goes through the text rules too, and a map's value goes when its key says
secret, so a field no rule names (a StorageClass's `parameters`, a probe's `?token=`) is covered.
Names stay, values go.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .program_secrets import hidden_words, program_name, starts_program
from .redacting import (
    LAST_APPLIED,
    REDACTED,
    is_secret_value,
    redact_value,
    sensitive_name,
)
from .secret_names import (
    credential_shaped,
    login_password,
    names_community,
    names_login,
    weak_name,
    weak_secret,
)
from .secret_tokens import looks_random


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A redacted deep copy of a Kubernetes object (or a `*List` of them) as the API returns it.

    Items of core list files carry no `kind`, so objects are recognised by shape: anything with
    `spec.containers`, `spec.template` or `spec.jobTemplate` has containers; a `data` map is a
    ConfigMap's, or a Secret's when the object is a Secret or has a `type`.
    """
    out: dict[str, Any] = _copy(obj)
    _redact_in_place(out)
    _redact_leaves(out)
    return out


# Subtrees the field rules above have already judged (with exemptions of their own), or that
# hold only field names. Below an object's top level (a custom resource's pod template, an
# ExternalSecret's `spec.target.template.data`, a HelmRelease's values), maps under these names
# are judged here as the field rules judge them.
_JUDGED = frozenset({"labels", "annotations", "managedFields", "data", "stringData",
                     "binaryData", "matchLabels", LAST_APPLIED})
_NEVER_JUDGED = frozenset({"managedFields", LAST_APPLIED})
_MAPS = frozenset({"labels", "annotations", "matchLabels"})


def _redact_leaves(value: Any, top: bool = True, secrets: bool = False) -> None:
    """Every other string of the object, wherever it sits (PV and StorageClass `mountOptions`,
    `parameters`, CSI `volumeAttributes`, flexVolume options, probe paths `?token=`, Ingress
    paths...): text redaction, and a map's value goes when its key says secret. A `name`/`value`
    pair anywhere (an Argo or Tekton step's env, a Helm `set`) is judged by its name, or is a
    secret whatever its name in a list under a secret's key (`secrets: [{name: db, value: x}]`,
    `secrets`), as are the items there shaped like a credential. `top`: the object itself, its
    `metadata` or a List's items, whose fields the rules above judged."""
    if type(value) is dict:
        named, paired, field = _named_pair(value)
        if paired is not None and secrets and is_secret_value(paired):
            value[field] = REDACTED
        elif paired is not None and (redacted := _redact_named(named, paired)) != paired:
            value[field] = redacted
        for key, item in value.items():
            if key in _NEVER_JUDGED or (top and key in _JUDGED) or (
                    paired is not None and key == field):
                continue
            if key in _MAPS and type(item) is dict:
                value[key] = _redact_map(item, annotations=key == "annotations")
            elif key in ("data", "stringData") and type(item) is dict:
                for field, data in item.items():
                    if isinstance(data, str):
                        item[field] = _redact_named(str(field), data)
                    elif type(data) is dict or type(data) is list:
                        _redact_leaves(data, top=False)
            elif isinstance(item, str):
                name = key.rpartition("/")[2] if isinstance(key, str) else ""
                if name and sensitive_name(name) and is_secret_value(item):
                    value[key] = REDACTED
                else:
                    value[key] = redact_value(item)
            elif type(item) in (int, float) and isinstance(key, str) and sensitive_name(key):
                value[key] = REDACTED  # `password: 20261234` in a HelmRelease's values
            elif type(item) is dict or type(item) is list:
                _redact_leaves(item, top=top and key in ("metadata", "items"), secrets=type(
                    item) is list and isinstance(key, str) and sensitive_name(key))
    elif type(value) is list:
        for i, item in enumerate(value):
            if isinstance(item, str):
                value[i] = REDACTED if secrets and credential_shaped(item) else redact_value(item)
            elif type(item) is dict or type(item) is list:
                _redact_leaves(item, top=top, secrets=secrets)


# The fields of a name/value record: an env entry, an Argo or Tekton parameter, a Helm chart's
# `extraEnv: [{key: DB_PASSWORD, val: x}]`.
_RECORD_NAMES = ("name", "key", "variable")
_RECORD_VALUES = ("value", "val")


def _named_pair(record: dict[Any, Any]) -> tuple[str, str | None, str]:
    """A record's name, its value as a string (None when it has no such pair) and the field
    that holds it."""
    named = next((record[k] for k in _RECORD_NAMES if isinstance(record.get(k), str)), None)
    for field in _RECORD_VALUES:
        paired = record.get(field)
        if named is not None and isinstance(paired, str | int | float) and (
                type(paired) is not bool):
            return named, str(paired), field
    return "", None, ""


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A deep copy of JSON data, several times faster than `copy.deepcopy`. A key that is no
    string (YAML's `1: x` in a snapshot file) becomes the string JSON would write, so every rule
    judges it as a name."""
    if type(value) is dict and not all(type(key) is str for key in value):
        value = {key if type(key) is str else json.dumps(key): item for key, item in value.items()}
    if type(value) is dict or type(value) is list:
        new = value.copy()  # scalars are immutable: copy in C, then replace the containers
        for key, item in value.items() if type(value) is dict else enumerate(value):
            if type(item) not in _SCALARS:
                new[key] = _copy(item)
        return new
    return value


def _redact_in_place(obj: dict[str, Any], *, secret: bool = False) -> None:
    """`secret`: an item of a SecretList, whose items may carry neither `kind` nor `type`."""
    kind = obj.get("kind")
    items = obj.get("items")
    if type(items) is list:
        for item in items:
            if type(item) is dict:
                _redact_in_place(item, secret=str(kind).lower() == "secretlist")
    secret = secret or str(kind).lower() == "secret"
    _redact_metadata(obj.get("metadata"))
    has_data = any(type(obj.get(f)) is dict for f in ("data", "stringData", "binaryData"))
    if secret or (kind is None and has_data and "type" in obj):
        for field in ("data", "stringData"):
            values = obj.get(field)
            if type(values) is dict:
                obj[field] = {k: REDACTED for k in values}
    elif kind in (None, "ConfigMap") and has_data:  # a `spec` beside it hides nothing
        data = obj.get("data")
        if type(data) is dict:
            for key, value in data.items():
                data[key] = _redact_data_value(key, value)
        binary = obj.get("binaryData")
        if type(binary) is dict:
            obj["binaryData"] = {k: REDACTED for k in binary}
    elif type(obj.get("data")) is dict:  # a ControllerRevision's template
        _redact_leaves(obj["data"], top=False)
    for field in ("message", "note"):  # core/v1 and events.k8s.io/v1 events
        if isinstance(obj.get(field), str):
            obj[field] = redact_value(obj[field])
    _redact_workload_spec(obj.get("spec"))
    _redact_messages(obj.get("status"))


def _redact_data_value(key: Any, value: Any) -> Any:
    """A ConfigMap's `data` value, its key judged as text: a manifest read from YAML may key
    it by a number (`1: x`) and hold a number, a flag or null (`DB_PASSWORD: 12345678`), which
    goes as a string under the same key would. A map or a list (a ControllerRevision's
    `data`) has every string in it judged."""
    if isinstance(value, str):
        return _redact_named(str(key), value)
    held = {str(key): value}
    _redact_leaves(held)
    return held[str(key)]


def _redact_metadata(meta: Any) -> None:
    if type(meta) is not dict:
        return
    for field in ("labels", "annotations"):
        if type(meta.get(field)) is dict:
            meta[field] = _redact_map(meta[field], annotations=field == "annotations")


def _redact_map(values: dict[str, Any], *, annotations: bool = False) -> dict[str, Any]:
    """Labels, annotations or a selector: a value goes when its key's name (the part after the
    `/`) says secret, or when it holds a secret; a key holding a token is renamed."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if annotations and key == LAST_APPLIED and isinstance(value, str):
            value = _redact_last_applied(value)
        elif isinstance(value, str):
            value = _redact_labelled(str(key), value)
        elif type(value) in (int, float) and sensitive_name(str(key).rpartition("/")[2]):
            value = REDACTED  # a manifest's YAML reads `password: 20261234` as a number
        out[_redact_key(key)] = value
    return out


def _redact_key(key: Any) -> Any:
    """A label or annotation key holding a token, renamed; a short key, or one read from YAML as
    a number that holds none, stays as it is."""
    text = str(key)
    if len(text) < 20:
        return key
    renamed = redact_value(text)
    return key if renamed == text else renamed


# Annotations of these projects name Secrets and Vault paths by their `*-secret*` keys
# (`nginx.ingress.kubernetes.io/auth-secret: basic-auth`): object names there stay.
_INFRA_DOMAINS = ("kubernetes.io", "k8s.io", "cert-manager.io", "hashicorp.com", "stakater.com",
                  "argoproj.io", "external-secrets.io", "istio.io", "linkerd.io", "fluxcd.io",
                  "traefik.io", "konghq.com", "openshift.io", "bitnami.com")
_OBJECT_REFS = re.compile(r"[a-z0-9][a-z0-9._/-]*(?:,[a-z0-9][a-z0-9._/-]*)*")


def _redact_labelled(key: str, value: str) -> str:
    domain, _, name = key.rpartition("/")
    if sensitive_name(name) and is_secret_value(value) and not _helm_checksum(domain, value):
        if not (_infra_domain(domain) and _names_a_secret(name) and _OBJECT_REFS.fullmatch(value)
                and not _DIGITS_RUN.search(value)):
            return REDACTED
    if names_login(name) and (pair := login_password(value)):
        return value[: pair.start("pw")] + REDACTED + value[pair.end("pw") :]
    if names_community(name) and credential_shaped(value):
        return REDACTED
    if weak_name(name) and weak_secret(name, value):
        return REDACTED  # `pin: "4821"`, `session: <random>`
    return redact_value(value)


_DIGITS_RUN = re.compile(r"[0-9a-f]{16,}|[0-9]{6,}")  # a hex key or a PIN, never an object name


def _names_a_secret(name: str) -> bool:
    """`auth-secret`, `tls-secret-name`, `secrets`: a key that names Secret objects (whose
    values are object names under the projects above); not `webhook-token` nor `api-key`, nor
    `client-secret`: the secret of an OAuth client, a credential itself."""
    m = re.search(r"(?:^|(?P<before>[a-z0-9]+)[-_.]?)secrets?(?:[-_.]?name)?$", name,
                  re.IGNORECASE)
    return m is not None and (m.group("before") or "").lower() not in _CREDENTIAL_SECRETS


# What the secret of these is a credential, not a Secret object's name.
_CREDENTIAL_SECRETS = frozenset({"client", "shared", "api", "app", "webhook", "signing", "jwt",
                                 "session", "cookie", "hmac", "encryption", "master", "consumer",
                                 "oauth", "oidc", "token"})


def _infra_domain(domain: str) -> bool:
    """`nginx.ingress.kubernetes.io`, `kubernetes.io`; not `evilk8s.io`: on a dot boundary."""
    return any(domain == d or domain.endswith("." + d) for d in _INFRA_DOMAINS)


_DIGEST = re.compile(r"[0-9a-f]{32,128}")


def _helm_checksum(domain: str, value: str) -> bool:
    """Helm's `checksum/secret: <sha256 of the rendered Secret>` restarts pods on a change."""
    return domain == "checksum" and _DIGEST.fullmatch(value) is not None


def _redact_last_applied(value: str) -> str:
    try:
        applied = json.loads(value)
    except ValueError:
        return REDACTED
    if type(applied) is not dict:
        return REDACTED
    _redact_in_place(applied)
    return json.dumps(applied, separators=(",", ":")) + ("\n" if value.endswith("\n") else "")


def _redact_workload_spec(spec: Any) -> None:
    """Pod spec, or a workload spec holding a pod template, or a CronJob's job template; the
    selectors that repeat its labels."""
    if type(spec) is not dict:
        return
    for field in ("containers", "initContainers", "ephemeralContainers"):
        containers = spec.get(field)
        if type(containers) is list:
            for container in containers:
                if type(container) is dict:
                    _redact_container(container)
    for field in ("template", "jobTemplate"):
        template = spec.get(field)
        if type(template) is dict:
            _redact_metadata(template.get("metadata"))
            _redact_workload_spec(template.get("spec"))
    selector = spec.get("selector")
    if type(selector) is dict:
        if type(selector.get("matchLabels")) is dict:
            selector["matchLabels"] = _redact_map(selector["matchLabels"])
        elif all(isinstance(v, str) for v in selector.values()):  # a Service's selector
            spec["selector"] = _redact_map(selector)


def _redact_container(container: dict[str, Any]) -> None:
    env = container.get("env")
    if type(env) is list:
        for var in env:
            if type(var) is dict and isinstance(var.get("value"), str):
                var["value"] = _redact_named(str(var.get("name", "")), var["value"])
    command = container.get("command")
    program = command[0] if type(command) is list and command else ""
    for field in ("command", "args"):
        if type(container.get(field)) is list:
            container[field] = _redact_argv(container[field], program=program)
    handlers = [container.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
    lifecycle = container.get("lifecycle")
    if type(lifecycle) is dict:
        handlers += [lifecycle.get("postStart"), lifecycle.get("preStop")]
    for handler in handlers:
        if type(handler) is not dict:
            continue
        exec_ = handler.get("exec")
        if type(exec_) is dict and type(exec_.get("command")) is list:
            exec_["command"] = _redact_argv(exec_["command"])
        http = handler.get("httpGet")
        headers = http.get("httpHeaders") if type(http) is dict else None
        if type(headers) is list:
            for header in headers:
                if type(header) is dict and isinstance(header.get("value"), str):
                    header["value"] = _redact_named(str(header.get("name", "")), header["value"])


def _redact_named(name: str, value: str) -> str:
    if sensitive_name(name, broad=True) and is_secret_value(value) and not _plain_url(value):
        return REDACTED
    if names_login(name) and (pair := login_password(value)):
        return value[: pair.start("pw")] + REDACTED + value[pair.end("pw") :]
    return redact_value(value)


def _plain_url(value: str) -> bool:
    """A URL with no password in it (`postgres://app@db:5432/shop`, `redis://redis:6379/0`,
    a replica set's `mongodb://m-0:27017,m-1:27017/db`): its
    host and port are what a wrong-port diagnosis needs, so under a name such as DATABASE_URL it
    gets the text rules (which hide `?password=`) instead of going whole. A user that looks like a
    token (`nats://TOKEN@nats:4222`, Sentry's hex key), a second `@` or a `:` in the user keep
    it going whole."""
    url = _PLAIN_URL.fullmatch(value.strip())
    user = url.group("user") or "" if url else ""
    return url is not None and not (looks_random(user) or _KEY_AS_USER.fullmatch(user))


_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:(?P<user>[\w.%-]+)@)?"
                        r"[A-Za-z0-9_.-]+(?::\d{1,5})?(?:,[A-Za-z0-9_.-]+(?::\d{1,5})?)*"
                        r"(?:[/?#][^@\s]*)?")  # mongodb://m-0:27017,m-1:27017/db lists members
_KEY_AS_USER = re.compile(r"(?=[a-z]*\d)(?=\d*[a-z])[0-9a-z]{12,}", re.IGNORECASE)  # Sentry's DSN
_USER_FLAGS = frozenset({"-u", "--user", "--proxy-user", "-U"})
_RUNTIMES = frozenset({"docker", "podman", "nerdctl", "ctr", "crictl", "kubectl", "runuser"})
_IDS = re.compile(r"\d+(?::\d+)?")


def _redact_argv(argv: list[Any], *, program: str = "") -> list[Any]:
    """`command`/`args` items. The secrets the programs of `program_secrets` take by position
    or flag (`zip -P x`, `mysql -px`, `docker login -p x`, `vault login x`,
    `aws configure set aws_secret_access_key x`) or any command by a sensitive flag
    (`--password x`, `/password x`), and the password half of `-u user:pw` and `-U user%pw`.
    `program` is the container's command when `argv` is its args."""
    hidden = _hidden_items(argv, program)
    out: list[Any] = []
    program = program.rsplit("/", 1)[-1]
    previous = ""
    for i, item in enumerate(argv):
        if not isinstance(item, str):
            out.append(item)
            previous = ""
            continue
        base = item.rsplit("/", 1)[-1]
        if starts_program(item) or base in _RUNTIMES:
            program = base
        if i in hidden:
            start, end = hidden[i]
            out.append(item[:start] + REDACTED + item[end:])
        else:
            out.append(_redact_argument(previous, item, program))
        previous = item
    return out


def _hidden_items(argv: list[Any], program: str) -> dict[int, tuple[int, int]]:
    """The items of `argv` each program in it takes as its secret (`program_secrets`), each
    program's words being those after its name up to the next program's."""
    words = [item if isinstance(item, str) else "" for item in argv]
    starts = [i for i, word in enumerate(words)
              if starts_program(word) or (i == 0 and program_name(word))]
    if not starts or starts[0] > 0:
        starts.insert(0, -1)  # the words of `program`, the container's command
    hidden: dict[int, tuple[int, int]] = {}
    for n, at in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(words)
        name = program_name(words[at]) if at >= 0 else program_name(program)
        for i, span in hidden_words(name, words[at + 1 : end]).items():
            hidden[at + 1 + i] = span
    return hidden


def _redact_argument(previous: str, item: str, program: str) -> str:
    if previous in _USER_FLAGS and program not in _RUNTIMES and not _IDS.fullmatch(item):
        user, sep, secret = item.partition("%" if previous == "-U" else ":")
        if sep and is_secret_value(secret):
            return user + sep + REDACTED
    return redact_value(item)


def _redact_messages(status: Any) -> None:
    """Every `message` under `status`: conditions, container states, termination messages."""
    if type(status) is dict:
        for key, value in status.items():
            if key == "message" and isinstance(value, str):
                status[key] = redact_value(value)
            elif type(value) is dict or type(value) is list:
                _redact_messages(value)
    elif type(status) is list:
        for value in status:
            _redact_messages(value)
