"""Which namespaces a Slack channel may read: the channel-to-namespaces allow-list.

    policy = AccessPolicy({"C0SHOP": ["shop"], "C0SRE": ["*"]})
    policy.for_channel("C0SHOP").permits("payments")     # False
    policy.for_channel("C0OTHER").readable               # False: no entry, no "*"

The answer to a refused request names only the channel's own namespaces, never the requested
one's existence. The data layer enforces the same list (`tools.restricting.Restricted`), so a
free-form question cannot reach around it either.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools import Cluster
from tools.restricting import Restricted

ALL = "*"


@dataclass(frozen=True)
class Access:
    namespaces: frozenset[str] | None  # None: every namespace

    @property
    def readable(self) -> bool:
        return self.namespaces is None or bool(self.namespaces)

    def permits(self, namespace: str | None) -> bool:
        """Whether a request for `namespace` (None: no namespace named) may go ahead."""
        if self.namespaces is None:
            return True
        return namespace is None or namespace in self.namespaces

    def restrict(self, cluster: Cluster) -> Cluster:
        return cluster if self.namespaces is None else Restricted(cluster, self.namespaces)

    def refusal(self) -> str:
        """What to say when a request is refused: nothing about other namespaces."""
        if not self.readable:
            return ("This channel is not set up to read the cluster. An admin can allow "
                    "namespaces for it in `SRE_SLACK__CHANNEL_NAMESPACES`.")
        listed = ", ".join(f"`{n}`" for n in sorted(self.namespaces or ()))
        return (f"Sorry, I can't look into that from this channel. Namespaces readable here: "
                f"{listed}.")


class AccessPolicy:
    def __init__(self, channel_namespaces: dict[str, list[str]]) -> None:
        self.mapping = {channel: list(names) for channel, names in channel_namespaces.items()}

    def for_channel(self, channel: str) -> Access:
        names = self.mapping.get(channel, self.mapping.get(ALL, []))
        if ALL in names:
            return Access(None)
        return Access(frozenset(names))
