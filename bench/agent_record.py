"""Record the model cassettes from a running OpenAI-compatible server at agent_cassettes.BASE_URL
(scripts/record-model-cassettes.sh starts one). Overwrites tests/cassettes/model/*.yaml and
writes recorded.json with each recording's wall time.

    .venv/bin/python bench/agent_record.py
"""

from __future__ import annotations

import json

from agent_cassettes import CASSETTES, RECORDED, run


def main() -> int:
    CASSETTES.mkdir(parents=True, exist_ok=True)
    times = {}
    for name in RECORDED:
        (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)
        result = run(name, record_mode="all")
        times[name] = {"seconds": round(result.seconds, 1), "tokens": result.tokens,
                       "tool_calls": result.tool_calls}
        print(f"{name}: {result.seconds:.0f} s, {result.tokens} tokens, "
              f"{result.tool_calls} tool calls; notes: {result.answer.notes}")
    (CASSETTES / "recorded.json").write_text(json.dumps(times, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
