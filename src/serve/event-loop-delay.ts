/**
 * How late the event loop runs a timer: the delay a request waits before its turn.
 *
 * Node's histogram (perf_hooks.monitorEventLoopDelay) records the whole interval between its
 * timer's runs, the sampling interval included: an idle loop sampled every 10 ms reads a p99
 * of about 10 ms (prom-client's nodejs_eventloop_lag_* are those raw values). The delay is the
 * interval less the sampling interval, as Elastic's APM agent and OpenTelemetry's runtime
 * instrumentation compute it (opentelemetry-js-contrib#2794).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The delay's p50, p99 and largest value in ms since the last read (0 if nothing sampled). */
export interface DelaySample {
  p50: number;
  p99: number;
  max: number;
}

export class EventLoopDelay {
  private readonly histogram: IntervalHistogram;

  /** @param resolutionMs how often the loop is sampled (a timer every this many ms) */
  constructor(readonly resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  /** The delays since the last read, then starts a new window. */
  read(): DelaySample {
    const h = this.histogram;
    const late = (ns: number) => (h.count === 0 ? 0 : Math.max(0, ns / 1e6 - this.resolutionMs));
    const sample = { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) };
    h.reset();
    return sample;
  }

  stop(): void {
    this.histogram.disable();
  }
}
