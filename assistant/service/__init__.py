"""The investigation service every interface (CLI, Slack, web chat, MCP, alert intake) sits on:
set-up once per process (`open_investigator`), a bounded pool for the servers (`Pool`), and one
exception tree (`errors`) that each interface maps to its medium. No interface imports another.

    with open_investigator(settings, cluster) as service:
        pool = Pool(service.investigator, "web", workers=4, queue_limit=20)
        pool.submit(request, on_progress, on_done)
"""

from .errors import (
    BadInput,
    ClusterUnavailable,
    ConfigError,
    InternalError,
    InvestigationError,
    readiness,
    wrapped,
)
from .opening import Service, open_investigator
from .pool import Lazy, OnDone, Outcome, Pool

__all__ = ["BadInput", "ClusterUnavailable", "ConfigError", "InternalError",
           "InvestigationError", "Lazy", "OnDone", "Outcome", "Pool", "Service",
           "open_investigator", "readiness", "wrapped"]
