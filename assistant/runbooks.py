"""`sre runbooks index` and `sre runbooks search`: the knowledge base from the command line.

Exit codes: 0 done, 2 bad input (empty query, missing runbooks directory, missing model for
indexing, unreadable index or unreachable Chroma server: the message says what to do).

A search reads its few settings with `search_settings` (no pydantic: importing it and building
`Settings` was a quarter of the search's half second); anything that reader is not sure to read
exactly as `Settings` does sends the search to `Settings` itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from knowledge.embedding import MODEL_SHA256, load_embedder
from knowledge.provisioning import DEFAULT_MODEL_DIR
from knowledge.scoring import MATCH_THRESHOLD

from .exiting import EXIT_BAD_INPUT, EXIT_OK

if TYPE_CHECKING:
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


@dataclass(frozen=True)
class SearchSettings:
    """What a search reads of the settings: `Settings.knowledge`'s fields of these names, and
    `Settings.state_dir`."""

    runbooks_dirs: list[Path]
    bundled: bool
    index_dir: Path | None
    chroma_host: str | None
    chroma_port: int
    collection: str
    model_dir: Path
    model_sha256: str
    state_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> SearchSettings:
        k = settings.knowledge
        return cls(runbooks_dirs=k.runbooks_dirs, bundled=k.bundled, index_dir=k.index_dir,
                   chroma_host=k.chroma_host, chroma_port=k.chroma_port,
                   collection=k.collection, model_dir=k.model_dir,
                   model_sha256=k.model_sha256, state_dir=settings.state_dir)


_DEFAULTS = SearchSettings(runbooks_dirs=[], bundled=True, index_dir=None, chroma_host=None,
                           chroma_port=8000, collection="runbooks", model_dir=DEFAULT_MODEL_DIR,
                           model_sha256=MODEL_SHA256,
                           state_dir=Path("~/.local/state/sre-assistant"))
"""`Settings()`'s defaults (tests/test_runbooks.py holds them to it)."""
_TRUE, _FALSE = {"1", "on", "t", "true", "y", "yes"}, {"0", "off", "f", "false", "n", "no"}


def search_settings(environ: Mapping[str, str]) -> SearchSettings | None:
    """The search's settings from `environ`, as `Settings()` reads them (`SRE_STATE_DIR`,
    `SRE_KNOWLEDGE__*`, names in any case); None when a value needs `Settings` to read it (a
    JSON `SRE_KNOWLEDGE` or runbooks list, a name given twice in two cases, a value pydantic
    would convert or refuse). Settings the search does not use are not read, so a bad one
    (`SRE_MODEL__TIMEOUT=soon`) stops other commands, not a search."""
    given: dict[str, str] = {}
    for name, value in environ.items():
        key = name.lower()
        if key.startswith("sre_"):
            if key in given or key == "sre_knowledge":
                return None
            given[key] = value
    values: dict[str, Any] = {}
    for field, default in vars(_DEFAULTS).items():
        key = "sre_state_dir" if field == "state_dir" else f"sre_knowledge__{field}"
        if key not in given:
            continue
        text = given[key]
        if field == "runbooks_dirs":
            if text.strip().startswith("["):
                return None
            values[field] = [Path(part.strip()) for part in text.split(",") if part.strip()]
        elif field == "bundled":
            if text.lower() not in _TRUE | _FALSE:
                return None
            values[field] = text.lower() in _TRUE
        elif field == "chroma_port":
            if not re.fullmatch("[0-9]{1,5}", text):
                return None
            values[field] = int(text)
        elif isinstance(default, Path) or field == "index_dir":
            values[field] = Path(text)
        else:
            values[field] = text
    return SearchSettings(**{**vars(_DEFAULTS), **values})


def location_of(settings: Settings | SearchSettings) -> StoreLocation:
    found = SearchSettings.of(settings) if not isinstance(settings, SearchSettings) else settings
    path = (found.index_dir or found.state_dir / "runbook-index").expanduser()
    return StoreLocation(path=path, host=found.chroma_host, port=found.chroma_port,
                         collection=found.collection)


def library_of(settings: Settings | SearchSettings) -> Library:
    found = SearchSettings.of(settings) if not isinstance(settings, SearchSettings) else settings
    return read_library(found.runbooks_dirs, bundled=found.bundled)


def run(args: argparse.Namespace, settings: Settings | SearchSettings) -> int:
    """`settings`: a search needs only `SearchSettings`; indexing needs `Settings`."""
    try:
        if args.action == "index":
            assert not isinstance(settings, SearchSettings)
            return _index(args, settings)
        return _search(args, settings if isinstance(settings, SearchSettings)
                       else SearchSettings.of(settings))
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


def _search(args: argparse.Namespace, settings: SearchSettings) -> int:
    if not 1 <= args.k <= MAX_K:
        print(f"sre: -k must be between 1 and {MAX_K}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.query.strip():
        print("sre: the query is empty; search e.g. \"ImagePullBackOff\"", file=sys.stderr)
        return EXIT_BAD_INPUT
    with open_index(library_of(settings), location_of(settings), settings.model_dir,
                    settings.model_sha256) as index:
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
