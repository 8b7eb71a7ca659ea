"""The diagnosis engine: no model needed. Reads a scope of the cluster once, runs the analyzers,
links symptoms to causes, ranks the roots by impact and writes a `Diagnosis`.

    diagnosis = diagnose(cluster, "why is checkout failing?")
"""

from __future__ import annotations

import re
from dataclasses import replace

from knowledge.symptoms import Intent, classify, symptom_classes
from tools import Cluster, Metrics, Obj
from tools.reading import Remembered
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Diagnosis, Finding, Target
from .buckets import link_writers, missing_objects, writer_pods, writers
from .causal import link
from .changes import limit_annotated, with_last_rollout
from .checks import memory_told_below_limit, symptom_findings
from .claims import full_claims
from .clients import (
    MAX_CLIENT_PODS,
    calls,
    clients_of,
    config_maps,
    configuration,
    configured,
    configured_dependencies,
    fellow_clients,
    held_in_secrets,
    names_service,
    services_named,
    shared_secret_keys,
)
from .composing import compose
from .controllers import controller_findings
from .dependencies import pods_behind
from .draining import drain_blocks
from .elsewhere import elsewhere
from .following import follow_logs, named_callers
from .infrastructure import (
    cordoned_roots,
    node_findings,
    refresher_namespaces,
    refresher_roots,
    service_findings,
    storage_findings,
)
from .ingresses import controller_pods, ingress_namespaces
from .listening import log_findings
from .measured import with_numbers
from .merging import explain_unready, guesses_yield, merge_same_object, through_sidecar
from .pod_issues import pod_ref
from .quoted import quoted_calls
from .ranking import chain_root, mentioned, touches
from .reading import namespaces_in, namespaces_named, what_logs_say
from .relevance import neighbourhood, target_pods
from .remedies import propose, ruled_out
from .scoping import Scope, resolve
from .view import ClusterUnavailable, ClusterView
from .workloads import pod_claims, pod_findings, workload_ref

__all__ = ["ClusterUnavailable", "ClusterView", "Scope", "analyze", "compose", "diagnose",
           "examine", "resolve"]


