"""The LangGraph agent: scope -> investigate -> analyze -> recall -> compose.

    agent = Agent(settings, cluster, checkpointer=memory)   # implements `Investigator`
    diagnosis = agent.investigate(Request(question="why is checkout failing?", thread="t1"))

Offline (no model configured) the engine decides and templates write; with a model, the model
picks further read-only steps and writes the explanation, every call schema-constrained.
"""

from .agent import Agent
from .context import Context, Recall, no_runbooks
from .graph import build
from .memory import MemoryConfigError, open_memory
from .models import ModelConfigError, chat_model

__all__ = ["Agent", "Context", "MemoryConfigError", "ModelConfigError", "Recall", "build",
           "chat_model", "no_runbooks", "open_memory"]
