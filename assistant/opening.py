"""The investigator a long-running interface answers with, set up once for the process.

    with open_agent(settings, restricted_cluster) as agent:
        serve(agent)                                  # `sre mcp`, and any server like it

One conversation memory (threads continue across restarts; SQLite, or Postgres when set) and
one runbook recall, closed when the process ends. A setting that cannot be used (a Postgres
URL without its driver, a model provider that does not exist) is bad input, exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from tools import Cluster

from .exiting import EXIT_BAD_INPUT, Failure
from .settings import Settings

if TYPE_CHECKING:
    from .agent import Agent


@contextmanager
def open_agent(settings: Settings, cluster: Cluster) -> Iterator[Agent]:
    """The agent over `cluster` with the process's memory and runbook recall."""
    from .agent import Agent, MemoryConfigError, ModelConfigError, open_memory
    from .recalling import Recaller

    with ExitStack() as stack:
        try:  # only the set-up: what the caller raises while serving passes through unchanged
            memory = stack.enter_context(open_memory(settings))
            recaller = stack.enter_context(Recaller(settings))
            agent = Agent(settings, cluster, checkpointer=memory, recall=recaller)
        except (MemoryConfigError, ModelConfigError) as e:
            raise Failure(EXIT_BAD_INPUT, str(e)) from e
        yield agent
