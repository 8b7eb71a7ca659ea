"""All configuration, in one object built once at the entry point and passed down.

Environment variables use the prefix `SRE_` and `__` between sections:
`SRE_MODEL__PROVIDER=openai`, `SRE_KNOWLEDGE__RUNBOOKS_DIRS=/etc/runbooks`. `KUBECONFIG` is
read as kubectl reads it. No other module reads the environment, but for one exception:
`sre runbooks search` reads its nine settings without pydantic (`assistant.runbooks.
search_settings`, a quarter of its start-up), exactly as this object does or not at all
(tests/test_runbooks.py holds the two together). The entry point (`assistant.cli`) also
touches two variables that are not settings: argcomplete's `_ARGCOMPLETE` (the shell asking
for completions) and a default `OPENBLAS_NUM_THREADS` for numpy, set before it is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.embedding import MODEL_SHA256
from knowledge.provisioning import DEFAULT_MODEL_DIR


def _list_from_text(value: object) -> object:
    """An environment value as a list: a JSON list, or comma-separated (`shop,data`)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value

class ClusterSettings(BaseModel):
    context: str | None = None
    """The kubeconfig context to use; the kubeconfig's current context when unset."""
    connect_timeout: float = 5.0
    """Seconds to wait for a connection to the API server."""
    read_timeout: float = 30.0
    """Seconds to wait for an answer from the API server."""
    request_timeout: float = 60.0
    """Seconds one request to the API server may take in all, its answer's last byte included
    (a server that trickles its answer is cut off then); also how long the kubeconfig's
    credential plugin (`exec`) may take to hand over a token."""
    snapshot_log_bytes: int = 2 * 1024 * 1024
    """Bytes of each container's log kept by `sre snapshot` (the most recent ones)."""


class SlackSettings(BaseModel):
    """The Slack app (`sre slack`): see README "Slack" and deploy/slack-manifest.yaml."""

    mode: Literal["http", "socket"] = "http"
    """`http`: Slack calls POST /slack/events; `socket`: the app dials Slack (Socket Mode)."""
    bot_token: SecretStr | None = None
    """The bot token (xoxb-...), from OAuth & Permissions."""
    app_token: SecretStr | None = None
    """The app-level token (xapp-..., scope connections:write); Socket Mode only."""
    signing_secret: SecretStr | None = None
    """Verifies that HTTP requests come from Slack (Basic Information > Signing Secret)."""
    api_base_url: str | None = None
    """Base URL of the Slack Web API; unset for the real one (tests point it at a fake)."""
    incident_channel: str | None = None
    """Channel ID where Alertmanager alerts are investigated, one thread per alert group."""
    watched_channels: list[str] = []
    """Channel IDs where every new message is a question, no @mention needed."""
    channel_namespaces: dict[str, list[str]] = {}
    """Allow-list: channel ID -> namespaces it may read; "*" as key is every other channel, as
    a namespace every namespace. A channel with no entry (and no "*") reads nothing."""
    host: str = "127.0.0.1"
    """Address the HTTP server binds (POST /slack/events, POST /alerts, GET /healthz)."""
    port: int = 3000
    """Port of the HTTP server."""
    workers: int = 4
    """Investigations run at once; more wait in a queue."""
    worker_processes: bool = True
    """Run investigations in worker processes (one per worker), so that acknowledging Slack
    never waits for their CPU; false: in threads of the server's own process."""
    queue_limit: int = 100
    """Investigations waiting at most; past it the user is told to retry later."""
    alerts_token: SecretStr | None = None
    """When set, POST /alerts needs `Authorization: Bearer <token>` (Alertmanager http_config)."""
    state_file: str = "slack.sqlite3"
    """SQLite file under state_dir: alert threads, answers, feedback, seen events; unused when
    memory.postgres_url is set (then they live in Postgres, shared by every replica)."""
    metrics_token: SecretStr | None = None
    """When set, GET /metrics needs `Authorization: Bearer <token>` (Prometheus' scrape
    `authorization`); unset, it is open like /healthz."""

