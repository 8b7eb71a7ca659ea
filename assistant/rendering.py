"""Renderers of a `Diagnosis`: terminal text and Markdown (JSON is the model's own dump), and
the two lines every interface puts first (Slack, web and CLI alike):

    verdict_line(d)   "Problem: StatefulSet shop/postgres is OOMKilled (95% confidence)"
    causal_path(d)    "api -> postgres (OOMKilled)"   from the symptom to the root cause
"""

from __future__ import annotations

from tools.refs import ObjectRef

from .diagnosis import Diagnosis, Finding

STATES = {  # a root cause's category as an SRE names the state it leaves the object in
    "oom_killed": "OOMKilled", "image_pull": "ImagePullBackOff", "missing_env": "missing env",
    "app_exception": "crashing", "bad_command": "bad command", "crash_loop": "CrashLoopBackOff",
    "liveness_probe": "liveness failing", "readiness_probe": "not ready",
    "node_not_ready": "NotReady", "pvc_unbound": "unbound", "storage_full": "disk full",
    "service_no_endpoints": "no endpoints", "service_selector_mismatch": "selects no pod",
    "service_port_mismatch": "wrong targetPort", "rollout_stuck": "rollout stuck",
    "quota_exceeded": "quota exceeded", "insufficient_resources": "unschedulable",
    "tls_certificate": "bad certificate", "credentials_rejected": "credentials rejected",
    "job_failed": "failed", "cpu_throttling": "throttled", "slow_dependency": "slow",
    "config_reference": "missing reference", "init_container": "init failing",
    "dependency_unreachable": "dependency unreachable", "network_policy": "blocked",
}


def state_of(category: str) -> str:
    return STATES.get(category, category.replace("_", " "))


def _parts(ref: str) -> ObjectRef | None:
    """The reference a finding's object names (None for text that is not one)."""
    try:
        return ObjectRef.parse(ref) if ref.count("/") == 2 else None
    except ValueError:
        return None


def _name(ref: str) -> str:
    parsed = _parts(ref)
    return parsed.name if parsed else ref.rsplit("/", 1)[-1]


def _kind(ref: str) -> str:
    parsed = _parts(ref)
    return parsed.kind if parsed else ref.split("/", 1)[0]


def _kind_and_name(ref: str) -> str:
    parsed = _parts(ref)
    if parsed is None:
        return ref
    return f"{parsed.kind} {parsed.name}" if parsed.namespace is None else \
        f"{parsed.kind} {parsed.namespace}/{parsed.name}"


def verdict_line(d: Diagnosis) -> str:
    """One line before anything else: the verdict, the object, its cause, the confidence."""
    sure = f"({d.confidence:.0%} confidence)"
    if d.healthy is True:
        return f"Healthy: nothing wrong found {sure}"
    if d.root_cause is None:
        what = f" about {_kind_and_name(d.target.ref)}" if d.target else ""
        return f"Could not tell{what} {sure}"
    rc = d.root_cause
    return f"Problem: {_kind_and_name(rc.object)} is {state_of(rc.category)} {sure}"


def path_findings(d: Diagnosis) -> list[Finding]:
    """The findings from the symptom to the root cause, following `caused_by`: the longest
    chain that ends at the root (the asked-about target's, when it is on one)."""
    if d.root_cause is None:
        return []
    by_object = {f.object: f for f in d.findings}
    chains = []
    for start in d.findings:
        chain, seen = [start], {start.object}
        while chain[-1].caused_by in by_object and chain[-1].caused_by not in seen:
            chain.append(by_object[chain[-1].caused_by or ""])
            seen.add(chain[-1].object)
        if chain[-1].object == d.root_cause.object:
            chains.append(chain)
    if not chains:
        return []
    target = d.target.ref if d.target else None
    return max(chains, key=lambda c: (any(f.object == target for f in c), len(c)))


