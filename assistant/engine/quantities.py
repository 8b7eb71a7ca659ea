"""Kubernetes resource quantities as numbers: CPU in millicores, memory in bytes."""

from __future__ import annotations

import re


def cpu_milli(value: object) -> int | None:
    """A CPU quantity in millicores ("250m" -> 250, "1" -> 1000, "0.5" -> 500)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(float(text[:-1])) if text.endswith("m") else int(float(text) * 1000)
    except ValueError:
        return None


def memory_bytes(value: object) -> float | None:
    """A memory quantity in bytes ("2Gi", "512Mi", "1G"); None when it is not one."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", str(value or "").strip())
    if not found:
        return None
    scale = {"K": 1e3, "Ki": 2**10, "M": 1e6, "Mi": 2**20, "G": 1e9, "Gi": 2**30, "T": 1e12,
             "Ti": 2**40}.get(found.group(2) or "", 1)
    return float(found.group(1)) * scale
