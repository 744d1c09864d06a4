# Python package: `make test-python` builds and installs the package into .venv (a real
# `pip install .`, not `maturin develop`), then runs stubtest, ruff and pytest against the
# local collector. Repeated runs skip the dependency install (stamp file) and let pip/cargo
# rebuild only what changed.
PYTHON ?= python3
VENV := $(CURDIR)/.venv
VENV_PY := $(VENV)/bin/python
PY_TEST_REQS := bindings-python/requirements-test.txt
PY_DEPS_STAMP := $(VENV)/.tracklane-test-deps

.PHONY: test-python python-install

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

$(PY_DEPS_STAMP): $(PY_TEST_REQS) | $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -r $(PY_TEST_REQS)
	touch $@

# Built for the host triple named explicitly, as `napi build --platform` does for the Node addon:
# both then share target/<triple>/release, and a fresh clone compiles the dependencies once.
HOST_TRIPLE := $(shell rustc -vV | sed -n 's/^host: //p')

python-install: $(PY_DEPS_STAMP)
	CARGO_BUILD_TARGET=$(HOST_TRIPLE) $(VENV_PY) -m pip install --quiet --force-reinstall --no-deps .

test-python: collector python-install
	$(VENV_PY) -m mypy.stubtest tracklane._native
	$(VENV_PY) -m ruff check bindings-python bench
	$(VENV_PY) -m pytest -q bindings-python/tests
