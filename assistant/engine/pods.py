"""Why one pod is unwell: from its status, its events, and, for crashes, its logs."""

from __future__ import annotations

import re

from knowledge import SignatureMatch, best_match
from tools import Obj
from tools.summaries import meta, native_sidecars

from ..diagnosis import Evidence
from .crashlogs import (
    URL,
    dependency_in_log,
    frame_after,
    log_cause,
    required_vars,
    seconding_line,
    server_in_log,
    telling_lines,
)
from .environment import (
    env_from_renamed,
    env_source,
    env_spelled_otherwise,
    identity_note,
    optional_source_missing,
    secret_of,
    service_link,
    unexpanded_reference,
)
from .pod_issues import PodIssue, pod_ref
from .probing import probe_line, served_instead, still_starting, why_unready
from .reading import configured_for, dependency_in
from .scheduling import unschedulable
from .sizing import heap_setting, sized_above_limit
from .speakers import relayed_disk, spoken
from .spelling import key_renamed, misspelt_key
from .startup import (
    arch_rule,
    command_detail,
    config_detail,
    image_issue,
    memory_limit,
    mount_issue,
    node_arch,
    script_source,
)
from .view import ClusterView

_OWN_STORAGE = re.compile(r"ephemeral local storage usage exceeds|exceeded (?:its|the) (?:local )?"
                          r"ephemeral.storage limit|emptyDir volume \S+ exceeds|"
                          r"usage of ephemeral.storage exceeds", re.IGNORECASE)
_EMPTYDIR_FULL = re.compile(r'EmptyDir volume "?([\w.-]+)"? exceeds the limit "?([\w.]+)"?')


def analyze_pod(view: ClusterView, pod: Obj) -> PodIssue | None:
    status = pod.get("status") or {}
    ref = pod_ref(pod)
    if status.get("phase") == "Succeeded":
        return None
    if status.get("reason") == "Evicted":
        node = (pod.get("spec") or {}).get("nodeName") or "?"
        message = status.get("message", "")
        evidence = [Evidence(source="status", object=ref, detail=f"Evicted: {message}")]
        if _OWN_STORAGE.search(message):  # the pod's own scratch space, not the node's fault
            detail = {"node": node, "ephemeral": "true", "container": _first_container(pod)}
            volume = _EMPTYDIR_FULL.search(message)
            if volume:  # an emptyDir at its sizeLimit: what the app leaves there fills it
                detail.update(volume=volume.group(1), size_limit=volume.group(2))
            return PodIssue("storage_full",
                            f"the pod was evicted for its ephemeral storage use on node {node}: "
                            f"{message.strip()}", evidence, 0.9, detail=detail)
        return PodIssue("node_pressure", f"the pod was evicted from node {node}: {message}",
                        evidence, 0.85, detail={"node": node})
    pending = unschedulable(view, pod)
    if pending:
        return pending
    sidecars = native_sidecars(pod)
    for init in status.get("initContainerStatuses") or []:
        issue = (_container_issue(view, pod, init) if init.get("name") in sidecars
                 else _init_issue(view, pod, init))
        if issue:
            return issue
    for container in status.get("containerStatuses") or []:
        issue = _container_issue(view, pod, container)
        if issue:
            return issue
    return _not_ready(view, pod)


def _first_container(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("name", ""))


