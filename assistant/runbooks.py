"""`sre runbooks index` and `sre runbooks search`: the knowledge base from the command line.

Exit codes: 0 done, 2 bad input (empty query, missing runbooks directory, missing model for
indexing, unreadable index or unreachable Chroma server: the message says what to do).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from knowledge import (
    Hit,
    IndexReport,
    KnowledgeError,
    Library,
    SearchResult,
    StoreLocation,
    index_runbooks,
    open_index,
    read_library,
)
from knowledge.embedding import load_embedder
from knowledge.scoring import MATCH_THRESHOLD

from .exiting import EXIT_BAD_INPUT, EXIT_OK
from .settings import Settings

MAX_K = 50


def add_parser(commands: Any) -> None:
    """The `runbooks` command and its two actions, on `sre`'s subparsers."""
    runbooks = commands.add_parser("runbooks", help="the runbook knowledge base: index, search")
    actions = runbooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    index = actions.add_parser("index", help="index the runbooks (incremental by content hash)")
    index.add_argument("--rebuild", action="store_true",
                       help="delete the index first (the fix for a corrupted index)")
    index.add_argument("--json", action="store_true", help="machine output on stdout")
    search = actions.add_parser("search", help="find runbook sections for a symptom or log line")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="runbooks to show (default 5)")
    search.add_argument("--category", action="append", default=[],
                        help="only runbooks for this root-cause category (repeatable)")
    search.add_argument("--kind", action="append", default=[],
                        help="only runbooks for this kind, e.g. Pod (repeatable)")
    search.add_argument("--json", action="store_true", help="machine output on stdout")


def location_of(settings: Settings) -> StoreLocation:
    knowledge = settings.knowledge
    path = (knowledge.index_dir or settings.state_dir / "runbook-index").expanduser()
    return StoreLocation(path=path, host=knowledge.chroma_host, port=knowledge.chroma_port,
                         collection=knowledge.collection)


def library_of(settings: Settings) -> Library:
    return read_library(settings.knowledge.runbooks_dirs, bundled=settings.knowledge.bundled)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.action == "index":
            return _index(args, settings)
        return _search(args, settings)
    except KnowledgeError as e:
        print(f"sre: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _index(args: argparse.Namespace, settings: Settings) -> int:
    library = library_of(settings)
    knowledge = settings.knowledge
    embedder = load_embedder(knowledge.model_dir, knowledge.model_sha256,
                             knowledge.embedding_threads)
    location = location_of(settings)
    report = index_runbooks(library, location, knowledge.model_dir, rebuild=args.rebuild,
                            embedder=embedder)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(_report_json(report, location), indent=2))
    else:
        print(f"indexed {len(library.runbooks)} runbook(s) in {location.describe()}: "
              f"{len(report.added)} added, {len(report.updated)} updated, "
              f"{len(report.removed)} removed, {len(report.unchanged)} unchanged "
              f"({report.embedded} sections embedded)")
    return EXIT_OK


def _search(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.k <= MAX_K:
        print(f"sre: -k must be between 1 and {MAX_K}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.query.strip():
        print("sre: the query is empty; search e.g. \"ImagePullBackOff\"", file=sys.stderr)
        return EXIT_BAD_INPUT
    knowledge = settings.knowledge
    with open_index(library_of(settings), location_of(settings), knowledge.model_dir,
                    knowledge.model_sha256) as index:
        result = index.search(args.query, args.k, categories=args.category, kinds=args.kind)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result_json(result), indent=2))
    else:
        print(result_text(result))
    return EXIT_OK


def _report_json(report: IndexReport, location: StoreLocation) -> dict[str, Any]:
    return {"store": location.describe(), "added": report.added, "updated": report.updated,
            "removed": report.removed, "unchanged": report.unchanged,
            "embedded": report.embedded, "sections": report.chunks,
            "warnings": report.warnings}


def result_json(result: SearchResult) -> dict[str, Any]:
    """`hits` is empty when no runbook matches; `nearest` always has the best candidates with
    their raw scores (`lexical`: BM25, `dense`: cosine similarity or null), so a threshold can
    be judged from the outside."""
    def hit(h: Hit) -> dict[str, Any]:
        return {"title": h.title, "path": h.path, "section": h.section, "score": h.score,
                "lexical": h.lexical, "dense": h.dense, "categories": list(h.categories),
                "excerpt": _excerpt(h.text)}

    return {"query": result.query, "mode": result.mode, "notes": result.notes,
            "matched": result.matched, "match": result.match,
            "match_threshold": MATCH_THRESHOLD,
            "hits": [hit(h) for h in result.hits],
            "nearest": [hit(h) for h in result.nearest]}


def result_text(result: SearchResult) -> str:
    if not result.matched and result.nearest:
        closest = result.nearest[0]
        return (f"no runbook matches {result.query!r} (closest: {closest.title}, "
                f"{closest.path}, match {result.match:.2f} < {MATCH_THRESHOLD})")
    if not result.hits:
        return f"no runbook matches {result.query!r}"
    lines = []
    for n, hit in enumerate(result.hits, start=1):
        lines.append(f"{n}. {hit.title}")
        lines.append(f"   {hit.path} \u00a7 {hit.section}   (score {hit.score:.4f})")
        lines.append(f"   {_excerpt(hit.text)}")
    lines.append(f"({result.mode} search)")
    return "\n".join(lines)


def _excerpt(text: str, width: int = 160) -> str:
    flat = " ".join(line.strip("-* ") for line in text.splitlines() if line.strip()
                    and not line.startswith("```"))
    return flat if len(flat) <= width else flat[:width - 1].rstrip() + "\u2026"
