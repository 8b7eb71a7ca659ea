"""A ConfigMap changed by hand since `kubectl apply` names what changed, from the copy apply
left in its last-applied-configuration annotation."""

from __future__ import annotations

import json

from assistant.engine.edited import LAST_APPLIED, hand_edits

APPLIED = "extensions:\n  health_check:\n    endpoint: 0.0.0.0:13133\nservice:\n" \
          "  extensions: [health_check]\n"


def _config_map(now: str, applied: str | None = APPLIED) -> dict[str, object]:
    annotations = {} if applied is None else {
        LAST_APPLIED: json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                  "data": {"relay.yaml": applied}})}
    return {"metadata": {"name": "otel-gateway-config", "namespace": "observability",
                         "annotations": annotations},
            "data": {"relay.yaml": now}}


def test_a_line_changed_by_hand_is_named_beside_what_it_became() -> None:
    edited = APPLIED.replace("[health_check]", "[pprof, zpages]") + \
        "  telemetry:\n    metrics:\n      address: 0.0.0.0:8888\n"
    found = hand_edits(_config_map(edited))
    assert found == ("relay.yaml", ["extensions: [health_check]"], ["extensions: [pprof, zpages]"])


def test_a_config_map_as_applied_or_never_applied_shows_no_hand_edit() -> None:
    assert hand_edits(_config_map(APPLIED)) is None
    assert hand_edits(_config_map("anything: else\n", applied=None)) is None
    broken = _config_map(APPLIED)
    broken["metadata"]["annotations"][LAST_APPLIED] = "{not json"  # type: ignore[index]
    assert hand_edits(broken) is None


def test_values_redaction_hid_are_no_hand_edit() -> None:
    applied = "password: [REDACTED]\nport: 5432\n"
    now = "password: \"[REDACTED]\"\nport: 5432\n"  # redaction reads the two copies apart
    assert hand_edits(_config_map(now, applied=applied)) is None
