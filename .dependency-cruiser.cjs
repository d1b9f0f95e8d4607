/**
 * The layers of src/ as rules (docs/ARCHITECTURE.md draws them). `npm run lint:deps` checks
 * them in CI; a rule that fails turns it red. Type-only imports count (tsPreCompilationDeps):
 * a type dragged from a higher layer is the same coupling as a value.
 */
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
      to: { path: '^src/(model/classifier|index)\\.ts$' },
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
      name: 'util-is-the-bottom',
      severity: 'error',
      comment: 'util/ (errors, validation, file I/O, random) imports no other layer.',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'native-below-the-model',
      severity: 'error',
      comment: 'native/ (the addon contract, binary choice, CPU features, threads) sits on util/ only.',
      from: { path: '^src/native/' },
      to: { path: '^src/', pathNot: '^src/(native|util)/' },
    },
    {
      name: 'interop-without-the-addon',
      severity: 'error',
      comment: 'Importers and exporters are plain data: they never load the addon (convert runs without it).',
      from: { path: '^src/interop/' },
      to: { path: '^src/native/addon\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'data-below-training-and-model',
      severity: 'error',
      comment: 'data/ (tensors, preprocessing, sources) knows nothing of training, interop, inference, reports, jobs or the CLI.',
      from: { path: '^src/data/' },
      to: { path: '^src/(training|interop|inference|report|scale|cli)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: {
      dot: {
        collapsePattern: '^src/(util|native|model|data|training|inference|interop|report|scale|cli)/|^node_modules/[^/]+',
      },
    },
  },
};
