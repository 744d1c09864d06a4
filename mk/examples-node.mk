# Node examples (examples/node): the collectors' Node, Express and Laravel snippets ported onto
# the tracklane package, each run by a node:test test against the local collector.
#
# The examples get tracklane the way a user of a source checkout does: `npm pack` makes a
# tarball (examples/node/.pack/tracklane.tgz, which examples/node/package.json depends on) and
# npm installs it with express and express-session into examples/node/node_modules.
# `npm pack` is reproducible, so the tarball is replaced, and the examples reinstalled, only
# when the package's content changed; repeat runs cost one pack (~2 s) and no install.
.PHONY: test-examples-node examples-node-deps

EXAMPLES_NODE_DIR := examples/node
EXAMPLES_NODE_TGZ := $(EXAMPLES_NODE_DIR)/.pack/tracklane.tgz
EXAMPLES_NODE_STAMP := $(EXAMPLES_NODE_DIR)/node_modules/.tracklane-examples-installed
NPM ?= npm
NODE ?= node

# npm does not re-extract a `file:` tarball whose path is unchanged, so the old copy is
# removed before installing a new one. --ignore-scripts: the tarball holds the built addon
# (its `prepare` would rebuild it), and express needs no install scripts.
examples-node-deps: node-build
	@set -e; mkdir -p $(EXAMPLES_NODE_DIR)/.pack; \
	packdir=$$(mktemp -d); trap 'rm -rf "$$packdir"' EXIT; \
	$(NPM) pack --ignore-scripts --silent --pack-destination "$$packdir" >/dev/null; \
	if ! cmp -s "$$packdir"/tracklane-*.tgz $(EXAMPLES_NODE_TGZ); then \
	  mv "$$packdir"/tracklane-*.tgz $(EXAMPLES_NODE_TGZ); \
	fi
	@set -e; if [ ! -f $(EXAMPLES_NODE_STAMP) ] || [ $(EXAMPLES_NODE_TGZ) -nt $(EXAMPLES_NODE_STAMP) ] \
	    || [ $(EXAMPLES_NODE_DIR)/package.json -nt $(EXAMPLES_NODE_STAMP) ]; then \
	  echo "installing the Node examples' dependencies"; \
	  rm -rf $(EXAMPLES_NODE_DIR)/node_modules/tracklane; \
	  (cd $(EXAMPLES_NODE_DIR) && $(NPM) install --no-audit --no-fund --ignore-scripts); \
	  touch $(EXAMPLES_NODE_STAMP); \
	fi

test-examples-node: collector node-build examples-node-deps
	cd $(EXAMPLES_NODE_DIR) && $(NODE) --test --test-concurrency=1 test/*.test.mjs
