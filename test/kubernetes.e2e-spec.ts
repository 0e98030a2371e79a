import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'dotenv';
import { loadConfig, readDefaults } from '../src/config/config.loader';
import {
  backlogTrigger,
  baseRoleEnv,
  containerEnv,
  K8sObject,
  kubectlMissing,
  kubernetesDir,
  mainContainer,
  named,
  ofKind,
  overlayDirs,
  queryModels,
  render,
  root,
  selects,
  validateObjects,
  workerDeployments,
} from './kubernetes/manifests';

/**
 * deploy/kubernetes rendered with `kubectl kustomize` for every overlay, each object validated against the
 * Kubernetes and KEDA schemas, and checked against the application: its settings, its images, its shutdown, its
 * budgets. (The KEDA query runs on PostgreSQL in keda-query.e2e-spec.ts; probe paths are called on running
 * processes in split-roles.e2e-spec.ts.)
 */
const missing = kubectlMissing();
if (missing) console.warn(missing);
const describeWithKubectl = missing ? describe.skip : describe;

const defaults = readDefaults();
const setting = (env: Record<string, string>, name: string) => env[name] ?? defaults[name];
/** The image each Dockerfile builds, by the name the manifests give it (registry and tag set by the overlay). */
const DOCKERFILES: Record<string, string> = {
  'embedding-tasks': 'docker/Dockerfile',
  'embedding-tasks-cuda': 'docker/Dockerfile.cuda',
};
/** PostgreSQL's default max_connections, less room for KEDA's own pool, the migration Job and an operator. */
const CONNECTION_BUDGET = 100 - 15;

/** The image's name without registry, tag or digest. */
const imageName = (image: string) =>
  image
    .split('/')
    .pop()!
    .replace(/[:@].*$/, '');