def analyze(view: ClusterView, focus: Target | None = None,
            intent: Intent | None = None) -> list[Finding]:
    """Every finding in the view, with causes linked and remediations proposed.

    The logs of every container of the focus's pods (or of the scope's) are read first; the
    namespaces their dependencies live in join the view. What running pods say about themselves
    (a dependency they cannot reach, refused credentials, a full disk, slow calls) counts when
    the question names a symptom, or when nothing else explains a quiet focus. The checks of the
    question's symptom plan (throttling, memory, autoscalers, DNS) run last."""
    intent = intent or Intent(symptoms=(), health=True)
    pods = target_pods(view, focus) if focus is not None else view.items("Pod")
    said = what_logs_say(view, pods)
    if focus is not None and (focus.kind == "PersistentVolumeClaim" or any(
            s.category == "dependency_unreachable" and not s.target for s in said)):
        # what the namespace's other pods log: the address a refused call does not name (the
        # worker beside the web app logs its broker's URL), or a filling claim's state
        # (Elasticsearch's master logs the watermark of the node that mounts it)
        read = {id(p) for p in pods}
        said += what_logs_say(view, [p for p in view.items("Pod", focus.namespace)
                                     if id(p) not in read], limit=MAX_CLIENT_PODS)
    view.widen(sorted(namespaces_named(said)))
    quoted = quoted_calls(view, pods, intent.text) if focus is not None else []
    reported: set[str] = set()  # the servers of those calls, and what their pods mount
    if quoted:  # the calls the lines a question quotes report: what those servers say
        view.widen(sorted(namespaces_in(host for host, _ in quoted)))
        servers = pods_behind(view, quoted, pods)
        said += what_logs_say(view, servers, limit=MAX_CLIENT_PODS)
        reported = {r for p in servers for r in (
            pod_ref(p), workload_ref(view, p), *(
                str(ObjectRef("PersistentVolumeClaim", meta(p).get("namespace"), c))
                for c in pod_claims(p)))}
    if intent.wants("tls", "errors", "timeouts", "latency"):  # the way in: the Ingress,
        served = ingress_namespaces(view, intent.text)  # its backends' logs and its
        # controller's (or gateway's)
        view.widen(served)
        read = {id(p) for p in pods}
        said += what_logs_say(view, [p for p in [
            *(p for ns in served for p in view.items("Pod", ns)), *controller_pods(view)]
            if id(p) not in read], limit=MAX_CLIENT_PODS)
    if intent.wants("missing_output") and focus is not None:  # the producer may live beside
        view.widen(sorted(namespaces_in(  # the store it fills (a reindex CronJob by its index)
            text for pod in pods for text in configured(pod))))
    if focus is not None and focus.kind == "Node" and (
            (view.find("Node", focus.name) or {}).get("spec") or {}).get("unschedulable"):
        view.widen(sorted({meta(p).get("namespace") or "" for p in view.everywhere("Pod")
                           if (p.get("status") or {}).get("phase") == "Pending"}))
        # a cordoned node asked about: the pods that wait for it, wherever they are
    if intent.wants("not_scaling"):  # where the metrics come from, and the autoscalers of
        view.widen(view.homes_of("metrics-server"))  # the workloads it names (a backlog of
        view.widen(sorted({meta(h).get("namespace") or "" for h in view.everywhere(  # mailer's
            "HorizontalPodAutoscaler") if mentioned(str(((h.get("spec") or {}).get(  # queue)
                "scaleTargetRef") or {}).get("name") or ""), intent.text)}))
    if intent.wants("network"):
        view.widen(view.homes_of("coredns"))
    quiet_target = focus is not None and not [  # (a slow call says nothing of output
        s for s in said if not (intent.wants("missing_output") and  # that never comes)
                                s.category == "slow_dependency")]
    written = writers(view, missing_objects(view, pods), pods) if not intent.health else {}
    if written:  # objects its readers cannot find: what their writer says
        said += what_logs_say(view, writer_pods(view, written), limit=MAX_CLIENT_PODS)
    if focus is not None and quiet_target and not intent.health:  # a quiet target: the
        said += what_logs_say(view, named_callers(view, focus, intent.text),  # callers the
                              limit=MAX_CLIENT_PODS)  # question names
    quiet_namespace = focus is None and not said and not intent.health  # ("wiki is down")
    services, clients = clients_of(  # what its clients say ("is it the database?"); their
        view, focus, files=quiet_target or quiet_namespace or intent.wants("missing_output"))
    # config files too when the target (or the namespace asked about) is quiet or its output
    # missing (a connector that feeds it, a gateway whose mounted routes name it)
    view.widen(sorted({meta(p).get("namespace") or "" for p in clients}))
    said += what_logs_say(view, clients, limit=MAX_CLIENT_PODS)
    # a quiet target, or a symptom asked of a namespace or two: what their configuration
    # (mounted ConfigMaps too) names, in any namespace
    asked_of_namespaces = focus is None and not intent.health and len(view.namespaces) <= 2
    if quiet_target or quiet_namespace or asked_of_namespaces:
        view.widen(sorted(namespaces_in(
            text for pod in pods for text in configuration(view, pod))))
        said += what_logs_say(view, configured_dependencies(view, pods), limit=MAX_CLIENT_PODS)
    if (quiet_target and intent.wants("missing_output")) or (  # and the other clients of
            quiet_namespace and len(view.namespaces) == 1 and not said):  # what it reads: the
        feeders = fellow_clients(view, pods or view.items(  # producer that fills its stream,
            "Pod", view.namespaces[0]))  # the consumer of what a quiet namespace publishes
        view.widen(sorted({meta(p).get("namespace") or "" for p in feeders}))
        said += what_logs_say(view, feeders, limit=MAX_CLIENT_PODS)
    view.widen(sorted(namespaces_named(said)))  # what the clients' logs name, too
    serving = follow_logs(view, said, pods)
    findings, _ = pod_findings(view)
    crashed_toward = namespaces_in(f.facts.get("target") or "" for f in findings)
    if not crashed_toward <= set(view.namespaces):  # a crash names a dependency elsewhere
        view.widen(sorted(crashed_toward))
        findings, _ = pod_findings(view)
        behind = pods_behind(view, [  # and what the dependency says
            (f.facts["target"], ObjectRef.parse(f.object).namespace_text) for f in findings
            if f.facts.get("target")], [*pods, *serving])
        serving += behind
        said += what_logs_say(view, behind, limit=10)
    renewing = refresher_namespaces(view, findings)  # a refused pull Secret: the CronJob
    if not renewing <= set(view.namespaces):  # that renews it, wherever it runs
        view.widen(sorted(renewing))
        findings, _ = pod_findings(view)
    findings += controller_findings(view)
    findings += service_findings(view)
    known_nodes = {(f.category, f.object) for f in findings}  # a server's lost node,
    findings += [f for f in node_findings(view)  # found through its refused clients
                 if (f.category, f.object) not in known_nodes]
    findings += storage_findings(view)
    findings += cordoned_roots(findings)
    findings += refresher_roots(view, findings)
    findings += full_claims(view, findings)
    findings = merge_same_object(findings)
    findings += drain_blocks(view, findings)
    hood = neighbourhood(view, focus) if focus is not None else None
    quiet = not any(touches(f, hood) for f in findings) if hood is not None else not findings
    probed = [f for f in findings if f.category in ("readiness_probe", "liveness_probe")]
    unready = {f.object for f in probed} | {r for f in probed for r in f.related}
    named = {pod_ref(p) for p in serving} if any(  # the dependency a crash names, or the
        f.facts.get("target") for f in findings) or any(  # log of an unready pod: its own
        s.target and unready & {pod_ref(s.pod), workload_ref(view, s.pod)} for s in said) \
        else set()  # log may be why
    if quiet or not intent.health or unready or named:  # and why unready pods are not ready
        known = {(f.object, c) for f in findings for c in (f.category, f.facts.get("absorbed"))}
        timed = intent.wants("missing_output") and not intent.wants("latency", "timeouts")
        findings += [f for f in log_findings(view, said) if (f.object, f.category) not in known
                     and (quiet or not intent.health or f.object in unready
                          or any(r in unready or r in named for r in f.related))
                     and not (timed and f.facts.get("signature") in _DURATIONS)]
        # (a call that took 1.8 s and succeeded explains no output that never came)
    findings += symptom_findings(view, focus, pods, intent, findings, serving, said)
    if focus is not None:  # a client failing against the target is about the target
        quiet_focus = hood is not None and not any(touches(f, hood) for f in findings)
        files = config_maps(view) if quiet_focus else {}
        fed = [*services_named(view, pods), *held_in_secrets(view, pods)] if quiet_focus and \
            intent.wants("missing_output") else []  # what it reads from, or publishes to
        needed = {workload_ref(view, p) for p in configured_dependencies(view, pods)} \
            if quiet_focus else set()
        owners = {pod_ref(p): workload_ref(view, p) for p in view.items("Pod")} if needed \
            else {}
        for finding in findings:
            ref = ObjectRef.parse(finding.object)
            kind, ns, name = ref.kind, ref.namespace_text, ref.name
            client = _workload(view, kind, name, ns) or next(  # (or the workload a policy
                (w for w in (_workload(view, r.kind, r.name, r.namespace_text)  # blocks)
                             for r in map(ObjectRef.parse, finding.related)) if w), None)
            if reported and (finding.object in reported or reported & set(finding.related)):
                finding.related.append(focus.ref)  # a server the quoted lines report on
                finding.explanation += (f"; the lines you quote from {focus.name} report its "
                                        f"calls to {name}")
            elif calls(finding.facts.get("target") or "", services):
                finding.related.append(focus.ref)
            elif quiet_focus and client is not None and services and names_service(
                    client, services, files):  # a quiet target: a client that is down, or
                finding.related.append(focus.ref)  # whose calls fail, sends it nothing (a
                finding.explanation += (  # gateway whose mounted routes name it)
                    f"; {meta(client)['name']} is a client of {focus.name} (its "
                    f"configuration names it), which itself looks fine")
            elif quiet_focus and client is not None and intent.wants("missing_output") and (
                    shared := [s for s in fed if names_service(client, [s], files)]):  # it
                # fills what the target reads (a Kafka Connect sink's connection.url), or
                # consumes what it publishes (an SMS sender behind RabbitMQ)
                finding.related.append(focus.ref)
                finding.explanation += (f"; {name} and {focus.name} both use "
                                        f"{meta(shared[0])['name']}: what one writes there, "
                                        "the other reads")
            elif quiet_focus and kind in ("CronJob", "Job") and client is not None and \
                    intent.wants("missing_output") and (
                        common := shared_secret_keys(client, pods)):  # a job that fills the
                finding.related.append(focus.ref)  # store the target shows (both read the
                finding.explanation += (  # same database URL)
                    f"; {name} and {focus.name} both read Secret key {common[0]}: what "
                    f"{name} writes there is what {focus.name} shows")
            elif finding.object in needed or any(  # a quiet target's dependency (its SSO,
                    owners.get(r) in needed for r in finding.related):  # its store, the
                finding.related.append(focus.ref)  # volume of one of its pods)
                finding.explanation += (f"; {focus.name} depends on {name} (its configuration "
                                        "names it)")
    link_writers(findings, written, focus.ref if focus is not None else None)
    guesses_yield(findings)
    explain_unready(findings)
    through_sidecar(findings)
    link(view, findings)
    for finding in findings:
        if finding.category in _CHANGE_SUSPECTS:
            with_last_rollout(view, finding)
        if finding.category == "oom_killed":
            limit_annotated(view, finding)
        finding.remediation = propose(finding)
        finding.ruled_out = ruled_out(finding, findings)
    return findings


