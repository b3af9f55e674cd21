// SPDX-License-Identifier: MIT
// Offline schema check of Kubernetes manifests: each document of each YAML file given is
// validated against the Kubernetes OpenAPI schema of its apiVersion and kind, as bundled
// (compiled) by the npm package kubernetes-models; no cluster and no network. Prints one
// JSON array on stdout, [{file, index, apiVersion, kind, name, error, object}], error
// null when valid; exits 1 when a document is invalid or unknown, 2 on a YAML error.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

async function model(apiVersion, kind) {
  const group = apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`;
  const [name, version] = group.split('/');
  const path = name === 'core' ? `${version}/${kind}` : `${name}/${version}/${kind}`;
  try {
    const mod = await import(`kubernetes-models/${path}`);
    return mod[kind];
  } catch {
    return null;
  }
}

const out = [];
let status = 0;
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length) {
      process.stderr.write(`${file}: ${doc.errors.map((e) => e.message).join('\n')}\n`);
      process.exit(2);
    }
    const object = doc.toJS();
    if (object === null)
      continue;
    const { apiVersion, kind } = object;
    const entry = { file, index, apiVersion, kind, name: object.metadata?.name ?? null,
                    error: null, object };
    const Model = apiVersion && kind ? await model(apiVersion, kind) : null;
    if (!Model) {
      entry.error = `no schema for apiVersion ${apiVersion} kind ${kind}`;
    } else {
      try {
        new Model(object).validate();
      } catch (e) {
        entry.error = e.message;
      }
    }
    if (entry.error)
      status = 1;
    out.push(entry);
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
process.exit(status);
