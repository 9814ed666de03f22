# The two commands a newcomer needs:
#   make demo   install everything into .venv and build the embedded sample corpus into build/sample
#   make test   install everything into .venv and run ruff and the test suite
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch (GPU users install their CUDA build themselves: see README).
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: demo test lint format install system clean

$(STAMP): pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# torch first, and explicitly its CPU build (+cpu): on PyPI a plain `torch==X` is the multi-GB CUDA
	# build on Linux. The +cpu wheel comes from pip's configured wheel folders/indexes when they have it
	# (this project's machines do), else from PyTorch's CPU index (TORCH_CPU_INDEX). A +cpu version that
	# no index has fails at once, so the fallback costs nothing where the first try succeeds.
	$(BIN)/python -m pip install -q "torch==$(TORCH_VERSION)+cpu" || \
		$(BIN)/python -m pip install -q --extra-index-url $(TORCH_CPU_INDEX) "torch==$(TORCH_VERSION)+cpu"
	$(BIN)/python -m pip install -q -e ".[dev,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/install-system-deps.sh sandbox
	$(BIN)/sciloom build --out build/sample
	$(BIN)/sciloom manifest show build/sample

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Debian packages (Chromium for the report test) and a single-node Slurm for the cluster tests.
system:
	bash scripts/install-system-deps.sh
	bash scripts/slurm-local.sh start

test: $(STAMP) lint system
	. $${SCILOOM_SLURM_DIR:-.slurm}/env && $(BIN)/python -m pytest -q --timeout=900 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