def _init_issue(view: ClusterView, pod: Obj, init: Obj) -> PodIssue | None:
    state = init.get("state") or {}
    terminated = state.get("terminated") or (init.get("lastState") or {}).get("terminated") or {}
    waiting = (state.get("waiting") or {}).get("reason")
    if "running" in state:
        return _init_stuck(view, pod, init)
    if terminated.get("exitCode") == 0 and not waiting:
        return None
    if waiting in (None, "PodInitializing") and not terminated:
        return None
    if waiting in ("ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"):
        return _container_issue(view, pod, init)
    name = init.get("name", "?")
    message = terminated.get("message") or (state.get("waiting") or {}).get("message") or ""
    cause = (best_match([message]) if message else None) or log_cause(view, pod, name)
    ref = pod_ref(pod)
    evidence = [Evidence(source="status", object=ref,
                         detail=f"init container {name}: {waiting or 'terminated'}, exit code "
                                f"{terminated.get('exitCode')}, {init.get('restartCount', 0)} "
                                "restarts")]
    explanation = f"the init container {name} fails (exit code {terminated.get('exitCode')})"
    if cause:
        evidence.append(Evidence(source="log", object=f"{ref}/{name}", detail=cause.line.strip()))
        explanation += f": {cause.cause}"
        if cause.signature.id == "sysctl-not-permitted":  # the pod spec says how it runs
            spec: Obj = next((c for c in (pod.get("spec") or {}).get("initContainers") or []
                         if c.get("name") == name), {})
            privileged = (spec.get("securityContext") or {}).get("privileged")
            explanation += (f"; {name} runs with securityContext.privileged: "
                            f"{str(bool(privileged)).lower()}")
    else:
        said = telling_lines(view, pod, name)
        evidence += [Evidence(source="log", object=f"{ref}/{name}", detail=line)
                     for line in said]
        if said:
            explanation += f"; its log says: {' / '.join(said)}"
    detail = _init_detail(view, pod, name, cause)
    if detail.get("target") and detail["target"] not in explanation:
        explanation += f" (at {detail['target']})"
    return PodIssue("init_container", explanation, evidence, 0.85, container=name,
                    signature=cause, detail=detail)


STUCK_INIT_SECONDS = 600  # an init container that waits longer than this waits for good


def _init_stuck(view: ClusterView, pod: Obj, init: Obj) -> PodIssue | None:
    """An init container that has run for long and logs why it cannot finish (it waits for
    a database whose name does not resolve)."""
    started = ((init.get("state") or {}).get("running") or {}).get("startedAt")
    age = view.age_seconds(started)
    name = init.get("name", "?")
    if age is None or age < STUCK_INIT_SECONDS:
        return None
    cause = log_cause(view, pod, name)
    said = [] if cause else telling_lines(view, pod, name)
    if cause is None and not said:
        return None
    ref = pod_ref(pod)
    evidence = [Evidence(source="status", object=ref,
                         detail=f"init container {name}: Running for {int(age // 60)} min, "
                                "the app containers have not started")]
    lines = [cause.line.strip()] if cause else said
    evidence += [Evidence(source="log", object=f"{ref}/{name}", detail=line) for line in lines]
    explanation = (f"the init container {name} has run for {int(age // 60)} minutes without "
                   f"finishing, so the pod never starts its containers: "
                   + (cause.cause if cause else f"its log says: {' / '.join(said)}"))
    return PodIssue("init_container", explanation, evidence, 0.8, container=name,
                    signature=cause, detail=_init_detail(view, pod, name, cause))


def _init_detail(view: ClusterView, pod: Obj, name: str,
                 cause: SignatureMatch | None) -> dict[str, str]:
    """The facts of an init container's failure: the dependency it cannot reach (or whose
    certificate it refuses), if any."""
    detail = {"container": name}
    if cause is not None and cause.signature.id == "sysctl-not-permitted":
        detail.update(signature=cause.signature.id, sysctl=cause.groups[0])
    if cause is not None and (cause.signature.category in ("dependency_unreachable",
                                                           "tls_certificate")
                              or relayed_disk(cause, pod)):
        target = cause.target or dependency_in(cause.line) or \
            dependency_in_log(view, pod, name) or spoken(view, cause, pod)
        if target:
            detail["target"] = target
            detail["signature"] = cause.signature.id
    return detail


RECURRING_HOURS = 24  # an OOMKill this recent, after earlier restarts, will come back


def _oom_again(view: ClusterView, container: Obj, last: Obj) -> bool:
    """A container that runs and is Ready now, but was OOMKilled within the day after
    earlier restarts: it restarts every few hours, and the next kill is coming."""
    age = view.age_seconds(last.get("finishedAt"))
    return last.get("reason") == "OOMKilled" and int(container.get("restartCount") or 0) >= 2 \
        and age is not None and age < RECURRING_HOURS * 3600


def _recent(view: ClusterView, terminated: Obj) -> bool:
    """A last termination within the day (unknown time: recent)."""
    if not terminated:
        return False
    age = view.age_seconds(terminated.get("finishedAt"))
    return age is None or age < RECURRING_HOURS * 3600


