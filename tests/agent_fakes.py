"""Test doubles for the agent, at our own boundary: a scripted chat model, and a guard that makes
any connection beyond loopback fail loudly.

    model = ScriptedChatModel(script=[call("NextStep", tool="logs", name="web-1"), ...])
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, in order; records every prompt and every binding it was given."""

    script: list[AIMessage | BaseException] = Field(default_factory=list)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    bindings: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        self.bindings.append(kwargs)
        if not self.script:
            raise AssertionError("the model was called more often than scripted")
        reply = self.script.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Runnable[Any, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools],
                         tool_choice=tool_choice, **kwargs)

    def sent_text(self) -> str:
        return "\n".join(str(m.content) for prompt in self.prompts for m in prompt)


def call(tool_name: str, /, **args: Any) -> AIMessage:
    """A reply that calls the tool `tool_name` with `args`, as a provider returns it."""
    return AIMessage(content="", tool_calls=[{"name": tool_name, "args": args,
                                              "id": f"call_{tool_name}", "type": "tool_call"}],
                     usage_metadata={"input_tokens": 100, "output_tokens": 10,
                                     "total_tokens": 110})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a host other than loopback raises."""
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
            raise AssertionError(f"a test reached the network: {address!r}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


# Secrets planted in a cluster: none of them may ever leave the process towards a model.
PLANTED = ("hunter2-Planted-Secret-9f8e7d", "ghp_PlantedToken1234567890abcdefABCDEF12",
           "eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQ")


def plant_secrets(scenario: Any) -> Any:
    """The scenario with passwords and tokens in its containers' env and in its logs."""
    env = [{"name": "DB_PASSWORD", "value": PLANTED[0]}, {"name": "API_TOKEN", "value": PLANTED[1]}]
    for obj in scenario.objects:
        spec = obj.get("spec") or {}
        template = ((spec.get("template") or {}).get("spec")) or spec
        for container in template.get("containers") or []:
            container["env"] = [*(container.get("env") or []), *env]
    leaks = (f'{{"level":"error","msg":"db auth failed","dsn":"postgres://app:{PLANTED[0]}@db:5432/app"}}\n'
             f"retrying with header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.{PLANTED[2]}\n"
             f"export GITHUB_TOKEN={PLANTED[1]}\n")
    for logs in (scenario.logs, scenario.previous_logs):
        for key in logs:
            logs[key] = leaks + logs[key]
    return scenario
