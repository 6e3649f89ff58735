# SAM packaging (included by the root Makefile). No Docker anywhere: the function and both layers use
# `BuildMethod: makefile` (functions/api/Makefile, layers/deps/Makefile, layers/models/Makefile).
#
#   make lint              cfn-lint + `sam validate --lint` on template.yaml, and the requirements link check
#   make sam-build         `sam build` into .aws-sam/build, then the unzipped size of each artifact and of
#                          each function with its layers, failing above Lambda's 250 MB
#   make artifact-test     the function and its layers run as Lambda runs them (see below; it replaces the
#                          former deps-layer-smoke, whose checks it runs on the layer the recipe itself built)
#
# The tools live in .venv-sam (pins in mk/requirements-sam.txt), apart from the dev venv.

SAM_VENV := .venv-sam
SAM_PY := $(SAM_VENV)/bin/python
SAM_BUILD_DIR := .aws-sam/build
# Lambda's quota for a function plus all its layers, unzipped: 250 MB = 262,144,000 bytes.
LAMBDA_UNZIPPED_MAX := 262144000
# No telemetry prompt; validate needs a region but no credentials; the deps layer's pip runs on the venv's
# python (any CPython >= 3.9 with a recent pip works: it only downloads and unpacks wheels).
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 DEPS_PYTHON=$(abspath $(SAM_PY))

.PHONY: sam-venv lint check-requirements sam-build

$(SAM_VENV)/.installed: mk/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_PY) -m pip install --quiet --upgrade pip
	$(SAM_PY) -m pip install --quiet -r mk/requirements-sam.txt
	touch $@

sam-venv: $(SAM_VENV)/.installed

# layers/deps/requirements.txt is a symlink to the root requirements.txt (sam copies only layers/deps/ to
# its scratch dir, so the layer needs the file inside it). Fail if it was ever replaced by a diverging copy.
check-requirements:
	@cmp -s requirements.txt layers/deps/requirements.txt || \
		{ echo "layers/deps/requirements.txt differs from requirements.txt: restore the link with" \
		  "'ln -sfn ../../requirements.txt layers/deps/requirements.txt'" >&2; exit 1; }

