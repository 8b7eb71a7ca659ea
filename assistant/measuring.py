"""The metrics an investigation may read beside the cluster, from the settings.

    metrics = open_metrics(settings, snapshot=args.snapshot)   # None: no Prometheus, no series
    answer = knowledge.metrics.metric_evidence(metrics, "throttling", "shop", "checkout", pods)

Reading a snapshot, its own series (`DIR/metrics/*.om`) answer, never a live Prometheus: a
snapshot is a moment, and numbers from now would not belong to it.
"""

from __future__ import annotations

from pathlib import Path

from tools import Limits, Metrics
from tools import open_metrics as _open

from .exiting import EXIT_BAD_INPUT, Failure
from .settings import Settings


def open_metrics(settings: Settings, snapshot: Path | None = None, *,
                 max_series: int | None = None) -> Metrics | None:
    """The snapshot's series, or the configured Prometheus, or None. `max_series` overrides
    the setting (`sre snapshot` keeps every pod's series, not the first 200 of an answer)."""
    config = settings.prometheus
    limits = Limits(series=max_series or config.max_series, points=config.max_points)
    if snapshot is not None:
        return _open(snapshot=snapshot, limits=limits)
    try:
        return _open(
            url=config.url,
            bearer_token=config.bearer_token.get_secret_value() if config.bearer_token else None,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            ca_file=str(config.ca_file) if config.ca_file else None,
            timeout=config.timeout,
            limits=limits,
        )
    except ValueError as e:  # not an http(s) address
        raise Failure(EXIT_BAD_INPUT, f"SRE_PROMETHEUS__URL: {e}") from e
