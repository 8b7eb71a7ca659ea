"""Retrieval quality and scale of the runbook knowledge base.

    .venv/bin/python -m bench.retrieval              # quality (156 queries) and scale (500)
    .venv/bin/python -m bench.retrieval --no-scale   # quality only
    make bench-retrieval

Quality: each labelled query in queries.yaml is searched in three modes (dense only, lexical
only, hybrid); a hit is right when its runbook file is the expected one. Prints recall@1,
recall@3 and MRR (over the top 10) per mode, per query kind for hybrid, and hybrid's misses.
Scale: the real runbooks plus generated variants (500 in all) are indexed into a temporary
directory: index time, then query latency p50/p95 over the same queries.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge import (
    DEFAULT_MODEL_DIR,
    Mode,
    RunbookIndex,
    StoreLocation,
    index_runbooks,
    open_index,
    read_library,
)
from knowledge.runbooks import bundled_dir

QUERIES = Path(__file__).with_name("queries.yaml")
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")


@dataclass(frozen=True)
class Query:
    text: str
    expected: str
    kind: str


def load_queries(path: Path = QUERIES) -> list[Query]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Query(str(i["query"]), str(i["expected"]), str(i.get("kind", "?"))) for i in items]


def rank_of(index: RunbookIndex, query: Query, mode: Mode, k: int = 10) -> int | None:
    hits = index.search(query.text, k=k, mode=mode).hits
    names = [hit.path.rsplit("/", 1)[-1] for hit in hits]
    return names.index(query.expected) + 1 if query.expected in names else None


def scores(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    r1 = sum(1 for r in ranks if r == 1) / n
    r3 = sum(1 for r in ranks if r is not None and r <= 3) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return r1, r3, mrr


def quality(index: RunbookIndex, queries: list[Query]) -> None:
    print(f"quality: {len(queries)} labelled queries, {len(read_library([]).runbooks)} runbooks")
    print(f"{'mode':<8} {'recall@1':>9} {'recall@3':>9} {'MRR':>7}")
    misses: list[str] = []
    for mode in MODES:
        ranks = [rank_of(index, q, mode) for q in queries]
        r1, r3, mrr = scores(ranks)
        print(f"{mode:<8} {r1:>9.3f} {r3:>9.3f} {mrr:>7.3f}")
        if mode == "hybrid":
            for kind in sorted({q.kind for q in queries}):
                part = [r for q, r in zip(queries, ranks, strict=True) if q.kind == kind]
                k1, k3, kmrr = scores(part)
                print(f"  {kind:<7} {k1:>8.3f} {k3:>9.3f} {kmrr:>7.3f}   ({len(part)} queries)")
            misses = [f"  rank {r or '>10'}: {q.text[:70]!r} -> {q.expected}"
                      for q, r in zip(queries, ranks, strict=True) if r is None or r > 3]
    if misses:
        print("hybrid misses (not in the top 3):")
        print("\n".join(misses))


def write_variants(target: Path, total: int, seed: int = 7) -> int:
    """The real runbooks plus variants (renamed, sections shuffled), `total` files in all."""
    rng = random.Random(seed)
    real = sorted(bundled_dir().glob("*.md"))
    teams = ["payments", "search", "checkout", "identity", "ledger", "media", "ads", "growth"]
    for file in real:
        (target / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    for n in range(total - len(real)):
        source = real[n % len(real)].read_text(encoding="utf-8")
        team = teams[n % len(teams)]
        head, _, body = source.partition("\n## ")
        sections = ["## " + s for s in ("\n## " + body).split("\n## ") if s.strip()]
        rng.shuffle(sections)
        text = re.sub(r'title: "?', f'title: "[{team}] ', head, count=1)
        text += f"\nOwned by the {team} team (variant {n}).\n\n" + "\n".join(sections)
        (target / f"{team}-{n:03d}-{real[n % len(real)].name}").write_text(text, "utf-8")
    return total


def scale(total: int, queries: list[Query], model_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "runbooks").mkdir()
        write_variants(root / "runbooks", total)
        library = read_library([root / "runbooks"], bundled=False)
        location = StoreLocation(root / "index")
        started = time.perf_counter()
        report = index_runbooks(library, location, model_dir)
        took = time.perf_counter() - started
        print(f"scale: indexed {len(report.added)} runbooks ({report.chunks} sections, "
              f"{report.embedded} embedded) in {took:.1f} s")
        started = time.perf_counter()
        again = index_runbooks(library, location, model_dir)
        print(f"  re-index with nothing changed: {time.perf_counter() - started:.1f} s, "
              f"{again.embedded} embedded")
        index = open_index(library, location, model_dir)
        latencies = []
        for query in queries:
            started = time.perf_counter()
            index.search(query.text, k=5)
            latencies.append((time.perf_counter() - started) * 1000)
        cuts = statistics.quantiles(latencies, n=20)
        print(f"  hybrid query latency over {len(latencies)} queries: "
              f"p50 {statistics.median(latencies):.0f} ms, p95 {cuts[18]:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.retrieval", description=__doc__.split("\n")[0])
    parser.add_argument("--no-scale", action="store_true", help="skip the 500-runbook run")
    parser.add_argument("--total", type=int, default=500, help="runbooks in the scale run")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="keep the quality run's index here (re-runs embed nothing new)")
    args = parser.parse_args(argv)
    queries = load_queries()
    model_dir = args.model_dir.expanduser()
    with tempfile.TemporaryDirectory() as scratch:
        library = read_library([])
        location = StoreLocation(args.index or Path(scratch) / "index")
        started = time.perf_counter()
        report = index_runbooks(library, location, model_dir)
        print(f"indexed {len(library.runbooks)} runbooks ({report.chunks} sections, "
              f"{report.embedded} embedded) in "
              f"{time.perf_counter() - started:.1f} s")
        quality(open_index(library, location, model_dir), queries)
    if not args.no_scale:
        scale(args.total, queries, model_dir)
    return 0
