/**
 * Writing a report and its metrics log, each atomically (a reader sees a whole file, old or
 * new). Where they may go is checked before any work (util/output-path.ts).
 */
import { writeFileAtomic } from '../util/atomic-file';
import { reportHtml } from './page';
import { metricsLogOf, type ReportData } from './report-data';

export interface ReportTargets {
  /** HTML report path. */
  report?: string;
  /** Metrics log path (JSON Lines). */
  metricsLog?: string;
}


export async function writeReportFiles(targets: ReportTargets, data: ReportData): Promise<void> {
  if (targets.metricsLog) await writeFileAtomic(targets.metricsLog, Buffer.from(metricsLogOf(data)));
  if (targets.report) await writeFileAtomic(targets.report, Buffer.from(await reportHtml(data)));
}
