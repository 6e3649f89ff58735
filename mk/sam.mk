# SAM packaging (included by the root Makefile). No Docker anywhere: the function and both layers use
# `BuildMethod: makefile` (functions/api/Makefile, layers/deps/Makefile, layers/models/Makefile).
#
#   make lint              cfn-lint + `sam validate --lint` on template.yaml, and the requirements link check
#   make sam-build         `sam build` into .aws-sam/build, then the unzipped size of each artifact and of
#                          function + layers, failing above Lambda's 250 MB
#   make deps-layer-smoke  the deps layer's trim applied to host wheels, then imported and run (see smoke.py)
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

.PHONY: sam-venv lint check-requirements sam-build deps-layer-smoke

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
	@total=0; for name in ApiFunction DepsLayer ModelsLayer; do \
		bytes=$$(du -sb $(SAM_BUILD_DIR)/$$name | cut -f1); total=$$((total + bytes)); \
		awk -v n=$$name -v b=$$bytes 'BEGIN { printf "  %-12s %8.1f MB unzipped\n", n, b / 1048576 }'; \
	done; \
	awk -v b=$$total -v m=$(LAMBDA_UNZIPPED_MAX) \
		'BEGIN { printf "  %-12s %8.1f MB unzipped (Lambda limit %.0f MB)\n", "total", b / 1048576, m / 1048576 }'; \
	if [ $$total -gt $(LAMBDA_UNZIPPED_MAX) ]; then \
		echo "function + layers exceed Lambda's 250 MB unzipped limit" >&2; exit 1; fi

deps-layer-smoke: sam-venv
	$(SAM_PY) layers/deps/smoke.py --workdir .cache/deps-smoke
