#!/usr/bin/env node
// Validates the custom resources in Kubernetes YAML files against the CRD schemas shipped by
// the @kubernetes-models npm packages in .tools/node (installed pinned by scripts/deploy-tools.sh).
//
// Usage: node scripts/validate_crds.mjs FILE.yaml [FILE.yaml ...]
//
// Every document (`---`-separated) whose apiVersion belongs to a group those packages cover
// (cert-manager.io, argoproj.io, external-secrets.io, monitoring.coreos.com and their sibling
// groups) is validated with `new Kind(doc).validate()`. A kind the package does not know in a
// covered group is an error too: a typo in a kind, or a version the schemas lack, must not pass
// silently. Documents of other groups (core, apps, networking.k8s.io, ...) are left to
// kubernetes-validate and only counted.
//
// Prints one line per error, `FILE: KIND/NAME (apiVersion): message`, then a summary line; exits
// 1 on any error (or an unreadable file), 2 on a usage error. The interface (arguments, exit
// codes, output format) is kept stable: other checks call this script.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const modules = process.env.GDT_NODE_MODULES ?? join(repo, ".tools", "node", "node_modules");
const models = join(modules, "@kubernetes-models");

if (!existsSync(models)) {
  console.error(`validate_crds: ${models} is missing; run \`make bootstrap\` first`);
  process.exit(2);
}
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/validate_crds.mjs FILE.yaml [FILE.yaml ...]");
  process.exit(2);
}

const yaml = await import(pathToFileURL(join(modules, "js-yaml", "dist", "js-yaml.mjs")).href);

// API group -> the package directory that carries its models: each package has one directory
// per group it covers (`cert-manager.io/`, `monitoring.coreos.com/`, ...).
const groups = new Map();
for (const pkg of readdirSync(models)) {
  const dir = join(models, pkg);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.includes(".") && !entry.name.startsWith("github.com")) {
      groups.set(entry.name, join(dir, entry.name));
    }
  }
}

const loaded = new Map();
async function modelFor(group, version, kind) {
  const file = join(groups.get(group), version, `${kind}.js`);
  if (!loaded.has(file)) {
    let model = null;
    if (existsSync(file)) {
      const mod = await import(pathToFileURL(file).href);
      const cls = mod[kind];
      // Only top-level resources carry apiVersion/kind; a spec type of the same name would not.
      if (cls && cls.kind === kind && cls.apiVersion === `${group}/${version}`) model = cls;
    }
    loaded.set(file, model);
  }
  return loaded.get(file);
}

// The validator reports AJV-style errors; say where and what, one per line.
function describe(err) {
  if (Array.isArray(err?.errors) && err.errors.length > 0) {
    return err.errors
      .map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`)
      .join("; ");
  }
  return String(err?.message ?? err);
}

let errors = 0;
let validated = 0;
let skipped = 0;
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(readFileSync(file, "utf8"));
  } catch (err) {
    console.error(`${file}: not readable YAML: ${err.message}`);
    errors += 1;
    continue;
  }
  for (const doc of docs) {
    if (doc === null || doc === undefined) continue;
    const where = `${file}: ${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"} (${doc.apiVersion ?? "?"})`;
    if (typeof doc !== "object" || typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
      console.error(`${where}: a document without apiVersion and kind`);
      errors += 1;
      continue;
    }
    const slash = doc.apiVersion.indexOf("/");
    const group = slash < 0 ? "" : doc.apiVersion.slice(0, slash);
    const version = doc.apiVersion.slice(slash + 1);
    if (!groups.has(group)) {
      skipped += 1;
      continue;
    }
    const Model = await modelFor(group, version, doc.kind);
    if (!Model) {
      console.error(`${where}: unknown kind ${doc.kind} in ${doc.apiVersion} (no schema for it)`);
      errors += 1;
      continue;
    }
    try {
      new Model(doc).validate();
      validated += 1;
    } catch (err) {
      console.error(`${where}: ${describe(err)}`);
      errors += 1;
    }
  }
}

console.log(
  `validate_crds: ${validated} custom resources valid, ${errors} errors, ${skipped} other documents left to kubernetes-validate (${files.length} files)`,
);
process.exit(errors > 0 ? 1 : 0);
