/** Training progress on stderr: a bar with rate and ETA on a TTY, one line per epoch otherwise. */
import type { EpochLogs, FitCallbacks } from '../training/fit';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function progressReporter(totalEpochs: number, batchesPerEpoch: number, sequencesPerEpoch: number, out: NodeJS.WriteStream = process.stderr): FitCallbacks {
  const tty = Boolean(out.isTTY);
  let epochStart = 0;
  let seen = 0;
  let lastDraw = 0;
  let epochNumber = 0;
  return {
    onEpochBegin(epoch: number) {
      epochNumber = epoch;
      epochStart = performance.now();
      seen = 0;
    },
    onBatchEnd(batch, logs) {
      seen += logs.size;
      if (!tty) return;
      const now = performance.now();
      if (now - lastDraw < 100 && batch + 1 < batchesPerEpoch) return;
      lastDraw = now;
      const elapsed = (now - epochStart) / 1000;
      const rate = seen / Math.max(elapsed, 1e-9);
      const fraction = Math.min(1, (batch + 1) / batchesPerEpoch);
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled ? '>' : '') + ' '.repeat(width - filled);
      out.write(
        `\rEpoch ${epochNumber + 1}/${totalEpochs} [${bar}] ${String(Math.round(fraction * 100)).padStart(3)}% ` +
          `${Math.round(rate)} seq/s ETA ${clock((sequencesPerEpoch - seen) / rate)} loss ${logs.loss.toFixed(4)}\x1b[K`,
      );
    },
    onEpochEnd(epoch: number, logs: EpochLogs) {
      const val = logs.valLoss !== undefined ? ` valLoss ${logs.valLoss.toFixed(4)} valAccuracy ${logs.valAccuracy!.toFixed(4)}` : '';
      const rate = Math.round(seen / Math.max(logs.seconds, 1e-9));
      out.write(
        `${tty ? '\r' : ''}Epoch ${epoch + 1}/${totalEpochs} ${logs.seconds.toFixed(1)}s ${rate} seq/s loss ${logs.loss.toFixed(4)} ` +
          `accuracy ${logs.accuracy.toFixed(4)}${val} lr ${logs.learningRate.toPrecision(3)}${tty ? '\x1b[K' : ''}\n`,
      );
    },
  };
}