class WebSettings(BaseModel):
    """The web chat (`sre web`): see README "Web chat"."""

    host: str = "127.0.0.1"
    """Address the web chat binds (GET /, POST /api/ask, GET /healthz)."""
    port: int = 8080
    """Port of the web chat."""
    namespaces: Annotated[list[str] | None, NoDecode] = None
    """Allow-list of namespaces the web chat may read; unset: every namespace. Comma-separated
    (`shop,data`) or a JSON list; outside it, namespaces read as if they did not exist."""
    workers: int = 4
    """Investigations run at once; more wait in a queue."""
    worker_processes: bool = True
    """Run investigations in worker processes (one per worker), so that the chat's pages and
    events never wait for their CPU; false: in threads of the server's own process."""
    queue_limit: int = 20
    """Investigations waiting at most; past it the page is told to retry later (503)."""
    allowed_hosts: Annotated[list[str], NoDecode] = ["127.0.0.1", "localhost", "::1"]
    """Host names the chat answers to (the `Host` header); others are refused, which stops DNS
    rebinding. Add the name you reach it by behind a proxy; `*` allows any."""
    token: SecretStr | None = None
    """When set, the page and API need it: open `/?token=<token>` once (a cookie keeps it), or
    send `Authorization: Bearer <token>`."""
    trusted_header: str | None = None
    """A header an authenticating proxy in front sets to the signed-in user
    (`X-Forwarded-User` for oauth2-proxy); requests without it are refused. Only set it when
    the chat is reachable through that proxy alone."""
    metrics_token: SecretStr | None = None
    """When set, GET /metrics needs `Authorization: Bearer <token>` and nothing else (a scraper
    reaches pods by address, whatever `allowed_hosts` says); unset, /metrics is guarded like
    the chat (allowed hosts, then `token` or `trusted_header` when set)."""

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        return _list_from_text(value)

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        return _list_from_text(value)


Provider = str
"""A provider name LangChain's `init_chat_model` knows (`google_genai`, `bedrock_converse`,
`azure_openai`, `mistralai`, ...), or `openai-compatible` (the `openai` client at `base_url`)."""
TESTED_PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "ollama", "openai-compatible")
"""The providers the tests exercise (model cassettes, wire format); others are passed through."""


class MCPSettings(BaseModel):
    """The MCP server (`sre mcp`): see README "MCP"."""

    host: str = "127.0.0.1"
    """Address the streamable HTTP transport binds (`sre mcp --http`)."""
    port: int = 8090
    """Port of the streamable HTTP transport; its endpoint is `/mcp`."""
    token: SecretStr | None = None
    """`Authorization: Bearer <token>` every HTTP request must carry; `sre mcp --http` refuses
    to start without it. Unused over stdio (the client that started the process is the user)."""
    namespaces: Annotated[list[str] | None, NoDecode] = None
    """Allow-list of namespaces the MCP tools may read; unset: every namespace. Comma-separated
    or a JSON list; outside it, namespaces read as if they did not exist."""
    workers: int = 4
    """Investigations (`diagnose`, `ask`) run at once; more wait in a queue."""
    queue_limit: int = 20
    """Investigations waiting at most; past it the call is refused with "busy"."""

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        return _list_from_text(value)


class ModelSettings(BaseModel):
    provider: Provider | None = None
    """Which chat model API to use, any provider `init_chat_model` accepts (tested:
    `TESTED_PROVIDERS`); unset: offline (the engine and templates, no model)."""
    name: str = ""
    """The model's name at the provider ("gpt-4o-mini", "claude-sonnet-4-5", "qwen2.5:7b")."""
    base_url: str | None = None
    """The API's base URL: needed for openai-compatible servers (vLLM, llama.cpp server)."""
    api_key: SecretStr | None = None
    """The API key; local servers usually need none."""
    temperature: float = 0.0
    """Sampling temperature; 0 keeps answers repeatable."""
    timeout: float = 60.0
    """Seconds to wait for one model reply before falling back to the offline diagnosis."""


class AgentSettings(BaseModel):
    max_steps: int = 4
    """Investigation steps the model may choose in one turn (tool calls beyond the planned ones)."""
    wall_time: float = 120.0
    """Seconds one turn may take, model calls included; then the offline answer is used."""
    max_tokens: int = 12000
    """Prompt tokens one turn may send to the model, all calls together."""
    tool_budget: int = 2500
    """Characters of one tool result shown to the model (error lines first, head and tail)."""


