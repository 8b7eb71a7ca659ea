"""What Jobs and CronJobs show: a Job that failed (and why its pods did), a CronJob suspended,
past its deadline, failing run after run, or not starting at all ("too many missed start
times")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tools import Obj, ObjectRef
from tools.summaries import meta, parse_time, pod_template

from ..diagnosis import Evidence, Finding
from .view import ClusterView
from .workloads import SEVERITY, object_ref, owner_of, with_facts


def job_findings(view: ClusterView, job: Obj) -> list[Finding]:
    status = job.get("status") or {}
    failed = _failed_condition(job)
    owner = owner_of(view, job)
    if not failed or (owner and owner.kind == "CronJob"):  # the CronJob's finding tells it
        return []
    ref = object_ref("Job", job)
    return [Finding(
        category="job_failed", object=ref,
        summary=f"job {meta(job)['name']} failed ({failed.get('reason')})",
        explanation=f"the Job failed: {failed.get('reason')}: {failed.get('message')} "
                    f"({status.get('failed', 0)} failed pods, backoffLimit "
                    f"{(job.get('spec') or {}).get('backoffLimit', 6)})",
        evidence=[Evidence(source="status", object=ref,
                           detail=f"Failed=True {failed.get('reason')}: {failed.get('message')}")],
        confidence=0.9, impact=SEVERITY["job_failed"],
        related=[str(ObjectRef("CronJob", owner.namespace, owner.name))] if owner else [],
    )]


FREQUENT_SECONDS = 3600  # a CronJob that runs at least hourly, suspended for
FORGOTTEN_SECONDS = 86400  # a day or more, is a pause someone forgot, worth saying


def cronjob_findings(view: ClusterView, cronjob: Obj) -> list[Finding]:
    spec, status = cronjob.get("spec") or {}, cronjob.get("status") or {}
    ref = object_ref("CronJob", cronjob)
    name = meta(cronjob)["name"]
    if spec.get("suspend"):
        last = status.get("lastScheduleTime")
        period = _period(str(spec.get("schedule") or ""))
        since = parse_time(last)
        idle = (view.now - since).total_seconds() if since else 0.0
        forgotten = period is not None and period <= FREQUENT_SECONDS and idle >= FORGOTTEN_SECONDS
        return [with_facts(Finding(
            category="cronjob", object=ref, summary=f"cronjob {name} is suspended",
            explanation=f"the CronJob {name} is suspended (spec.suspend: true), so no Job runs"
                        + (f"; last scheduled {last}" if last else "; it never ran")
                        + (f": {int(idle // period)} runs of its schedule "
                           f"({spec.get('schedule')}) skipped since" if forgotten and period
                           else ""),
            evidence=[Evidence(source="spec", object=ref, detail="spec.suspend: true")],
            confidence=0.95, impact=SEVERITY["cronjob"] * (2.5 if forgotten else 1)),
            suspended="true")]
    stalled = _not_starting(view, cronjob)
    if stalled is not None:
        return [stalled]
    jobs = sorted((j for j in view.items("Job", meta(cronjob).get("namespace"))
                   if owner_of(view, j) == ObjectRef.of("CronJob", cronjob)),
                  key=_started, reverse=True)
    failed = [j for j in jobs if _failed_condition(j)]
    if not failed or failed[0] is not jobs[0]:
        replaced = _replaced_runs(view, cronjob, jobs) or _overlapping_runs(cronjob, jobs)
        return [replaced] if replaced is not None else []
    streak = next((i for i, j in enumerate(jobs) if not _failed_condition(j)), len(jobs))
    last = _failed_condition(jobs[0]) or {}
    if last.get("reason") == "DeadlineExceeded":
        return [_past_deadline(cronjob, jobs, failed, streak)]
    moved = _image_moved(view, jobs[:streak], jobs[streak:])
    return [with_facts(Finding(
        category="cronjob", object=ref,
        summary=f"cronjob {name}: the last {streak} Jobs failed",
        explanation=f"the last {streak} Jobs of CronJob {name} failed "
                    f"({last.get('reason')}); the schedule keeps running but no run succeeds"
                    + (f"; {moved[1]}" if moved else ""),
        evidence=[Evidence(source="status", object=object_ref("Job", j),
                           detail=f"Failed=True {(_failed_condition(j) or {}).get('reason')}")
                  for j in failed[:3]],
        confidence=0.9, impact=SEVERITY["job_failed"] * min(streak, 3),
        related=[object_ref("Job", j) for j in failed]), last_job=meta(jobs[0])["name"],
        **({"moving_image": moved[0]} if moved else {}))]


def _image_moved(view: ClusterView, failing: list[Obj], passing: list[Obj]) -> \
        tuple[str, str] | None:
    """(image, sentence) when the failing runs pulled another image than the last run that
    succeeded, under the same moving tag (`:latest`, no tag): the tag moved, nothing in the
    CronJob changed."""
    def pulled(jobs: list[Obj]) -> dict[str, str]:
        names = {meta(j)["name"] for j in jobs}
        return {str(c.get("image")): str(c.get("imageID")) for p in view.items(
                    "Pod", meta(jobs[0]).get("namespace") if jobs else None)
                if (meta(p).get("labels") or {}).get("job-name") in names
                for c in (p.get("status") or {}).get("containerStatuses") or []
                if c.get("imageID")}
    now, before = pulled(failing), pulled(passing) if passing else {}
    for image, digest in now.items():
        tag = image.rsplit("/", 1)[-1]
        moving = ":" not in tag or tag.endswith(":latest")
        if moving and image in before and before[image] != digest:
            return image, (f"its image {image} is a moving tag: the last run that succeeded "
                           f"pulled {_digest(before[image])}, the failing runs pulled "
                           f"{_digest(digest)}, a newer image behind the same tag")
    return None


def _digest(image_id: str) -> str:
    return image_id.rsplit("@", 1)[-1][:19]


def _past_deadline(cronjob: Obj, jobs: list[Obj], failed: list[Obj], streak: int) -> Finding:
    """A CronJob whose Jobs are stopped by their own activeDeadlineSeconds: the run outgrew the
    time it is given (the durations of the runs that still succeeded show the trend)."""
    ref, name = object_ref("CronJob", cronjob), meta(cronjob)["name"]
    deadline = ((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get(
        "activeDeadlineSeconds")
    durations = [_minutes(j) for j in jobs if not _failed_condition(j)]
    took = [t for t in durations if t is not None][:3]
    trend = (f"; the last runs that succeeded took {', '.join(f'{t}m' for t in reversed(took))}"
             if took else "")
    limit = f"activeDeadlineSeconds: {deadline} ({int(deadline) // 60}m)" \
        if isinstance(deadline, int) else "its activeDeadlineSeconds"
    return with_facts(Finding(
        category="job_failed", object=ref,
        summary=f"cronjob {name}: the last {streak} Jobs hit their deadline",
        explanation=(f"the last {streak} Jobs of CronJob {name} were stopped at {limit} "
                     f"(DeadlineExceeded: {(_failed_condition(jobs[0]) or {}).get('message')})"
                     f"{trend}; the run outgrew its deadline, so no run finishes and a manual "
                     "rerun would be stopped the same way"),
        evidence=[Evidence(source="status", object=object_ref("Job", j),
                           detail=f"Failed=True DeadlineExceeded after "
                                  f"{_minutes(j) or '?'}m") for j in failed[:3]]
        + [Evidence(source="spec", object=ref, detail=f"jobTemplate.spec.{limit}")],
        confidence=0.9, impact=SEVERITY["job_failed"] * min(streak, 3),
        related=[object_ref("Job", j) for j in failed]),
        deadline=str(deadline or ""), last_job=meta(jobs[0])["name"])


REPLACED_RUNS = 2  # Jobs deleted at their successor's start before the policy is blamed


def _replaced_runs(view: ClusterView, cronjob: Obj, jobs: list[Obj]) -> Finding | None:
    """concurrencyPolicy Replace on a run that outgrew the schedule: the controller deletes
    each running Job when the next is due, so nothing fails and nothing finishes. Told by the
    deletions the CronJob's events record and a last completed run many periods old."""
    spec = cronjob.get("spec") or {}
    period = _period(str(spec.get("schedule") or ""))
    if spec.get("concurrencyPolicy") != "Replace" or not period:
        return None
    name, namespace = meta(cronjob)["name"], meta(cronjob).get("namespace")
    deleted = [e for e in view.events_for("CronJob", name, namespace)
               if e.get("reason") == "SuccessfulDelete"
               and (view.age_seconds(e.get("lastTimestamp") or e.get("eventTime")) or 0)
               < 4 * period]
    completed = [_completed_at(j) for j in jobs if _completed_at(j)]
    last = view.age_seconds(max(completed)) if completed else None
    if len(deleted) < REPLACED_RUNS or (last is not None and last < 3 * period):
        return None
    ref = object_ref("CronJob", cronjob)
    took = [t for t in (_minutes(j) for j in jobs if _completed_at(j)) if t is not None][:3]
    return with_facts(Finding(
        category="cronjob", object=ref,
        summary=f"cronjob {name}: every run is replaced before it finishes",
        explanation=(f"CronJob {name} runs every {period // 60}m with concurrencyPolicy "
                     "Replace, and its runs now take longer than that: when the next run is "
                     "due the controller deletes the running Job, so no run fails and none "
                     "finishes (" + "; ".join(str(e.get("message")) for e in deleted[:2]) + ")"
                     + (f"; the last run that completed finished {int(last // 3600)}h ago"
                        if last is not None else "; no kept Job ever completed")
                     + (f" and took {', '.join(f'{t}m' for t in took)}" if took else "")),
        evidence=[Evidence(source="event", object=ref, detail=f"SuccessfulDelete: "
                           f"{e.get('message')}") for e in deleted[:3]]
        + [Evidence(source="spec", object=ref, detail=f"schedule: {spec.get('schedule')}, "
                    "concurrencyPolicy: Replace")],
        confidence=0.85, impact=SEVERITY["cronjob"] * 2, related=[]),
        replaced="true", period_minutes=str(period // 60))


OVERLAPPING_RUNS = 3  # Jobs of one CronJob running at once before its policy is blamed


def _overlapping_runs(cronjob: Obj, jobs: list[Obj]) -> Finding | None:
    """concurrencyPolicy Allow (the default) on runs that outgrew the schedule: each run
    starts before the last one ends, and together they load whatever they all call (a
    database saturated by four copies of one rollup). The servers they slow are linked to it
    by `overloading_runs`."""
    spec = cronjob.get("spec") or {}
    period = _period(str(spec.get("schedule") or ""))
    active = [j for j in jobs if (j.get("status") or {}).get("active")
              and not _completed_at(j)]
    if spec.get("concurrencyPolicy", "Allow") != "Allow" or not period or \
            len(active) < OVERLAPPING_RUNS:
        return None
    name, ref = meta(cronjob)["name"], object_ref("CronJob", cronjob)
    return with_facts(Finding(
        category="slow_dependency", object=ref,
        summary=f"cronjob {name}: {len(active)} runs at once",
        explanation=(f"CronJob {name} runs every {period // 60}m with concurrencyPolicy Allow, "
                     f"and its runs now last longer than that: {len(active)} run at once "
                     f"({', '.join(meta(j)['name'] for j in active[:4])}), each loading what "
                     "it calls"),
        evidence=[Evidence(source="spec", object=ref, detail=f"schedule: {spec.get('schedule')}"
                           ", concurrencyPolicy: Allow")]
        + [Evidence(source="status", object=object_ref("Job", j), detail="active, started "
                    f"{_started(j)}") for j in active[:3]],
        confidence=0.8, impact=SEVERITY["cronjob"] * 2,
        related=[object_ref("Job", j) for j in active]),
        overlapping=str(len(active)), period_minutes=str(period // 60))


def overloading_runs(view: ClusterView, findings: list[Finding]) -> None:
    """Slow calls to a server that a CronJob's overlapping runs also call (their template
    names its Service): the runs are the cause (in place)."""
    runs = [f for f in findings if f.facts.get("overlapping")]
    for finding in findings if runs else []:
        target = (finding.facts.get("target") or "").split(":")[0]
        if finding.category != "slow_dependency" or finding.caused_by or not target \
                or finding in runs:
            continue
        service = target.split(".")[0]
        for run in runs:
            ref = ObjectRef.parse(run.object)
            cronjob = view.find("CronJob", ref.name, ref.namespace)
            said = str(pod_template("CronJob", cronjob) if cronjob else "")
            if re.search(rf"(?<![\w-]){re.escape(service)}(?:\.{re.escape(ref.namespace_text)})?"
                         rf"(?![\w-])", said):
                finding.explanation += (f"; {target} is also called by CronJob {ref.name}, "
                                        f"whose {run.facts['overlapping']} overlapping runs "
                                        "load it")
                finding.caused_by = run.object
                break


def _completed_at(job: Obj) -> str:
    return str((job.get("status") or {}).get("completionTime") or "")


def _started(job: Obj) -> str:
    """When a Job started (its status says; objects restored or copied keep it while their
    creationTimestamp is new), else when it was created."""
    return str((job.get("status") or {}).get("startTime") or meta(job).get("creationTimestamp")
               or "")


def _minutes(job: Obj) -> int | None:
    """How long a Job ran, in minutes (start to completion, or to its Failed condition)."""
    status = job.get("status") or {}
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("completionTime")
                     or (_failed_condition(job) or {}).get("lastTransitionTime"))
    return None if start is None or end is None else int((end - start).total_seconds() // 60)


def _not_starting(view: ClusterView, cronjob: Obj) -> Finding | None:
    """A CronJob that is not suspended and yet starts no Job: the controller gave up counting
    missed start times, or a Job that never ends holds a Forbid policy."""
    spec, status = cronjob.get("spec") or {}, cronjob.get("status") or {}
    ref, name = object_ref("CronJob", cronjob), meta(cronjob)["name"]
    namespace = meta(cronjob).get("namespace")
    gave_up = next((e for e in view.events_for("CronJob", name, namespace)
                    if e.get("reason") == "FailedNeedsStart"), None)
    held = _held_by_a_job(view, cronjob)
    if gave_up is not None and held is not None:  # the starts it missed while a Job held it
        held.explanation += (f"; the controller now refuses to start it at all "
                             f"({gave_up.get('message')}): every start skipped since "
                             f"{status.get('lastScheduleTime')} counts as missed"
                             + ("; give it a startingDeadlineSeconds too"
                                if spec.get("startingDeadlineSeconds") is None else ""))
        held.evidence.append(Evidence(source="event", object=ref,
                                      detail=f"FailedNeedsStart: {gave_up.get('message')}"))
        return held
    if gave_up is not None:
        deadline = spec.get("startingDeadlineSeconds")
        return with_facts(Finding(
            category="cronjob", object=ref, summary=f"cronjob {name} starts no Job",
            explanation=(f"the CronJob controller refuses to start {name}: "
                         f"{gave_up.get('message')}; it was last scheduled "
                         f"{status.get('lastScheduleTime')} and "
                         + ("has no startingDeadlineSeconds, so every start missed since then "
                            "counts" if deadline is None
                            else f"startingDeadlineSeconds is {deadline}")),
            evidence=[Evidence(source="event", object=ref,
                               detail=f"FailedNeedsStart: {gave_up.get('message')}")],
            confidence=0.95, impact=SEVERITY["job_failed"] * 2), missed="true")
    return held


def _held_by_a_job(view: ClusterView, cronjob: Obj) -> Finding | None:
    """A CronJob with concurrencyPolicy Forbid whose one Job has been active for longer than
    its schedule allows: every later run is skipped, and why the Job does not end (a sidecar
    that keeps running after the work, a pod that never started)."""
    spec, status = cronjob.get("spec") or {}, cronjob.get("status") or {}
    ref, name = object_ref("CronJob", cronjob), meta(cronjob)["name"]
    namespace = meta(cronjob).get("namespace")
    active = [a.get("name") for a in status.get("active") or []]
    period = _period(str(spec.get("schedule") or ""))
    last = parse_time(status.get("lastScheduleTime"))
    if spec.get("concurrencyPolicy") != "Forbid" or not active or last is None or period is None \
            or (datetime.now(UTC) - last).total_seconds() < 1.5 * period:
        return None
    held = ", ".join(str(a) for a in active)
    lingering = _sidecar_lingers(view, namespace, str(active[0])) or _pod_waits(
        view, namespace, str(active[0]))
    return with_facts(Finding(
        category="cronjob", object=ref, summary=f"cronjob {name}: a stuck Job blocks every run",
        explanation=(f"the CronJob {name} has concurrencyPolicy Forbid and its Job {held} has "
                     f"been active since {status.get('lastScheduleTime')}, longer than its "
                     f"schedule ({spec.get('schedule')}) allows, so every later run is skipped"
                     + ("" if (spec.get("jobTemplate") or {}).get("spec", {}).get(
                         "activeDeadlineSeconds") else "; the Job has no activeDeadlineSeconds")
                     + (f"; {lingering[0]}" if lingering else "")),
        evidence=[Evidence(source="status", object=ref, detail=f"status.active: {held}; "
                           f"lastScheduleTime {status.get('lastScheduleTime')}")],
        confidence=0.9, impact=SEVERITY["job_failed"] * 2,
        related=[str(ObjectRef("Job", namespace, job)) for job in active]),
        stuck_job=str(active[0]), **({"sidecar": lingering[1]} if lingering and lingering[1]
                                     else {"pod_waits": lingering[2]} if lingering else {}))


def _sidecar_lingers(view: ClusterView, namespace: str | None,
                     job: str) -> tuple[str, str, str] | None:
    """A Job's pod whose work is done (a container exited 0) while another container (a mesh
    proxy, a log shipper) keeps running: the pod, so the Job, never completes. The sentence,
    and the container that lingers."""
    for pod in _pods_of(view, namespace, job):
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        done = [s for s in statuses
                if ((s.get("state") or {}).get("terminated") or {}).get("exitCode") == 0]
        running = [s for s in statuses if (s.get("state") or {}).get("running")]
        if done and running:
            finished = (done[0]["state"]["terminated"]).get("finishedAt")
            lingerer = str(running[0].get("name"))
            return (f"its pod {meta(pod)['name']} did its work (container {done[0].get('name')} "
                    f"exited 0 at {finished}), but container {lingerer} keeps running, so the "
                    "pod and the Job never complete", lingerer, "")
    return None


def _pod_waits(view: ClusterView, namespace: str | None,
               job: str) -> tuple[str, str, str] | None:
    """A Job's pod that never started (Pending, ContainerCreating) and the warning about it
    nearest the cause: a volume another node holds (Multi-Attach), a mount that fails, no node
    that fits. The sentence, no container, and the warning's reason."""
    for pod in _pods_of(view, namespace, job):
        waiting = [str(((s.get("state") or {}).get("waiting") or {}).get("reason") or "")
                   for s in (pod.get("status") or {}).get("containerStatuses") or []]
        phase = (pod.get("status") or {}).get("phase")
        if phase != "Pending" and not any(waiting):
            continue
        warnings = [e for e in view.events_for("Pod", meta(pod)["name"], namespace)
                    if e.get("type") == "Warning"]
        if not warnings:
            continue
        last = min(warnings, key=lambda e: _ROOT_FIRST.index(e.get("reason"))
                   if e.get("reason") in _ROOT_FIRST else len(_ROOT_FIRST))
        said = " ".join(str(e.get("message")) for e in warnings)
        claims = {str(v.get("name")): str((v.get("persistentVolumeClaim") or {}).get(
            "claimName")) for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("persistentVolumeClaim")}
        claims = {v: c for v, c in claims.items() if re.search(rf"\b{re.escape(v)}\b", said)} \
            or claims
        volume = "Volume" in str(last.get("reason")) or "Mount" in str(last.get("reason"))
        state = next((w for w in waiting if w), phase)
        return (f"its pod {meta(pod)['name']} never started ({state}): {last.get('reason')}"
                f": {str(last.get('message'))[:300]}"
                + (f" (it mounts claim {', '.join(claims.values())})" if volume and claims
                   else ""), "", str(last.get("reason")))
    return None


# of a pod's warnings, the one nearest the cause: the attach a mount waits for
_ROOT_FIRST = ("FailedAttachVolume", "FailedScheduling", "FailedMount")


def _pods_of(view: ClusterView, namespace: str | None, job: str) -> list[Obj]:
    return [pod for pod in view.items("Pod", namespace)
            if any(o.get("kind") == "Job" and o.get("name") == job
                   for o in meta(pod).get("ownerReferences") or [])]


def _period(schedule: str) -> int | None:
    """Seconds between runs of a cron schedule, roughly (enough to tell a stuck run)."""
    fields = schedule.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, _, dow = fields
    if minute.startswith("*"):
        return 60 * int(minute[2:] or 1) if minute[2:].isdigit() or minute == "*" else None
    if hour.startswith("*"):
        return 3600 * (int(hour[2:]) if hour[2:].isdigit() else 1)
    if dow != "*":
        return 7 * 86400
    return 30 * 86400 if dom != "*" else 86400


def _failed_condition(job: Obj) -> Obj | None:
    return next((c for c in (job.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Failed" and c.get("status") == "True"), None)
