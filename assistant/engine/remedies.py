"""Proposed remediations (templates in knowledge/remedies.yaml) and ruled-out hypotheses per
category. Proposed only: never executed."""

from __future__ import annotations

from knowledge.remedies import remedies

from ..diagnosis import Finding, Remediation


def propose(finding: Finding) -> list[Remediation]:
    """The remediation steps for a finding's category, filled from its facts."""
    kind, ns, name = finding.object.split("/")
    facts = {**finding.facts, "kind": kind.lower(), "ns": ns, "name": name,
             "target": f"{kind.lower()}/{name}", "dependency": finding.facts.get("target", "")}
    return [Remediation(step=s.step, command=s.command, risk=s.risk)
            for s in remedies(finding.category, facts)]


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