class KnowledgeSettings(BaseModel):
    """The runbook knowledge base (`sre runbooks`): see README "Runbooks"."""

    runbooks_dirs: Annotated[list[Path], NoDecode] = []
    """A team's own runbook directories (Markdown, front matter optional), searched with the
    bundled runbooks; comma-separated (`/etc/runbooks,/srv/more`) or a JSON list."""
    bundled: bool = True
    """Include the runbooks shipped with the project (knowledge/runbooks)."""
    index_dir: Path | None = None
    """The local Chroma index directory; `<state_dir>/runbook-index` when unset."""
    chroma_host: str | None = None
    """A Chroma server (`chroma run`) shared by several replicas; unset: the local index."""
    chroma_port: int = 8000
    """Port of the Chroma server."""
    collection: str = "runbooks"
    """Chroma collection holding the runbook sections."""
    model_dir: Path = DEFAULT_MODEL_DIR
    """Embedding model directory: model.onnx beside its tokenizer files (`make model`)."""
    model_sha256: str = MODEL_SHA256
    """sha256 of model.onnx, checked at every load; set it with your own model_dir."""
    embedding_threads: int = 1
    """onnxruntime threads for embeddings."""
    runbook_base_url: str | None = None
    """Where the runbooks are readable on the web (the repository's web URL, e.g.
    `https://git.example.com/team/sre/blob/main`): Slack and the web chat cite runbooks as links
    to `<url>/<path>#<section>`; unset, they name the file."""

    @field_validator("runbooks_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        return _list_from_text(value)


class RedactionSettings(BaseModel):
    """What redaction hides beyond secrets (which it always hides); see tools/redacting.py."""

    pii: bool = False
    """Also hide personal data: e-mail local parts and card numbers that pass the Luhn check."""
    extra_prefixes: Annotated[list[str], NoDecode] = []
    """Token prefixes of your own (`acme_live_`), added to tools/secret_prefixes.yaml: the prefix
    followed by 8+ token characters is hidden. Comma-separated or a JSON list."""

    @field_validator("extra_prefixes", mode="before")
    @classmethod
    def _split_prefixes(cls, value: object) -> object:
        return _list_from_text(value)


class LogSettings(BaseModel):
    """The servers' logs (`sre slack`, `sre web`), on stderr; see assistant/logs.py."""

    format: Literal["text", "json"] = "text"
    """`text` for people; `json`: one JSON object a line (time, level, logger, message, and
    the record's fields), every string redacted as cluster text is."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe level written."""


class TracingSettings(BaseModel):
    """OpenTelemetry traces of the servers' investigations; see README "Observability"."""

    otlp_endpoint: str | None = None
    """An OTLP/gRPC collector (`http://otel-collector:4317`): one trace per investigation, a
    span per graph step. Unset: no tracing, and the OpenTelemetry SDK is never imported."""
    service_name: str = "sre-assistant"
    """The `service.name` the traces carry."""


class PrometheusSettings(BaseModel):
    """An optional Prometheus, read for numbers as evidence (PromQL, GET only): README
    "Prometheus". Unset, answers say which questions needed it."""

    url: str | None = None
    """Address of Prometheus itself, with any path prefix
    (`http://prometheus-operated.monitoring:9090`); unset: no metrics."""
    bearer_token: SecretStr | None = None
    """Sent as `Authorization: Bearer <token>` (a proxy in front, a managed Prometheus)."""
    username: str | None = None
    """Basic auth user (Prometheus' own web.config.yml `basic_auth_users`)."""
    password: SecretStr | None = None
    """Basic auth password."""
    ca_file: Path | None = None
    """CA bundle that signed Prometheus' TLS certificate (https URLs); the system's when unset."""
    timeout: float = 10.0
    """Seconds one query may take (sent to Prometheus as its `timeout` too); its answer has 2 s
    more to come, its last byte included, else the read is cut off."""
    max_series: int = 200
    """Series kept of one result; the rest are counted and said, not kept."""
    max_points: int = 1000
    """Points kept per series; a range query asks for no more steps than this."""


class MemorySettings(BaseModel):
    sqlite_path: Path | None = None
    """Conversation memory file; `<state_dir>/memory.sqlite` when unset."""
    postgres_url: SecretStr | None = None
    """A Postgres URL: conversation memory, and the Slack app's state, go there instead (needs
    the `postgres` extra); what several replicas share."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SRE_", env_nested_delimiter="__", extra="ignore",
    )

    kubeconfig: str | None = Field(
        default=None, validation_alias=AliasChoices("SRE_KUBECONFIG", "KUBECONFIG"))
    """The kubeconfig: one path or a `:`-separated list merged as kubectl merges them (the
    first file to define a name or set current-context wins); ~/.kube/config when unset."""
    kubernetes_service_host: str | None = Field(
        default=None, validation_alias="KUBERNETES_SERVICE_HOST")
    """Set by Kubernetes inside a pod: then the in-cluster service account is used."""
    cluster: ClusterSettings = ClusterSettings()
    model: ModelSettings = ModelSettings()
    agent: AgentSettings = AgentSettings()
    memory: MemorySettings = MemorySettings()
    slack: SlackSettings = SlackSettings()
    web: WebSettings = WebSettings()
    mcp: MCPSettings = MCPSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    redaction: RedactionSettings = RedactionSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    log: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    state_dir: Path = Path("~/.local/state/sre-assistant")
    """Where conversation memory, the runbook index and alert state live."""

    @property
    def kubeconfig_path(self) -> str | None:
        """The kubeconfig as given, a list included (`tools.kubeconfigs` merges it)."""
        return self.kubeconfig or None
