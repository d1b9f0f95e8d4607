/**
 * The layers of src/ as rules (docs/ARCHITECTURE.md draws them). `npm run lint:deps` checks
 * them in CI; a rule that fails turns it red. Type-only imports count (tsPreCompilationDeps):
 * a type dragged from a higher layer is the same coupling as a value.
 */

/**
 * The folders of src/, lowest first. A folder imports only from folders before it (and from
 * itself); the entry points (src/index.ts, src/cli.ts, examples/) sit above them all.
 */
const LAYERS = ['util', 'native', 'data', 'training', 'model', 'interop', 'report', 'classifier', 'inference', 'scale', 'tune', 'serve', 'cli'];
const folders = (names) => `^src/(${names.join('|')})/`;
const ENTRY_POINTS = '^src/(index\\.ts|cli\\.ts|examples/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circles, type-only imports included: each one hides which module owns what.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'lower-layers-not-the-facade',
      severity: 'error',
      comment: 'interop/, data/ and training/ work on descriptions, sequence sets and the native handle, never on the SequenceClassifier facade (or the package entry that exports it).',
      from: { path: '^src/(interop|data|training)/' },
      to: { path: '^src/(classifier/|index\\.ts$)' },
    },
    {
      name: 'scale-not-cli',
      severity: 'error',
      comment: 'Sharded and queued jobs run the library (inference/), not the command line.',
      from: { path: '^src/scale/' },
      to: { path: '^src/(cli/|cli\\.ts$)' },
    },
    {
      name: 'nothing-below-cli-imports-cli',
      severity: 'error',
      comment: 'cli/ is the top layer: only the CLI entry and cli/ itself import it.',
      from: { path: '^src/', pathNot: '^src/(cli/|cli\\.ts$)' },
      to: { path: '^src/(cli/|cli\\.ts$)' },
    },
    {
      name: 'interop-without-the-addon',
      severity: 'error',
      comment: 'Importers and exporters are plain data: they never load the addon (convert runs without it).',
      from: { path: '^src/interop/' },
      to: { path: '^src/native/addon\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-the-entry-points',
      severity: 'error',
      comment: 'index.ts and cli.ts are entry points: library code imports the module that owns a name, not the package entry.',
      from: { path: '^src/', pathNot: ENTRY_POINTS },
      to: { path: '^src/(index|cli)\\.ts$' },
    },
    // One rule per layer: nothing of a higher layer, values or types.
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `${layer}-below-${LAYERS.slice(i + 1).join('-')}`.slice(0, 80),
      severity: 'error',
      comment: `${layer}/ sits below ${LAYERS.slice(i + 1).join(', ')}: it imports none of them.`,
      from: { path: `^src/${layer}/` },
      to: { path: folders(LAYERS.slice(i + 1)) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
