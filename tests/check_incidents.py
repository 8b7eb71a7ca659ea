"""Check that incident files are well formed and load on both backends, without running the engine.

    .venv/bin/python tests/check_incidents.py tests/incidents/*.yaml   # --no-live: snapshot only

For each file: the fields of tests/incidents/README.md are present and of the right shape, the
root object exists in the file, the snapshot directory is written, and (unless --no-live) every
object is created in a real kube-apiserver started for this run, with status and logs. This is the
only tool a blind author runs: it never imports the diagnosis engine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import start_apiserver  # noqa: E402
from harness.scenarios import Scenario, Seeder, load, write_snapshot_dir  # noqa: E402

FAMILIES = {
    "symptom-not-in-status", "dependency-in-logs", "dns-networkpolicy", "tls", "credentials",
    "autoscaling", "throttling-memory", "scheduling", "probes", "rollouts", "storage",
    "jobs-cronjobs", "init-containers", "sidecars", "nodes", "config", "healthy-scary",
    "two-problems",
}
CATEGORIES_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "categories.yaml"


def problems(path: Path, scenario: Scenario, categories: set[str]) -> list[str]:
    """What is wrong with the file's fields (empty when nothing is)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[str] = []
    if doc.get("name") != path.stem:
        found.append("name must equal the file name without .yaml")
    if doc.get("family") not in FAMILIES:
        found.append(f"family {doc.get('family')!r} is not one of the README's ids")
    if not 2 <= len(scenario.questions) <= 4:
        found.append("2-4 questions")
    if not all(isinstance(q, str) for q in doc.get("questions") or []):
        found.append("every question must be a string (quote a question that holds ': ')")
    expect = scenario.expect
    healthy = expect.get("healthy")
    if healthy not in (True, False):
        found.append("expect.healthy must be true or false")
    if expect.get("category") not in categories:
        found.append(f"unknown category {expect.get('category')!r}")
    refs = {_ref(o) for o in scenario.objects}
    if healthy is False:
        if expect.get("object") not in refs:
            found.append(f"root object {expect.get('object')!r} is not an object of the file")
        if not 2 <= len(expect.get("phrases") or []) <= 4:
            found.append("2-4 phrases for a broken cluster")
    elif expect.get("object") is not None or expect.get("category") != "healthy":
        found.append("a healthy incident has category healthy and object null")
    for also in expect.get("also") or []:
        if also.get("object") not in refs:
            found.append(f"expect.also object {also.get('object')!r} is not in the file")
    namespaces = {o["metadata"].get("namespace") for o in scenario.objects} - {None}
    if not 2 <= len(namespaces) <= 6:
        found.append(f"{len(namespaces)} namespaces; an incident has 2-6")
    for key in [*scenario.logs, *scenario.previous_logs]:
        ns, pod, container = (key.split("/") + ["", "", ""])[:3]
        if (("Pod", ns, pod)) not in {(o["kind"], o["metadata"].get("namespace"),
                                       o["metadata"]["name"]) for o in scenario.objects}:
            found.append(f"log key {key!r} names no pod of the file")
        elif not container:
            found.append(f"log key {key!r} lacks the container")
    return found


def _ref(obj: dict[str, object]) -> str:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    return f"{obj['kind']}/{meta.get('namespace') or '-'}/{meta['name']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--no-live", action="store_true", help="skip the real apiserver")
    args = parser.parse_args()
    categories = set(yaml.safe_load(CATEGORIES_FILE.read_text(encoding="utf-8")))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        server = None if args.no_live else start_apiserver(Path(tmp) / "kube")
        try:
            seeder = Seeder(server) if server else None
            for path in args.files:
                try:
                    scenario = load(path)
                    found = problems(path, scenario, categories)
                    write_snapshot_dir(scenario, Path(tmp) / "snap" / path.stem)
                    if seeder and not found:
                        suffix = uuid.uuid4().hex[:6]
                        seeder.seed(scenario.renamed({ns: f"{ns}-{suffix}"
                                                      for ns in scenario.namespaces
                                                      if ns != "default"}))
                except Exception as e:  # a report per file, whatever broke
                    found = [f"{type(e).__name__}: {e}"]
                failed += bool(found)
                print(f"{'ok  ' if not found else 'FAIL'} {path.name}"
                      + "".join(f"\n     - {p}" for p in found))
        finally:
            if server:
                server.stop()
    print(f"\n{len(args.files) - failed}/{len(args.files)} load")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
