# Two commands do all the set-up on a fresh machine:
#   make run    the tracker on its embedded default (`gdt dev`)
#   make test   fmt check, clippy -D warnings, `make obs-check`, `make deploy-check`, every test (against a real
#               Temporal dev server)
#   make deploy-check  everything under deploy/, offline (the three below)
#   make platform-check  deploy/platform: Temporal chart values, manifests, CRD schemas, names
#   make image-check  the Dockerfile, .dockerignore, deploy/compose and the CI workflow, offline
#   make chart-check  the Helm chart deploy/helm/gdt, offline (scripts/check_chart.sh)
#   make obs-check  the alert rules (promtool check/test rules), the PrometheusRule and the
#               Grafana dashboards (scripts/check_observability.py)
# And the harness (crates/bench), on release builds:
#   make bench  throughput, latency, GitHub cost, CPU, memory; the API and webhooks under
#               HTTP load -> target/bench/report.json (sizes: make bench
#               BENCH_ARGS="--deployments 200 --api-requests 100 --webhooks 50 --idle 1000");
#               the board's reader API with 10,000 deployments behind it and 20 pages open
#               (about 15 minutes, not in the default list): BENCH_ARGS="--scenarios board"
#   make chaos  load under worker kills, a Temporal restart and GitHub faults, then an audit
#               -> target/chaos/report.json; fails on any loss, duplicate or stuck workflow
#               (quick: make chaos CHAOS_ARGS=--small)
# Each installs what is missing first (scripts/bootstrap.sh: protoc, promtool, the temporal CLI
# in .venv/).

SHELL := /bin/bash
CARGO ?= cargo
export GDT_TEMPORAL_CLI := $(CURDIR)/.venv/bin/temporal

.PHONY: run test bootstrap build fmt lint obs-check deploy-check chart-check platform-check image-check unit clean bench chaos

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(CARGO) build --workspace

run: bootstrap
	$(CARGO) run -p gdt -- dev

fmt:
	$(CARGO) fmt --all

lint: bootstrap
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint obs-check deploy-check
	$(CARGO) test --workspace

obs-check: bootstrap
	python3 scripts/check_observability.py

# deploy/platform: the Temporal chart's values rendered (when a copy of the chart is here, see
# deploy/platform/README.md), every manifest through kubernetes-validate and the CRD schemas, and
# the names shared between them (scripts/check_platform.sh).
platform-check: bootstrap
	bash scripts/check_platform.sh

# The Dockerfile (hadolint, pins, non-root), .dockerignore, deploy/compose (docker-compose
# config, mounts, hardening, promtool on its Prometheus config) and the CI workflow (actionlint,
# shellcheck), offline: no image is built and no container started.
image-check: bootstrap
	bash scripts/check_image.sh

# The Helm chart, offline: lint --strict, template and kubernetes-validate with each values file
# in deploy/helm/gdt/ci/, the CRD objects against their schemas, the typo and secret refusals.
chart-check: bootstrap
	bash scripts/check_chart.sh

# Everything under deploy/, offline: no image is built, no cluster is touched.
deploy-check: chart-check platform-check image-check

BENCH_ARGS ?=
CHAOS_ARGS ?=

# Benchmarks measure release builds; gdt-bench finds gdt next to itself. The binary is run
# directly: `cargo run -p gdt-bench` alone would resolve features differently from the build
# of both packages and compile gdt-bench a second time.
RELEASE_DIR := $(or $(CARGO_TARGET_DIR),target)/release

bench: bootstrap
	$(CARGO) build --release -p gdt -p gdt-bench
	$(RELEASE_DIR)/gdt-bench run $(BENCH_ARGS)

chaos: bootstrap
	$(CARGO) build --release -p gdt -p gdt-bench
	$(RELEASE_DIR)/gdt-bench chaos $(CHAOS_ARGS)

clean:
	$(CARGO) clean
