# Every target installs what it needs, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-backends eval bench adapter adapter-eval compress-adapter extractor extractor-eval chinese-eval finetune-news clean

setup: $(STAMP)

# Reinstalls only when the project's install files change.
$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/summarizer run examples/articles -o build/demo --show

test: setup
	$(BIN)/python -m pytest -ra -m "not backends"

# The llama.cpp and openai backends against real llama.cpp (tests/test_backends_llamacpp.py):
# installs the llamacpp extra first, which compiles llama.cpp once per machine (6-10 min on
# 2 cores; pip keeps the wheel). .ci/run runs this after `make test`.
# llama.cpp is compiled for this CPU (-march=native), less AMX: its tile instructions fault
# where the CPU advertises them but the kernel or sandbox does not grant them (SIGILL in
# ggml_backend_amx_mul_mat on a Xeon with amx_tile: every llama.cpp test failed). Built
# without pip's wheel cache, so a wheel compiled with other flags is never reused.
LLAMA_STAMP := $(VENV)/.llamacpp-installed
LLAMA_CFLAGS := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
$(LLAMA_STAMP): $(STAMP)
	CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip install --quiet --no-cache-dir -c requirements/constraints.txt -e '.[test,llamacpp]'
	touch $(LLAMA_STAMP)

test-backends: setup $(LLAMA_STAMP)
	SUMMARIZER_REQUIRE_LLAMACPP=1 $(BIN)/python -m pytest -ra -m backends

# The news suite (eval/news.toml): runs each pipeline, then reports in build/eval/ (7 min measured on a busy 2-core CPU).
eval: setup
	$(BIN)/summarizer eval-suite eval/news.toml -o build/eval

# Speed against a naive transformers loop (ratios in one process), then a 200,000-word document
# through the default and long pipelines, then the Ray engine against the local one, then the
# time to the first summary of one article in a fresh process, then the transformers and llama.cpp
# backends side by side (llama.cpp only where installed: make test-backends). Figures in build/bench/*.json.
bench: setup
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/long_document.py
	$(BIN)/python bench/ray_scaling.py
	$(BIN)/python bench/quickstart.py
	$(BIN)/python bench/embedding_speed.py
	$(BIN)/python bench/extract_speed.py
	$(BIN)/python bench/backends.py

# The shipped adapter (summarizer/trained/default/): split the dev sets in ../shared/data into
# training pairs and held-out ones (build/adapter/), LoRA-fine-tune the embedded model on the
# default pipeline's own task with `summarizer finetune`, and package the weights in half
# precision with their metadata (scripts/train_adapter.py). About 45 min on a 2-core CPU;
# rerun to resume. Then `make adapter-eval` measures it on the held-out pairs (about 25 min).
adapter: setup
	$(BIN)/python scripts/train_adapter.py

adapter-eval: setup
	$(BIN)/python scripts/train_adapter.py --split-only
	$(BIN)/summarizer eval-suite eval/adapter.toml -o build/adapter/eval
	$(BIN)/python scripts/train_adapter.py --scores build/adapter/eval/report.json

# Compression with an adapter, measured against fusion (README, "The shipped adapter"): the
# compress pipeline's task fine-tuned on the same training pairs (its compression derivation,
# without the few-shot examples), then eval/compress_adapter.toml on the held-out pairs. Not
# shipped: about 25 min of training and 20 of evaluation on a 2-core CPU; rerun to resume.
compress-adapter: setup
	$(BIN)/python scripts/train_adapter.py --split-only
	$(BIN)/summarizer finetune build/adapter/train.jsonl -o build/compress/run --eval build/adapter/heldout.jsonl \
		--pipeline compress --set 'rewrite.examples=[]' --epochs 3 --seed 0 --save-steps 20 --eval-docs 32
	$(BIN)/summarizer eval-suite eval/compress_adapter.toml -o build/compress/eval

# The shipped extractor model (summarizer/trained/extractor/): split the dev sets into training
# and held-out pairs (build/extractor/), train the learned extract strategy's scorer and length
# head with `summarizer train-extractor` (BBC only measured), package it with its metadata
# (scripts/train_extractor.py). About 3 min on a 2-core CPU. `make extractor-eval` then runs
# eval/extractor.toml on the held-out pairs and records the scores in the metadata.
extractor: setup
	$(BIN)/python scripts/train_extractor.py

extractor-eval: setup
	$(BIN)/python scripts/train_extractor.py --split-only
	$(BIN)/summarizer eval-suite eval/extractor.toml -o build/extractor/eval
	$(BIN)/python scripts/train_extractor.py --scores build/extractor/eval/report.json

# Chinese: lead-1, lead-3, extractive and default on the LCSTS dev pairs not tuned on
# (scripts/lcsts_split.py), reported in build/chinese/eval/ (about 5 min on a 2-core CPU).
chinese-eval: setup
	$(BIN)/python scripts/lcsts_split.py
	$(BIN)/summarizer eval-suite eval/chinese.toml -o build/chinese/eval

# The fine-tuning experiment (bench/finetune_news.py): split CNN/DM and XSum dev into training
# pairs and the last 100 of each, LoRA-fine-tune the default model for one epoch, then one report
# (eval/finetune_news.toml) of lead3, default and default + adapter on the held-out pairs.
# About 55 min of training and 20-25 min of evaluation on a 2-core CPU; rerun to resume.
finetune-news: setup
	$(BIN)/python bench/finetune_news.py

clean:
	rm -rf build .pytest_cache
