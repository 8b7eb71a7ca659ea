"""Runbooks cut into chunks, one per `## ` section, with the metadata Chroma filters on."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .runbooks import Runbook

CHUNK_FORMAT = "sections-1"
"""Changes whenever `dense_text` changes, so existing indexes re-embed their sections."""


@dataclass(frozen=True)
class Chunk:
    id: str
    path: str
    title: str
    section: str
    position: int  # the section's place in its runbook, from 0
    text: str
    digest: str  # sha256 of the whole runbook file
    categories: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    severity: str = ""

    @property
    def dense_text(self) -> str:
        """What the embedding model reads (it keeps the first 256 word pieces)."""
        return f"{self.title}. {self.section}.\n{self.text}"

    @property
    def lexical_text(self) -> str:
        """What BM25 reads: the section plus the runbook's title and applies_to names."""
        names = " ".join((*self.reasons, *self.kinds, *self.categories)).replace("_", " ")
        return f"{self.title}\n{self.section}\n{names}\n{self.text}"

    def metadata(self, model: str) -> dict[str, Any]:
        """Chroma metadata; empty lists are left out (Chroma refuses them)."""
        meta: dict[str, Any] = {
            "path": self.path, "title": self.title, "section": self.section,
            "position": self.position, "digest": self.digest, "severity": self.severity,
            "model": model,
        }
        for key in ("categories", "reasons", "kinds"):
            values = list(getattr(self, key))
            if values:
                meta[key] = values
        if self.kinds:  # filters match kinds whatever their case
            meta["kinds"] = [kind.lower() for kind in self.kinds]
        return meta

    @classmethod
    def from_record(cls, id: str, document: str, meta: Mapping[str, Any]) -> Chunk:
        def names(key: str) -> tuple[str, ...]:
            value = meta.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(id=id, path=str(meta["path"]), title=str(meta["title"]),
                   section=str(meta["section"]), position=int(meta.get("position", 0)),
                   text=document, digest=str(meta.get("digest", "")),
                   categories=names("categories"), reasons=names("reasons"),
                   kinds=names("kinds"), severity=str(meta.get("severity", "")))


def chunks_of(runbook: Runbook) -> list[Chunk]:
    """One chunk per section; ids are stable for a path and section position."""
    key = hashlib.sha1(runbook.path.encode()).hexdigest()[:16]
    return [
        Chunk(id=f"{key}:{i}", path=runbook.path, title=runbook.title, section=s.heading,
              position=i, text=s.text, digest=runbook.digest, categories=runbook.categories,
              reasons=runbook.reasons, kinds=runbook.kinds, severity=runbook.severity)
        for i, s in enumerate(runbook.sections)
    ]
