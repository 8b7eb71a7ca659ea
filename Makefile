# Two commands on a fresh machine: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck apiserver clean cassettes

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

lint: $(STAMP)
	$(BIN)/ruff check assistant tools knowledge tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) apiserver lint typecheck
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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
