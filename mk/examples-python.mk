# Python examples: `make test-examples-python` runs every example under examples/python against
# the local collector (scripts as subprocesses, the Flask app in-process and as a server), with
# tracklane installed from this checkout (python-install) and the examples' requirements in
# the same .venv. The requirements are installed once, and again when the file changes.
PY_EXAMPLES := examples/python
PY_EXAMPLES_REQS := $(PY_EXAMPLES)/requirements.txt
PY_EXAMPLES_STAMP := $(VENV)/.tracklane-examples-deps

.PHONY: test-examples-python

# Order-only on python-install: never two pip runs in the venv at once under `make -j`, and a
# reinstall of the package does not force the requirements to be installed again.
$(PY_EXAMPLES_STAMP): $(PY_EXAMPLES_REQS) | python-install
	$(VENV_PY) -m pip install --quiet -r $(PY_EXAMPLES_REQS)
	touch $@

test-examples-python: collector python-install $(PY_EXAMPLES_STAMP)
	$(VENV_PY) -m ruff check $(PY_EXAMPLES)
	$(VENV_PY) -m pytest -q $(PY_EXAMPLES)
