"""The web chat's HTTP surface.

    GET  /          the chat page (one self-contained HTML file, scripts and styles inline)
    POST /api/ask   {"question": str, "session": str} -> text/event-stream:
                    `progress` events (a `Progress` each), then one `diagnosis` (a `Diagnosis`)
                    or one `error` ({"error": sentence})
    GET  /healthz   200 once serving (liveness)
    GET  /readyz    200 when the cluster answers now, else 503 with the sentence a user would get
    GET  /metrics   Prometheus metrics (see `observing`)

Who may reach it (Host, Origin, token or trusted proxy header; for /metrics its own token when
one is set) is `access.Gate`'s. With an allow-list (`sre web -n shop`), a question that names
another namespace ("why is coredns failing in kube-system?") is refused (403), not answered
about an allowed one. Bad input
is a 400 with {"error": sentence} the page shows as it is (JSON nested too deep
included), a body past `MAX_BODY` a 413, a full queue a 503.
Every request of one browser session carries the conversation key `web:<session>`, so
follow-ups ("show me its previous logs") continue from the agent's memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tools import Cluster, ClusterError

from ..bounding import BodyLimits
from ..investigation import Request as Question
from ..service import readiness
from ..service.allowing import outside
from ..settings import WebSettings
from . import page
from .access import Gate
from .asking import Asking, drain

MAX_QUESTION = 4000  # characters
MAX_BODY = 64 * 1024  # bytes
_SESSION = re.compile(r"[A-Za-z0-9_-]{8,64}")


class BadInput(ValueError):
    """A request the chat cannot take; the message is the sentence the page shows."""


def parse_ask(body: bytes) -> Question:
    """The `Request` a POST /api/ask body asks for; `BadInput` saying what is wrong."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as e:  # not JSON, not UTF-8, or a number too long
        raise BadInput('The request is not JSON; send {"question": "...", "session": "..."}.'
                       ) from e
    if not isinstance(doc, dict):
        raise BadInput('The request must be a JSON object: {"question": "...", "session": '
                       '"..."}.')
    question, session = doc.get("question"), doc.get("session")
    if not isinstance(question, str) or not question.strip():
        raise BadInput('The question is empty: ask e.g. "why is checkout failing?"')
    question = question.strip()
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate (`"\ud800"`): no answer could carry it
        raise BadInput(f"The question is not valid text (character {e.start + 1} is half of a "
                       "UTF-16 pair); retype it.") from e
    if len(question) > MAX_QUESTION:
        raise BadInput(f"The question is too long: {len(question)} characters, at most "
                       f"{MAX_QUESTION}. Ask about one thing at a time.")
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise BadInput("The session id must be 8 to 64 letters, digits, '-' or '_'; "
                       "reload the page to get a new one.")
    return Question(question=question, thread=f"web:{session}")


def _bad(status: int, sentence: str) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status)


def refusal(question: str, allowed: list[str] | None, whole: Cluster | None) -> str | None:
    """The sentence refusing `question` when it names a namespace outside `allowed` (None: it
    may be answered). "in X" names X only when the whole cluster has X; when the cluster cannot
    list its namespaces, only explicit names ("namespace X", "-n X") count."""
    if allowed is None:
        return None
    try:
        known = whole.namespaces() if whole is not None else []
    except ClusterError:
        known = []
    if outside(question, allowed, known) is None:
        return None
    listed = ", ".join(sorted(allowed)) or "none"  # the words of Slack's refusal: names nothing
    return f"Sorry, I can't look into that from this chat. Namespaces readable here: {listed}."


def web_app(asking: Asking, config: WebSettings | None = None,
            cluster: Cluster | None = None, whole: Cluster | None = None) -> FastAPI:
    """The ASGI app; investigations run on `asking`'s worker threads, never on the loop.
    `config` sets who may reach it (`access.Gate`): by default, loopback names only, and the
    namespaces it may read. `/readyz` reads `cluster` (as the chat may read it) when given;
    `whole` (the cluster before the allow-list) says which namespaces a question can name."""
    config = config or WebSettings()
    api = FastAPI(title="sre-assistant web chat", docs_url=None, redoc_url=None,
                  openapi_url=None)
    api.add_middleware(BodyLimits, limits={"/api/ask": MAX_BODY})
    api.middleware("http")(Gate(config))  # added last: runs first
    chat = page.load()

    @api.get("/")
    async def index() -> Response:
        return HTMLResponse(chat.html, headers=chat.headers)

    @api.post("/api/ask")
    async def ask(request: Request) -> Response:
        try:
            question = parse_ask(await request.body())  # bounded by `BodyLimits`
        except BadInput as e:
            return _bad(400, str(e))
        refused = await run_in_threadpool(refusal, question.question, config.namespaces, whole)
        if refused is not None:
            return _bad(403, refused)
        user = getattr(request.state, "user", None)  # set by `Gate` behind a trusted proxy
        if user:
            question = question.model_copy(update={"user": user})
        events = asking.submit(question)
        if events is None:
            return _bad(503, "I am busy with other investigations; please ask again in a "
                             "minute.")

        async def frames() -> AsyncIterator[bytes]:
            async for event in drain(events):
                yield event.encode()

        return StreamingResponse(frames(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    @api.get("/healthz")
    async def healthz() -> Response:  # liveness: the process serves
        return PlainTextResponse("ok")

    @api.get("/readyz")
    async def readyz() -> Response:  # readiness: the cluster answers now
        if cluster is None:
            return JSONResponse({"cluster": "not checked"})
        problem = await run_in_threadpool(readiness, cluster)
        if problem is not None:
            return JSONResponse({"cluster": str(problem)}, status_code=503)
        return JSONResponse({"cluster": f"ok ({cluster.source})"})

    @api.get("/metrics")
    async def metrics() -> Response:
        body, content_type = asking.metrics.exposition()
        return Response(body, media_type=content_type)

    return api
