"""The `sre diagnose` / `sre ask` contract on the bundled example: output, JSON shape, exit codes,
and a clear answer (never a traceback) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cascade"


def sre(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main([*argv, "--snapshot", str(EXAMPLE)])
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


def test_ask_names_the_database_behind_the_frontend_502(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sre(capsys, "ask", "why is the frontend returning 502?")
    assert code == 0
    lines = out.splitlines()  # the verdict first, then the path from the symptom to the cause
    assert lines[0] == "Problem: StatefulSet shop/postgres is OOMKilled (95% confidence)"
    assert "Path: frontend -> api -> postgres (OOMKilled)" in lines[:4]
    assert "Service/shop/api -> Deployment/shop/api -> Service/shop/postgres" in out
    assert "Proposed remediation (not executed)" in out


def test_diagnose_json_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sre(capsys, "diagnose", "-n", "shop", "--json")
    result = json.loads(out)
    assert code == 0
    assert {"question", "target", "healthy", "summary", "root_cause", "evidence", "remediation",
            "runbooks", "confidence", "ruled_out", "findings"} <= result.keys()
    assert result["healthy"] is False
    assert result["root_cause"]["object"] == "StatefulSet/shop/postgres"
    assert all(r["risk"] in ("low", "medium", "high") for r in result["remediation"])
    assert {e["source"] for e in result["evidence"]} <= {"status", "event", "log", "spec",
                                                          "metrics", "node"}


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_bad_input(capsys: pytest.CaptureFixture[str],
                                        question: str) -> None:
    code, out, err = sre(capsys, "ask", question)
    assert code == 2
    assert "the question is empty" in err
    assert out == ""


@pytest.mark.parametrize(("argv", "said"), [
    (("diagnose", "-n", "shpo"), "no namespace named shpo; the closest is shop"),
    (("diagnose", "deploy/nothere", "-n", "shop"), "no Deployment named nothere in namespace shop"),
    (("diagnose", "gizmo/x"), "unknown kind 'gizmo'"),
])
def test_unknown_targets_get_a_clear_answer_not_a_guess(
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], said: str) -> None:
    code, out, _ = sre(capsys, *argv, "--json")
    result = json.loads(out)
    assert code == 0
    assert result["healthy"] is None
    assert said in result["summary"]
    assert result["root_cause"] is None


def test_a_typo_in_a_workload_name_offers_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sre(capsys, "ask", "why is postgress crashing?")
    assert code == 0
    assert "no workload named postgress; the closest is postgres" in out
    assert out.startswith("Problem: StatefulSet shop/postgres is OOMKilled")


def test_asking_about_a_kind_the_namespace_lacks_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = sre(capsys, "ask", "why is the ingress broken in shop?")
    assert "there is no Ingress in namespace shop" in out


def test_a_missing_snapshot_directory_is_bad_input(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["diagnose", "--snapshot", str(tmp_path / "absent")])
    assert ended.value.code == 2
    assert "not a directory" in capsys.readouterr().err
