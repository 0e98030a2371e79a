import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { findProjectRoot } from '../../src/config/config.loader';

/** deploy/kubernetes rendered by `kubectl kustomize`, and what the tests read out of it. */
export const root = findProjectRoot();
export const kubernetesDir = join(root, 'deploy/kubernetes');

// Loose shapes: the schemas are checked by kubernetes-models (validate-objects.mjs), these only read fields.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};
export type Container = any;

/**
 * A role's settings straight from the base's files, without kubectl: the base applies no patch, so these are what
 * its rendered ConfigMaps hold (config/settings.env, then the role's own file).
 */
export function baseRoleEnv(role: 'api' | 'worker'): Record<string, string> {
  const read = (file: string) => parseEnv(readFileSync(join(kubernetesDir, 'base', file)));
  return { ...read('config/settings.env'), ...read(`${role}/${role}.env`) };
}

/** One manifest of the base, e.g. base/migrate/job.yaml, parsed. */
export function baseManifest(path: string): K8sObject {
  return parseYaml(readFileSync(join(kubernetesDir, 'base', path), 'utf8'));
}

/** Why the rendering tests cannot run here, or undefined when kubectl (with its built-in Kustomize) answers. */
export function kubectlMissing(): string | undefined {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.error)
    return `kubectl is not installed (${probe.error.message}): the Kubernetes manifest tests are skipped`;
  return probe.status === 0 ? undefined : `kubectl version --client failed: ${probe.stderr}`;
}

/** The overlays a user applies: every folder of overlays/ (their sub-folders are parts of them). */
export function overlayDirs(): string[] {
  const overlays = join(kubernetesDir, 'overlays');
  return readdirSync(overlays)
    .filter((name) => existsSync(join(overlays, name, 'kustomization.yaml')))
    .map((name) => `overlays/${name}`);
}

const rendered = new Map<string, K8sObject[]>();

/** `kubectl kustomize deploy/kubernetes/<dir>`, parsed; cached, since the manifests do not change during a run. */
export function render(dir: string): K8sObject[] {
  if (!rendered.has(dir)) {
    const result = spawnSync('kubectl', ['kustomize', join(kubernetesDir, dir)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject);
    rendered.set(dir, documents.filter(Boolean));
  }
  return rendered.get(dir)!;
}

/** Each object's schema error (null when valid), from kubernetes-models and @kubernetes-models/keda. */
export function validateObjects(objects: K8sObject[]): { kind: string; name: string; error: string | null }[] {
  const script = join(root, 'test/kubernetes/validate-objects.mjs');
  const result = spawnSync(process.execPath, [script], { input: JSON.stringify(objects), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`validate-objects.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export const mainContainer = (workload: K8sObject): Container => workload.spec.template.spec.containers[0];

/**
 * The environment a container gets from its ConfigMaps and literal values, as Kubernetes builds it (a later
 * envFrom source wins, `env` wins over all); Secret references are listed apart, with their keys.
 */
export function containerEnv(
  objects: K8sObject[],
  container: Container,
): { env: Record<string, string>; secretKeys: Record<string, string> } {
  const env: Record<string, string> = {};
  const secretKeys: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    Object.assign(env, named(objects, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    if (variable.valueFrom?.secretKeyRef) secretKeys[variable.name] = variable.valueFrom.secretKeyRef.key;
  }
  return { env, secretKeys };
}

/** Deployments whose pods run the sender (the workers), by their environment. */
export function workerDeployments(objects: K8sObject[]): K8sObject[] {
  return ofKind(objects, 'Deployment').filter(
    (deployment) => containerEnv(objects, mainContainer(deployment)).env.SENDER_ENABLED !== 'false',
  );
}

/** Whether a label selector (matchLabels) selects a pod template's labels. */
export function selects(selector: { matchLabels: Record<string, string> }, labels: Record<string, string>): boolean {
  return Object.entries(selector.matchLabels).every(([key, value]) => labels[key] === value);
}

/** The KEDA postgresql trigger of a ScaledObject. */
export function backlogTrigger(scaledObject: K8sObject) {
  const trigger = scaledObject.spec.triggers.find((t: { type: string }) => t.type === 'postgresql');
  if (!trigger) throw new Error(`ScaledObject ${scaledObject.metadata.name} has no postgresql trigger`);
  return trigger;
}

/** The model list between the query's $models$ quotes, which components/keda-worker fills in. */
export const MODELS_QUOTE = '$models$';
export function queryModels(query: string): string {
  const parts = query.split(MODELS_QUOTE);
  if (parts.length !== 3)
    throw new Error(`the backlog query must hold exactly one ${MODELS_QUOTE}…${MODELS_QUOTE} list`);
  return parts[1];
}

/** The query with another model list, as the replacement would write it. */
export function withModels(query: string, models: string): string {
  const [before, , after] = query.split(MODELS_QUOTE);
  return `${before}${MODELS_QUOTE}${models}${MODELS_QUOTE}${after}`;
}