lint: sam-venv check-requirements
	$(SAM_ENV) $(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

sam-build: sam-venv check-requirements
	$(SAM_ENV) $(SAM_VENV)/bin/sam build --template-file template.yaml --build-dir $(SAM_BUILD_DIR)
	@for name in ApiFunction VideoWorkerFunction DepsLayer ModelsLayer VideoLayer; do \
		bytes=$$(du -sb $(SAM_BUILD_DIR)/$$name | cut -f1); \
		awk -v n=$$name -v b=$$bytes 'BEGIN { printf "  %-20s %8.1f MB unzipped\n", n, b / 1048576 }'; \
	done
	@# Lambda's limit holds for each function with all its layers (template.yaml's Layers lists).
	@fail=0; for parts in "ApiFunction DepsLayer ModelsLayer" "VideoWorkerFunction DepsLayer ModelsLayer VideoLayer"; do \
		total=$$(du -sbc $$(for p in $$parts; do echo $(SAM_BUILD_DIR)/$$p; done) | tail -1 | cut -f1); \
		awk -v n="$${parts%% *} + layers" -v b=$$total -v m=$(LAMBDA_UNZIPPED_MAX) \
			'BEGIN { printf "  %-34s %8.1f MB unzipped (Lambda limit %.0f MB)\n", n, b / 1048576, m / 1048576 }'; \
		if [ $$total -gt $(LAMBDA_UNZIPPED_MAX) ]; then \
			echo "$${parts%% *} and its layers exceed Lambda's 250 MB unzipped limit" >&2; fail=1; fi; \
	done; exit $$fail

# The artifact test: the function and its layers, built by the same makefiles
# `sam build` runs, laid out as Lambda loads them and served by the Lambda Runtime Interface Emulator, then
# driven with Function URL events (tests/artifact/). No Docker:
#
#   make artifact-test   build .cache/artifact/{ApiFunction,VideoWorkerFunction,DepsLayer,ModelsLayer,
#                        VideoLayer,runtime}, then run tests/artifact in a private mount namespace (/var/task,
#                        /opt, /var/runtime)
#
# - ApiFunction, VideoWorkerFunction: functions/api/Makefile, as sam runs it. The API function is served by the
#   emulator and driven with requests; the video worker's layout imports everything and decodes a video.
# - DepsLayer: layers/deps/Makefile with DEPS_PLATFORM / DEPS_PYTHON_VERSION set to this machine's CPU and the
#   runtime's Python: a host twin of the arm64 / 3.12 layer, from the same requirements with the same trim.
# - ModelsLayer: layers/models/Makefile's export, as sam runs it (the int8 models, notices, manifest).
# - VideoLayer: layers/video/Makefile's twin (VIDEO_PLATFORM / VIDEO_PYTHON_VERSION), the same way.
# - runtime: awslambdaric and its dependencies (mk/requirements-artifact.txt), the emulated /var/runtime.
# - The emulator: aws-lambda-rie from the aws-sam-cli wheel in .venv-sam (mk/requirements-sam.txt).
# The runtime's Python is the dev venv's base interpreter (run with -S: none of the venv's packages); another
# CPython can be named, e.g. `make artifact-test ARTIFACT_PYTHON=/path/to/python3.12` for a twin closer to
# Lambda's python3.12 (the twin and the runtime are rebuilt for it).
# It needs root or unprivileged user namespaces (`unshare --mount`); without them the test skips on a developer
# machine and fails under CI. The emulator's and the function's output of the last run: .cache/artifact/lambda.log

ARTIFACT_DIR := .cache/artifact
ARTIFACT_ABS := $(abspath $(ARTIFACT_DIR))
HOST_ARCH := $(shell uname -m)
RIE_ARCH := $(if $(filter aarch64 arm64,$(HOST_ARCH)),arm64,x86_64)
TWIN_PLATFORM := $(if $(filter aarch64 arm64,$(HOST_ARCH)),aarch64,x86_64)
# Evaluated when used (the venvs exist by then).
ARTIFACT_PYTHON ?= $(shell $(PY) -c 'import sys; print(sys._base_executable)')
ARTIFACT_PYTHON_VERSION = $(shell $(ARTIFACT_PYTHON) -S -c 'import sys; print("%d.%d" % sys.version_info[:2])')
RIE = $(shell $(SAM_PY) -c 'import pathlib, samcli; print(pathlib.Path(samcli.__file__).parent)')/local/rapid/aws-lambda-rie-$(RIE_ARCH)
# Wheels for the runtime's CPython on this CPU, whatever interpreter runs pip (.venv-sam's).
TWIN_PIP = $(abspath $(SAM_PY)) -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
	--no-compile --only-binary=:all: --implementation cp --python-version $(ARTIFACT_PYTHON_VERSION) \
	--platform manylinux2014_$(TWIN_PLATFORM) --platform manylinux_2_28_$(TWIN_PLATFORM)

.PHONY: artifact-build artifact-test FORCE

# Which interpreter and CPU the twin is for: rewritten only when that changes, so the stamps below rebuild then.
$(ARTIFACT_DIR)/python.id: FORCE | $(VENV)/.installed
	@mkdir -p $(ARTIFACT_DIR); id="$(ARTIFACT_PYTHON) $(ARTIFACT_PYTHON_VERSION) $(TWIN_PLATFORM)"; \
		[ "$$(cat $@ 2>/dev/null)" = "$$id" ] || echo "$$id" > $@

# The deps twin is the slow part (pip): rebuilt only when what it is made of changes.
$(ARTIFACT_DIR)/DepsLayer.stamp: $(ARTIFACT_DIR)/python.id $(SAM_VENV)/.installed requirements.txt \
		layers/deps/Makefile layers/deps/trim.py mk/sam.mk
	rm -rf $(ARTIFACT_DIR)/DepsLayer && mkdir -p $(ARTIFACT_DIR)/DepsLayer
	$(MAKE) --no-print-directory -C layers/deps build-DepsLayer ARTIFACTS_DIR=$(ARTIFACT_ABS)/DepsLayer \
		DEPS_PLATFORM=$(TWIN_PLATFORM) DEPS_PYTHON_VERSION=$(ARTIFACT_PYTHON_VERSION) DEPS_PYTHON=$(abspath $(SAM_PY))
	touch $@

$(ARTIFACT_DIR)/runtime.stamp: $(ARTIFACT_DIR)/python.id $(SAM_VENV)/.installed mk/requirements-artifact.txt
	rm -rf $(ARTIFACT_DIR)/runtime
	$(TWIN_PIP) --no-deps --target $(ARTIFACT_DIR)/runtime --requirement mk/requirements-artifact.txt
	touch $@

# The video layer's twin, the same way (layers/video/Makefile: VIDEO_PLATFORM / VIDEO_PYTHON_VERSION). Its size
# budget is for the arm64 layer Lambda gets (`make sam-build` checks that one): the x86_64 wheel is ~170 MiB.
$(ARTIFACT_DIR)/VideoLayer.stamp: $(ARTIFACT_DIR)/python.id $(SAM_VENV)/.installed layers/video/requirements.txt \
		layers/video/Makefile layers/video/check.py mk/sam.mk
	rm -rf $(ARTIFACT_DIR)/VideoLayer && mkdir -p $(ARTIFACT_DIR)/VideoLayer
	$(MAKE) --no-print-directory -C layers/video build-VideoLayer ARTIFACTS_DIR=$(ARTIFACT_ABS)/VideoLayer \
		VIDEO_PLATFORM=$(TWIN_PLATFORM) VIDEO_PYTHON_VERSION=$(ARTIFACT_PYTHON_VERSION) VIDEO_PYTHON=$(abspath $(SAM_PY)) \
		VIDEO_MAX_MB=400
	touch $@

artifact-build: $(ARTIFACT_DIR)/DepsLayer.stamp $(ARTIFACT_DIR)/VideoLayer.stamp $(ARTIFACT_DIR)/runtime.stamp models
	for fn in ApiFunction VideoWorkerFunction; do \
		rm -rf $(ARTIFACT_DIR)/$$fn && mkdir -p $(ARTIFACT_DIR)/$$fn && \
		$(MAKE) --no-print-directory -C functions/api build-$$fn ARTIFACTS_DIR=$(ARTIFACT_ABS)/$$fn || exit 1; \
	done
	mkdir -p $(ARTIFACT_DIR)/ModelsLayer
	$(MAKE) --no-print-directory -f layers/models/Makefile build-ModelsLayer ARTIFACTS_DIR=$(ARTIFACT_ABS)/ModelsLayer

artifact-test: artifact-build
	@echo "artifact-test: python $(ARTIFACT_PYTHON) ($(ARTIFACT_PYTHON_VERSION), $(HOST_ARCH)), emulator $(notdir $(RIE))"
	@FACESEARCH_ARTIFACT=$(ARTIFACT_ABS) FACESEARCH_RIE=$(RIE) FACESEARCH_ARTIFACT_PYTHON=$(ARTIFACT_PYTHON) \
		$(PY) -m pytest -q --tb=short -p no:cacheprovider tests/artifact || { \
		echo "artifact-test failed: the emulator's and the function's output is in $(ARTIFACT_DIR)/lambda.log"; exit 1; }
