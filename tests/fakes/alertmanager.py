"""What Alertmanager sends: webhook payloads (version 4) and the POST that delivers them.

    status, doc = post(env, webhook("firing", [alert(POD)]))
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from fakes.slack_env import SlackEnv


def webhook(status: str, alerts: list[dict[str, Any]],
            group_key: str = '{}:{alertname="KubePodCrashLooping"}') -> dict[str, Any]:
    common = {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop"}
    return {"version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status,
            "receiver": "slack-sre", "groupLabels": {"alertname": "KubePodCrashLooping"},
            "commonLabels": common,
            "commonAnnotations": {"summary": "Pod is crash looping."},
            "externalURL": "http://alertmanager:9093", "alerts": alerts}


def alert(pod: str, status: str = "firing") -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                                         "pod": pod, "container": "checkout",
                                         "severity": "warning"},
            "annotations": {"summary": "Pod is crash looping."},
            "startsAt": "2026-11-29T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"fp-{pod}"}


def post(env: SlackEnv, body: bytes | dict[str, Any],
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(env.url + "/alerts", data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())
