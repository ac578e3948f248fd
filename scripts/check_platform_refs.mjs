#!/usr/bin/env node
// Cross-checks deploy/platform: the names one file produces and another consumes, which no schema
// sees.
//
//  1. Every Secret the Temporal values consume (existingSecret/secretKey of the stores, secret
//     volumes, and the certificate files server.config.tls and the TLS variables name) is made by
//     an ExternalSecret or a cert-manager Certificate in namespace temporal, with that key.
//     With rendered chart output as arguments, every secretKeyRef and secret volume in it too.
//  2. gdt/values.yaml (how our chart is wired into the platform): the Secrets and keys it names
//     are made in namespace gdt, its Temporal namespace is created, its host_port is the
//     frontend Service and its TLS server name is in the frontend's certificate. With rendered
//     gdt chart output (gdt=FILE), every secret reference in it too.
//  3. The Argo CD Applications: every path and value file they name exists in this repository,
//     and their sync waves bring namespaces first, then certificates/secrets, Temporal, gdt last.
//  4. The search-attribute Job registers exactly the attributes crates/tracker declares, each
//     with its type.
//  5. Every namespace an object is put in is created in namespaces.yaml (or is cert-manager's or
//     Argo CD's own).
//  6. With rendered output: every pod meets the `restricted` Pod Security level that namespace
//     temporal enforces; numHistoryShards is a positive integer in the values.
// Usage: node scripts/check_platform_refs.mjs [NAMESPACE=RENDERED.yaml ...]
// Prints `FILE: problem` per error; exits 1 on any.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const modules = process.env.GDT_NODE_MODULES ?? join(repo, ".tools", "node", "node_modules");
const yaml = await import(pathToFileURL(join(modules, "js-yaml", "dist", "js-yaml.mjs")).href);
const platform = join(repo, "deploy", "platform");

let errors = 0;
const fail = (file, msg) => {
  const rel = relative(repo, file);
  console.error(`${rel.startsWith("..") ? `rendered chart ${basename(file)}` : rel || "."}: ${msg}`);
  errors += 1;
};
const load = (file) => yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d && typeof d === "object");
function yamlFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!["vendor", "temporal", "gdt"].includes(name)) out.push(...yamlFiles(path));
    } else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

// --- What the manifests produce -------------------------------------------------------------
const manifests = yamlFiles(platform).map((file) => ({ file, docs: load(file) }));
const produced = new Map(); // "ns/name" -> Set(keys)
const addSecret = (ns, name, keys) => {
  const id = `${ns}/${name}`;
  if (!produced.has(id)) produced.set(id, new Set());
  for (const k of keys) produced.get(id).add(k);
};
const namespaces = new Set(["cert-manager", "argocd"]);
for (const { docs } of manifests) {
  for (const d of docs) {
    if (d.kind === "Namespace") namespaces.add(d.metadata.name);
    if (d.kind === "ExternalSecret") {
      addSecret(d.metadata.namespace, d.spec.target?.name ?? d.metadata.name, (d.spec.data ?? []).map((x) => x.secretKey));
    }
    if (d.kind === "Certificate") {
      addSecret(d.metadata.namespace, d.spec.secretName, ["tls.crt", "tls.key", "ca.crt"]);
    }
  }
}
const has = (ns, name, key) => produced.has(`${ns}/${name}`) && (key === undefined || produced.get(`${ns}/${name}`).has(key));

// 5. namespaces
for (const { file, docs } of manifests) {
  for (const d of docs) {
    const ns = d.metadata?.namespace;
    if (ns && !namespaces.has(ns)) fail(file, `${d.kind}/${d.metadata.name} is in namespace ${ns}, which namespaces.yaml does not create`);
    const dest = d.kind === "Application" ? d.spec?.destination?.namespace : undefined;
    if (dest && !namespaces.has(dest)) fail(file, `Application ${d.metadata.name} deploys to namespace ${dest}, which namespaces.yaml does not create`);
  }
}

