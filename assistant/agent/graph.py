"""The agent's graph, wired in one place:

    START -> scope -> investigate -(more steps?)-> investigate ... -> analyze -> recall
          -> compose -> END

State is `State` (state.py); per-run dependencies arrive as `Context` (context.py).
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from . import nodes
from .context import Context
from .state import State

Graph = CompiledStateGraph[State, Context, State, State]


def build(checkpointer: BaseCheckpointSaver[Any] | None = None) -> Graph:
    graph = StateGraph(State, context_schema=Context)
    graph.add_node("scope", nodes.scope)
    graph.add_node("investigate", nodes.investigate)
    graph.add_node("analyze", nodes.analyze)
    graph.add_node("recall", nodes.recall)
    graph.add_node("compose", nodes.compose)
    graph.add_edge(START, "scope")
    graph.add_edge("scope", "investigate")
    graph.add_conditional_edges("investigate", nodes.after_investigate)
    graph.add_edge("analyze", "recall")
    graph.add_edge("recall", "compose")
    graph.add_edge("compose", END)
    return graph.compile(checkpointer=checkpointer, name="sre-agent")