_DURATIONS = ("slow-call", "slow-call-ms")  # a log line that times a call that succeeded
_CHANGE_SUSPECTS = ("slow_dependency", "app_exception", "cpu_throttling", "oom_killed",
                    "credentials_rejected", "dependency_unreachable", "missing_env",
                    "init_container", "readiness_probe", "liveness_probe", "hpa_limited")


def diagnose(cluster: Cluster, question: str = "", target: str | None = None,
             namespace: str | None = None, metrics: Metrics | None = None) -> Diagnosis:
    """Find what is wrong, and why, in the scope the question or target names. When the
    target was only the closest name to a word of the question ("nothing is red": redis) and
    shows nothing, the guess was wrong: the answer is about the guessed target's namespace,
    if something there explains the question."""
    cluster = Remembered(cluster)  # scoping and every look below read an object once
    scope = resolve(cluster, question, target, namespace)
    diagnosis = examine(cluster, question, scope, metrics)
    if diagnosis.healthy and scope.target is not None and namespace is None and classify(
            question).suspect:  # "is this fallout from the crdb upgrade?", and crdb is fine:
        wider = examine(cluster, question, Scope(cluster.namespaces(), None), metrics)  # the
        if wider.root_cause is not None:  # problem it does not name is elsewhere
            wider.summary = f"{scope.target.ref} itself shows no problem. {wider.summary}"
            return wider
    weak = scope.guessed is not None or (scope.partial and diagnosis.healthy is None)
    if diagnosis.root_cause is not None or not weak or scope.target is None:
        return diagnosis  # (a part of a name that "could not tell" is a weak guess too)
    wider = examine(cluster, question, Scope(scope.namespaces, None), metrics)
    if wider.root_cause is None:
        return diagnosis
    named = f"the closest name to \"{scope.guessed}\"" if scope.guessed else "my guess"
    wider.notes.insert(0, f"{scope.target.ref}, {named} for what the question is about, "
                          "shows nothing wrong; the answer is about its namespace")
    return wider