// --- 1. The Temporal values -------------------------------------------------------------------
const valueFiles = ["values.yaml", "values-dev.yaml"].map((f) => join(platform, "temporal", f)).filter(existsSync);
if (valueFiles.length === 0) fail(join(platform, "temporal"), "no values.yaml");
const walk = (node, visit, path = []) => {
  if (Array.isArray(node)) node.forEach((v, i) => walk(v, visit, [...path, i]));
  else if (node && typeof node === "object") {
    visit(node, path);
    for (const [k, v] of Object.entries(node)) walk(v, visit, [...path, k]);
  }
};
function checkPodSecrets(file, node, where, ns = "temporal") {
  // secretKeyRef and secret volumes anywhere under node.
  walk(node, (obj, path) => {
    if (obj.secretKeyRef && !has(ns, obj.secretKeyRef.name, obj.secretKeyRef.key)) {
      fail(file, `${where}${path.join(".")}: Secret ${obj.secretKeyRef.name} key ${obj.secretKeyRef.key} is made by no ExternalSecret/Certificate in namespace ${ns}`);
    }
    if (obj.secret?.secretName) {
      if (!has(ns, obj.secret.secretName)) {
        fail(file, `${where}${path.join(".")}: Secret ${obj.secret.secretName} is made by no ExternalSecret/Certificate in namespace ${ns}`);
      }
      for (const item of obj.secret.items ?? []) {
        if (!has(ns, obj.secret.secretName, item.key)) {
          fail(file, `${where}${path.join(".")}: Secret ${obj.secret.secretName} has no key ${item.key} (made in namespace ${ns})`);
        }
      }
    }
  });
}
// Files a container names in its environment (certificate paths) under a mounted Secret must be
// keys of that Secret (or paths of its `items`).
function checkEnvFiles(file, pod, where, ns) {
  if (!pod) return;
  const volumes = new Map((pod.volumes ?? []).filter((v) => v.secret).map((v) => [v.name, v.secret]));
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const mounts = (c.volumeMounts ?? []).filter((m) => volumes.has(m.name)).map((m) => [m.mountPath.replace(/\/$/, ""), volumes.get(m.name)]);
    for (const e of c.env ?? []) {
      if (typeof e.value !== "string") continue;
      const mount = mounts.find(([dir]) => e.value.startsWith(dir + "/"));
      if (!mount) continue;
      const rest = e.value.slice(mount[0].length + 1);
      const [, secret] = mount;
      const key = secret.items ? secret.items.find((i) => i.path === rest)?.key : rest;
      if (key === undefined) fail(file, `${where}container ${c.name} env ${e.name}: ${e.value} is not among the items mounted from Secret ${secret.secretName}`);
      else if (!has(ns, secret.secretName, key)) fail(file, `${where}container ${c.name} env ${e.name}: ${e.value}: Secret ${secret.secretName} has no key ${key} (made in namespace ${ns})`);
    }
  }
}
const podOf = (d) => (d.kind === "Pod" ? d.spec : d.spec?.template?.spec ?? d.spec?.jobTemplate?.spec?.template?.spec);
let searchJob = null;
const temporalNamespaces = new Set();
for (const file of valueFiles) {
  const values = yaml.load(readFileSync(file, "utf8")) ?? {};
  // Stores: existingSecret + secretKey (default `password`).
  walk(values, (obj, path) => {
    if (typeof obj.existingSecret === "string") {
      const key = obj.secretKey ?? "password";
      if (!has("temporal", obj.existingSecret, key)) {
        fail(file, `${path.join(".")}.existingSecret: Secret ${obj.existingSecret} key ${key} is made by no ExternalSecret in namespace temporal`);
      }
    }
  });
  checkPodSecrets(file, values, "");
  for (const n of values.server?.config?.namespaces?.namespace ?? []) temporalNamespaces.add(n.name);
  // The shard count is fixed at the cluster's creation: it must be set, and be a number, in
  // the production values (and be one wherever another file overrides it).
  const shards = values.server?.config?.persistence?.numHistoryShards;
  if ((shards !== undefined || file.endsWith("/values.yaml")) && !(Number.isInteger(shards) && shards > 0)) {
    fail(file, `server.config.persistence.numHistoryShards must be a positive integer, not ${JSON.stringify(shards)}`);
  }
  // Certificate files: each absolute path under a secret volume mount must be a key of that Secret.
  for (const section of [values.server, values.admintools, values.web]) {
    if (!section) continue;
    const volumes = new Map((section.additionalVolumes ?? []).map((v) => [v.name, v.secret?.secretName]));
    const mounts = (section.additionalVolumeMounts ?? []).map((m) => [m.mountPath.replace(/\/$/, ""), volumes.get(m.name), m.name]);
    for (const [, secret, name] of mounts) {
      if (!secret) fail(file, `volume mount ${name} has no secret volume of that name`);
    }
    walk(section, (obj, path) => {
      for (const [k, v] of Object.entries(obj)) {
        if (k === "mountPath" || typeof v !== "string" || !v.startsWith("/etc/temporal/tls/")) continue;
        const mount = mounts.find(([dir]) => v.startsWith(dir + "/"));
        if (!mount) fail(file, `${[...path, k].join(".")}: ${v} is under no mounted Secret`);
        else if (mount[1] && !has("temporal", mount[1], v.slice(mount[0].length + 1))) {
          fail(file, `${[...path, k].join(".")}: ${v}: Secret ${mount[1]} has no key ${v.slice(mount[0].length + 1)}`);
        }
      }
    });
  }
  for (const obj of values.extraObjects ?? []) {
    const doc = yaml.load(obj);
    checkPodSecrets(file, doc, `extraObjects ${doc?.metadata?.name}: `);
    checkEnvFiles(file, podOf(doc), `extraObjects ${doc?.metadata?.name}: `, "temporal");
    if (doc?.metadata?.name === "temporal-gdt-search-attributes") searchJob = { file, doc };
  }
}
// Namespace temporal enforces the `restricted` Pod Security level: a pod that misses it is
// refused at admission, which only a cluster would otherwise tell. Helm test pods are skipped
// (Argo CD does not run them).
function checkRestricted(file, d) {
  if (d.metadata?.annotations?.["helm.sh/hook"] === "test") return;
  const pod = d.kind === "Pod" ? d.spec : d.spec?.template?.spec ?? d.spec?.jobTemplate?.spec?.template?.spec;
  if (!pod) return;
  const podCtx = pod.securityContext ?? {};
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const ctx = c.securityContext ?? {};
    const where = `${d.kind}/${d.metadata?.name} container ${c.name}`;
    const problems = [];
    if (ctx.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
    if (!(ctx.capabilities?.drop ?? []).includes("ALL")) problems.push("capabilities do not drop ALL");
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) problems.push("runAsNonRoot is not true");
    if ((ctx.seccompProfile ?? podCtx.seccompProfile)?.type !== "RuntimeDefault") problems.push("seccompProfile is not RuntimeDefault");
    if (problems.length) fail(file, `${where}: not Pod Security restricted: ${problems.join(", ")}`);
  }
}
// Arguments: rendered charts, each NAMESPACE=FILE (namespace temporal when no `NAMESPACE=`).
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf("=");
  const [ns, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : ["temporal", arg];
  for (const d of load(file)) {
    checkPodSecrets(file, d.spec ?? {}, `${d.kind}/${d.metadata?.name}: `, ns);
    checkRestricted(file, d);
    checkEnvFiles(file, podOf(d), `${d.kind}/${d.metadata?.name}: `, ns);
  }
}

