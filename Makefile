# Two commands on a fresh machine: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck apiserver postgres clean cassettes-model bench-agent bench-slack model bench-retrieval cassettes bench-scale browser prometheus helm image

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# kube-apiserver v1.20.2 built from Debian's source package (cached in ~/.cache), plus etcd.
apiserver:
	@bash scripts/build-apiserver.sh >/dev/null

# PostgreSQL server binaries (Debian package postgresql), only when missing: the tests start a
# throwaway server from them for the conversation memory (tests/harness/postgres.py).
postgres:
	@bash scripts/install-postgres.sh >/dev/null

# Debian's Prometheus and Alertmanager, only when missing: the tests start throwaway servers from
# them on loopback (tests/harness/promserver.py, tests/harness/alerting.py).
prometheus:
	@bash scripts/install-prometheus.sh

# Debian's chromium, only when missing: tests/test_web.py drives it headless through Playwright
# (never Playwright's own browser download).
browser:
	@bash scripts/install-chromium.sh

# Helm itself, as a library: helm-sdkpy wraps Helm v4's Go code (cffi); tests/test_chart.py lints
# and installs deploy/chart with it. Test-only, and outside pyproject: it declares Python >= 3.12
# yet works on 3.11, which pip accepts only when told to.
HELM_SDKPY_VERSION := 0.1.32
helm: $(STAMP)
	@$(BIN)/pip show helm-sdkpy 2>/dev/null | grep -qx 'Version: $(HELM_SDKPY_VERSION)' \
	  || $(BIN)/pip install -q --ignore-requires-python 'helm-sdkpy==$(HELM_SDKPY_VERSION)'

# The container image from deploy/Dockerfile, with docker or podman (not part of `test`).
image:
	@bash scripts/build-image.sh $(IMAGE)

# The embedding model for runbook search (cached in ~/.cache; see knowledge/provisioning.py).
model: $(STAMP)
	@$(BIN)/python -m knowledge.provisioning

# Runbook retrieval quality (recall@1/@3, MRR: dense, lexical, hybrid) and 500-runbook scale.
bench-retrieval: $(STAMP) model
	$(BIN)/python -m bench.retrieval

lint: $(STAMP)
	$(BIN)/ruff check assistant tools knowledge tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) apiserver postgres model browser prometheus helm lint typecheck
	$(BIN)/pytest -q

# Re-record the tool layer's vcrpy cassettes (tests/cassettes/tools) from the real test apiserver.
cassettes: $(STAMP) apiserver
	rm -rf tests/cassettes/tools
	$(BIN)/pytest -q tests/test_cassettes.py --record-cassettes

# The bundled example: a cascading incident in namespace `shop` (postgres OOMKilled -> api
# crash-loops -> frontend answers 502). The question names the loudest symptom, not the cause.
demo: $(STAMP)
	$(BIN)/sre ask "why is the frontend returning 502?" --snapshot examples/cascade
	$(BIN)/sre diagnose -n shop --snapshot examples/cascade --json | head -24

# 50 concurrent /sre commands against the Slack app (local fake Slack API): ack p50/p99, answers.
bench-slack: $(STAMP)
	$(BIN)/python bench/slack.py

# `sre diagnose -n NS` on 1,000 and 5,000 pods in the real apiserver beside `kubectl get
# pods,events -o json`: medians, ratio, API requests, peak RSS, root causes found.
bench-scale: $(STAMP) apiserver
	$(BIN)/python -m bench.scale

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Re-record the model cassettes (tests/cassettes/model) from a real llama.cpp server on loopback;
# builds llama-cpp-python and joins the weights once, cached in ~/.cache/sre-assistant.
cassettes-model: $(STAMP)
	bash scripts/record-model-cassettes.sh

# The agent per scenario: steps, tool calls, tokens sent (model mode, from the cassettes), time.
bench-agent: $(STAMP)
	$(BIN)/python bench/agent.py
