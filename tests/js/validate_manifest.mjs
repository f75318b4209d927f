// Validate a Teams app manifest.json against Microsoft's JSON schema, offline.
//
//   node tests/js/validate_manifest.mjs path/to/manifest.json
//
// Prints a JSON array of error strings on stdout.
// Exit status: 0 valid, 1 invalid, 2 could not validate (bad arguments, unreadable
// file, schema not bundled with @microsoft/app-manifest).
//
// AppManifestUtils.validateAgainstSchema(manifest) on its own would look for the
// schema named by "$schema" inside the package and, failing that, download it.
// To make sure nothing ever reaches the network, this script resolves the schema
// file inside the package itself and passes it in explicitly, and replaces
// globalThis.fetch with a function that throws.

import { readFile, access } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

globalThis.fetch = async (url) => {
  throw new Error(`network access is not allowed while validating (tried ${url})`);
};

function fail(code, errors) {
  process.stdout.write(JSON.stringify(errors, null, 2) + "\n");
  process.exit(code);
}

// https://developer.microsoft.com/[en-us/]json-schemas/teams/v1.22/MicrosoftTeams.schema.json
const SCHEMA_URL_RE =
  /^https:\/\/developer\.microsoft\.com\/(?:[a-z]{2}(?:-[a-z]{2})?\/)?(json-schemas\/teams\/(v\d+\.\d+|vDevPreview)\/MicrosoftTeams\.schema\.json)$/i;

async function main() {
  const manifestPath = process.argv[2];
  if (!manifestPath) {
    fail(2, ["usage: node validate_manifest.mjs <manifest.json>"]);
  }

  let manifest;
  try {
    const text = (await readFile(manifestPath, "utf8")).replace(/^\uFEFF/, "");
    manifest = JSON.parse(text);
  } catch (e) {
    fail(2, [`cannot read ${manifestPath}: ${e.message}`]);
  }
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
    fail(1, ["manifest must be a JSON object"]);
  }

  const schemaUrl = manifest.$schema;
  const match = typeof schemaUrl === "string" ? SCHEMA_URL_RE.exec(schemaUrl) : null;
  if (!match) {
    fail(1, [
      `/$schema must be a Teams schema URL such as ` +
        `https://developer.microsoft.com/json-schemas/teams/v1.22/MicrosoftTeams.schema.json, ` +
        `got ${JSON.stringify(schemaUrl)}`,
    ]);
  }

  const pkgMain = require.resolve("@microsoft/app-manifest"); // .../build/index.js
  const schemaFile = path.join(path.dirname(pkgMain), ...match[1].split("/"));
  try {
    await access(schemaFile);
  } catch {
    fail(2, [`schema ${match[2]} is not bundled with @microsoft/app-manifest (${schemaFile})`]);
  }
  // Same clean-up the package applies to its own schema files.
  const schemaText = (await readFile(schemaFile, "utf8"))
    .replace(/\\a/g, "\\u0007")
    .replace(/\\v/g, "\\u000b");
  const schema = JSON.parse(schemaText);

  const { AppManifestUtils } = require("@microsoft/app-manifest");
  const errors = await AppManifestUtils.validateAgainstSchema(manifest, schema);
  fail(errors.length === 0 ? 0 : 1, errors);
}

main().catch((e) => fail(2, [`validator crashed: ${e && e.stack ? e.stack : e}`]));
