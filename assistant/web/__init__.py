"""The web chat, for people who are not in Slack: one page, answers streamed as Server-Sent
Events while the agent works.

    asking = Asking(agent, workers=4, queue_limit=20)   # the investigations' worker threads
    api = web_app(asking)          # GET /, POST /api/ask, GET /healthz, GET /metrics

`sre web` runs it (`serving.run_from_cli`), with the agent's memory so that every browser
session is one conversation (`web:<session>`).
"""

from .app import MAX_QUESTION, web_app
from .asking import Asking
from .serving import restrict, run_from_cli, serve

__all__ = ["MAX_QUESTION", "Asking", "restrict", "run_from_cli", "serve", "web_app"]
