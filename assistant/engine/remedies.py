"""Proposed remediations (templates in knowledge/remedies.yaml) and ruled-out hypotheses per
category. Proposed only: never executed."""

from __future__ import annotations

from knowledge.remedies import remedies
from tools.refs import ObjectRef

from ..diagnosis import Finding, Remediation


def propose(finding: Finding) -> list[Remediation]:
    """The remediation steps for a finding's category, filled from its facts."""
    ref = ObjectRef.parse(finding.object)
    kind, ns, name = ref.kind, ref.namespace_text, ref.name
    dependency = finding.facts.get("target", "")
    facts = {**finding.facts, "kind": kind.lower(), "ns": ns, "name": name,
             "target": f"{kind.lower()}/{name}", "dependency": dependency,
             "external": "true" if _external(dependency) else ""}
    return [Remediation(step=s.step, command=s.command, risk=s.risk)
            for s in remedies(finding.category, facts)]


def _external(host: str) -> bool:
    """A dependency named by a public DNS name (an RDS endpoint, a SaaS API), not a Service."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    parts = name.split(".")
    return len(parts) >= 3 and not name.replace(".", "").isdigit() and not any(
        p in ("svc", "local", "internal", "cluster") for p in parts)


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
        out.append("ResourceQuota: no FailedCreate event says a quota is exceeded")
    return out
