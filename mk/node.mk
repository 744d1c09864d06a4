# Node package targets (filled in by the Node package issue).
.PHONY: test-node
test-node:
	@echo "node package: not built yet"
