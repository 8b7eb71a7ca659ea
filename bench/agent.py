"""The agent per scenario: graph steps, tool calls, tokens sent to the model and wall time.

Offline over the whole scenario library, then model mode over the recorded scenarios, replayed
from tests/cassettes/model (token counts are the server's own, from the recordings; the
recording's wall time is shown beside the replay's).

    .venv/bin/python bench/agent.py        # or: make bench-agent
"""

from __future__ import annotations

import json

from agent_cassettes import CASSETTES, RECORDED, Run, run
from harness.scenarios import all_scenarios


def _row(result: Run, mode: str, recorded: str = "") -> tuple[str, ...]:
    ok = "pass" if result.passed else "FAIL"
    return (result.scenario, mode, str(result.steps), str(result.tool_calls), str(result.tokens),
            f"{result.seconds:.2f} s", recorded, ok)


def main() -> int:
    rows = [("scenario", "mode", "steps", "tool calls", "tokens sent", "wall time",
             "recorded wall time", "verdict")]
    runs = [run(path.stem, model=False) for path in all_scenarios()]
    rows += [_row(r, "offline") for r in runs]
    timing = json.loads((CASSETTES / "recorded.json").read_text()) \
        if (CASSETTES / "recorded.json").exists() else {}
    replays = [run(name) for name in RECORDED]
    rows += [_row(r, "model", f"{timing.get(r.scenario, {}).get('seconds', '?')} s")
             for r in replays]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    for mode, group in (("offline", runs), ("model", replays)):
        print(f"\n{mode}: {sum(r.passed for r in group)}/{len(group)} pass, "
              f"{sum(r.steps for r in group)} steps, {sum(r.tool_calls for r in group)} tool "
              f"calls, {sum(r.tokens for r in group)} tokens sent, "
              f"{sum(r.seconds for r in group):.1f} s")
    if timing:
        print(f"model, as recorded against the server: "
              f"{sum(t['seconds'] for t in timing.values()):.0f} s in total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
