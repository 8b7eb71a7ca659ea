# PYTHON_ARGCOMPLETE_OK
"""The `sre` command line: thin, it turns arguments into calls and renders the result.

Exit codes: 0 answered (healthy or not), 2 bad input, 3 cluster unreachable or forbidden.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import runbooks
from .exiting import EXIT_BAD_INPUT, EXIT_CLUSTER, EXIT_OK, Failure

if TYPE_CHECKING:
    import tools
    from tools import Cluster, Toolbox, ToolResult

    from .settings import Settings


# tools/ (the kubernetes client), the engine, the renderers and the settings (pydantic) are
# imported in the functions that use them: `sre runbooks search` needs none of them (its few
# settings: `runbooks.search_settings`) and must answer within half a second.

TOOLS = ("pods", "workloads", "events", "nodes", "services", "storage", "autoscalers", "quotas",
         "ingresses", "network_policies", "metrics", "describe", "logs", "find",
         "prometheus_query")


def _parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)  # the servers: where to read, nothing else
    source = where.add_argument_group("cluster")
    source.add_argument("--snapshot", type=Path, metavar="DIR",
                        help="read a snapshot directory instead of a live cluster")
    source.add_argument("--context", help="kubeconfig context (default: the current one)")
    source.add_argument("--kubeconfig", 
                        help="kubeconfig path (default: $KUBECONFIG, ~/.kube/config)")
    common = argparse.ArgumentParser(add_help=False, parents=[where])
    common.add_argument("-n", "--namespace", help="namespace (default: all)"
                        ).completer = _completer("namespaces")  # type: ignore[attr-defined]
    common.add_argument("--json", action="store_true", help="machine output on stdout")

    parser = argparse.ArgumentParser(
        prog="sre", description="A read-only virtual SRE for Kubernetes.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show program's version number and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    diagnose = commands.add_parser("diagnose", parents=[common],
                                   help="find what is wrong, ranked, with root causes")
    diagnose.add_argument("target", nargs="?", help="KIND/NAME, NAME (fuzzy) or nothing"
                          ).completer = _completer("workloads")  # type: ignore[attr-defined]
    ask = commands.add_parser("ask", parents=[common], help="answer a free-form question")
    ask.add_argument("question")
    for command in (diagnose, ask):
        command.add_argument("--thread", metavar="NAME",
                             help="conversation to continue (follow-ups reuse its target)")

    snap = commands.add_parser("snapshot", parents=[common], help="capture a cluster, redacted")
    snap.add_argument("directory", type=Path, metavar="DIR")
    snap.add_argument("--namespaces", help="comma-separated namespaces (default: all)")
    snap.add_argument("--no-logs", action="store_true", help="skip container logs")
    snap.add_argument("--no-metrics", action="store_true",
                      help="skip the Prometheus series the plans read (SRE_PROMETHEUS__URL)")

    tool = commands.add_parser("tool", parents=[common],
                               help="run one read-only tool and print its result")
    tool.add_argument("name", choices=TOOLS)
    tool.add_argument("target", nargs="?", help="KIND/NAME, a pod name for logs, or a query")
    tool.add_argument("--container", help="container, for logs")
    tool.add_argument("--previous", action="store_true", help="previous container's log")
    tool.add_argument("--budget", type=int, default=6000, help="characters of text output")

    commands.add_parser("slack", parents=[where],  # channels' namespaces: SRE_SLACK__*
                        help="run the Slack app (settings: SRE_SLACK__*, see README)")
    web = commands.add_parser("web", parents=[where],
                              help="run the web chat (settings: SRE_WEB__*, see README)")
    web.add_argument("-n", "--namespace", metavar="NS[,NS...]",
                     help="the only namespaces the chat may read (SRE_WEB__NAMESPACES)")
    mcp = commands.add_parser("mcp", parents=[common],
                              help="serve the read-only tools over MCP (stdio, or --http)")
    mcp.add_argument("--http", action="store_true",
                     help="streamable HTTP on SRE_MCP__HOST:PORT/mcp (needs SRE_MCP__TOKEN)")
    runbooks.add_parser(commands)
    return parser


class _Version(argparse.Action):
    """`--version`, reading the installed version only when asked (importlib.metadata costs
    every other command 20 ms of start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import version

        print(f"sre {version('sre-assistant')}")  # on stdout, as argparse's own action prints
        parser.exit()


def _completer(name: str) -> Callable[..., list[str]]:
    """A completer of `assistant.completion`, imported when the shell asks for completions."""
    def complete(**kwargs: Any) -> list[str]:
        from . import completion

        found: list[str] = getattr(completion, name)(**kwargs)
        return found
    return complete


def _settings() -> Settings:
    from pydantic import ValidationError

    from .settings import Settings

    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Failure(EXIT_BAD_INPUT, f"bad setting {where}: {first['msg']}") from e


def open_from_args(args: argparse.Namespace, settings: Settings) -> tools.Narrowed:
    """The cluster the arguments name; a user whose RBAC is namespace-scoped reads the namespaces
    named with `-n`/`--namespaces` where cluster-wide lists are refused."""
    import tools

    named = [*(getattr(args, "namespace", None) or "").split(","),
             *(getattr(args, "namespaces", None) or "").split(",")]
    try:
        return tools.Narrowed(tools.open_cluster(
            snapshot=args.snapshot,
            kubeconfig=args.kubeconfig or settings.kubeconfig_path,
            context=args.context or settings.cluster.context,
            timeouts=tools.Timeouts(settings.cluster.connect_timeout,
                                    settings.cluster.read_timeout,
                                    settings.cluster.request_timeout),
            in_cluster_env={"KUBERNETES_SERVICE_HOST": settings.kubernetes_service_host or ""},
        ), [name.strip() for name in named if name])
    except tools.SnapshotError as e:
        raise Failure(EXIT_BAD_INPUT, f"snapshot unusable: {e}") from e
    except tools.ConfigurationError as e:
        raise Failure(EXIT_CLUSTER, str(e)) from e


def _check_reachable(result: ToolResult) -> None:
    if result.status in ("unreachable", "unauthorized"):
        raise Failure(EXIT_CLUSTER, result.message or result.status)


def _run_tool(args: argparse.Namespace, box: Toolbox) -> ToolResult:
    ns, target = args.namespace, args.target
    kind, name = _split_target(target)
    calls: dict[str, Any] = {
        "pods": lambda: box.pods(ns),
        "workloads": lambda: box.workloads(ns),
        "events": lambda: box.events(ns, kind=kind, name=name),
        "nodes": box.nodes,
        "services": lambda: box.services(_need(ns, "-n NAMESPACE"), name),
        "storage": lambda: box.storage(_need(ns, "-n NAMESPACE")),
        "autoscalers": lambda: box.autoscalers(_need(ns, "-n NAMESPACE")),
        "quotas": lambda: box.quotas(_need(ns, "-n NAMESPACE")),
        "ingresses": lambda: box.ingresses(_need(ns, "-n NAMESPACE")),
        "network_policies": lambda: box.network_policies(_need(ns, "-n NAMESPACE")),
        "metrics": lambda: box.metrics(ns),
        "describe": lambda: box.describe(_need_kind(kind), _need(name, "KIND/NAME"), ns),
        "logs": lambda: box.logs(_need(ns, "-n NAMESPACE"), _need(name, "POD"),
                                 args.container, previous=args.previous),
        "find": lambda: box.find(_need(name, "a name to look for"), namespace=ns),
        "prometheus_query": lambda: box.prometheus_query(_need(target, "a PromQL expression"),
                                                         _need(ns, "-n NAMESPACE")),
    }
    result: ToolResult = calls[args.name]()
    return result


def _check_text(args: argparse.Namespace) -> None:
    """A question or target must be text: bytes that are not UTF-8 arrive from the shell as
    lone surrogates, which no answer, log or terminal can carry."""
    for what in ("question", "target"):
        value = getattr(args, what, None) or ""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise Failure(EXIT_BAD_INPUT, f"the {what} is not valid UTF-8 text (at character "
                                          f"{e.start + 1}); retype it") from e


def _check_names(args: argparse.Namespace) -> None:
    """Namespaces, names and containers go into API paths: what Kubernetes would refuse as a
    name is bad input (`-n 'a/b'`), refused before any cluster is asked."""
    import tools
    from tools.kinds import InvalidName, check_container, check_name, check_namespace

    try:
        for namespace in [*(getattr(args, "namespace", None) or "").split(","),
                          *(getattr(args, "namespaces", None) or "").split(",")]:
            check_namespace(namespace.strip())
        if args.command == "diagnose" and args.target:  # deploy/CHECKOUT (an unknown kind
            kind, name = _split_target(args.target)  # is answered: the kinds it knows)
            check_name(tools.parse_kind(kind or ""), name or "")
        if args.command != "tool":
            return
        check_container(args.container)
        kind, name = _split_target(args.target)
        if name and args.name in ("describe", "logs", "services", "events"):
            named: dict[str, tools.Kind] = {"logs": "Pod", "services": "Service"}
            check_name(named.get(args.name) or tools.parse_kind(kind or ""), name)
    except InvalidName as e:
        raise Failure(EXIT_BAD_INPUT, str(e)) from e


def _split_target(target: str | None) -> tuple[str | None, str | None]:
    if not target:
        return None, None
    if "/" in target:
        kind, _, name = target.partition("/")
        return kind, name
    return None, target


def _need(value: str | None, what: str) -> str:
    if not value:
        raise Failure(EXIT_BAD_INPUT, f"this tool needs {what}")
    return value


def _need_kind(text: str | None) -> tools.Kind:
    import tools

    kind = tools.parse_kind(text or "")
    if kind is None:
        raise Failure(EXIT_BAD_INPUT, f"unknown kind {text!r}; use KIND/NAME, e.g. deploy/checkout")
    return kind


def _snapshot(args: argparse.Namespace, cluster: Cluster, settings: Settings) -> int:
    import tools

    namespaces = [n.strip() for n in args.namespaces.split(",")] if args.namespaces else None
    if args.namespace:
        namespaces = [*(namespaces or []), args.namespace]
    try:
        report = tools.write_snapshot(cluster, args.directory, namespaces, logs=not args.no_logs,
                                      max_log_bytes=settings.cluster.snapshot_log_bytes)
    except tools.ApiError as e:
        raise Failure(EXIT_CLUSTER, str(e)) from e
    series = _snapshot_metrics(args, settings, report)
    for line in report.skipped:
        print(f"skipped {line}", file=sys.stderr)
    summary = {"directory": str(report.directory), "namespaces": report.namespaces,
               "objects": report.objects, "logs": report.logs, "series": series,
               "skipped": report.skipped}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {report.objects} objects, {report.logs} container logs and {series} "
              f"metric series from {len(report.namespaces)} namespaces to {report.directory}")
    return EXIT_OK


