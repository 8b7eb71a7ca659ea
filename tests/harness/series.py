"""Series written as data, the way a scenario or incident file can carry them, expanded into
samples scraped every `interval` seconds over the last hour before `end`.

    - series: 'container_cpu_cfs_periods_total{namespace="shop", pod="api-1", container="app"}'
      counter: 10          # a counter rising 10 per second (from a large start, no resets)
    - series: 'container_memory_working_set_bytes{namespace="shop", pod="api-1", container="app"}'
      gauge: 510027366     # a constant
    - series: 'kube_pod_container_status_restarts_total{...}'
      steps: [[0, 0], [1800, 3]]   # a gauge or counter that takes value v from second s on

The expanded `tools.prometheus.Series` go to `tools.openmetrics.write_openmetrics`: the same
file feeds the snapshot reader and, through promtool, a real Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tools.prometheus import Series

INTERVAL = 15.0
WINDOW = 3600.0
_SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"\s*,?')
_COUNTER_START = 1_000_000.0  # counters start high, as on a long-running node


def parse_selector(text: str) -> dict[str, str]:
    m = _SELECTOR.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not `name{{label=\"value\", ...}}`: {text!r}")
    return {"__name__": m.group(1), **dict(_LABEL.findall(m.group(2)))}


def expand(specs: Iterable[Mapping[str, Any]], end: float, *, interval: float = INTERVAL,
           window: float = WINDOW) -> list[Series]:
    """The samples of every spec, at `end - window + interval`, ..., `end`."""
    times = [end - window + interval * i for i in range(1, int(window / interval) + 1)]
    found = []
    for spec in specs:
        labels = parse_selector(spec["series"])
        start = times[0]
        if "counter" in spec:
            values = [_COUNTER_START + float(spec["counter"]) * (t - start) for t in times]
        elif "gauge" in spec:
            values = [float(spec["gauge"]) for _ in times]
        else:
            steps = sorted((float(s), float(v)) for s, v in spec["steps"])
            values = [next((v for s, v in reversed(steps) if t - start >= s), steps[0][1])
                      for t in times]
        found.append(Series(labels, tuple(zip(times, values, strict=True))))
    return found
