"""Findings told together before they are ranked: a guess yields to a cause that names more,
unready pods take the reason their log gives, an app's failing localhost calls go to the sidecar
that serves them, and a controller whose pods fail keeps one story per object."""

from __future__ import annotations

from tools.refs import ObjectRef

from ..diagnosis import Finding
from .workloads import pods_summary

_CRASHES = ("app_exception", "dependency_unreachable", "missing_env", "bad_command",
            "tls_certificate", "oom_killed", "liveness_probe")
_POINTING = ("tls_certificate", "dependency_unreachable", "credentials_rejected")  # elsewhere


def guesses_yield(findings: list[Finding]) -> None:
    """A CPU limit suspected from the spec alone yields to what the cluster reports about the
    same workload (an HPA's condition, a crash, an event); a slow call whose own log says the
    dependency answered fast yields to the app's CPU limit."""
    for guess in [f for f in findings if f.category == "cpu_throttling" and f.confidence <= 0.6]:
        seen = [f for f in findings if f.object == guess.object and f.confidence >= 0.85]
        if seen:
            guess.impact = min(guess.impact, min(f.impact for f in seen) * 0.9)
    for own in [f for f in findings if f.facts.get("own_time")]:  # the log split the time:
        for slow in [f for f in findings if f.object == own.object  # the dependency was fast
                     and f.category == "slow_dependency"]:
            own.evidence += [e for e in slow.evidence[:2] if e not in own.evidence]
            findings.remove(slow)


def explain_unready(findings: list[Finding]) -> None:
    """A readiness probe that fails is a symptom when the same pods' logs say why (a dependency
    they cannot reach, refused credentials; metrics-server that cannot scrape): the log's
    finding explains it."""
    for unready in [f for f in findings if f.category in ("readiness_probe", "liveness_probe")]:
        told = next((f for f in findings if unready.object in (f.object, f.facts.get("client"))
                     and f is not unready
                     and f.category in ("dependency_unreachable", "credentials_rejected",
                                        "tls_certificate", "storage_full", "hpa_limited")
                     or (f.category == "slow_dependency" and f.caused_by is None
                         and f.facts.get("target")
                         and unready.object in (f.object, f.facts.get("client")))),
                    None)
        if told is None or _own_peers(told, unready) or _PROBE_TOLD & set(unready.facts):
            continue  # (the probe's own answer says why: the app serves another path...)
        if _local_call(told) and told.facts.get("container") != unready.facts.get("container"):
            # the app's refused localhost calls go to the very container whose probe fails
            unready.explanation += (f"; the app's calls to {told.facts['target']} go to that "
                                    "container, so they are refused while it restarts")
            unready.evidence = [*unready.evidence, *told.evidence[:2]]
            unready.impact = max(told.impact, unready.impact)
            unready.related = sorted({*told.related, *unready.related})
            findings.remove(told)
            continue
        if "no readiness events" not in unready.explanation and not told.facts.get(
                "ephemeral"):  # else no probe ever failed, or the pods were evicted:
            told.summary = unready.summary  # the log's reason is the whole story
            told.explanation = f"{unready.explanation.split(';')[0]}; because {told.explanation}"
        told.evidence = [*told.evidence, *unready.evidence[:2]]
        told.impact = max(told.impact, unready.impact)
        told.related = sorted({*told.related, *unready.related})
        findings.remove(unready)


_LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
# facts of a probe finding that say what the app serves instead of what the probe asks
_PROBE_TOLD = {"serves_path", "serves_port", "serves_scheme", "serves_service", "loopback",
               "host_refused", "probe_binary"}


def _own_peers(told: Finding, unready: Finding) -> bool:
    """Whether the calls that fail go to the workload's own members (a ZooKeeper or etcd
    ensemble whose peers restart with it): a consequence of its probe failing, not a cause."""
    host = (told.facts.get("target") or "").split(".")[0].split(":")[0]
    name = unready.object.split("/")[-1]
    return bool(host) and (host == name or host.startswith(f"{name}-"))


def _local_call(finding: Finding) -> bool:
    return (finding.facts.get("target") or "").rsplit(":", 1)[0] in _LOCAL


def through_sidecar(findings: list[Finding]) -> None:
    """An app whose calls to localhost fail or hang is explained by the sidecar of the same
    pods that serves that port and logs why (a database proxy refused by its cloud, a mesh
    proxy that cannot get its configuration)."""
    for app in [f for f in findings if f.facts.get("role") == "app" and _local_call(f)]:
        sidecar = next((f for f in findings if f.object == app.object and f is not app
                        and f.facts.get("role") == "sidecar"), None)
        if sidecar is None:
            continue
        sidecar.explanation = (f"{app.explanation.split(';')[0]}; the calls to "
                               f"{app.facts['target']} go through the "
                               f"{sidecar.facts.get('container')} sidecar, and "
                               f"{sidecar.explanation.split(', but ', 1)[-1]}")
        sidecar.evidence = [*sidecar.evidence, *app.evidence[:2]]
        sidecar.impact = max(sidecar.impact, app.impact)
        sidecar.related = sorted({*sidecar.related, *app.related})
        findings.remove(app)


def merge_same_object(findings: list[Finding]) -> list[Finding]:
    """One finding per failing controller where its pods' failure is the same story: a Job or
    CronJob failing because its pods fail keeps the pods' cause as its explanation, and pods of a
    workload whose crash left no readable cause join the sibling pods whose log names one."""
    by_object: dict[str, list[Finding]] = {}
    for finding in findings:
        by_object.setdefault(finding.object, []).append(finding)
    for group in by_object.values():
        owner = next((f for f in group if f.category in ("job_failed", "cronjob")), None)
        causes = sorted((f for f in group if f is not owner), key=lambda f: -f.confidence)
        cause = causes[0] if causes else None  # the pods' best-told cause; the rest join it
        if owner and cause:
            for other in causes[1:]:
                cause.related += other.related
                findings.remove(other)
        if owner and cause and cause.category in _POINTING and cause.facts.get("target"):
            cause.explanation = f"{owner.explanation}; its pods fail because {cause.explanation}"
            cause.evidence = [*owner.evidence[:2], *cause.evidence]
            cause.impact = max(cause.impact, owner.impact)
            findings.remove(owner)  # the server it names is followed from the cause
            continue
        if owner and cause:
            owner.facts["absorbed"] = cause.category  # told: not to be found again in the logs
            owner.explanation += f"; its pods fail because {cause.explanation}"
            owner.evidence += cause.evidence[:3]
            owner.related += cause.related
            owner.facts = {**cause.facts, **owner.facts}
            findings.remove(cause)
            continue
        vague = [f for f in group if f.category == "app_exception" and f.confidence <= 0.5]
        named = [f for f in group if f not in vague and f.category in _CRASHES]
        if vague and named:
            keep = named[0]
            for finding in vague:
                keep.related += finding.related
                keep.impact += finding.impact
                findings.remove(finding)
            pods = len([r for r in keep.related if r.startswith("Pod/")])
            keep.summary = pods_summary(ObjectRef.parse(keep.object).name, keep.category, pods,
                                        max(pods, int(keep.facts.get("pods_total", pods))))
    return findings
