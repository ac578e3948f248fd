#!/usr/bin/env bash
# Offline checks of deploy/platform/ (the Temporal platform around our chart); `make platform-check`.
#
#  1. The official Temporal chart (temporal 1.6.0) rendered with deploy/platform/temporal/values.yaml,
#     and with values-dev.yaml on top, when a copy of the chart is on this machine (see below);
#     the output through kubernetes-validate --strict and the CRD schemas.
#  2. Every plain manifest under deploy/platform through `kubernetes-validate --strict -k 1.31`;
#     a kind it has no schema for is an error unless it is a custom resource of a group whose
#     schemas scripts/validate_crds.mjs has (so `kind: NetworkPolicyy` does not pass as unknown).
#  3. The custom resources (Certificate, ClusterIssuer, SecretStore, ExternalSecret, Application,
#     AppProject, ServiceMonitor, PrometheusRule) against their CRD schemas (validate_crds.mjs),
#     with our alerts' PrometheusRule (deploy/prometheus/gdt-prometheusrule.yaml).
#     Our chart (deploy/helm/gdt) rendered with deploy/platform/gdt/values.yaml, the same way.
#  4. The names shared between files (Secrets and keys, Application paths, sync waves, search
#     attributes, namespaces, Pod Security of the rendered pods): scripts/check_platform_refs.mjs.
#
# The chart is not in this repository (only what this project writes is); the check renders it
# from TEMPORAL_CHART (a directory or .tgz), by default .tools/charts/temporal, and says SKIP for
# step 1 when there is none. To get it on a machine that reaches the chart's Helm repository:
#   .tools/bin/helm pull temporal --repo https://go.temporal.io/helm-charts --version 1.6.0 \
#     --untar --untardir .tools/charts
# Set PLATFORM_REQUIRE_CHART=1 to make a missing chart an error.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM=.tools/bin/helm
KV=.venv/bin/kubernetes-validate
K8S_VERSION=1.31
CHART=${TEMPORAL_CHART:-.tools/charts/temporal}
CHART_VERSION=1.6.0
PLATFORM=deploy/platform
# The groups whose schemas validate_crds.mjs has (kubernetes-validate only warns on them).
CRD_GROUPS='cert-manager\.io|argoproj\.io|external-secrets\.io|monitoring\.coreos\.com'

for tool in "$HELM" "$KV"; do
  [ -x "$tool" ] || { echo "check_platform: $tool is missing; run make bootstrap" >&2; exit 1; }
done
command -v node >/dev/null || { echo "check_platform: node is missing" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# kubernetes-validate FILE...: strict schema validation; a "Couldn't find schema" warning is an
# error unless the apiVersion is of a CRD group checked by validate_crds.mjs.
kvalidate() {
  local out rc=0
  out=$("$KV" --strict -k "$K8S_VERSION" --quiet "$@" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$out" | grep -v '^INFO' | grep -Ev "Couldn't find schema .* api version ($CRD_GROUPS)/" >&2
    echo "check_platform: kubernetes-validate --strict -k $K8S_VERSION failed (above)" >&2
    return 1
  fi
  local unknown
  unknown=$(echo "$out" | grep "Couldn't find schema" | grep -Ev "api version ($CRD_GROUPS)/" || true)
  if [ -n "$unknown" ]; then
    echo "$unknown" >&2
    echo "check_platform: kinds with no schema anywhere (a typo in kind or apiVersion?)" >&2
    return 1
  fi
}

failed=0

# --- 1. The Temporal chart ----------------------------------------------------------------------
rendered=()
if [ -e "$CHART" ]; then
  version=$("$HELM" show chart "$CHART" | sed -n 's/^version: //p')
  if [ "$version" != "$CHART_VERSION" ]; then
    echo "check_platform: $CHART is chart version $version, the platform is written for $CHART_VERSION (deploy/platform/argocd/apps/temporal.yaml)" >&2
    failed=1
  fi
  for set in "values.yaml" "values.yaml values-dev.yaml"; do
    args=()
    for f in $set; do args+=(-f "$PLATFORM/temporal/$f"); done
    out="$work/temporal-${set// /+}"
    if ! "$HELM" template temporal "$CHART" --namespace temporal "${args[@]}" \
        --api-versions monitoring.coreos.com/v1 >"$out" 2>"$out.err"; then
      cat "$out.err" >&2
      echo "check_platform: helm template of the Temporal chart failed with $set" >&2
      failed=1
      continue
    fi
    kvalidate "$out" || failed=1
    node scripts/validate_crds.mjs "$out" >/dev/null || { node scripts/validate_crds.mjs "$out" >&2 || true; failed=1; }
    rendered+=("temporal=$out")
    echo "check_platform: Temporal chart $version rendered with $set: $(grep -c '^kind:' "$out") objects valid"
  done
else
  if [ "${PLATFORM_REQUIRE_CHART:-0}" = 1 ]; then
    echo "check_platform: no Temporal chart at $CHART (TEMPORAL_CHART)" >&2
    exit 1
  fi
  echo "check_platform: SKIP rendering the Temporal chart: no copy at $CHART (see deploy/platform/README.md); the values are still cross-checked below"
fi

# Our chart with the platform's values for it (deploy/platform/gdt/values.yaml), once the chart is
# in the tree (GDT_CHART overrides where). Its own checks are the chart's; this one proves the
# platform's values fit its schema and what they name is made by the manifests here.
GDT_CHART=${GDT_CHART:-deploy/helm/gdt}
if [ -f "$GDT_CHART/Chart.yaml" ]; then
  out="$work/gdt-platform.yaml"
  if "$HELM" template gdt "$GDT_CHART" --namespace gdt -f "$PLATFORM/gdt/values.yaml" \
      --api-versions monitoring.coreos.com/v1 >"$out" 2>"$out.err"; then
    kvalidate "$out" || failed=1
    node scripts/validate_crds.mjs "$out" >/dev/null || { node scripts/validate_crds.mjs "$out" >&2 || true; failed=1; }
    rendered+=("gdt=$out")
    echo "check_platform: gdt chart rendered with $PLATFORM/gdt/values.yaml: $(grep -c '^kind:' "$out") objects valid"
  else
    cat "$out.err" >&2
    echo "check_platform: helm template of $GDT_CHART with $PLATFORM/gdt/values.yaml failed" >&2
    failed=1
  fi
else
  echo "check_platform: SKIP rendering our chart: no $GDT_CHART/Chart.yaml yet; $PLATFORM/gdt/values.yaml is still cross-checked below"
fi

# --- 2 and 3. Plain manifests ------------------------------------------------------------------
# Everything under deploy/platform but the charts' values files (temporal/, gdt/: not manifests).
mapfile -t manifests < <(find "$PLATFORM" -name '*.yaml' -not -path "$PLATFORM/temporal/*" -not -path "$PLATFORM/gdt/*" -not -path "$PLATFORM/vendor/*" | sort)
if [ "${#manifests[@]}" -eq 0 ]; then
  echo "check_platform: no manifests under $PLATFORM" >&2
  exit 1
fi
kvalidate "${manifests[@]}" || failed=1
node scripts/validate_crds.mjs "${manifests[@]}" deploy/prometheus/gdt-prometheusrule.yaml || failed=1

# --- 4. Cross-references -----------------------------------------------------------------------
node scripts/check_platform_refs.mjs "${rendered[@]}" || failed=1

if [ "$failed" -ne 0 ]; then
  echo "check_platform: FAILED" >&2
  exit 1
fi
echo "check_platform: ${#manifests[@]} manifests and ${#rendered[@]} chart renderings valid"
