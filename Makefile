# tracklane: `make demo` runs the tour, `make test` runs every test. Both work from a fresh
# clone: they install what they need (Python venv, npm packages) under the project folder.

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
COLLECTOR_BIN := $(CURDIR)/target/debug/tracklane-collector
export TRACKLANE_COLLECTOR_BIN := $(COLLECTOR_BIN)

.PHONY: test test-examples lint test-rust collector collector-release bench bench-rust bench-python demo clean

test: lint test-rust test-python test-node test-examples

test-examples: test-examples-python test-examples-node

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

collector:
	$(CARGO) build -p tracklane-collector

# Benchmarks run against a release-built collector in its own process.
collector-release:
	$(CARGO) build --release -p tracklane-collector

# The tour: a collector, the Flask and Express shops from examples/, a replayed webhook, a
# burst with an outage, then a table of what arrived. See demo/tour.py.
demo: collector python-install $(PY_EXAMPLES_STAMP) examples-node-deps
	$(VENV_PY) demo/tour.py

bench: bench-rust bench-python bench-node

bench-python: collector-release python-install
	TRACKLANE_COLLECTOR_BIN=$(CURDIR)/target/release/tracklane-collector $(VENV_PY) bench/python_track.py
	TRACKLANE_COLLECTOR_BIN=$(CURDIR)/target/release/tracklane-collector $(VENV_PY) bench/python_import.py

bench-rust: collector-release
	TRACKLANE_COLLECTOR_BIN=$(CURDIR)/target/release/tracklane-collector $(CARGO) bench -p tracklane-core --bench deliver
	$(CARGO) bench -p tracklane-core --bench track

include mk/python.mk
include mk/node.mk
include mk/examples-python.mk
include mk/examples-node.mk

clean:
	rm -rf target .venv node_modules
