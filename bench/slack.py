"""Slack app under load: N concurrent `/sre diagnose` commands, signed, over real HTTP, against the
local fake Slack Web API; what `sre slack` runs behind it (the agent, offline, with its SQLite
memory and runbook recall) on a scenario snapshot.

    .venv/bin/python bench/slack.py [--commands 50] [--workers 4] [--engine-only]
                                    [--sender process|thread] [--in processes|threads]

Prints ack latency (p50/p99; Slack wants < 3 s) and the time from sending each command to its
answer being posted in the thread; exits 1 unless every command was answered. By default the
commands come from a process of their own (`slack_sender.py`), as Slack's come from elsewhere;
`--sender thread` sends them from threads of the app's own interpreter (its client work then
competes with the app's for the GIL, which is what the issue-13 "before" numbers measured).
Investigations run in worker processes, as `sre slack` runs them by default (`--in threads`:
in threads of the app's process, SRE_SLACK__WORKER_PROCESSES=false).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.slack_api import FakeSlack  # noqa: E402
from fakes.slack_env import SECRET, SHOP, SlackEnv  # noqa: E402

from assistant.agent import Agent, open_memory  # noqa: E402
from assistant.investigation import EngineInvestigator, Investigator  # noqa: E402
from assistant.recalling import Recaller  # noqa: E402
from assistant.service import Service  # noqa: E402
from assistant.service.processes import Children  # noqa: E402
from assistant.service.recipes import Opening, Recipe  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.slack.serving import favour_acks  # noqa: E402
from tools import Cluster  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def engine(service: Service, cluster: Cluster) -> Investigator:
    """--engine-only in a worker process."""
    return EngineInvestigator(cluster)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="investigation workers")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--engine-only", action="store_true",
                        help="the engine behind the seam instead of the agent")
    parser.add_argument("--sender", choices=("process", "thread"), default="process",
                        help="where the commands come from (default: a process of their own)")
    parser.add_argument("--in", dest="run_in", choices=("processes", "threads"),
                        default="processes", help="where investigations run")
    args = parser.parse_args()
    favour_acks()  # as `sre slack` does
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        settings = Settings(state_dir=Path(tmp) / "agent")
        memory = stack.enter_context(open_memory(settings))
        recaller = stack.enter_context(Recaller(settings))

        def agent(cluster: Cluster) -> Investigator:
            return Agent(settings, cluster, checkpointer=memory, recall=recaller)

        fake = FakeSlack().start()
        env = SlackEnv(Path(tmp), fake=fake, workers=args.workers,
                       investigator=None if args.engine_only else agent)
        if args.run_in == "processes":
            children = Children(Recipe(env.settings, Opening.of(env.cluster, env.settings),
                                       engine if args.engine_only else None),
                                count=args.workers)
            stack.callback(children.close)
            env.investigator = children
        with env:
            users = [f"U{i:04d}" for i in range(args.commands)]
            env.sender.command("help", channel=SHOP)  # warm up: the first request builds things
            fake.wait_for(fake.responses)
            started: dict[str, float] = {}

            def send(user: str) -> float:
                started[user] = time.monotonic()
                sent = env.sender.command("diagnose checkout -n shop", channel=SHOP, user=user)
                if sent.status != 200:
                    raise SystemExit(f"{user}: HTTP {sent.status} {sent.body}")
                return sent.seconds

            if args.sender == "process":
                sender = subprocess.Popen(
                    [sys.executable, str(Path(__file__).with_name("slack_sender.py")), env.url,
                     SECRET, fake.url, str(args.commands), "diagnose checkout -n shop", SHOP],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                time.sleep(2.0)  # its imports done, it waits for "go"
                t0 = time.monotonic()
                started.update(dict.fromkeys(users, t0))
                out, _ = sender.communicate("go\n", timeout=args.timeout)
                if sender.returncode != 0:
                    raise SystemExit(f"the sender failed ({sender.returncode})")
                acks = [seconds for _, seconds in json.loads(out)]
            else:
                t0 = time.monotonic()
                with ThreadPoolExecutor(max_workers=args.commands) as pool:
                    acks = list(pool.map(send, users))
            answered = _answers(env, users, args.timeout)
            total = time.monotonic() - t0
            to_answer = [answered[u] - started[u] for u in users if u in answered]
        fake.stop()
    behind = "the engine" if args.engine_only else "the agent (offline)"
    print(f"commands            {args.commands} concurrent, {args.workers} workers "
          f"({args.run_in}), {behind}, "
          f"sent from {'a process of their own' if args.sender == 'process' else 'app threads'}")
    print(f"ack latency         p50 {percentile(acks, 50) * 1000:.0f} ms   "
          f"p99 {percentile(acks, 99) * 1000:.0f} ms   max {max(acks) * 1000:.0f} ms")
    if to_answer:
        print(f"time to answer      p50 {percentile(to_answer, 50):.2f} s   "
              f"p99 {percentile(to_answer, 99):.2f} s   max {max(to_answer):.2f} s   "
              f"mean {statistics.mean(to_answer):.2f} s")
    print(f"answered            {len(to_answer)}/{args.commands} in {total:.2f} s")
    return 0 if len(to_answer) == args.commands else 1


def _answers(env: SlackEnv, users: list[str], timeout: float) -> dict[str, float]:
    """user -> when the answer to that user's command was posted in its thread."""
    deadline = time.monotonic() + timeout
    found: dict[str, float] = {}
    while len(found) < len(users) and time.monotonic() < deadline:
        roots = {m.ts: m for m in env.fake.posts(channel=SHOP, top_level=True)}
        for message in env.fake.posts(channel=SHOP):
            root = roots.get(message.thread_ts or "")
            if root is None or not message.buttons():
                continue
            user = next((u for u in users if f"<@{u}>" in root.all_text()), None)
            if user and user not in found:
                found[user] = message.at
        time.sleep(0.05)
    return found


if __name__ == "__main__":
    sys.exit(main())
