"""Chat models, provider-neutral through LangChain's `init_chat_model`, and the one way the graph
calls them: schema-constrained, redacted, retried once with the validation errors, failures as
data.

    model = chat_model(settings.model)                 # None when no provider is configured
    reply = ask(model, "openai", messages, NextStep)   # reply.value is a NextStep or None

Exceptions (only at setup; a failing call is a `Reply` with a `problem`):

    ModelConfigError (ValueError)   the provider cannot be set up from the settings
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from tools import redact_text

from ..settings import TESTED_PROVIDERS, ModelSettings, Provider

S = TypeVar("S", bound=BaseModel)

@cache
def model_errors() -> tuple[type[BaseException], ...]:
    """What a model call may raise when the endpoint is down, slow or refuses: the answer then
    falls back to the offline diagnosis with a note. The SDKs are imported here, not at module
    load, so an offline `sre diagnose` does not pay seconds for them."""
    import anthropic
    import ollama
    import openai

    return (openai.APIError, anthropic.APIError, ollama.ResponseError, httpx.HTTPError,
            ConnectionError, TimeoutError)


class ModelConfigError(ValueError):
    """The model settings name no usable provider, or the provider refuses them."""


def chat_model(settings: ModelSettings, timeout: float | None = None) -> BaseChatModel | None:
    """The configured chat model; None when no provider is set (offline mode).

    Any provider `init_chat_model` knows is passed through with its integration package
    installed (`pip install langchain-google-genai` for `google_genai`); `TESTED_PROVIDERS`
    are the ones the tests exercise.
    """
    if settings.provider is None:
        return None
    if not settings.name:
        raise ModelConfigError("model.name is required with a model provider")
    if settings.provider == "openai-compatible" and not settings.base_url:
        raise ModelConfigError("model.base_url is required with the openai-compatible provider")
    seconds = min(settings.timeout, timeout) if timeout else settings.timeout
    kwargs: dict[str, Any] = {"temperature": settings.temperature}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.provider == "ollama":
        kwargs["client_kwargs"] = {"timeout": seconds}
    else:
        kwargs.update(timeout=seconds, max_retries=0)
        if key or settings.provider == "openai-compatible":
            kwargs["api_key"] = key or "unused"
    provider = "openai" if settings.provider == "openai-compatible" else settings.provider
    import anthropic
    import openai
    from langchain.chat_models import init_chat_model  # loads the provider's SDK: only now

    try:
        model: BaseChatModel = init_chat_model(settings.name, model_provider=provider, **kwargs)
    except ImportError as e:  # a provider init_chat_model knows, its package not installed
        missing = e.__cause__ if isinstance(e.__cause__, ImportError) else e
        package = (missing.name or "").split(".")[0].replace("_", "-")
        raise ModelConfigError(f"the {settings.provider} provider needs its LangChain package: "
                               f"pip install {package or 'langchain-' + provider}") from e
    except ValueError as e:  # init_chat_model's "Unsupported provider" (ValidationError below)
        if isinstance(e, ValidationError):
            raise ModelConfigError(f"the {settings.provider} model cannot be set up: "
                                   "ValidationError; check model.name and model.api_key") from e
        raise ModelConfigError(f"unknown model provider {settings.provider!r}: use one that "
                               "LangChain's init_chat_model accepts (tested: "
                               + ", ".join(TESTED_PROVIDERS) + ")") from e
    except (openai.OpenAIError, anthropic.AnthropicError) as e:
        raise ModelConfigError(f"the {settings.provider} model cannot be set up: "
                               f"{type(e).__name__}; check model.name and model.api_key") from e
    return model


@dataclass
class Reply(Generic[S]):
    value: S | None
    tokens: int  # prompt tokens sent, all attempts together
    problem: str | None = None  # why there is no value, in words for the notes
    reachable: bool = True  # False: the endpoint failed (down, slow, refused), not the reply


def ask(model: BaseChatModel, provider: Provider | None, messages: list[BaseMessage],
        schema: type[S]) -> Reply[S]:
    """One schema-constrained call: a forced tool call (structured JSON output for Ollama).

    Every message is redacted first. A reply that does not validate is retried once, with the
    validation errors; a second failure, or an unreachable model, is a `Reply` with a problem.
    """
    sent = [_redacted(m) for m in messages]
    tokens = 0
    for _attempt in range(2):
        try:
            raw = _constrained(model, provider, schema).invoke(sent)
        except model_errors() as e:
            return Reply(None, tokens, f"the model did not answer ({type(e).__name__})", False)
        if not isinstance(raw, AIMessage):
            return Reply(None, tokens, "the model's reply was not a message")
        tokens += _input_tokens(raw, sent)
        try:
            return Reply(parse(raw, schema), tokens)
        except ValidationError as e:
            sent = [*sent, HumanMessage(
                f"Your reply did not match the {schema.__name__} schema: {_errors(e)}. "
                f"Call {schema.__name__} again with valid arguments.")]
    return Reply(None, tokens, "the model's reply did not validate, twice")


def _constrained(model: BaseChatModel, provider: Provider | None,
                 schema: type[BaseModel]) -> Any:
    if provider == "ollama":
        return model.bind(format=schema.model_json_schema())
    return model.bind_tools([schema], tool_choice=schema.__name__)


def parse(raw: AIMessage, schema: type[S]) -> S:
    """The reply as `schema`: the forced tool call's arguments, else JSON in the content."""
    if raw.tool_calls:
        return schema.model_validate(raw.tool_calls[0]["args"])
    return schema.model_validate_json(raw.text or "{}")


def _redacted(message: BaseMessage) -> BaseMessage:
    if isinstance(message.content, str):
        return message.model_copy(update={"content": redact_text(message.content)})
    return message


def _input_tokens(raw: AIMessage, sent: list[BaseMessage]) -> int:
    usage = raw.usage_metadata
    if usage and usage.get("input_tokens"):
        return int(usage["input_tokens"])
    return sum(len(m.text) for m in sent) // 4 + 1


def _errors(error: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
             for e in error.errors()[:5]]
    return json.dumps(parts)