// --- 4. Search attributes ---------------------------------------------------------------------
const saSource = join(repo, "crates", "tracker", "src", "search_attributes.rs");
const declared = [...readFileSync(saSource, "utf8").matchAll(/SearchAttributeKey::(\w+)\("(\w+)"\)/g)].map((m) => [m[2], m[1]]);
if (declared.length === 0) fail(saSource, "no SearchAttributeKey declarations found");
if (!searchJob) fail(valueFiles[0] ?? platform, "no extraObjects Job temporal-gdt-search-attributes");
else {
  const script = JSON.stringify(searchJob.doc.spec.template.spec.containers.map((c) => [c.command, c.args]));
  // `for attr in Name:Type Name:Type …; do`: each attribute with its type.
  const loop = script.match(/for attr in ([^;]+); do/);
  const pairs = loop ? [...loop[1].matchAll(/(\w+):(\w+)/g)].map((m) => [m[1], m[2]]) : [];
  const listed = pairs.map(([n]) => n);
  const want = declared.map(([n]) => n);
  if (JSON.stringify([...listed].sort()) !== JSON.stringify([...want].sort())) {
    fail(searchJob.file, `search-attribute Job registers [${listed}], crates/tracker declares [${want}]`);
  }
  const typeOf = { keyword: "Keyword", text: "Text", int: "Int", double: "Double", bool: "Bool", datetime: "Datetime", keyword_list: "KeywordList" };
  for (const [name, kind] of declared) {
    const got = pairs.find(([n]) => n === name)?.[1];
    if (got !== undefined && got !== (typeOf[kind] ?? kind)) {
      fail(searchJob.file, `search-attribute Job registers ${name} as ${got}, crates/tracker declares ${typeOf[kind] ?? kind}`);
    }
  }
  if (!/--type \\?"\$\{attr#\*:\}\\?"/.test(script)) {
    fail(searchJob.file, 'search-attribute Job does not pass each attribute\'s type (--type "${attr#*:}")');
  }
}

