// Validates Kubernetes objects (a JSON array on stdin) against the schemas of kubernetes-models and
// @kubernetes-models/keda; prints [{apiVersion, kind, name, error}] on stdout, error null when valid.
//
// A plain ES module run by node, apart from Jest: both packages ship ES modules only, with "import"-only exports,
// which Jest's CommonJS runtime cannot load (and jest.config.js compiles only the packages it lists).
import { readFileSync } from 'node:fs';

/** The module of each API group's models; an apiVersion with none is an error, never skipped. */
function modulesFor(apiVersion) {
  return apiVersion.endsWith('keda.sh/v1alpha1')
    ? [`@kubernetes-models/keda/${apiVersion}`]
    : [`kubernetes-models/${apiVersion}`];
}

async function validate(object) {
  const { apiVersion, kind, metadata } = object;
  const result = { apiVersion, kind, name: metadata?.name, error: null };
  for (const specifier of modulesFor(apiVersion)) {
    const models = await import(specifier).catch(() => undefined);
    const Model = models?.[kind];
    if (!Model) continue;
    try {
      new Model(object).validate();
    } catch (error) {
      result.error = error.message;
    }
    return result;
  }
  result.error = `no schema for ${apiVersion} ${kind}`;
  return result;
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) results.push(await validate(object));
process.stdout.write(JSON.stringify(results));
