"""The causal chain: link each symptom to the finding that explains it, so the root is reported,
not the loudest symptom.

Links followed: a dependency named in a log line -> its Service -> the workload behind it
(dependencies.py); pods on a NotReady or pressured node -> the node; pods pending on a claim ->
the claim; a Service without ready endpoints -> its pods' own problem; a stuck rollout -> its
new pods (the rollout is the root while the old ReplicaSet serves, the pods' failure when
nothing does).
"""

from __future__ import annotations

import re

from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Finding
from .changes import injected, last_rollout
from .claims import claim_facts
from .dependencies import follow_dependency
from .edited import edited_config
from .forwarding import upstream_silent
from .jobs import overloading_runs
from .members import members_missing
from .migrations import dirty_migration, failed_migration
from .pod_issues import pod_ref
from .policies import (
    DNS_FAILURES,
    TIMEOUTS,
    blocked_by_egress,
)
from .servers import (
    EXPIRED_AT_KUBELET,
    KUBELET_PORT,
    pods_port,
    set_cause,
    to_a_kubelet,
    to_the_server,
    validity,
)
from .upstream import expired_server_configured, from_injector, kubelets_dropped
from .view import ClusterView
from .workloads import pod_claims, workload_ref


def link(view: ClusterView, findings: list[Finding]) -> None:
    """Set `caused_by` on findings explained by another finding (in place)."""
    by_object: dict[str, list[Finding]] = {}
    for finding in findings:
        by_object.setdefault(finding.object, []).append(finding)
    pod_owner = {pod_ref(p): workload_ref(view, p) for p in view.items("Pod")}
    for finding in findings:  # a finding about an object may also hang off what it affects
        for related in finding.related:
            if related.startswith("Pod/") and finding.object.startswith(
                    "PersistentVolumeClaim/"):  # a full claim: the workload that mounts it
                related = pod_owner.get(related) or related
            if not related.startswith("Pod/") and finding not in by_object.get(related, []):
                by_object.setdefault(related, []).append(finding)
    revealed: list[tuple[Finding, Finding]] = []  # (a rollout, its new pods' failed call)
    for finding in findings:
        if finding.category in ("node_not_ready", "node_pressure"):
            for related in finding.related:
                owner = pod_owner.get(related)
                for symptom in by_object.get(owner or "", []):
                    if symptom is not finding:
                        set_cause(symptom, finding)
        if finding.category == "pvc_unbound":
            claim = ObjectRef.parse(finding.object)
            ns, name = claim.namespace_text, claim.name
            for pod in view.items("Pod", ns):
                if name in pod_claims(pod):
                    for symptom in by_object.get(pod_owner[pod_ref(pod)], []):
                        if symptom.category == "pvc_unbound" and symptom is not finding:
                            set_cause(symptom, finding)
        if finding.category == "storage_full" and finding.object.startswith(
                "PersistentVolumeClaim/"):  # the workloads that write to the full volume
            claim = ObjectRef.parse(finding.object)
            ns, name = claim.namespace_text, claim.name
            finding.facts.update(claim_facts(view, ns, name))
            for pod in view.items("Pod", ns):
                if name in pod_claims(pod):
                    for symptom in by_object.get(pod_owner[pod_ref(pod)], []):
                        if symptom.category == "storage_full" and symptom is not finding:
                            set_cause(symptom, finding)
        if finding.category == "service_no_endpoints":
            owners = {pod_owner.get(p, p) for p in finding.related}
            for owner in owners:
                for cause in by_object.get(owner or "", []):
                    if cause.category not in ("service_no_endpoints",):
                        set_cause(finding, cause)
                        break
            lost = next((f for f in findings if f.category == "node_not_ready" and set(
                f.related) & set(finding.related)), None)  # its pods' node stopped answering
            if finding.caused_by is None and lost is not None:
                set_cause(finding, lost)
        if finding.category in ("readiness_probe", "liveness_probe") and \
                finding.caused_by is None and edited_config(view, finding):
            continue  # (a ConfigMap edited by hand is what the new pods start with)
        if finding.category == "readiness_probe":
            _unscaled(view, finding, by_object)
        if finding.facts.get("competing"):  # pods that start and stop with every resize
            for symptom in by_object.get(finding.facts["workload"], []):
                if symptom.category == "readiness_probe":
                    set_cause(symptom, finding)
        if finding.category == "rollout_stuck":
            for candidate in view.items("Pod", ObjectRef.parse(finding.object).namespace_text):
                if pod_owner.get(pod_ref(candidate)) == finding.object:
                    for cause in by_object.get(finding.object, []):
                        if cause is finding or cause.category == "rollout_stuck":
                            continue
                        if finding.facts.get("serving") == "0":  # no old version serves:
                            set_cause(finding, cause)  # the pods' failure is the outage
                        elif (cause.category in _NAMED_IN_ROLLOUT or _STEP_TOLD & set(
                                cause.facts) or _set_by_rollout(view, finding.object, cause)
                              or injected(view, finding.object, cause)) and not cause.facts.get(
                                "no_room_to_surge"):  # the new pods' named
                            cause.explanation += (  # step fails: that is the cause to fix
                                f"; it holds up the rollout of {finding.object.split('/')[2]}"
                                f" (the old ReplicaSet still serves {finding.facts['serving']}"
                                " ready pods)")
                            cause.facts["holds_rollout"] = "true"
                            set_cause(finding, cause)
                        else:
                            finding.explanation += f"; the new pods fail: {cause.explanation}"
                            if cause.facts.get("no_room_to_surge"):
                                finding.facts["no_room_to_surge"] = "true"
                            if cause.category in _FOLLOWED and cause.facts.get("target"):
                                revealed.append((finding, cause))  # unless the server is down
                            else:
                                set_cause(cause, finding)
                    break
    failed_migration(view, findings)
    dirty_migration(view, findings)
    overloading_runs(view, findings)
    for finding in findings:  # (after the loop: the server's finding may come from another's)
        if finding.category == "tls_certificate" and finding.caused_by is None and \
                finding.facts.get("signature") == "x509-expired" and finding.facts.get("role") \
                and not finding.facts.get("target"):
            expired_server_configured(view, finding, findings, by_object)
    for finding in list(findings):
        if finding.category == "hpa_limited" and finding.caused_by is None:
            expired = next((m for m in (EXPIRED_AT_KUBELET.search(e.detail)
                                        for e in finding.evidence) if m), None)
            if expired:  # metrics-server cannot scrape a kubelet whose certificate expired
                to_a_kubelet(view, finding, expired.group(1), KUBELET_PORT, findings,
                              by_object)
            else:  # or an egress policy on it drops the packets to the kubelets
                kubelets_dropped(view, finding, findings, by_object)
        if finding.category == "image_pull" and finding.facts.get("image") and \
                from_injector(view, finding, findings, by_object):
            continue
        if finding.category in ("tls_certificate", "init_container") and \
                finding.facts.get("target") and finding.facts.get("signature") == "x509-expired":
            to_the_server(view, finding, findings, by_object)  # (an init container too: the
            # Vault agent that cannot log in because Vault's certificate expired)
        if finding.category == "tls_certificate" and finding.caused_by is None:
            home = ObjectRef.parse(finding.object).namespace_text
            own = validity(view, [p for p in view.items("Pod", home)
                                  if workload_ref(view, p) == finding.object])
            if own and own not in finding.explanation:
                finding.explanation += f"; the certificate it loads: {own}"
        if finding.category not in _FOLLOWED and finding.facts.get("pull") != "server":
            continue  # (a registry that fails serving a pull is followed to its own log)
        if finding.facts.get("signature") == "dns-no-such-host":
            _node_resolver(view, finding)
        if finding.facts.get("signature") in ("dns-no-such-host", "dns-timeout") and \
                upstream_silent(view, finding, findings, by_object):
            continue
        if finding.category == "dependency_unreachable" and members_missing(
                view, finding, findings, by_object):
            continue
        if finding.category == "dependency_unreachable" and not finding.facts.get("target"):
            _named_by_neighbour(finding, findings)
        if (finding.category == "dependency_unreachable" or (  # (an init container's
                finding.category == "init_container" and  # call that times out too)
                finding.facts.get("signature") in (*TIMEOUTS, *DNS_FAILURES))) and \
                blocked_by_egress(view, finding, pods_port(view, finding)):
            continue
        if finding.facts.get("target"):
            follow_dependency(view, finding, by_object, findings)
    _loaded_by_a_change(view, findings)
    for rollout, call in revealed:  # a server that is down itself is why the new pods fail
        if call.caused_by is not None or call.category == "network_policy":  # (they start up
            set_cause(rollout, call)  # against it; the old ones started before it went down),
        else:  # or a policy that drops their call (the old pods' connections predate it)
            set_cause(call, rollout)


