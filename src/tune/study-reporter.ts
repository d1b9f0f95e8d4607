/**
 * Keeps a running study's HTML report current: rewritten when a trial ends, at most once per
 * interval (a study of many short trials does not spend its time writing pages), one write
 * at a time, and once more when the study ends. A failed write of the interim page is not the
 * study's failure (the final write's is).
 */
import { writeStudyReport } from './study-report';
import type { StudyReportData } from './study-report-data';

export class StudyReporter {
  #last = 0;
  #writing: Promise<void> = Promise.resolve();
  #pending = false;

  constructor(
    private readonly path: string,
    private readonly build: (complete: boolean) => StudyReportData,
    private readonly intervalMs = 5000,
  ) {}

  /** A trial ended: rewrite the page unless it was rewritten within the interval. */
  update(): void {
    if (this.#pending || Date.now() - this.#last < this.intervalMs) return;
    this.#pending = true;
    this.#writing = this.#writing.then(async () => {
      this.#pending = false;
      this.#last = Date.now();
      try {
        await writeStudyReport(this.path, this.build(false));
      } catch {
        // the final write reports what is wrong
      }
    });
  }

  /** The study ended: the final page, after any interim write. */
  async finish(): Promise<void> {
    await this.#writing;
    await writeStudyReport(this.path, this.build(true));
  }
}
