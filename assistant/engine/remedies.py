"""Proposed remediations and ruled-out hypotheses per category. Proposed only: never executed."""

from __future__ import annotations

from ..diagnosis import Finding, Remediation


def _kubectl_target(ref: str) -> tuple[str, str, str]:
    kind, namespace, name = ref.split("/")
    return kind.lower(), namespace, name


def propose(finding: Finding) -> list[Remediation]:
    kind, ns, name = _kubectl_target(finding.object)
    facts = finding.facts
    target = f"{kind}/{name}"
    c = finding.category
    container = facts.get("container", "")
    if c == "missing_env":
        var = finding.explanation.split("variable ")[-1].split(" ")[0]
        return [
            Remediation(step=f"Set {var} for {name} (from the ConfigMap or Secret it belongs in)",
                        command=f"kubectl set env {target} -n {ns} {var}=<value>",
                        risk="medium"),
            Remediation(step="Check which config change removed it",
                        command=f"kubectl rollout history {target} -n {ns}", risk="low")]
    if c == "bad_command":
        return [Remediation(
            step="Fix the container command or args in the pod template (a typo or a binary "
                 "missing from the image)",
            command=f"kubectl edit {target} -n {ns}  # spec.template.spec.containers"
                    f"[{container or 0}].command", risk="medium"),
            Remediation(step="Or roll back to the last working revision",
                        command=f"kubectl rollout undo {target} -n {ns}", risk="medium")]
    if c == "oom_killed":
        return [Remediation(
            step=f"Raise the memory limit of {container or 'the container'} (now "
                 f"{facts.get('limit') or 'unset'}) or reduce the app's memory use",
            command=f"kubectl set resources {target} -n {ns} -c {container or '<container>'} "
                    "--limits=memory=<higher>", risk="medium")]
    if c == "liveness_probe":
        return [Remediation(
            step="Give the app time to start: add a startupProbe or raise the liveness "
                 "probe's initialDelaySeconds/failureThreshold",
            command=f"kubectl edit {target} -n {ns}  # livenessProbe / startupProbe",
            risk="medium")]
    if c == "readiness_probe":
        return [Remediation(step="Find why the readiness endpoint fails (its dependencies, "
                                 "its path and port)",
                            command=f"kubectl describe {target} -n {ns}", risk="low")]
    if c == "image_pull":
        image = facts.get("image", "<image>")
        if facts.get("pull") == "auth":
            return [Remediation(
                step="Give the pods credentials for the registry (imagePullSecrets on the "
                     "pod spec or its ServiceAccount)",
                command=f"kubectl patch serviceaccount default -n {ns} -p "
                        "'{\"imagePullSecrets\": [{\"name\": \"<registry-secret>\"}]}'",
                risk="medium")]
        return [Remediation(step=f"Use an image that exists (now {image}); check the tag",
                            command=f"kubectl set image {target} -n {ns} "
                                    f"{container or '<container>'}=<image:existing-tag>",
                            risk="medium"),
                Remediation(step="Or roll back to the last working revision",
                            command=f"kubectl rollout undo {target} -n {ns}", risk="medium")]
    if c == "config_reference":
        ref_kind, ref_name = facts.get("ref_kind", "configmap"), facts.get("ref_name", "<name>")
        if facts.get("key"):
            step = f"Add the key {facts['key']} to {ref_kind} {ref_name}, or fix the reference"
        else:
            step = f"Create the {ref_kind} {ref_name} in {ns}, or fix the reference to it"
        return [Remediation(step=step, command=f"kubectl get {ref_kind} -n {ns}", risk="low")]
    if c == "dependency_unreachable":
        steps = []
        if facts.get("wrong_port"):
            steps.append(Remediation(
                step=f"Point the app at port {facts.get('service_port')} instead of "
                     f"{facts['wrong_port']} (its config or env)",
                command=f"kubectl set env {target} -n {ns} <VAR>=<host>:"
                        f"{facts.get('service_port')}", risk="medium"))
        steps.append(Remediation(
            step=f"Check the dependency {facts.get('target', '')}: its Service, endpoints and pods",
            command=f"kubectl get svc,endpoints -n {ns}", risk="low"))
        return steps
    if c == "tls_certificate":
        return [Remediation(step="Renew the expired or untrusted certificate (cert-manager: "
                                 "check the Certificate and its issuer), then restart the pods",
                            command=f"kubectl get certificates -A; kubectl rollout restart "
                                    f"{target} -n {ns}", risk="medium")]
    if c == "app_exception":
        return [Remediation(step="Fix the application error shown in the log, or roll back",
                            command=f"kubectl rollout undo {target} -n {ns}", risk="medium"),
                Remediation(step="Read the full previous log",
                            command=f"kubectl logs {target} -n {ns} --previous", risk="low")]
    if c == "insufficient_resources":
        return [Remediation(step=f"Free or add capacity for {facts.get('resources', 'the')} "
                                 "requests, or lower the pod's requests",
                            command="kubectl describe nodes | grep -A8 'Allocated resources'",
                            risk="low")]
    if c == "node_selector_mismatch":
        return [Remediation(step="Fix the nodeSelector/affinity or label a node to match "
                                 f"({facts.get('selector', '')})",
                            command="kubectl get nodes --show-labels", risk="low")]
    if c == "untolerated_taint":
        return [Remediation(step="Add a toleration for the taint, or schedule elsewhere",
                            command=f"kubectl edit {target} -n {ns}  # spec.template.spec."
                                    "tolerations", risk="medium")]
    if c == "pvc_unbound":
        return [Remediation(step="Create the StorageClass or a matching PersistentVolume, or "
                                 "point the claim at an existing class",
                            command="kubectl get storageclass,pv", risk="low")]
    if c == "quota_exceeded":
        return [Remediation(step="Raise the ResourceQuota or lower the pods' limits/replicas",
                            command=f"kubectl describe resourcequota -n {ns}", risk="low")]
    if c == "rollout_stuck":
        return [Remediation(step="Roll back to the revision that works",
                            command=f"kubectl rollout undo {target} -n {ns}", risk="medium")]
    if c in ("service_selector_mismatch", "service_port_mismatch"):
        return [Remediation(step="Fix the Service's selector or targetPort to match the pods",
                            command=f"kubectl edit service/{name} -n {ns}", risk="medium")]
    if c == "service_no_endpoints":
        return [Remediation(step="Fix the pods' readiness; the Service follows",
                            command=f"kubectl get endpoints {name} -n {ns}", risk="low")]
    if c == "network_policy":
        return [Remediation(step=f"Allow the client in NetworkPolicy {name}'s ingress rules",
                            command=f"kubectl edit networkpolicy/{name} -n {ns}",
                            risk="medium")]
    if c == "node_not_ready":
        return [Remediation(step=f"Check the kubelet and the machine behind node {name}; "
                                 "cordon and drain it if it does not recover",
                            command=f"kubectl describe node {name}", risk="low"),
                Remediation(step="Move its pods away", command=f"kubectl drain {name} "
                            "--ignore-daemonsets --delete-emptydir-data", risk="high")]
    if c == "node_pressure":
        return [Remediation(step=f"Free disk or memory on node {name} (images, logs, "
                                 "emptyDir), then clean up evicted pods",
                            command="kubectl get pods -A --field-selector=status.phase=Failed",
                            risk="low")]
    if c == "job_failed":
        return [Remediation(step="Read the failed pods' logs, fix, and re-run the Job",
                            command=f"kubectl logs job/{name} -n {ns}", risk="low")]
    if c == "cronjob":
        return [Remediation(step=f"Resume the CronJob {name} if it should run",
                            command=f"kubectl patch cronjob/{name} -n {ns} -p "
                                    "'{\"spec\": {\"suspend\": false}}'", risk="medium")]
    if c == "hpa_limited":
        return [Remediation(step="Raise maxReplicas or check metrics-server",
                            command=f"kubectl describe hpa/{name} -n {ns}", risk="low")]
    if c == "init_container":
        return [Remediation(step=f"Fix the init container {container}: read its log",
                            command=f"kubectl logs {name} -n {ns} -c {container}", risk="low")]
    return [Remediation(step="Inspect the object", command=f"kubectl describe {target} -n {ns}")]


def ruled_out(finding: Finding, others: list[Finding]) -> list[str]:
    categories = {f.category for f in others}
    out = []
    if finding.category in ("missing_env", "app_exception", "bad_command", "tls_certificate",
                            "dependency_unreachable"):
        out += ["OOMKilled: the last exit code is not 137"] if "oom_killed" not in categories \
            else []
        out += ["image pull: the image pulled and the container started"]
    if "node_not_ready" not in categories:
        out.append("node failure: every node is Ready")
    if "quota_exceeded" not in categories:
        out.append("ResourceQuota: no FailedCreate events")
    return out
