"""A gateway slow in itself: its access log times each request whole and its upstream's answer
apart (APISIX and ingress-nginx log both), and the requests take seconds while the upstream
answers in milliseconds; or a caching proxy whose cache hits, served without any backend, take
seconds (varnishncsa). The time is the gateway's own, so its CPU limit is what to look at,
not the app behind it."""

from __future__ import annotations

import re
import statistics

from tools import Obj
from tools.summaries import meta

from .reading import containers
from .view import ClusterView

SLOW_SECONDS = 1.0  # a request this slow, whole, is slow
UPSTREAM_SHARE = 0.2  # an upstream that answers in at most this share of it is not the cause
MIN_LINES = 3  # access lines needed to say it


def slow_itself(view: ClusterView, pods: list[Obj]) -> dict[int, str]:
    """Per gateway pod (by id) whose access log shows requests slow and their upstream fast,
    what it shows ("requests take 2.2 s (median of 12), the upstream answers in 0.021 s")."""
    said: dict[int, str] = {}
    for pod in pods:
        for container, _ in containers(pod):
            excerpt = view.log(meta(pod).get("namespace") or "", meta(pod)["name"], container,
                               False)
            lines = [*excerpt.head, *excerpt.tail] if excerpt else []
            timed = [(float(m["total"] or m["total2"]), float(m["upstream"] or m["upstream2"]))
                     for line in lines for m in [_ACCESS.search(line.text)] if m]
            hits = [int(m["micros"]) / 1e6 for line in lines
                    for m in [_CACHE_HIT.search(line.text)] if m]
            if len(hits) >= MIN_LINES and statistics.median(hits) >= SLOW_SECONDS:
                said[id(pod)] = (f"its access log: cache hits take {statistics.median(hits):g} "
                                 f"s (median of {len(hits)}), answered from its own cache "
                                 "without the backend, so the time is spent in the proxy "
                                 "itself")
                break
            if len(timed) < MIN_LINES:
                continue
            total = statistics.median(t for t, _ in timed)
            upstream = statistics.median(u for _, u in timed)
            if total >= SLOW_SECONDS and upstream <= UPSTREAM_SHARE * total:
                said[id(pod)] = (f"its access log: requests take {total:g} s (median of "
                                 f"{len(timed)}), the upstream answers in {upstream:g} s, so "
                                 "the time is spent in the gateway itself")
                break
    return said


# request_time, then upstream_response_time: APISIX's default format
# (`... $status $body_bytes_sent $request_time "$referer" "$agent" $upstream_addr
# $upstream_status $upstream_response_time ...`) and ingress-nginx's
# (`... $request_time [$proxy_upstream_name] [$alternative] $upstream_addr
# $upstream_response_length $upstream_response_time $upstream_status ...`)
_ACCESS = re.compile(
    r'" \d{3} \d+ (?P<total>\d+\.\d{3}) "[^"]*" "[^"]*" [\w.:\[\]-]+ \d{3} '
    r'(?P<upstream>\d+\.\d{3})\b'
    r'|\s(?P<total2>\d+\.\d{3}) \[[^\]]*\] \[[^\]]*\] [\w.:\[\]-]+ \d+ '
    r'(?P<upstream2>\d+\.\d{3}) \d{3}\b')
# varnishncsa with `%D` (microseconds) and `%{Varnish:hitmiss}x` last: a hit is served from the
# cache, with no backend in it
_CACHE_HIT = re.compile(r'" (?P<micros>\d{4,}) hit\s*$')
