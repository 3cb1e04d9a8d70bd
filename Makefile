# The two commands a newcomer needs: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lock lint format browser tools check-app-spec clean bench-history bench-load bench-cycle bench-accuracy bench-alerting bench-status-page bench-static-files bench-locations

# Create .venv and install the dev lock (every dependency, transitive ones included, pinned with its hashes; pip
# refuses any file whose hash differs); a no-op while it is unchanged. The lock pins pip itself too.
$(STAMP): requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "make: Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

# Checkov pins an older boto3 than the app, so it lives in its own venv (used by tests/test_deploy_terraform.py).
TOOLS := .venv-tools/.installed
$(TOOLS): requirements-tools.lock
	@test -x .venv-tools/bin/python || $(PYTHON) -m venv .venv-tools
	@.venv-tools/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-tools.lock
	@touch $(TOOLS)

# After editing a requirements*.txt: re-make its lock (tests/test_dependency_locks.py fails until then). Pins stay
# as they are unless the edit needs otherwise; `make lock UPGRADE=--upgrade` moves everything to its newest. The
# locks are resolved for CPython 3.11 on x86_64 Linux with glibc 2.36 (Debian bookworm, as the image and CI), with
# the hashes of every file of each version.
LOCK = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_36 \
	--custom-compile-command "make lock" $(UPGRADE)
lock: $(STAMP)
	@$(LOCK) requirements.txt -o requirements.lock
	@$(LOCK) requirements-audit.txt -o requirements-audit.lock
	@$(LOCK) requirements-dev.txt -o requirements-dev.lock
	@$(LOCK) requirements-tools.txt -o requirements-tools.lock

tools: $(TOOLS)

run: $(STAMP)
	@$(BIN)/python -m sandbox.stack

# Headless Chromium and its driver from Debian's packages, for the browser tests.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { echo "make: installing chromium and chromium-driver (Debian packages)"; \
	    apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: $(STAMP)
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# app.yaml against the App Platform schema in .ci/app_spec/ (strict: unknown keys rejected); the tests run it too.
check-app-spec: $(STAMP)
	@$(BIN)/python .ci/app_spec/validate.py --strict app.yaml

test: $(STAMP) $(TOOLS) browser lint
	@$(BIN)/python -m pytest

# Benchmarks, run by hand (see bench/README.md); each prints a table and saves JSON under bench/results/.
bench-history: $(STAMP)
	@$(BIN)/python -m bench.history

bench-load: $(STAMP) browser
	@$(BIN)/python -m bench.load

bench-cycle: $(STAMP)
	@$(BIN)/python -m bench.cycle

bench-status-page: $(STAMP)
	@$(BIN)/python -m bench.status_page

# BEFORE=<commit> measures that commit's web first, side by side with this tree's.
bench-static-files: $(STAMP) browser
	@$(BIN)/python -m bench.static_files $(if $(BEFORE),--before $(BEFORE))

bench-accuracy: $(STAMP)
	@$(BIN)/python -m bench.accuracy

bench-alerting: $(STAMP)
	@$(BIN)/python -m bench.alerting

bench-locations: $(STAMP)
	@$(BIN)/python -m bench.locations

clean:
	rm -rf $(VENV) .venv-tools .pytest_cache .ruff_cache