if (searchJob) {
  const env = Object.fromEntries((searchJob.doc.spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value]));
  if (!temporalNamespaces.has(env.TEMPORAL_NAMESPACE)) {
    fail(searchJob.file, `search-attribute Job registers in Temporal namespace ${env.TEMPORAL_NAMESPACE}, which server.config.namespaces does not create`);
  }
}

// --- 2. gdt on this platform (gdt/values.yaml, layered on our chart) ---------------------------
const gdtValuesFile = join(platform, "gdt", "values.yaml");
if (!existsSync(gdtValuesFile)) fail(gdtValuesFile, "missing");
else {
  const gv = yaml.load(readFileSync(gdtValuesFile, "utf8")) ?? {};
  const t = gv.config?.temporal ?? {};
  if (!temporalNamespaces.has(t.namespace)) {
    fail(gdtValuesFile, `config.temporal.namespace ${t.namespace} is not a Temporal namespace temporal/values.yaml creates [${[...temporalNamespaces]}]`);
  }
  if (!/^temporal-frontend\.temporal(\.svc(\.cluster\.local)?)?:7233$/.test(t.host_port ?? "")) {
    fail(gdtValuesFile, `config.temporal.host_port ${t.host_port} is not the frontend Service of release temporal in namespace temporal (:7233)`);
  }
  const frontend = manifests.flatMap((m) => m.docs).find((d) => d.kind === "Certificate" && d.metadata.name === "temporal-frontend-tls");
  if (gv.temporal?.mode === "mtls") {
    const m = gv.temporal.mtls ?? {};
    for (const key of [m.certKey ?? "tls.crt", m.keyKey ?? "tls.key", m.caKey ?? "ca.crt"]) {
      if (!has("gdt", m.secretName, key)) fail(gdtValuesFile, `temporal.mtls: Secret ${m.secretName} key ${key} is made by no Certificate in namespace gdt`);
    }
    if (!(frontend?.spec?.dnsNames ?? []).includes(t.tls?.server_name)) {
      fail(gdtValuesFile, `config.temporal.tls.server_name ${t.tls?.server_name} is not a DNS name of Certificate temporal-frontend-tls`);
    }
  } else fail(gdtValuesFile, "temporal.mode must be mtls: the frontend requires client certificates");
  const es = gv.secrets?.existingSecret ?? {};
  if (gv.secrets?.mode !== "existingSecret") fail(gdtValuesFile, "secrets.mode must be existingSecret (the Secret External Secrets writes)");
  for (const [what, key] of Object.entries(es.keys ?? {})) {
    if (key && !has("gdt", es.name, key)) fail(gdtValuesFile, `secrets.existingSecret.keys.${what}: Secret ${es.name} key ${key} is made by no ExternalSecret in namespace gdt`);
  }
  if (!es.keys || Object.keys(es.keys).length === 0) fail(gdtValuesFile, "secrets.existingSecret.keys: name the keys explicitly");
}

