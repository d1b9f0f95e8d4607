// Child process of the checkpoint fuzz test: loads every file named on stdin (one path per
// line) with SequenceClassifier.load and prints a JSON summary. A crash or hang shows up in
// the parent as a signal, a non-zero exit or a timeout.
const { SequenceClassifier, CheckpointError } = require('../../dist/index.js');

async function main() {
  const paths = require('node:fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
  const summary = { accepted: [], rejected: 0, otherErrors: [] };
  for (const path of paths) {
    try {
      const model = await SequenceClassifier.load(path);
      model.dispose();
      summary.accepted.push(path);
    } catch (e) {
      if (e instanceof CheckpointError) summary.rejected++;
      else summary.otherErrors.push(`${path}: ${e && e.message}`);
    }
  }
  process.stdout.write(JSON.stringify(summary));
}
main();
