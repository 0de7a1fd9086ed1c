# Set-up is part of every target: a fresh machine needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean chromium

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/allocate solve instances/ballerup-2022.json --out ballerup-2022-allocation.json --time-limit 30

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# Headless Chromium renders the HTML report in tests/test_report.py (Debian's package).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The full benchmark suite, then the GAP peers, then benchmarks/RESULTS.md (README,
# "Benchmarks"). Takes about 2-3 hours on 2 cores: 33 GAP instances x 60 s in the suite and
# again for each of ours, plain CP-SAT, SCIP and HiGHS in `bench-gap --peers` (33 x 60 s x 4),
# plus the generated instances (1k, 5k, 20k at 60 s; 100k at 240 s) and the bundled ones.
# RESULTS.md is written after the suite and again with the peers. The exit status is the
# suite's: a quality target not met fails it, but every table is still written.
BENCH_RESULTS ?= benchmarks/RESULTS.md
bench: $(STAMP)
	BENCH_FULL=1 $(BIN)/python -m pytest benchmarks --benchmark-only \
		--benchmark-json benchmarks/bench.json; status=$$?; \
	$(BIN)/python benchmarks/results.py --bench benchmarks/bench.json \
		--out $(BENCH_RESULTS) || exit 1; \
	$(BIN)/allocate bench-gap benchmarks/gap --time-limit 60 --workers 2 --peers \
		--out benchmarks/peers || exit 1; \
	$(BIN)/python benchmarks/results.py --bench benchmarks/bench.json \
		--peers benchmarks/peers.json --out $(BENCH_RESULTS) || exit 1; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .benchmarks *.egg-info
