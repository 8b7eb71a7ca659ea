"""What is wrong with one pod, as the pod analyzers say it: the category, the explanation, the
evidence and the facts remedies are filled from."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge import SignatureMatch
from tools import Obj, ObjectRef

from ..diagnosis import Evidence


@dataclass
class PodIssue:
    category: str
    explanation: str
    evidence: list[Evidence]
    confidence: float
    container: str | None = None
    detail: dict[str, str] = field(default_factory=dict)  # facts for remediation templates
    signature: SignatureMatch | None = None


def pod_ref(pod: Obj) -> str:
    return str(ObjectRef.of("Pod", pod))


def running_ready(pod: Obj) -> bool:
    """The pod runs and every container in it says ready."""
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and all(
        c.get("ready") for c in status.get("containerStatuses") or [])