_CAPTURED_SERIES = 5000  # per metric and namespace: every pod's series, not an answer's 200


def _snapshot_metrics(args: argparse.Namespace, settings: Settings,
                      report: tools.SnapshotReport) -> int:
    """The last hour of the series the plans read, per namespace, when Prometheus is set."""
    import tools
    from knowledge.metrics import plan_metric_names

    from .measuring import open_metrics

    metrics = None if args.no_metrics else open_metrics(
        settings, max_series=max(settings.prometheus.max_series, _CAPTURED_SERIES))
    if metrics is None:
        return 0
    try:
        captured = tools.capture_metrics(metrics, args.directory, report.namespaces,
                                         plan_metric_names())
    finally:
        metrics.close()
    report.skipped += [f"metrics: {line}" for line in captured.skipped]
    return captured.series


def _diagnose(args: argparse.Namespace, cluster: tools.Narrowed, settings: Settings) -> int:
    import tools

    from . import engine
    from .investigation import Request
    from .progressline import ProgressLine
    from .rendering import to_text

    question = args.question if args.command == "ask" else f"diagnose {args.target or ''}".strip()
    target = args.target if args.command == "diagnose" else None
    if args.command == "ask" and not question.strip():
        raise Failure(EXIT_BAD_INPUT, "the question is empty; ask e.g. \"why is checkout "
                                      "failing?\"")
    from .service import InvestigationError, open_investigator, wrapped

    request = Request(question=question, target=target, namespace=args.namespace,
                      thread=f"cli:{args.thread}" if args.thread else None)
    try:  # memory only for a conversation (`--thread`)
        with open_investigator(settings, cluster, memory=bool(args.thread),
                               snapshot=args.snapshot) as service, \
                ProgressLine(sys.stderr) as progress:  # a terminal's stderr only, never stdout
            try:
                result = service.investigator.investigate(request, progress)
            except (engine.ClusterUnavailable, tools.ClusterError) as e:
                raise wrapped(e, cluster.source) from e
    except InvestigationError as e:
        raise Failure(e.exit_code, str(e)) from e
    if cluster.unread:
        where = ", ".join(cluster.named)
        notes = [f"no permission to {what}; read namespace(s) {where} instead"
                 for what in cluster.unread]
        result = result.model_copy(update={"notes": [*result.notes, *notes]})
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(to_text(result))
    return EXIT_OK


