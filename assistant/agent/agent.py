"""`Agent`: the LangGraph agent behind the `Investigator` seam.

    with open_memory(settings) as memory:
        agent = Agent(settings, cluster, checkpointer=memory)
        diagnosis = agent.investigate(Request(question="why is checkout failing?",
                                              thread="cli:demo"), on_progress=print)

One control loop: the graph's stream. Progress events come from it as the nodes work; the
answer is the last state's `diagnosis`.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from tools import Cluster, Metrics

from ..diagnosis import Diagnosis
from ..investigation import OnProgress, Progress, Request
from ..settings import Settings
from .context import Context, Recall, no_runbooks
from .graph import Graph, build
from .models import chat_model
from .state import State


class Agent:
    """Answers requests with the graph; remembers conversations by `Request.thread`."""

    def __init__(self, settings: Settings, cluster: Cluster, *,
                 checkpointer: BaseCheckpointSaver[Any] | None = None,
                 model: BaseChatModel | None = None, recall: Recall = no_runbooks,
                 metrics: Metrics | None = None) -> None:
        self.settings, self.cluster, self.recall = settings, cluster, recall
        self.metrics = metrics  # assistant.measuring.open_metrics(settings, snapshot)
        self.model = model if model is not None else chat_model(
            settings.model, timeout=settings.agent.wall_time)
        self.checkpointer = checkpointer if checkpointer is not None else InMemorySaver()
        self.graph: Graph = build(self.checkpointer)

    def investigate(self, request: Request, on_progress: OnProgress | None = None) -> Diagnosis:
        """Answer one request. Raises only for an unreachable or forbidden cluster."""
        notify = on_progress or (lambda progress: None)
        thread = request.thread or f"once:{uuid.uuid4().hex}"
        config: RunnableConfig = {"configurable": {"thread_id": thread},
                                  "recursion_limit": self.settings.agent.max_steps * 2 + 12}
        context = Context(cluster=self.cluster, model=self.model,
                          provider=self.settings.model.provider if self.model else None,
                          limits=self.settings.agent, recall=self.recall, metrics=self.metrics)
        # `None` starts the per-turn lists over (see state.turn_list).
        turn = cast(State, {"request": request.model_dump(mode="json"), "observations": None,
                            "notes": None, "steps": 0, "tokens": 0, "investigating": True})
        final: dict[str, Any] = {}
        try:
            for part in self.graph.stream(turn, config, context=context,
                                          stream_mode=["custom", "values"], version="v2"):
                if part["type"] == "custom":
                    notify(Progress.model_validate(part["data"]))
                elif part["type"] == "values":
                    final = dict(part["data"])
        finally:
            if request.thread is None:
                self.checkpointer.delete_thread(thread)
        return Diagnosis.model_validate(final["diagnosis"])

    def tokens_sent(self, thread: str) -> int:
        """Prompt tokens the last turn of `thread` sent to the model."""
        state = self.graph.get_state({"configurable": {"thread_id": thread}})
        return int(state.values.get("tokens", 0))
