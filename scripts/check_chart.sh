#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/gdt offline (no cluster): `make chart-check`, part of
# `make test`.
#   1. files/gdt-alerts.yml is the same as deploy/prometheus/gdt-alerts.yml (the chart can only
#      read files inside itself, so its PrometheusRule carries a copy).
#   2. For the defaults and each deploy/helm/gdt/ci/*.yaml: `helm lint --strict`, then
#      `helm template` (with the prometheus-operator API so ServiceMonitor/PrometheusRule
#      render), the output through `kubernetes-validate --strict` for Kubernetes 1.31 and the
#      CRD-backed objects through scripts/validate_crds.mjs.
#   3. What must fail does: each ci/must-fail/*.yaml (an unknown key, a secret in config) fails
#      `helm lint --strict` through values.schema.json with the key named, and secrets.mode dev
#      without its consent flag refuses to render.
# Exits non-zero naming the values file and what is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART=deploy/helm/gdt
HELM=.tools/bin/helm
KV=.venv/bin/kubernetes-validate
NODE_BIN=${NODE:-node}
for tool in "$HELM" "$KV"; do
  [ -x "$tool" ] || { echo "check_chart: $tool is missing; run make bootstrap" >&2; exit 1; }
done

failures=0
fail() { echo "check_chart: FAIL: $*" >&2; failures=$((failures + 1)); }

if ! cmp -s deploy/prometheus/gdt-alerts.yml "$CHART/files/gdt-alerts.yml"; then
  fail "$CHART/files/gdt-alerts.yml differs from deploy/prometheus/gdt-alerts.yml; copy it: cp deploy/prometheus/gdt-alerts.yml $CHART/files/"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

render_and_validate() { # name, helm args...
  local name=$1; shift
  local log="$out/$name.log" rendered="$out/$name.yaml" before=$failures
  if ! "$HELM" lint --strict "$CHART" "$@" >"$log" 2>&1 || grep -q '\[ERROR\]\|Fail:' "$log"; then
    fail "$name: helm lint --strict:"; cat "$log" >&2; return
  fi
  if ! "$HELM" template gdt "$CHART" --namespace gdt --api-versions monitoring.coreos.com/v1 "$@" >"$rendered" 2>"$log"; then
    fail "$name: helm template:"; cat "$log" >&2; return
  fi
  if ! "$KV" --strict -k 1.31 --quiet "$rendered" >"$log" 2>&1; then
    fail "$name: kubernetes-validate --strict -k 1.31 on the rendered chart:"; cat "$log" >&2
  fi
  if ! "$NODE_BIN" scripts/validate_crds.mjs "$rendered" >"$log" 2>&1; then
    fail "$name: scripts/validate_crds.mjs on the rendered chart:"; cat "$log" >&2
  fi
  [ "$failures" -eq "$before" ] || return 0
  echo "check_chart: $name: lint, template, kubernetes-validate, CRD schemas ok ($(grep -c '^kind:' "$rendered") objects)"
}

render_and_validate defaults
for values in "$CHART"/ci/*.yaml; do
  render_and_validate "$(basename "$values" .yaml)" -f "$values"
done

# Expected failures: the schema names the offending key.
expect_lint_failure() { # values file, text the error must contain
  local log="$out/must-fail.log"
  if "$HELM" lint --strict "$CHART" -f "$1" >"$log" 2>&1; then
    fail "$1: helm lint --strict passed, but the schema must refuse it"
  elif ! grep -q "$2" "$log"; then
    fail "$1: helm lint --strict failed without naming '$2':"; cat "$log" >&2
  else
    echo "check_chart: $(basename "$1"): refused by values.schema.json as it must be"
  fi
}
expect_lint_failure "$CHART/ci/must-fail/typo.yaml" "Additional property replcas is not allowed"
expect_lint_failure "$CHART/ci/must-fail/secret-in-config.yaml" "Additional property api_tokens is not allowed"
if "$HELM" template gdt "$CHART" -f "$CHART/ci/must-fail/dev-without-consent.yaml" >/dev/null 2>"$out/dev.log"; then
  fail "$CHART/ci/must-fail/dev-without-consent.yaml: rendered, but secrets.mode dev needs secrets.dev.iKnowThisIsNotForProduction"
elif ! grep -q "iKnowThisIsNotForProduction" "$out/dev.log"; then
  fail "$CHART/ci/must-fail/dev-without-consent.yaml: failed without naming the consent flag:"; cat "$out/dev.log" >&2
else
  echo "check_chart: dev-without-consent.yaml: refused to render as it must be"
fi

if [ "$failures" -gt 0 ]; then
  echo "check_chart: $failures check(s) failed" >&2
  exit 1
fi
echo "check_chart: all chart checks passed"