def run(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # Not a setting: `_ARGCOMPLETE` is how the shell's completion hook tells any program that it
    # asks for completions (argcomplete's protocol; `autocomplete` reads it again itself). It is
    # looked at before `Settings` exists, so that other commands do not import argcomplete.
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete  # only then: 10 ms of every command's start-up

        argcomplete.autocomplete(parser)  # answers and exits
    args = parser.parse_args(argv)
    if args.command == "runbooks":  # reads runbook files only: nothing to redact, no tools/
        # The settings' one other reader (see `assistant.settings`): a search reads its few
        # settings from the environment as `Settings()` would, without importing pydantic.
        quick = runbooks.search_settings(os.environ) if args.action == "search" else None
        return runbooks.run(args, quick or _settings())
    settings = _settings()
    import tools
    from tools import Toolbox
    from tools.redacting import configure as configure_redaction

    # Every interface (the CLI, `sre slack`, `sre web`) starts here: redaction's own settings
    # (personal data, the user's token prefixes) hold for everything read after this line.
    configure_redaction(pii=settings.redaction.pii,
                        extra_prefixes=settings.redaction.extra_prefixes)
    _check_text(args)
    _check_names(args)
    cluster = open_from_args(args, settings)
    if args.command in ("slack", "web", "mcp"):  # worker processes open the cluster again
        settings.kubeconfig = args.kubeconfig or settings.kubeconfig  # from the settings: the
        settings.cluster.context = args.context or settings.cluster.context  # same one
    try:
        if args.command == "snapshot":
            if args.snapshot:
                raise Failure(EXIT_BAD_INPUT, "sre snapshot reads a live cluster, not --snapshot")
            return _snapshot(args, cluster, settings)
        if args.command in ("diagnose", "ask"):
            return _diagnose(args, cluster, settings)
        if args.command == "slack":
            from .slack import run_from_cli  # imported only here: Bolt and uvicorn are heavy
            return run_from_cli(settings, cluster)
        if args.command == "web":
            from .web import run_from_cli as run_web  # FastAPI and uvicorn: only here
            if args.namespace:  # -n sets the allow-list, as SRE_WEB__NAMESPACES does
                settings.web.namespaces = [n.strip() for n in args.namespace.split(",")
                                           if n.strip()]
            return run_web(settings, cluster)
        if args.command == "mcp":
            from .mcp import run_from_cli as run_mcp  # the MCP SDK: only here
            return run_mcp(settings, cluster, http=args.http)
        from .measuring import open_metrics

        result = _run_tool(args, Toolbox(cluster, open_metrics(settings, args.snapshot)))
        _check_reachable(result)
        if args.json:
            print(result.model_dump_json(indent=2))
        else:
            print(result.text(args.budget))
        return EXIT_OK
    except tools.SnapshotError as e:
        raise Failure(EXIT_BAD_INPUT, f"snapshot unusable: {e}") from e
    finally:
        cluster.close()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    searching = argv is None and sys.argv[1:3] == ["runbooks", "search"]
    if searching:
        # numpy, imported later, starts OpenBLAS with a thread per core that spins for a while:
        # 50 ms of CPU taken from loading the model on a small machine. A search multiplies one
        # vector by a matrix, and one thread computes the same numbers to the bit. Not a
        # setting of ours: a default handed to OpenBLAS, which reads it when numpy is imported
        # (so only the environment can carry it); a value the user set is kept.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        code = run(argv)
    except Failure as e:
        print(f"sre: {e}", file=sys.stderr)
        code = e.code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `sre ... | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    if searching:
        _leave_now(code)
    sys.exit(code)


def _leave_now(code: int) -> NoReturn:
    """End `sre runbooks search` once its answer is written, without tearing the interpreter
    down: unloading onnxruntime, numpy and pydantic took longer than the search itself (about
    0.1 s of the half second). The search wrote nothing but its output and holds no lock; only
    the console command (no `argv` given) leaves this way, never a caller of `main`."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader left, or the stream is closed
            pass
    os._exit(code)