def _container_issue(view: ClusterView, pod: Obj, container: Obj) -> PodIssue | None:
    state = container.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason")
    name = container.get("name", "?")
    ref = pod_ref(pod)
    last = (container.get("lastState") or {}).get("terminated") or {}
    if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
        return image_issue(view, pod, container)
    if reason == "ContainerCreating":
        return mount_issue(view, pod, name)
    if reason == "CreateContainerConfigError":
        message = waiting.get("message", "")
        detail = config_detail(message)
        held_as = key_renamed(view, meta(pod).get("namespace"), detail)
        if held_as:
            detail["renamed_key"] = held_as
        return PodIssue("config_reference",
                        f"the container {name} cannot be created: {message}" + (
                            f"; the ConfigMap holds {held_as} instead (the key was renamed)"
                            if held_as else ""),
                        [Evidence(source="status", object=ref,
                                  detail=f"CreateContainerConfigError: {message}")],
                        0.95, container=name, detail=detail)
    terminated = state.get("terminated") or {}
    crashed = reason in ("CrashLoopBackOff", "RunContainerError") or (
        terminated and terminated.get("exitCode") not in (0, None))
    restarted_by_probe = _recent(view, last) and any(  # an old, recovered restart is history
        "liveness probe" in (e.get("message") or "").lower()
        for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace")))
    if not crashed and not restarted_by_probe and not _oom_again(view, container, last):
        return None
    final = last or terminated
    exit_code, last_reason = final.get("exitCode"), final.get("reason")
    status_line = (f"container {name}: {reason or 'terminated'}, last exit code {exit_code}"
                   f" ({last_reason}), {container.get('restartCount', 0)} restarts")
    evidence = [Evidence(source="status", object=ref, detail=status_line)]
    if last_reason == "OOMKilled":
        limit = memory_limit(pod, name)
        heap = heap_setting(pod, name)  # a JVM heap above the limit is killed by design
        sized = {} if heap or not limit else sized_above_limit(view, pod, name, limit)
        if sized:  # a server that sizes itself from the node's memory, not from its limit
            heap = (f"its log says it set {sized['sized_setting']} to {sized['sized_to']}, "
                    f"above its {limit} limit (\"{sized['sized_line']}\"): it sizes itself "
                    "from the node's memory, not from the container's limit")
        return PodIssue("oom_killed",
                        f"the container {name} is killed for exceeding its memory limit"
                        f" ({limit or 'no limit set'}): OOMKilled, exit code 137"
                        + (f"; {heap}" if heap else ""), evidence, 0.95, container=name,
                        detail={"limit": limit or "", "container": name, **sized})
    liveness = [e for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
                if "liveness probe" in (e.get("message") or "").lower()]
    if liveness and exit_code in (0, 137, 143, None):  # 0: an app that exits on SIGTERM
        for event in liveness[:2]:
            evidence.append(Evidence(source="event", object=ref,
                                     detail=f"{event.get('reason')}: {event.get('message')}"))
        probe = probe_line(pod, name, "livenessProbe")
        facts = {"container": name}
        explanation = (f"the liveness probe of {name} fails and the kubelet restarts it "
                       f"(exit code {exit_code}); {probe}")
        missing = next((m for m in (_PROBE_BINARY.search(e.get("message") or "")
                                    for e in liveness) if m), None)
        if missing:  # an exec probe whose command the image does not have
            facts["probe_binary"] = missing.group(1)
            explanation += (f"; the probe runs {missing.group(1)}, which the image does not "
                            f"have ({missing.group(0)}), so every probe fails")
        starting = still_starting(view, pod, name) if exit_code in (137, 143, None) else ""
        if starting:  # killed in the middle of its own start-up work (a snapshot recovery)
            facts["starting"] = "true"
            explanation += (f"; it was still starting when the probe killed it: its previous "
                            f"log ends with \"{starting}\", so every restart begins again")
            evidence.append(Evidence(source="log", object=f"{ref}/{name}", detail=starting))
        served = served_instead(view, pod, name, "livenessProbe")
        if served:
            facts.update(served)
            explanation += (f"; the probe asks {served['probe_where']}, but the app "
                            f"{served['served_how']}")
            evidence.append(Evidence(source="log", object=f"{ref}/{name}",
                                     detail=served["line"]))
        return PodIssue("liveness_probe", explanation, evidence, 0.9, container=name,
                        detail=facts)
    message = final.get("message") or waiting.get("message") or ""
    if last_reason in ("ContainerCannotRun", "StartError") or exit_code in (126, 127, 128) and (
            "executable" in message or "exec" in message):
        found = best_match([message])
        explanation = found.cause if found else f"the container {name} cannot start: {message}"
        evidence.append(Evidence(source="status", object=ref, detail=message))
        script = script_source(view, pod, name, message)
        if script.get("holder"):  # the file is there, from a ConfigMap: why it cannot run
            explanation = f"the container {name} cannot start: {script['script_why']}"
        elif script:
            explanation += f"; {script['script_why']}"
        return PodIssue("bad_command", explanation, evidence, 0.95, container=name,
                        signature=found, detail={**command_detail(pod, name), **script})
    cause = best_match([message]) if message else None
    source = "status"
    logged = log_cause(view, pod, name)
    if cause is None or (logged and logged.signature.category == cause.signature.category):
        cause, source = logged or cause, "log" if logged else "status"
    if cause:
        evidence.append(Evidence(source=source,  # type: ignore[arg-type]
                                 object=f"{ref}/{name}", detail=cause.line.strip()))
        second = seconding_line(view, pod, name, cause) if source == "log" else None
        if second is not None:
            evidence.append(Evidence(source="log", object=f"{ref}/{name}",
                                     detail=second.line.strip()))
        detail = {"container": name}
        secret = secret_of(pod, name, cloud=cause.signature.id in (
            "cloud-access-denied", "azure-identity-refused", "shared-key-signature-mismatch")) \
            if cause.signature.category == "credentials_rejected" \
            else None
        if secret:
            detail["secret"] = secret
        if cause.signature.id == "signed-token-expired":
            when = cause.groups[0]  # a date, or the whole match when the line gives none
            detail["expired_token"] = "already" if "expired" in when.lower() else f"at {when}"
        explanation = cause.cause + (f"; its credentials come from Secret {secret}"
                                     if secret else "")
        identity = identity_note(view, pod, cause.line) \
            if cause.signature.category == "credentials_rejected" else {}
        if identity:
            explanation += f"; {identity.pop('identity_note')}"
            detail.update(identity)
        if cause.signature.category == "quota_exceeded":  # the quota is what to change
            detail["holder"] = f"ResourceQuota/{meta(pod).get('namespace')}/{cause.groups[0]}"
        if cause.signature.id == "exec-format":
            arch = node_arch(view, pod)
            if arch:
                explanation += (f"; the pod runs on a node of architecture {arch} "
                                f"({arch_rule(pod) or 'no'} node selection): the image has no "
                                f"{arch} build, or its "
                                "entrypoint was built for another architecture")
                detail["arch"] = arch
        if cause.signature.category == "missing_env":
            var = detail["var"] = cause.variable
            origin = env_source(view, pod, name, var)
            renamed = None if origin else env_from_renamed(view, pod, name, var)
            near = None if origin or renamed else env_spelled_otherwise(pod, name, var)
            if origin:
                explanation += f"; {origin}"
            if renamed:
                explanation += f"; {renamed.pop('said')}"
                detail.update(renamed)
            if near:
                explanation += (f"; the container sets {near}, not {var}: the name the app "
                                "reads and the name its workload sets differ")
                detail["set_as"] = near
        if cause.signature.category in ("dependency_unreachable", "tls_certificate") or \
                relayed_disk(cause, pod):  # (a full disk that is its database's)
            target = cause.target or dependency_in(cause.line) or \
                dependency_in_log(view, pod, name) or configured_for(cause, pod, name) or \
                spoken(view, cause, pod)
            if target:
                detail["target"] = target
                explanation = explanation.replace("ECONNREFUSED", target)
                if target not in explanation:
                    explanation += f" (at {target})"
        server = server_in_log(view, pod, name) if cause.signature.category == \
            "credentials_rejected" and not URL.search(cause.line) else None
        if server and server not in explanation:
            explanation += f"; the server that refuses: {server}"
        url = URL.search(cause.line)
        if url and url.group(1) not in explanation:
            explanation += f" (talking to {url.group(1)})"
        link = service_link(view, pod, name, cause.line)
        if link:
            explanation += f"; {link['link_note']}"
            detail.update(link)
        frame = frame_after(view, pod, name, cause.line)
        if cause.signature.category == "app_exception" and frame:
            explanation += f", at {frame}"
            evidence.append(Evidence(source="log", object=f"{ref}/{name}", detail=frame))
        literal = unexpanded_reference(pod, name, cause.line)
        if literal:  # the log shows the $(VAR) Kubernetes left as it was: that is the cause
            detail.update(literal)
            return PodIssue("missing_env", f"{detail.pop('said')}; {explanation}", evidence,
                            0.9, container=name, signature=cause, detail=detail)
        fallback = optional_source_missing(view, pod, name) or misspelt_key(view, pod, name) \
            if cause.signature.category == "app_exception" else {}
        if fallback:  # an app that falls back to defaults crashes on them, not on the cause
            detail.update(fallback)
            return PodIssue("missing_env", f"{detail.pop('said')}; {explanation}", evidence,
                            0.85, container=name, signature=cause, detail=detail)
        return PodIssue(cause.signature.category, explanation, evidence, 0.9, container=name,
                        signature=cause, detail=detail)
    said = telling_lines(view, pod, name)
    evidence += [Evidence(source="log", object=f"{ref}/{name}", detail=line) for line in said]
    explanation = f"the container {name} exits with code {exit_code}"
    explanation += (f" and its log ends with: {' / '.join(said)}" if said
                    else " and its log shows no recognised cause")
    literal = unexpanded_reference(pod, name, " ".join(said)) or optional_source_missing(
        view, pod, name) or misspelt_key(view, pod, name)
    required = [] if literal else required_vars(view, pod, name)
    if required:  # "requires that these variables are set:" over a list of names
        return PodIssue("missing_env", f"the container {name} exits: its log says it requires "
                        f"the environment variables {', '.join(required)}, which its spec "
                        f"does not set; {explanation}", evidence, 0.9, container=name,
                        detail={"container": name, "var": required[0],
                                "vars": ", ".join(required)})
    if literal:
        return PodIssue("missing_env", f"{literal.pop('said')}; {explanation}", evidence, 0.85,
                        container=name, detail={"container": name, **literal})
    return PodIssue("app_exception", explanation, evidence, 0.7 if said else 0.5,
                    container=name, detail={"container": name})


_PROBE_BINARY = re.compile(r'exec: "?([\w./-]+)"?: (?:executable file not found in \$PATH|'
                           r'no such file or directory)')


def _not_ready(view: ClusterView, pod: Obj) -> PodIssue | None:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    unready = [c for c in status.get("containerStatuses") or []
               if not c.get("ready") and "running" in (c.get("state") or {})]
    if not unready:
        return None
    ref = pod_ref(pod)
    events = [e for e in view.events_for("Pod", meta(pod)["name"], meta(pod).get("namespace"))
              if "readiness probe" in (e.get("message") or "").lower()]
    evidence = [Evidence(source="status", object=ref,
                         detail=f"container {unready[0].get('name')} is running but not ready")]
    evidence += [Evidence(source="event", object=ref, detail=f"{e.get('reason')}: "
                          f"{e.get('message')}") for e in events[:2]]
    name = unready[0].get("name", "?")
    probe = probe_line(pod, name, "readinessProbe")
    detail = events[0].get("message") if events else "no readiness events recorded"
    facts = {"container": name}
    served = served_instead(view, pod, name, "readinessProbe")
    explanation = f"the readiness probe of {name} fails ({detail}); {probe}"
    if served:
        facts.update(served)
        explanation += (f"; the probe asks {served['probe_where']}, but the app "
                        f"{served['served_how']}")
        evidence.append(Evidence(source="log", object=f"{ref}/{name}", detail=served["line"]))
    told = None if served else why_unready(view, pod, name)
    if told:
        explanation += f"; the app says why: {told}"
        evidence.append(Evidence(source="log", object=f"{ref}/{name}", detail=told))
    return PodIssue("readiness_probe", explanation, evidence,
                    0.85 if events else 0.6, container=name, detail=facts)
