"""What a proposed change may set (part of vetting, issue 15): the body of a `kubectl patch`,
judged as an allow-list, and the keys `kubectl annotate` and `kubectl label` write.

A patch (JSON merge, strategic merge, YAML, or a JSON patch list of operations) is parsed and
walked; every key on the way must be one a fix proposed here may change (replicas, resources,
probes without `exec`, rollout strategy, scheduling preferences, labels...), so `hostAliases`,
`dnsConfig`, `hostNetwork`, `nodeName`, `command`, volumes, selectors, owner references and the
rest are refused by not being listed. On the way:

- an image must come from an origin the pod spec already uses (`vetting_scope.image_origin`);
- replicas must stay above zero and not far beyond what the workload runs;
- an autoscaler's `scaleTargetRef` may only name an object in the scope;
- a securityContext may only be tightened;
- an env entry passes the `set env` rules (`vetting_env`), so it must be written whole, with
  its name: a JSON patch into `env/0/value` or `env/0/name` changes a variable the vetting
  cannot name, and is refused; an `envFrom` is refused: it adds variables the vetting cannot see;
- an annotation or a label must not switch a protection off (`annotation_problem`);
- no value that takes the workload down or crowds out the cluster's own pods: no grace period,
  `maxUnavailable: 100%`, a `system-` priority class, a toleration of every taint.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .vetting_env import env_problem
from .vetting_scope import Scope, image_origin, replicas_problem

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
# Annotations and labels that switch a protection off, by the shape of key and value: a mesh,
# secret or policy injector turned off (`sidecar.istio.io/inject: "false"`,
# `linkerd.io/inject: disabled`), traffic let past the sidecar (`traffic.sidecar.istio.io/*`,
# `config.linkerd.io/skip-outbound-ports`), GitOps or admission told to look away
# (`fluxcd.io/ignore: "true"`, `.../reconcile: disabled`), a profile or policy level opened
# (`unconfined`, `privileged`, `permissive`, `0.0.0.0/0`), an nginx snippet (configuration as code),
# AppArmor or seccomp set by annotation.
_PROFILE = re.compile(r"apparmor|seccomp", re.I)
_SWITCH_KEY = re.compile(r"(?:^|[/.-])(?:\w*inject\w*|enabled?|enforce\w*|mtls|tls|ssl\w*|"
                         r"auth\w*|verify\w*|protect\w*|secure\w*|sidecar|reconcil\w*|sync\w*|"
                         r"prune)$", re.I)
_SWITCHED_OFF = frozenset({"false", "disabled", "disable", "no", "0", "off", "none", ""})
_BYPASS_KEY = re.compile(r"exclude|skip|bypass|ignore|insecure|unsafe|permissive|disable|snippet|"
                         r"interception|(?:^|\.)traffic\.sidecar\.|allow-?(?:privilege|root|"
                         r"unsafe|insecure|anonymous|all)", re.I)
_OPEN_VALUE = re.compile(r"unconfined|privileged|permissive|anonymous|0\.0\.0\.0/0|::/0",
                         re.I)


def patch_problem(patches: list[str], patch_type: str, scope: Scope) -> str | None:
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
            problem = _walk(path, value, scope)
            if problem:
                return problem
    return None


def annotation_problem(key: str, value: str) -> str | None:
    """Why setting annotation (or label) `key` to `value` may not be proposed: it turns a
    sidecar, an injector or a policy off, lets traffic past the mesh, or opens a profile."""
    if _PROFILE.search(key) or "unconfined" in value.lower():
        return "it loosens the security context (an AppArmor or seccomp profile)"
    if _BYPASS_KEY.search(key) or _OPEN_VALUE.search(value) or (
            _SWITCH_KEY.search(key) and value.strip().lower() in _SWITCHED_OFF):
        return "it switches a protection off with an annotation or a label"
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


def _walk(path: list[str], value: Any, scope: Scope) -> str | None:
    """Judge `value` at `path` (keys; list indices are skipped)."""
    keys = [k.lower() for k in path if not (k.isdigit() or k == "-")]
    for i, key in enumerate(keys):
        if i and keys[i - 1] in _FREE_MAPS:
            break
        if key in _SUBTREES:
            return _every_taint(value) if key == "tolerations" and i == len(keys) - 1 \
                else None
        if key == "env":
            if i < len(keys) - 1:
                return "it changes an env entry by its position, not by its name; propose " \
                       "kubectl set env NAME=VALUE"
            return _env_entries(value, scope.hosts)
        if key not in _KEYS and key not in _FREE_MAPS:
            return f"it patches {path[i] if path[i].isascii() else '?'}, which a proposed fix " \
                   "may not change"
    last = keys[-1] if keys else ""
    if isinstance(value, dict):
        if last in _FREE_MAPS:
            if any(isinstance(v, (dict, list)) for v in value.values()):
                return "it patches a label or resource map with nested values"
            return next(filter(None, (annotation_problem(str(k), str(v))
                                      for k, v in value.items())), None)
        if last == "securitycontext":
            return _tighter(value)
        for key, item in value.items():
            if not isinstance(key, str):
                return "the patch has a key that is not text"
            problem = _walk([*path, key], item, scope)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        for item in value:
            problem = _walk(path, item, scope)
            if problem:
                return problem
        return None
    return _leaf(keys, value, scope)


def _leaf(keys: list[str], value: Any, scope: Scope) -> str | None:
    last = keys[-1] if keys else ""
    parent = keys[-2] if len(keys) > 1 else ""
    if parent in _FREE_MAPS:
        return annotation_problem(last, "" if value is None else str(value))
    if last == "image" and (not isinstance(value, str) or image_origin(value) not in scope.origins):
        return "it changes an image to a registry the pod spec does not already use"
    if last in ("replicas", "minreplicas", "maxreplicas"):
        if isinstance(value, bool) or not isinstance(value, int):
            return "it scales to zero (or to no number) replicas"
        return replicas_problem(value, scope)
    if "scaletargetref" in keys[:-1] and last in ("name", "kind") and not any(
            value in pair for pair in scope.objects):
        return "it points the autoscaler at an object other than the root object or its owners"
    if parent == "securitycontext" and _TIGHTER.get(last) is not value:
        return "it loosens the security context"
    if last == "type" and (parent not in ("strategy", "updatestrategy")
                           or value not in _STRATEGY_TYPES):
        return "it changes a type a proposed fix may not change"
    if last == "securitycontext":  # set to null, or removed
        return "it loosens the security context"
    return _outage(last, value)


def _outage(last: str, value: Any) -> str | None:
    """Values of allowed keys that take the workload down or crowd out the cluster's own pods: no
    grace period, every pod unavailable at once, a system priority class."""
    if last == "terminationgraceperiodseconds" and value == 0:
        return "it kills pods without a grace period"
    if last == "maxunavailable" and str(value).strip() == "100%":
        return "it lets a rollout take every pod down at once"
    if last == "priorityclassname" and str(value).lower().startswith("system-"):
        return "it gives the pods a system priority class, which preempts the cluster's own pods"
    return None


def _every_taint(value: Any) -> str | None:
    """A toleration with no key and `operator: Exists` tolerates every taint, the control
    plane's and a node's NoExecute included."""
    items = value if isinstance(value, list) else [value]
    if any(isinstance(t, dict) and not t.get("key") and t.get("operator") == "Exists"
           for t in items):
        return "it tolerates every taint, so pods may land on control-plane nodes"
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