_OWN_QUERIES = ("slow-query", "mongo-slow-query")  # a database slow in what it is asked


def _loaded_by_a_change(view: ClusterView, findings: list[Finding]) -> None:
    """A client whose recent rollout changed its env, calling a database whose only finding is
    its slow queries: the change sends the load (a cache TTL set to 0s, a batch size raised),
    so the client's rollout is the cause, not the database."""
    by_object = {f.object: f for f in findings}
    for client in findings:
        server = by_object.get(client.caused_by or "")
        if client.category != "slow_dependency" or server is None or \
                server.facts.get("signature") not in _OWN_QUERIES or server.caused_by:
            continue
        found = last_rollout(view, client.object)
        env = [c for c in (found[0] if found else []) if c.startswith("env ")]
        if not env:
            continue
        client.caused_by = None
        set_cause(server, client)
        client.explanation += (f"; its last rollout changed {env[0]}: the queries it now sends "
                               f"are what {ObjectRef.parse(server.object).name} is slow on")


_TIMED_OUT = re.compile(r"deadline exceeded|timed out|timeout", re.IGNORECASE)


def _unscaled(view: ClusterView, finding: Finding,
              by_object: dict[str, list[Finding]]) -> None:
    """A readiness probe that times out on pods whose autoscaler has no metrics: they are
    overloaded because no replica can be added; what blinds the autoscaler is the cause."""
    if not any(_TIMED_OUT.search(e.detail) for e in finding.evidence):
        return
    workload = ObjectRef.parse(finding.object)
    for hpa in view.items("HorizontalPodAutoscaler", workload.namespace):
        scaled = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if (scaled.get("kind"), scaled.get("name")) != (workload.kind, workload.name):
            continue
        ref = str(ObjectRef("HorizontalPodAutoscaler", workload.namespace, meta(hpa)["name"]))
        blind = next((c for c in by_object.get(ref, []) if c.category == "hpa_limited"
                      and c.facts.get("metrics") == "missing"), None)
        if blind is not None:
            finding.explanation += (f"; its probe times out under a load that {meta(hpa)['name']}"
                                    " cannot answer with more replicas (it has no metrics)")
            set_cause(finding, blind)


