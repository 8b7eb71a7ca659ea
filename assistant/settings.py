"""All configuration, in one object built once at the entry point and passed down.

Environment variables use the prefix `SRE_` and `__` between sections:
`SRE_MODEL__PROVIDER=openai`, `SRE_KNOWLEDGE__RUNBOOKS_DIR=/etc/runbooks`. `KUBECONFIG` is
read as kubectl reads it. No other module reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClusterSettings(BaseModel):
    context: str | None = None
    """The kubeconfig context to use; the kubeconfig's current context when unset."""
    connect_timeout: float = 5.0
    """Seconds to wait for a connection to the API server."""
    read_timeout: float = 30.0
    """Seconds to wait for an answer from the API server."""
    snapshot_log_bytes: int = 2 * 1024 * 1024
    """Bytes of each container's log kept by `sre snapshot` (the most recent ones)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SRE_", env_nested_delimiter="__", extra="ignore",
    )

    kubeconfig: str | None = Field(
        default=None, validation_alias=AliasChoices("SRE_KUBECONFIG", "KUBECONFIG"))
    """Path of the kubeconfig (the first of $KUBECONFIG); ~/.kube/config when unset."""
    kubernetes_service_host: str | None = Field(
        default=None, validation_alias="KUBERNETES_SERVICE_HOST")
    """Set by Kubernetes inside a pod: then the in-cluster service account is used."""
    cluster: ClusterSettings = ClusterSettings()
    state_dir: Path = Path("~/.local/state/sre-assistant")
    """Where conversation memory, the runbook index and alert state live."""

    @property
    def kubeconfig_path(self) -> str | None:
        if not self.kubeconfig:
            return None
        return self.kubeconfig.split(":")[0] or None
