#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/gdt offline (no cluster): `make chart-check`, part of
# `make test`.
#   1. files/gdt-alerts.yml is the same as deploy/prometheus/gdt-alerts.yml (the chart can only
#      read files inside itself, so its PrometheusRule carries a copy).
#   2. For the defaults and each deploy/helm/gdt/ci/*.yaml: `helm lint --strict`, then
#      `helm template` (with the prometheus-operator API so ServiceMonitor/PrometheusRule
#      render), the output through `kubernetes-validate --strict` for Kubernetes 1.31 and the
#      CRD-backed objects through scripts/validate_crds.mjs.
#   3. Each secret setting in each secrets.mode: the rendered config.yaml names its file
#      (server.api_tokens_file, board.viewer_tokens_file, …) only when the values give the
#      secret, and the Secret item or Vault agent file providing it is rendered with it.
#   4. What must fail does: each ci/must-fail/*.yaml (an unknown key, a secret in config) fails
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

# The secret files of each mode: helm args, `--`, then `+TEXT` (must be in the rendered chart) or
# `-TEXT` (must not be).
secret_files() { # name, helm args..., --, +TEXT/-TEXT...
  local name=$1 rendered="$out/secret-files.yaml" args=() before=$failures; shift
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  if ! "$HELM" template gdt "$CHART" "${args[@]}" >"$rendered" 2>"$out/secret-files.log"; then
    fail "secret files, $name: helm template:"; cat "$out/secret-files.log" >&2; return
  fi
  for want in "$@"; do
    case $want in
      +*) grep -qF -- "${want#+}" "$rendered" || fail "secret files, $name: the rendered chart lacks '${want#+}'" ;;
      -*) ! grep -qF -- "${want#-}" "$rendered" || fail "secret files, $name: the rendered chart has '${want#-}', which it must not" ;;
    esac
  done
  [ "$failures" -eq "$before" ] && echo "check_chart: secret files, $name: config paths and mounts ok"
  return 0
}
app=/var/run/secrets/gdt/app
secret_files "existingSecret, defaults (no viewer tokens)" -- \
  "+api_tokens_file: $app/api-tokens" "+- key: api-tokens" \
  "-viewer_tokens_file" "-viewer-tokens"
secret_files "existingSecret with keys.viewerTokens" -f "$CHART/ci/production.yaml" -- \
  "+api_tokens_file: $app/api-tokens" "+viewer_tokens_file: $app/viewer-tokens" \
  "+- key: viewer-tokens" "+path: viewer-tokens"
secret_files "existingSecret without keys.apiTokens" --set secrets.existingSecret.keys.apiTokens= -- \
  "-api_tokens_file" "-api-tokens"
secret_files "dev with viewerTokens" -f "$CHART/ci/dev.yaml" -- \
  "+api_tokens_file: $app/api-tokens" "+viewer_tokens_file: $app/viewer-tokens" \
  "+viewer-tokens: \"dev-viewer-token-" "+- key: viewer-tokens"
secret_files "dev without viewerTokens" -f "$CHART/ci/dev.yaml" --set secrets.dev.viewerTokens= -- \
  "+api_tokens_file: $app/api-tokens" "-viewer_tokens_file" "-viewer-tokens"
secret_files "vault with fields.viewerTokens" -f "$CHART/ci/vault.yaml" -- \
  "+api_tokens_file: /vault/secrets/api-tokens" "+agent-inject-secret-api-tokens:" \
  "+viewer_tokens_file: /vault/secrets/viewer-tokens" "+agent-inject-secret-viewer-tokens:" \
  "+.Data.data.board_viewer_tokens }}"
secret_files "vault without fields.viewerTokens" -f "$CHART/ci/vault.yaml" --set secrets.vault.fields.viewerTokens= -- \
  "+api_tokens_file: /vault/secrets/api-tokens" "-viewer_tokens_file" "-viewer-tokens"

# Expected failures: the schema names the offending key(s).
expect_lint_failure() { # values file, texts the error must contain...
  local log="$out/must-fail.log" file=$1 text; shift
  if "$HELM" lint --strict "$CHART" -f "$file" >"$log" 2>&1; then
    fail "$file: helm lint --strict passed, but the schema must refuse it"; return
  fi
  for text in "$@"; do
    grep -q "$text" "$log" || { fail "$file: helm lint --strict failed without naming '$text':"; cat "$log" >&2; return; }
  done
  echo "check_chart: $(basename "$file"): refused by values.schema.json as it must be"
}
expect_lint_failure "$CHART/ci/must-fail/typo.yaml" "Additional property replcas is not allowed"
expect_lint_failure "$CHART/ci/must-fail/secret-in-config.yaml" "Additional property api_tokens is not allowed" \
  "Additional property viewer_tokens is not allowed"
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
