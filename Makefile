# The two commands of README.md. Each makes its own virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
OUT    ?= out

.PHONY: install test typecheck demo bench vectors docs check-docs clean

# System packages first (python3-venv; Pango and a font for PDF reports): installed with apt-get
# when run as root on Debian/Ubuntu, otherwise the exact command is printed (scripts/system-packages.sh).
$(STAMP): pyproject.toml
	@PYTHON=$(PYTHON) sh scripts/system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Run the test suite, then the type check of the typed part of the package.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@$(MAKE) --no-print-directory typecheck

# mypy --strict on the modules whose types are complete (pyproject.toml [tool.mypy] lists them).
typecheck: $(STAMP)
	$(BIN)/python -m mypy

# Validate the bundled example datasets and write their reports.
# Some examples are nonconformant on purpose: mpistd's exit code 1 is expected, 2 or 3 fails.
demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== validating reference_data/examples (some are nonconformant on purpose)"
	@$(BIN)/mpistd validate reference_data/examples --output json:$(OUT)/validation.json \
	  --output sarif:$(OUT)/validation.sarif; code=$$?; \
	  if [ $$code -gt 1 ]; then echo "make demo: mpistd validate failed (exit $$code)" >&2; exit $$code; fi
	@echo "== rendering the reports"
	@$(BIN)/mpistd report reference_data/examples -o $(OUT)/reports/ >/dev/null 2>$(OUT)/report.log; code=$$?; \
	  if [ $$code -gt 1 ]; then cat $(OUT)/report.log >&2; echo "make demo: mpistd report failed (exit $$code)" >&2; exit $$code; fi
	@echo "make demo: done as designed (the nonconformant examples are listed above)."
	@echo "  $(OUT)/validation.json, $(OUT)/validation.sarif and the reports at $(OUT)/reports/index.html"

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

vectors: $(STAMP)
	$(BIN)/python reference_data/conformance/make_vectors.py
	$(BIN)/python reference_data/conformance/repository_vectors.py

docs: $(STAMP)
	$(BIN)/mpistd docs

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache
