# Two entry points (see README): `make demo` and `make test`. Everything else is set-up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: demo test lint typecheck unit soak clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/odekake demo --dir $(DEMO_DIR) --seed 7 --force
	@echo "管理画面: $(BIN)/odekake hub serve --db $(DEMO_DIR)/hub.db --port 8765 を起動し http://127.0.0.1:8765/console/ を開く"
	@echo "  ログイン: 企画担当 coord / coord-demo-2026、管理職 manager / manager-demo-2026"
	@echo "マイナンバーカードの模擬(root、pcscd と vsmartcard-vpcd が必要): $(BIN)/odekake card simulate --private"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n 2

test: lint typecheck unit

# A month on the road under faults (3 vans × 30 working days; docs/operations.md).
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --seed 1 --vans 3 --days 30

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