def path_steps(d: Diagnosis) -> list[dict[str, str]]:
    """The causal path as objects with their state, symptom first (the web chat draws it); a
    Service and the workload behind it, named alike, are one step (the workload's state)."""
    steps: list[dict[str, str]] = []
    for f in path_findings(d):
        step = {"object": f.object, "kind": _kind(f.object), "name": _name(f.object),
                "state": state_of(f.category)}
        if steps and steps[-1]["name"] == step["name"]:
            if step["kind"] == "Service":
                continue
            steps.pop()
        steps.append(step)
    return steps


def link_of(path: str, section: str, base_url: str | None) -> str | None:
    """A runbook section's web address under `base_url` (knowledge.runbook_base_url)."""
    if not base_url or not base_url.startswith(("https://", "http://")):
        return None
    return f"{base_url.rstrip('/')}/{path}#{section.lower().replace(' ', '-')}"


def causal_path(d: Diagnosis) -> str:
    """"frontend -> api -> postgres (OOMKilled)": names from the symptom to the root cause (a
    Service and the workload behind it, named alike, once). Empty without a chain of two."""
    chain = path_findings(d)
    names: list[str] = []
    for finding in chain:
        if not names or names[-1] != _name(finding.object):
            names.append(_name(finding.object))
    if len(names) < 2 or d.root_cause is None:
        return ""
    return " -> ".join(names) + f" ({state_of(d.root_cause.category)})"


def reply_markdown(d: Diagnosis) -> str | None:
    """A follow-up's content (logs, events, a describe...) as it is, then the reference back
    to the diagnosis; None when `d` answers a diagnosis question."""
    if d.reply is None:
        return None
    lines = [f"**{d.reply.heading}**", ""]
    for excerpt in d.reply.excerpts:
        lines += [f"{excerpt.title[0].upper()}{excerpt.title[1:]}:", "```",
                  excerpt.text.replace("```", "'" * 3), "```", ""]
    lines.append(d.reply.about)
    if d.notes:
        lines += ["", "**Notes**: " + "; ".join(d.notes)]
    return "\n".join(lines).rstrip() + "\n"


def to_markdown(d: Diagnosis, *, evidence: bool = True) -> str:
    """Verdict line, causal path, what was found, remediation, then (when `evidence`) the
    evidence; each thing said once. A follow-up's reply instead, when it asked for content."""
    replied = reply_markdown(d)
    if replied is not None:
        return replied
    lines = [f"**{verdict_line(d)}**", ""]
    path = causal_path(d)
    if path:
        lines += [f"Path: {path}", ""]
    lines += [d.summary, ""]
    if d.root_cause and d.root_cause.explanation not in d.summary:
        lines += [f"**Root cause**: {d.root_cause.explanation}", ""]
    if d.remediation:
        lines.append("**Proposed remediation** (not executed)")
        for step in d.remediation:
            lines.append(f"- {step.step} (risk: {step.risk})")
            if step.command:
                lines.append(f"  ```\n  {step.command}\n  ```")
        lines.append("")
    if d.evidence and evidence:
        lines.append("**Evidence**")
        lines += [f"- [{e.source}] `{e.object}`: {e.detail}" for e in d.evidence]
        lines.append("")
    if d.runbooks:
        lines.append("**Runbooks**")
        lines += [f"- {r.title}: {r.section} ({r.path})" for r in d.runbooks]
        lines.append("")
    if d.ruled_out:
        lines.append("**Ruled out**: " + "; ".join(d.ruled_out))
    if d.notes:
        lines.append("**Notes**: " + "; ".join(d.notes))
    return "\n".join(lines).rstrip() + "\n"


def to_text(d: Diagnosis) -> str:
    """Markdown without its markup, for a terminal (a reply's code blocks stay fenced)."""
    text = to_markdown(d).replace("**", "")
    if d.reply is not None:
        return text
    return text.replace("```\n  ", "$ ").replace("\n  ```", "")
