# Python package targets (filled in by the Python package issue).
.PHONY: test-python
test-python:
	@echo "python package: not built yet"
