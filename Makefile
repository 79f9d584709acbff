# The two commands a new user needs: `make run` and `make test`. Both create the virtual environment on first use.
# The interpreter for the virtual environment: the system's python3 when it is 3.11 or newer and can make one
# (Debian and Ubuntu build theirs with profile-guided and link-time optimisation: this service's calls took about a
# quarter less time on it than on a default pyenv build, docs/performance.md), else python3 from PATH. PYTHON=...
# chooses another.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell (for candidate in /usr/bin/python3 python3; do \
	$$candidate -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$candidate; \
	done; echo python3) | head -n 1)
endif
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install run test bench clean clean-audit-data

install: $(VENV)/.installed

# An older Python is refused first: pip's own refusal came after the venv was made, in words about Requires-Python.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "$(PYTHON) is" \
		"$$(command -v $(PYTHON) >/dev/null && $(PYTHON) -V 2>&1 || echo 'not found');" \
		"the service needs Python 3.11 or newer: make $(or $(MAKECMDGOALS),install) PYTHON=python3.12 (or another)" \
		>&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

run: install
	$(BIN)/cds-service serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: install
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || \
		echo "wrk is not installed (Debian package wrk): the benchmark uses its Python load client"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The local audit trail (data/) is a record of what the service told clinicians: `clean` keeps it; removing it is a
# separate, deliberate step.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache

clean-audit-data:
	rm -rf data
