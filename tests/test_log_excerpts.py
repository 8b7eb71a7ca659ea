"""A long log line is cut, but the cause it tells last is kept: a Java stack trace logged as
one JSON field ends with its deepest `Caused by:`, a JSON error with its nested `cause`."""

from __future__ import annotations

import json

from tools.logs import excerpt


def test_a_one_line_java_trace_keeps_its_deepest_caused_by() -> None:
    frames = "\\n\\tat com.example.Foo.bar(Foo.java:12)" * 40
    line = json.dumps({"level": "ERROR", "message": "Application run failed", "stack_trace":
                       "BeanCreationException: Error creating bean" + frames
                       + "\nCaused by: BeanCreationException: init failed" + frames
                       + "\nCaused by: InvalidQueryException: Undefined column name eta_window"
                       + frames})
    kept = excerpt([line]).errors[0].text
    assert len(kept) < 1200
    assert "Undefined column name eta_window" in kept


def test_a_json_error_keeps_its_nested_cause_past_the_cut() -> None:
    line = json.dumps({"level": 50, "route": "POST /api/cart/quote", "err": {
        "type": "TypeError", "message": "fetch failed", "stack": "x" * 700,
        "cause": {"message": "unable to get local issuer certificate",
                  "code": "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"}}, "msg": "tax quote failed"})
    kept = excerpt([line]).errors[0].text
    assert "unable to get local issuer certificate" in kept
    assert "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" in kept


def test_a_long_line_without_a_cause_is_cut_as_before() -> None:
    line = "ERROR " + "a" * 5000
    assert excerpt([line]).errors[0].text == line[:500] + " [...]"
