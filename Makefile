# The two commands of README.md. Each makes its own virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
OUT    ?= out

.PHONY: install test demo bench vectors docs check-docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Validate the bundled example datasets and write their reports.
# Some examples are nonconformant on purpose: mpistd's exit code 1 is expected, 2 or 3 fails.
demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/mpistd validate reference_data/examples --output json:$(OUT)/validation.json \
	  --output sarif:$(OUT)/validation.sarif; code=$$?; test $$code -le 1
	$(BIN)/mpistd report reference_data/examples -o $(OUT)/reports/; code=$$?; test $$code -le 1
	@echo "reports written to $(OUT)/reports/index.html"

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

vectors:
	$(PYTHON) reference_data/conformance/make_vectors.py
	$(PYTHON) reference_data/conformance/repository_vectors.py

docs: $(STAMP)
	$(BIN)/mpistd docs

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