def _node_resolver(view: ClusterView, finding: Finding) -> None:
    """A name that does not resolve from pods on the host network whose dnsPolicy is
    ClusterFirst (the default): such pods use the node's resolver, which knows no cluster
    names; ClusterFirstWithHostNet is the policy that keeps cluster DNS (in place)."""
    for ref in finding.related:
        pod = ObjectRef.parse(ref)
        spec = ((view.find("Pod", pod.name, pod.namespace) if pod.kind == "Pod" else None)
                or {}).get("spec") or {}
        if spec.get("hostNetwork") is True and spec.get("dnsPolicy", "ClusterFirst") == \
                "ClusterFirst":
            finding.explanation += (
                "; its pods run with hostNetwork: true and dnsPolicy ClusterFirst, so they ask "
                "the node's resolver, which does not know cluster names (*.svc): set dnsPolicy "
                "ClusterFirstWithHostNet")
            finding.facts["host_network_dns"] = "true"
            return


# findings whose cause may be the dependency their log names
_NAMED_IN_ROLLOUT = ("init_container", "untolerated_taint", "node_selector_mismatch",
                     "insufficient_resources", "pvc_unbound",  # not a surge with no room
                     "missing_env", "config_reference", "image_pull", "bad_command",
                     "quota_exceeded",  # the surge pod the quota refuses
                     "scheduling_constraint")  # the surge pod a required anti-affinity
# against the old pods leaves no node (with maxUnavailable 0, no old pod ever goes)
# facts that name the new pods' failing step: a probe asking what the app's log says it does
# not serve; an admission webhook that refuses to let them be created
_STEP_TOLD = {"loopback", "serves_path", "serves_port", "serves_scheme", "serves_service",
              "webhook", "host_refused", "host_port"}
_FOLLOWED = ("dependency_unreachable", "slow_dependency", "storage_full", "init_container")


def _set_by_rollout(view: ClusterView, deployment: str, cause: Finding) -> bool:
    """Whether the dependency the new pods cannot reach is an env value the rollout changed
    (TEMPORAL_HOSTPORT pointed at another namespace): the change is the named step."""
    host = (cause.facts.get("target") or "").rsplit(":", 1)[0]
    found = last_rollout(view, deployment) if host else None
    return found is not None and any(c.startswith("env ") and host in c for c in found[0])


def _named_by_neighbour(finding: Finding, findings: list[Finding]) -> None:
    """A refused call whose log names no address ("[Errno 111] Connection refused") takes the
    address the other workloads of its namespace name in the same kind of failure, when they
    all name one (the web app and the worker share a broker; only the worker logs its URL)."""
    namespace = finding.object.split("/")[1]
    named = {f.facts["target"]: f for f in findings if f is not finding
             and f.category == finding.category and f.facts.get("target")
             and f.object.split("/")[1] == namespace
             and f.facts.get("signature") == finding.facts.get("signature")}
    if len(named) != 1:
        return
    target, neighbour = next(iter(named.items()))
    finding.facts["target"] = target
    finding.explanation += (f"; {neighbour.object.split('/')[-1]}, in the same namespace, is "
                            f"refused the same way by {target}")