// --- 3. The Argo CD Applications -------------------------------------------------------------
const waves = new Map();
for (const { file, docs } of manifests) {
  for (const d of docs) {
    if (d.kind !== "Application") continue;
    const name = d.metadata.name;
    const wave = d.metadata.annotations?.["argocd.argoproj.io/sync-wave"];
    if (name !== "gdt-platform") {
      if (wave === undefined) fail(file, `Application ${name} has no argocd.argoproj.io/sync-wave`);
      else waves.set(name, Number(wave));
      if (!d.spec.syncPolicy?.automated?.prune || !d.spec.syncPolicy?.automated?.selfHeal || !d.spec.syncPolicy?.retry) {
        fail(file, `Application ${name}: syncPolicy must be automated with prune, selfHeal and retry`);
      }
    }
    for (const src of d.spec.sources ?? [d.spec.source]) {
      // A Helm repository chart (src.chart) has no path here, but its $values files do.
      if (!src.chart && src.path && !existsSync(join(repo, src.path))) {
        if (src.path === "deploy/helm/gdt") console.log(`check_platform_refs: note: ${src.path} is not in this tree yet (Application ${name})`);
        else fail(file, `Application ${name}: path ${src.path} does not exist`);
      }
      for (const vf of src.helm?.valueFiles ?? []) {
        const path = vf.startsWith("$values/") ? join(repo, vf.slice("$values/".length)) : join(repo, src.path, vf);
        if (!vf.startsWith("$values/") && src.chart) {
          fail(file, `Application ${name}: value file ${vf} of a Helm repository chart must come from this repository ($values/...)`);
        } else if (vf.startsWith("$values/") || existsSync(join(repo, src.path))) {
          if (!existsSync(path)) fail(file, `Application ${name}: value file ${vf} does not exist`);
        }
      }
      if (src.directory?.include && !existsSync(join(repo, src.path, src.directory.include))) {
        fail(file, `Application ${name}: ${src.directory.include} does not exist under ${src.path}`);
      }
    }
  }
}
const gdtApp = manifests.flatMap((m) => m.docs).find((d) => d.kind === "Application" && d.metadata.name === "gdt");
const gdtValueFiles = (gdtApp?.spec?.sources ?? []).flatMap((src) => src.helm?.valueFiles ?? []);
if (!gdtValueFiles.includes("$values/deploy/platform/gdt/values.yaml")) {
  fail(join(platform, "argocd", "apps", "gdt.yaml"), "Application gdt must take $values/deploy/platform/gdt/values.yaml");
}
const order = [["platform-namespaces"], ["platform-certificates", "platform-secrets", "platform-network"], ["temporal"], ["gdt"]];
for (let i = 1; i < order.length; i++) {
  for (const later of order[i]) {
    for (const earlier of order[i - 1]) {
      if (!waves.has(later) || !waves.has(earlier)) fail(join(platform, "argocd"), `Application ${waves.has(later) ? earlier : later} is missing`);
      else if (!(waves.get(earlier) < waves.get(later))) {
        fail(join(platform, "argocd"), `sync wave of ${earlier} (${waves.get(earlier)}) must come before ${later} (${waves.get(later)})`);
      }
    }
  }
}

console.log(`check_platform_refs: ${produced.size} Secrets produced, ${waves.size} Applications, ${declared.length} search attributes; ${errors} errors`);
process.exit(errors > 0 ? 1 : 0);
