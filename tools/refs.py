"""A typed reference to one Kubernetes object, and its string form.

The string is the wire format (JSON output, `Finding.object`, the diagnosis' root cause):
`Kind/namespace/name`, and `Kind/-/name` for cluster-scoped objects.

    ref = ObjectRef.parse("Deployment/shop/checkout")
    ref.namespace                                   # "shop"
    str(ObjectRef("Node", None, "node-1"))          # "Node/-/node-1"
    ObjectRef.parse("Node/-/node-1").namespace_text  # "-", as the string shows it
    ObjectRef.of("Pod", pod)                        # from an object's metadata
"""

from __future__ import annotations

from dataclasses import dataclass

from .reading import Obj

CLUSTER_SCOPED = "-"  # what the namespace part of a cluster-scoped object's string reads


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str | None  # None for cluster-scoped kinds (Node, PersistentVolume, ...)
    name: str

    @classmethod
    def parse(cls, text: str) -> ObjectRef:
        """`Kind/ns/name`, `Kind/-/name` or `Kind/name` (both cluster-scoped)."""
        parts = text.split("/")
        if len(parts) == 2:
            parts.insert(1, CLUSTER_SCOPED)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"not an object reference: {text!r} (expected Kind/namespace/name "
                             "or Kind/name)")
        kind, namespace, name = parts
        return cls(kind, None if namespace in ("", CLUSTER_SCOPED) else namespace, name)

    @classmethod
    def of(cls, kind: str, obj: Obj) -> ObjectRef:
        """The reference to an object of `kind`, from its metadata."""
        meta = obj.get("metadata") or {}
        return cls(kind, meta.get("namespace") or None, str(meta.get("name", "?")))

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace or CLUSTER_SCOPED}/{self.name}"

    @property
    def namespace_text(self) -> str:
        """The namespace as the string shows it: `-` when cluster-scoped."""
        return self.namespace or CLUSTER_SCOPED

    @property
    def short(self) -> str:
        """`Kind/name`: how an owner chain names its links."""
        return f"{self.kind}/{self.name}"


def ref_name(text: str) -> str:
    """The name part of a reference string."""
    return ObjectRef.parse(text).name


def ref_namespace(text: str) -> str | None:
    """The namespace part of a reference string (None when cluster-scoped)."""
    return ObjectRef.parse(text).namespace
