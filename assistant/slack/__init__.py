"""The Slack app: `/sre`, @mentions and threads, Alertmanager alerts, answers in Block Kit.

    slack = build(settings, cluster)              # a Bolt app plus its workers and state
    HttpServer(http_app(slack), "127.0.0.1", 0).start()

`sre slack` runs it (`serving.run_from_cli`), in HTTP or Socket Mode by setting.
"""

from .app import SlackApp, build
from .serving import HttpServer, connect_socket_mode, http_app, run_from_cli, serve

__all__ = ["HttpServer", "SlackApp", "build", "connect_socket_mode", "http_app", "run_from_cli",
           "serve"]
