"""Renderers of a `Diagnosis`: terminal text and Markdown (JSON is the model's own dump)."""

from __future__ import annotations

from .diagnosis import Diagnosis


def to_markdown(d: Diagnosis) -> str:
    state = {True: "healthy", False: "problem found", None: "could not tell"}[d.healthy]
    lines = [f"**{state}** ({d.confidence:.0%} confidence)", "", d.summary, ""]
    if d.root_cause:
        lines += [f"**Root cause** `{d.root_cause.category}` on `{d.root_cause.object}`: "
                  f"{d.root_cause.explanation}", ""]
    if d.evidence:
        lines.append("**Evidence**")
        lines += [f"- [{e.source}] `{e.object}`: {e.detail}" for e in d.evidence]
        lines.append("")
    if d.remediation:
        lines.append("**Proposed remediation** (not executed)")
        for step in d.remediation:
            lines.append(f"- {step.step} (risk: {step.risk})")
            if step.command:
                lines.append(f"  ```\n  {step.command}\n  ```")
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
    """Markdown without its markup, for a terminal."""
    return to_markdown(d).replace("**", "").replace("```\n  ", "$ ").replace("\n  ```", "")
