# Two commands for a fresh machine with only Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

# The Oxfordshire partnerships that receive the PCC's Community Safety Fund (the demo's recipients).
PARTNERSHIPS := SOP CHERWELL-CSP OXFORD-CITY-CSP SOUTH-VALE-CSP WEST-OXON-CSP

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Build the Oxfordshire books into a fresh SQLite file and print the balance summary.
demo: $(STAMP)
	mkdir -p $(OUT)
	rm -f $(OUT)/oxfordshire.db $(OUT)/oxfordshire.db-wal $(OUT)/oxfordshire.db-shm
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db db upgrade
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db ledger load ledger/oxfordshire/main.grants
	@# Demo people (you, who ran db upgrade, are the first: admin and officer): an officer, a
	@# recipient for each Oxfordshire partnership, a viewer. Each password is printed once.
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db users add officer --role officer --name "Finance officer"
	for org in $(PARTNERSHIPS); do \
	  $(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db users add $$(echo $$org | tr A-Z a-z) --role recipient --org $$org || exit 1; \
	done
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db users add cabinet --role viewer --name "Cabinet and PCC reader"
	rm -rf $(OUT)/reports $(OUT)/returns $(OUT)/plans
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db plan issue --stream PCC-CSF --year 2017-18 -o $(OUT)/plans
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db returns issue --stream PCC-CSF --year 2017-18 --stage mid-year -o $(OUT)/returns/issued
	$(BIN)/python ledger/oxfordshire/returns/fill.py ledger/oxfordshire/returns/2017-18-mid-year.toml $(OUT)/returns/issued $(OUT)/returns/filled
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db returns import --received 2017-10-27 $(OUT)/returns/filled/*.xlsx
	@# The workbooks come after the returns, so the mid-year template shows what they reported.
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db report all -o $(OUT)/reports
	@# The PCC fund's grants as the council would publish them (360Giving; docs/360giving.md).
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db export 360giving --stream PCC-CSF --year 2017-18 -o $(OUT)/reports/pcc-csf-2017-18-360giving.json
	@# Reconcile as the officer would in mid-November 2017; it exits 1 while errors stand.
	-$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db reconcile --stream PCC-CSF --year 2017-18 --as-of 2017-11-15 -o $(OUT)/reports/pcc-csf-2017-18-reconciliation.xlsx
	@echo
	@echo "The demo people (their passwords are printed above, once): \`grants --user cherwell-csp returns due"
	@echo "--as-of 2017-11-15\` signs in as Cherwell's recipient and lists what it has due; \`grants users list\`"
	@echo "shows them all, and \`grants users audit\` (as you) who signed in and what was refused."
	@echo "The ledger is in $(OUT)/oxfordshire.db; the workbooks for the PCC and the Cabinet are in $(OUT)/reports/,"
	@echo "the spending plan forms are in $(OUT)/plans/, the mid-year return forms as issued and as filled"
	@echo "in are in $(OUT)/returns/."
	@echo "The record, sealed in its hash chain (quote the head; \`grants verify\` checks it):"
	@$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db verify
	@echo
	@echo "Every line of a stream:"
	@echo "  $(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db balance --stream PCC-CSF --year 2017-18"
	@echo
	$(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db balance --summary
	@echo
	@echo "In a browser: start the web service with"
	@echo "  $(BIN)/grants --database sqlite:///$(OUT)/oxfordshire.db serve --host 127.0.0.1 --port 8000"
	@echo "then open http://127.0.0.1:8000/ and sign in as cherwell-csp (Cherwell's recipient),"
	@echo "officer, or cabinet (the viewer), with the passwords printed above."

# The suite on every core (pytest-xdist), each test file on one worker: a file's tests may
# share a module's server, browser or ledger. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/ruff check src tests migrations
	$(BIN)/ruff format --check src tests migrations
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Every benchmark at the sizes chosen (small, medium, large: GRANTS_BENCH_SIZES), ending with
# one table of each path against its floor (also in out/bench/table.md; docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/pytest tests/benchmarks --benchmark-only -p no:randomly

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
