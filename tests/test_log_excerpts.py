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


def test_a_long_line_keeps_its_start_and_its_last_160_characters() -> None:
    line = "ERROR " + "a" * 5000 + "b" * 160
    assert excerpt([line]).errors[0].text == line[:500] + " [...] " + "b" * 160


def test_a_go_error_chain_past_the_cut_keeps_its_innermost_cause() -> None:
    """Mattermost's upload error: the address that times out is named last, past 500."""
    line = ('{"level":"error","msg":"Unable to upload file.","error":"uploadFileSimple: Unable to '
            'upload file., WriteFile: Encountered an error writing to S3., unable write the data '
            f'in the file {"x/" * 150}plan.png: Put \\"http://minio.storage.svc.cluster.local:9000'
            '/files/plan.png\\": dial tcp 10.245.118.40:9000: i/o timeout"}')
    assert len(line) > 600
    assert "dial tcp 10.245.118.40:9000: i/o timeout" in excerpt([line]).errors[0].text


def test_stack_frames_do_not_push_the_real_cause_out_of_the_error_lines() -> None:
    frames = [f"\tat io.debezium.pipeline.Step{n}.run(Step{n}.java:{n})" for n in range(12)]
    log = []
    for attempt in range(4):  # four retried failures, each with a long trace, then the cause
        log += [f"2026-12-06 22:0{attempt}:41,902 WARN  Retriable exception thrown, attempt "
                f"{attempt}", f"org.apache.kafka.connect.errors.RetriableException: try "
                f"{attempt}", *frames, "\t... 6 more"]
    log += ["io.debezium.DebeziumException: Couldn't obtain encoding for database catalog",
            *frames, 'Caused by: org.postgresql.util.PSQLException: FATAL: password '
            'authentication failed for user "debezium"', *frames, "\t... 8 more"]
    log += [f"2026-12-07 03:{m:02d}:00,118 INFO  GET /connectors 200" for m in range(30)]
    kept = [line.text for line in excerpt(log, max_errors=20, head=20, tail=20).errors]
    assert any("password authentication failed" in text for text in kept), kept
    assert not any(text.lstrip().startswith("at ") for text in kept)