def examine(cluster: Cluster, question: str, scope: Scope,
            metrics: Metrics | None = None) -> Diagnosis:
    """The diagnosis of a resolved scope (one read of the cluster, then the analyzers)."""
    if scope.unknown:
        return Diagnosis(question=question, target=None, healthy=None,
                         summary=f"I could not look into this: {scope.unknown}.",
                         root_cause=None, evidence=[], remediation=[], confidence=0.0,
                         notes=[scope.unknown])
    intent = classify(_without_names(question, scope))
    view = ClusterView.load(cluster, scope.namespaces)
    view.metrics = metrics  # Prometheus (or a snapshot's series): numbers as evidence
    told = memory_told_below_limit(question, target_pods(view, scope.target)) if \
        intent.wants("memory") and not intent.health and scope.target else ""
    if told:  # the use the question states, against the limit, answers the memory part
        classes = symptom_classes()
        intent = replace(intent, health=all(classes[s].seen or s == "memory"
                                            for s in intent.symptoms))
    findings = analyze(view, scope.target, intent)
    diagnosis = compose(question, scope, view, findings, intent)
    if told and diagnosis.healthy:
        diagnosis.ruled_out.append(f"memory: {told}")
    diagnosis = with_numbers(view, intent, scope, diagnosis)
    if question and diagnosis.healthy is not None:
        _add_unrelated(diagnosis, cluster, scope, view, findings)
    return diagnosis


def _without_names(question: str, scope: Scope) -> str:
    """The question without the names of what it is about: a namespace called batch or a
    workload called report-export names no symptom."""
    names = [*scope.namespaces, *([scope.target.name] if scope.target else [])]
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        question = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", question,
                          flags=re.IGNORECASE)
    return question


def _add_unrelated(diagnosis: Diagnosis, cluster: Cluster, scope: Scope, view: ClusterView,
                   findings: list[Finding]) -> None:
    """Name, after the answer, the problems it is not about: those of the scope outside the
    target's neighbourhood, then those of the rest of the cluster (two problems at once are
    common; an answer about one must not hide the other)."""
    said = " ".join([diagnosis.summary, *diagnosis.notes])
    by_object = {f.object: f for f in findings}
    inside: list[Finding] = []
    if scope.target is not None:
        hood = neighbourhood(view, scope.target)
        roots = {r.object: r for r in (chain_root(f, by_object) for f in findings
                                      if not touches(f, hood))}
        inside = sorted((r for r in roots.values() if r.object not in said and r.impact >= 1.0),
                        key=lambda f: (-f.impact, -f.confidence))
    others = [*inside, *elsewhere(cluster, view, {f.object for f in findings})][:3]
    if not others:
        return
    diagnosis.findings += [f for f in others if f not in diagnosis.findings]
    diagnosis.notes.append("also, unrelated: " + "; ".join(
        f"{f.object}: {f.summary}" for f in others))


def _workload(view: ClusterView, kind: str, name: str, namespace: str) -> Obj | None:
    return view.find(kind, name, namespace) if kind in (  # type: ignore[arg-type]
        "CronJob", "Deployment", "StatefulSet", "Job", "DaemonSet") else None
