/**
 * The layers of src/, declared once: `npm run lint:layers` (in `npm run lint` and CI) refuses an import that climbs.
 *
 * Top to bottom. A folder may import its own files and any folder of a layer below its own; never a folder above
 * it, nor another folder of its own layer. Type-only imports count too (tsPreCompilationDeps), and no cycle is
 * allowed between any two files. `(root)` is src/'s own files (main.ts, the app module, the entity list, the TypeORM
 * CLI's data source); `cli` is the command-line client, a program of its own beside them.
 */
const LAYERS = [
  ['(root)', 'cli'],
  // Every HTTP dialect of the embedding routes, and the app-wide exception filter.
  ['api'],
  // POST /search over the stored vectors: embeds queries with the models.
  ['search'],
  ['health'],
  ['sender'],
  // One embed-and-deliver path, over the models and the receiver.
  ['delivery'],
  ['embedding', 'receiver'],
  ['task'],
  ['database'],
  ['metrics'],
  ['auth'],
  ['common'],
  ['logging'],
  ['config'],
];

/** Inside embedding/providers: each back end on its own, over what they share. */
const BACK_ENDS = ['onnx', 'remote/tei', 'remote/openai-compatible'];

const folder = (name) => (name === '(root)' ? '^src/[^/]+$' : `^src/${name}/`);
const either = (names) => names.map(folder).join('|');

const layerRules = LAYERS.flatMap((layer, index) =>
  layer.map((name) => {
    const above = LAYERS.slice(0, index).flat();
    const siblings = layer.filter((other) => other !== name);
    return {
      name: `layer-${name}`,
      comment: `src/${name === '(root)' ? '' : `${name}/`} may import only layers below it (.dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: folder(name) },
      to: { path: either([...above, ...siblings]) },
    };
  }),
);

const backEndRules = BACK_ENDS.map((name) => ({
  name: `back-end-${name.replace('/', '-')}`,
  comment: 'a back end imports only what the back ends share, never another back end',
  severity: 'error',
  from: { path: `^src/embedding/providers/${name}/` },
  to: {
    path: BACK_ENDS.filter((other) => other !== name)
      .map((other) => `^src/embedding/providers/${other}/`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    ...backEndRules,
    {
      name: 'back-ends-behind-the-factory',
      comment: 'outside embedding/providers/ only the contract is known; the factory alone names the back ends',
      severity: 'error',
      // A spec may build a real back end to test its caller with (a real model, no stub).
      from: { path: '^src/', pathNot: ['^src/embedding/providers/', '\\.(db-)?spec\\.ts$'] },
      to: { path: '^src/embedding/providers/(onnx|remote)/' },
    },
    {
      name: 'shared-below-back-ends',
      comment: 'what the back ends share (remote/, tokenizer/, vector math) knows none of them',
      severity: 'error',
      from: { path: '^src/embedding/providers/(remote/[^/]+\\.ts$|tokenizer/|vector-math)' },
      to: { path: `^src/embedding/providers/(${BACK_ENDS.join('|')})/` },
    },
    {
      name: 'no-circular',
      comment: 'no file reaches itself through its imports',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-the-build',
      comment: 'test/ (fixtures, helpers) is for specs only: the build does not ship it',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.(db-|e2e-)?spec\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages as Node does (some ship ES modules only, behind `exports`).
    enhancedResolveOptions: { conditionNames: ['require', 'import', 'node', 'default'], exportsFields: ['exports'] },
    combinedDependencies: false,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
