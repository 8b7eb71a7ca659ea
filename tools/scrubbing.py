"""Redaction of Kubernetes objects as the API returns them: the text rules of `redacting` applied
to the fields where values live (env, args, ConfigMap data, annotations, event and status
messages, last-applied configurations), and Secret data replaced outright. Names stay, values go.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .redacting import (
    CLI_PASSWORD_FLAG,
    LAST_APPLIED,
    REDACTED,
    is_secret_value,
    redact_value,
    sensitive_name,
)


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A redacted deep copy of a Kubernetes object (or a `*List` of them) as the API returns it.

    Items of core list files carry no `kind`, so objects are recognised by shape: anything with
    `spec.containers`, `spec.template` or `spec.jobTemplate` has containers; a `data` map is a
    ConfigMap's, or a Secret's when the object is a Secret or has a `type`.
    """
    out: dict[str, Any] = _copy(obj)
    _redact_in_place(out)
    return out


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A deep copy of JSON data, several times faster than `copy.deepcopy`."""
    if type(value) is dict or type(value) is list:
        new = value.copy()  # scalars are immutable: copy in C, then replace the containers
        for key, item in value.items() if type(value) is dict else enumerate(value):
            if type(item) not in _SCALARS:
                new[key] = _copy(item)
        return new
    return value


def _redact_in_place(obj: dict[str, Any]) -> None:
    items = obj.get("items")
    if type(items) is list:
        for item in items:
            if type(item) is dict:
                _redact_in_place(item)
    kind = obj.get("kind")
    _redact_metadata(obj.get("metadata"))
    has_data = any(type(obj.get(f)) is dict for f in ("data", "stringData", "binaryData"))
    if kind == "Secret" or (kind is None and has_data and "type" in obj):
        for field in ("data", "stringData"):
            values = obj.get(field)
            if type(values) is dict:
                obj[field] = {k: REDACTED for k in values}
    elif kind in (None, "ConfigMap") and has_data and "spec" not in obj:
        data = obj.get("data")
        if type(data) is dict:
            for key, value in data.items():
                if isinstance(value, str):
                    data[key] = _redact_named(key, value)
        binary = obj.get("binaryData")
        if type(binary) is dict:
            obj["binaryData"] = {k: REDACTED for k in binary}
    for field in ("message", "note"):  # core/v1 and events.k8s.io/v1 events
        if isinstance(obj.get(field), str):
            obj[field] = redact_value(obj[field])
    _redact_workload_spec(obj.get("spec"))
    _redact_messages(obj.get("status"))


def _redact_metadata(meta: Any) -> None:
    if type(meta) is not dict:
        return
    annotations = meta.get("annotations")
    if type(annotations) is not dict:
        return
    for key, value in annotations.items():
        if not isinstance(value, str):
            continue
        if key == LAST_APPLIED:
            annotations[key] = _redact_last_applied(value)
        else:
            annotations[key] = redact_value(value)


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
    """Pod spec, or a workload spec holding a pod template, or a CronJob's job template."""
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


def _redact_container(container: dict[str, Any]) -> None:
    env = container.get("env")
    if type(env) is list:
        for var in env:
            if type(var) is dict and isinstance(var.get("value"), str):
                var["value"] = _redact_named(str(var.get("name", "")), var["value"])
    for field in ("command", "args"):
        if type(container.get(field)) is list:
            container[field] = _redact_argv(container[field])
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
    if sensitive_name(name, broad=True) and is_secret_value(value):
        return REDACTED
    return redact_value(value)


_FLAG = re.compile(r"--?[A-Za-z][\w.-]*")


def _redact_argv(argv: list[Any]) -> list[Any]:
    """`command`/`args` items. The item after a bare sensitive flag (`--password x`) goes, as do
    the password flags of a few clients (`mysql -pX`, `redis-cli -a X`)."""
    out: list[Any] = []
    hide_next = False
    program = argv[0].rsplit("/", 1)[-1] if argv and isinstance(argv[0], str) else ""
    mysql, password_flag = program.startswith("mysql"), CLI_PASSWORD_FLAG.get(program)
    for item in argv:
        if not isinstance(item, str):
            out.append(item)
            hide_next = False
            continue
        if hide_next and not item.startswith("--") and is_secret_value(item):
            out.append(REDACTED)
        elif mysql and item.startswith("-p") and len(item) > 2 and is_secret_value(item[2:]):
            out.append("-p" + REDACTED)
        else:
            out.append(redact_value(item))
        hide_next = item == password_flag or (
            bool(_FLAG.fullmatch(item)) and sensitive_name(item)
        )
    return out


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
