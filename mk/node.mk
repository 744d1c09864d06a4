# Node package: `make test-node` installs the npm dev dependencies under the repo
# (node_modules/), builds the addon (npm's `prepare` runs `napi build`), type-checks the
# declarations and runs the node:test suite against the local collector.
.PHONY: test-node node-build bench-node

NPM ?= npm
NODE ?= node
NODE_STAMP := node_modules/.tracklane-installed

# Installs only when package.json or the lockfile changed; runs `prepare`, which builds the
# addon. `npm install` rather than `npm ci`: npm 11's `ci` rejects this lockfile for the
# other platforms' optional packages of @napi-rs/cli (it installs the locked versions all the same).
# `--no-save`: installing must not rewrite the committed lockfile (npm 11 would).
$(NODE_STAMP): package.json package-lock.json
	$(NPM) install --no-audit --no-fund --no-save
	touch $@

# Rebuilds the addon when Rust changed (cargo makes this a no-op otherwise).
node-build: $(NODE_STAMP)
	$(NPM) run --silent build

test-node: collector node-build
	$(NODE) node_modules/typescript/bin/tsc --noEmit -p bindings-node/test/types
	$(NODE) --test --test-concurrency=1 bindings-node/test/*.test.mjs

bench-node: collector-release node-build
	TRACKLANE_COLLECTOR_BIN=$(CURDIR)/target/release/tracklane-collector $(NODE) bench/node_track.mjs
