"""Remediation templates (knowledge/remedies.yaml): every root-cause category gets a proposal,
every template fills, and nothing from the cluster reaches a command unchecked."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from knowledge.remedies import remedies

CATEGORIES = sorted(yaml.safe_load(
    resources.files("knowledge").joinpath("categories.yaml").read_text(encoding="utf-8")))
FACTS = {"kind": "deployment", "ns": "shop", "name": "checkout",
         "target": "deployment/checkout", "container": "app"}


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_proposes_a_step_with_no_unfilled_field(category: str) -> None:
    steps = remedies(category, FACTS)
    assert steps, f"no remediation for {category}"
    for step in steps:
        text = step.step + (step.command or "")
        assert not re.search(r"\{\w+\}", text), text
        assert step.risk in ("low", "medium", "high")
        if step.command:
            assert step.command.startswith("kubectl ")


def test_conditions_pick_the_step_that_fits_the_facts() -> None:
    auth = remedies("image_pull", {**FACTS, "pull": "auth", "image": "ghcr.io/acme/app:1"})
    missing = remedies("image_pull", {**FACTS, "pull": "missing", "image": "ghcr.io/acme/app:1"})
    assert "imagePullSecrets" in auth[0].step
    assert "ghcr.io/acme/app:1" in missing[0].step
    assert all("imagePullSecrets" not in s.step for s in missing)
    suspended = remedies("cronjob", {**FACTS, "suspended": "true"})
    failing = remedies("cronjob", {**FACTS, "last_job": "sync-29932830"})
    assert suspended[0].command and '"suspend": false' in suspended[0].command
    assert failing[0].command == "kubectl logs job/sync-29932830 -n shop"


def test_a_fact_a_shell_would_interpret_never_reaches_a_command() -> None:
    hostile = {**FACTS, "var": "X=1; kubectl delete ns prod", "container": "$(curl evil)"}
    for step in remedies("missing_env", hostile) + remedies("oom_killed", hostile):
        assert "delete ns" not in (step.command or "")
        assert "$(" not in (step.command or "")
    command = remedies("missing_env", hostile)[0].command
    assert command == "kubectl set env deployment/checkout -n shop <var>=<value>"