const workloads = (objects: K8sObject[]) => [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')];
const podLabels = (workload: K8sObject) => workload.spec.template.metadata.labels as Record<string, string>;

describeWithKubectl('Kubernetes manifests (deploy/kubernetes)', () => {
  const dirs = ['base', ...overlayDirs()];

  it('has the overlays the README names', () => {
    expect(overlayDirs().sort()).toEqual([
      'overlays/cpu',
      'overlays/cpu-hpa',
      'overlays/cuda',
      'overlays/heterogeneous',
    ]);
  });

  it.each(dirs)('%s: every object is valid against the Kubernetes and KEDA schemas', (dir) => {
    const results = validateObjects(render(dir));
    expect(results.filter((result) => result.error)).toEqual([]);
    expect(new Set(results.map((result) => result.kind))).toEqual(
      new Set([
        'ConfigMap',
        'Service',
        'Deployment',
        'PodDisruptionBudget',
        'Job',
        ...(dir.endsWith('-hpa') ? ['HorizontalPodAutoscaler'] : ['ScaledObject', 'TriggerAuthentication']),
      ]),
    );
  });

  it('the schema check itself refuses a broken Deployment and an unknown kind', () => {
    const deployment = structuredClone(named(render('base'), 'Deployment', 'embedding-tasks-worker'));
    deployment.spec.template.spec.terminationGracePeriodSeconds = 'sixty';
    const results = validateObjects([
      deployment,
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(results[0].error).toContain('terminationGracePeriodSeconds must be integer');
    expect(results[1].error).toContain('no schema');
  });

  it.each(dirs)('%s: an api Deployment (2+ replicas, a Service, no sender) and workers from the same image', (dir) => {
    const objects = render(dir);
    const api = named(objects, 'Deployment', 'embedding-tasks-api');
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(containerEnv(objects, mainContainer(api)).env.SENDER_ENABLED).toBe('false');
    const services = ofKind(objects, 'Service');
    expect(services.map((service) => service.metadata.name)).toEqual(['embedding-tasks-api']);
    expect(selects({ matchLabels: services[0].spec.selector }, podLabels(api))).toBe(true);
    const workers = workerDeployments(objects);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    for (const worker of workers) {
      expect(selects({ matchLabels: services[0].spec.selector }, podLabels(worker))).toBe(false);
      expect(worker.spec.replicas).toBeUndefined();
      expect(Object.keys(DOCKERFILES)).toContain(imageName(mainContainer(worker).image));
    }
    expect(imageName(mainContainer(api).image)).toBe('embedding-tasks');
  });

  it.each(dirs)(
    '%s: every environment name is a setting of config/defaults.env, and every value is accepted',
    (dir) => {
      const objects = render(dir);
      for (const workload of workloads(objects)) {
        const { env, secretKeys } = containerEnv(objects, mainContainer(workload));
        const names = [...Object.keys(env), ...Object.keys(secretKeys), ...Object.values(secretKeys)];
        expect({ workload: workload.metadata.name, unknown: names.filter((name) => !(name in defaults)) }).toEqual({
          workload: workload.metadata.name,
          unknown: [],
        });
        expect(() => loadConfig({ ...env, DATABASE_URL: 'postgres://user@postgres:5432/db' })).not.toThrow();
      }
    },
  );

  it.each(dirs)('%s: Secrets are only referenced, never rendered, and the example names every key read', (dir) => {
    const objects = render(dir);
    expect(ofKind(objects, 'Secret')).toEqual([]);
    const example = Object.keys(parse(readFileSync(join(kubernetesDir, 'secret.env.example'))));
    const referenced = new Set<string>();
    for (const workload of workloads(objects)) {
      for (const variable of mainContainer(workload).env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        expect(ref.name).toBe('embedding-tasks-secrets');
        expect(ref.optional === true).toBe(ref.key !== 'DATABASE_URL');
        referenced.add(ref.key);
      }
    }
    expect([...referenced].sort()).toEqual([...example].sort());
    const ignored = spawnSync('git', ['check-ignore', '-q', 'deploy/kubernetes/secret.env'], { cwd: root });
    expect(ignored.status).toBe(0);
  });

  it.each(dirs)(
    '%s: probes: liveness and startup on /health/live, readiness on /health/ready, on the PORT served',
    (dir) => {
      const objects = render(dir);
      for (const deployment of ofKind(objects, 'Deployment')) {
        const container = mainContainer(deployment);
        const { env } = containerEnv(objects, container);
        const http = container.ports.find((port: { name: string }) => port.name === 'http');
        expect(http.containerPort).toBe(Number(setting(env, 'PORT')));
        expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        // Long enough for a model download and warm-up; readiness waits out each check's own time limit.
        expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(
          300,
        );
        expect(container.readinessProbe.timeoutSeconds * 1000).toBeGreaterThan(
          Number(setting(env, 'HEALTH_CHECK_TIMEOUT_MS')),
        );
      }
    },
  );

  it.each(dirs)('%s: the grace period outlasts preStop, the sender shutdown grace and the lease release', (dir) => {
    const objects = render(dir);
    const releaseMarginMs = 10_000;
    for (const deployment of ofKind(objects, 'Deployment')) {
      const container = mainContainer(deployment);
      const { env } = containerEnv(objects, container);
      const preStop = container.lifecycle?.preStop?.exec?.command;
      const preStopMs = preStop ? Number(preStop[preStop.indexOf('sleep') + 1]) * 1000 : 0;
      const senderMs = setting(env, 'SENDER_ENABLED') === 'true' ? Number(setting(env, 'SENDER_SHUTDOWN_GRACE_MS')) : 0;
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        preStopMs + senderMs + releaseMarginMs,
      );
    }
    // The API is behind a Service: it keeps serving while its endpoint is removed.
    expect(mainContainer(named(objects, 'Deployment', 'embedding-tasks-api')).lifecycle.preStop.exec.command).toEqual([
      'sleep',
      '10',
    ]);
  });

  it.each(dirs)(
    "%s: non-root as the image's USER, read-only root filesystem, the model cache and /tmp on volumes",
    (dir) => {
      const objects = render(dir);
      for (const workload of workloads(objects)) {
        const pod = workload.spec.template.spec;
        const container = mainContainer(workload);
        const dockerfile = readFileSync(join(root, DOCKERFILES[imageName(container.image)]), 'utf8');
        const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: Number(uid),
          runAsGroup: Number(gid),
        });
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        if (workload.kind !== 'Deployment') continue;
        expect(pod.securityContext.fsGroup).toBe(Number(gid));
        const { env } = containerEnv(objects, container);
        const mounts = Object.fromEntries(
          container.volumeMounts.map((mount: { mountPath: string; name: string }) => [mount.mountPath, mount.name]),
        );
        const volumes = new Set(pod.volumes.map((volume: { name: string }) => volume.name));
        for (const path of [setting(env, 'MODEL_CACHE_DIR'), '/tmp']) {
          expect({ path, volume: volumes.has(mounts[path]) }).toEqual({ path, volume: true });
        }
      }
    },
  );

  it.each(dirs)("%s: the images' Dockerfiles agree: model cache path, health path, time allowed to start", (dir) => {
    const objects = render(dir);
    for (const deployment of ofKind(objects, 'Deployment')) {
      const container = mainContainer(deployment);
      const dockerfile = readFileSync(join(root, DOCKERFILES[imageName(container.image)]), 'utf8');
      const modelCache = /^ENV .*\bMODEL_CACHE_DIR=(\S+)/m.exec(dockerfile)?.[1];
      const healthcheck = /^HEALTHCHECK .*--start-period=(\d+)s[^]*?\/health\/(\w+)/m.exec(dockerfile);
      expect(modelCache).toBe(setting(containerEnv(objects, container).env, 'MODEL_CACHE_DIR'));
      expect(`/health/${healthcheck?.[2]}`).toBe(container.livenessProbe.httpGet.path);
      const startupSeconds = container.startupProbe.periodSeconds * container.startupProbe.failureThreshold;
      expect(Number(healthcheck?.[1])).toBe(startupSeconds);
    }
  });

  it.each(dirs)('%s: a PodDisruptionBudget for each Deployment, selecting its pods only', (dir) => {
    const objects = render(dir);
    const deployments = ofKind(objects, 'Deployment');
    for (const deployment of deployments) {
      const budgets = ofKind(objects, 'PodDisruptionBudget').filter((pdb) =>
        selects(pdb.spec.selector, podLabels(deployment)),
      );
      expect({ deployment: deployment.metadata.name, budgets: budgets.length }).toEqual({
        deployment: deployment.metadata.name,
        budgets: 1,
      });
      const others = deployments.filter(
        (other) => other !== deployment && selects(budgets[0].spec.selector, podLabels(other)),
      );
      expect(others).toEqual([]);
    }
  });

  it.each(dirs)(
    '%s: resources requested, memory limited, and onnxruntime threads matching the CPUs requested',
    (dir) => {
      const objects = render(dir);
      for (const deployment of ofKind(objects, 'Deployment')) {
        const container = mainContainer(deployment);
        const { requests, limits } = container.resources;
        expect(requests.cpu && requests.memory && limits.memory).toBeTruthy();
        const threads = Number(setting(containerEnv(objects, container).env, 'EMBEDDING_THREADS'));
        expect(threads).toBe(Number(requests.cpu));
      }
    },
  );

  it.each(dirs)(
    '%s: each worker pool is scaled from 0 by a ScaledObject on its own backlog, its connection read from the Secret',
    (dir) => {
      if (dir.endsWith('-hpa')) return;
      const objects = render(dir);
      for (const worker of workerDeployments(objects)) {
        const scalers = ofKind(objects, 'ScaledObject').filter(
          (so) => so.spec.scaleTargetRef.name === worker.metadata.name,
        );
        expect(scalers).toHaveLength(1);
        const [scaler] = scalers;
        expect(scaler.spec.minReplicaCount).toBe(0);
        expect(scaler.spec.maxReplicaCount).toBeGreaterThan(0);
        const trigger = backlogTrigger(scaler);
        const { env } = containerEnv(objects, mainContainer(worker));
        const inFlight = Number(setting(env, 'SENDER_BATCH_SIZE')) * Number(setting(env, 'SENDER_CONCURRENCY'));
        expect(Number(trigger.metadata.targetQueryValue)).toBeGreaterThanOrEqual(inFlight);
        expect(trigger.metadata.activationTargetQueryValue).toBe('0');
        expect(queryModels(trigger.metadata.query)).toBe(env.EMBEDDING_MODELS);
        const auth = named(objects, 'TriggerAuthentication', trigger.authenticationRef.name);
        expect(auth.spec.secretTargetRef).toEqual([
          { parameter: 'connection', name: 'embedding-tasks-secrets', key: 'DATABASE_URL' },
        ]);
      }
    },
  );

  it('cpu-hpa: without KEDA, an HPA on CPU scales the workers instead', () => {
    const objects = render('overlays/cpu-hpa');
    const [hpa] = ofKind(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'embedding-tasks-worker',
    });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
  });

  it.each(['overlays/cuda', 'overlays/heterogeneous'])(
    '%s: GPU workers run the CUDA image on GPU nodes, one GPU each',
    (dir) => {
      const objects = render(dir);
      const gpu = workerDeployments(objects).filter(
        (worker) => imageName(mainContainer(worker).image) === 'embedding-tasks-cuda',
      );
      expect(gpu).toHaveLength(1);
      const pod = gpu[0].spec.template.spec;
      expect(mainContainer(gpu[0]).resources.limits['nvidia.com/gpu']).toBe(1);
      expect(pod.nodeSelector).toBeDefined();
      expect(pod.tolerations).toEqual([expect.objectContaining({ key: 'nvidia.com/gpu' })]);
      expect(containerEnv(objects, mainContainer(gpu[0])).env.EMBEDDING_DEVICE).toBe('cuda');
      const api = named(objects, 'Deployment', 'embedding-tasks-api');
      expect(imageName(mainContainer(api).image)).toBe('embedding-tasks');
      expect(api.spec.template.spec.nodeSelector).toBeUndefined();
    },
  );

  it('heterogeneous: a GPU pool and a CPU pool, each serving its own model, with their own pods', () => {
    const objects = render('overlays/heterogeneous');
    const workers = workerDeployments(objects);
    const models = workers.map((worker) => containerEnv(objects, mainContainer(worker)).env.EMBEDDING_MODELS);
    expect(workers.map((worker) => worker.metadata.name).sort()).toEqual([
      'embedding-tasks-worker-cpu',
      'embedding-tasks-worker-gpu',
    ]);
    expect(new Set(models).size).toBe(2);
    expect(selects(workers[0].spec.selector, podLabels(workers[1]))).toBe(false);
    expect(selects(workers[1].spec.selector, podLabels(workers[0]))).toBe(false);
  });

  it.each(dirs)(
    '%s: the connection budget (pool + LISTEN per pod, at the most replicas) fits under max_connections',
    (dir) => {
      const objects = render(dir);
      let connections = 0;
      for (const deployment of ofKind(objects, 'Deployment')) {
        const { env } = containerEnv(objects, mainContainer(deployment));
        const name = deployment.metadata.name;
        const scaler = [...ofKind(objects, 'ScaledObject'), ...ofKind(objects, 'HorizontalPodAutoscaler')].find(
          (s) => s.spec.scaleTargetRef.name === name,
        );
        const replicas = deployment.spec.replicas ?? scaler?.spec.maxReplicaCount ?? scaler?.spec.maxReplicas;
        const listens =
          setting(env, 'SENDER_ENABLED') === 'true' && setting(env, 'SENDER_LISTEN_ENABLED') === 'true' ? 1 : 0;
        connections += replicas * (Number(setting(env, 'DATABASE_POOL_SIZE')) + listens);
      }
      expect(connections).toBeLessThanOrEqual(CONNECTION_BUDGET);
    },
  );

  it.each(dirs)(
    '%s: migrations run once, by the Job, with the built data source; no pod migrates at start-up',
    (dir) => {
      const objects = render(dir);
      for (const deployment of ofKind(objects, 'Deployment')) {
        expect(setting(containerEnv(objects, mainContainer(deployment)).env, 'DATABASE_MIGRATIONS_RUN')).toBe('false');
      }
      const [job] = ofKind(objects, 'Job');
      const command: string[] = mainContainer(job).command;
      expect(command.slice(0, 3)).toEqual(['node', 'node_modules/typeorm/cli.js', 'migration:run']);
      const dataSource = command[command.indexOf('-d') + 1];
      // npm run build (nest build) compiles src/ to dist/ (tsconfig.build.json): the file the Job names is built from this one.
      expect(statSync(join(root, dataSource.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))).isFile()).toBe(true);
    },
  );

  it("the base's env files are what its rendered ConfigMaps hold (split-roles and the roles benchmark read them)", () => {
    const objects = render('base');
    for (const role of ['api', 'worker'] as const) {
      const deployment = named(objects, 'Deployment', `embedding-tasks-${role}`);
      expect(containerEnv(objects, mainContainer(deployment)).env).toEqual(baseRoleEnv(role));
    }
  });

  it('keeps the backlog query in one place: base/worker/scaledobject.yaml', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
      );
    const holders = files(kubernetesDir).filter((file) => readFileSync(file, 'utf8').includes('FROM mgmt.'));
    expect(holders.map((file) => relative(kubernetesDir, file))).toEqual(['base/worker/scaledobject.yaml']);
  });
});
