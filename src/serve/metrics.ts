/**
 * The server's Prometheus metrics (GET /metrics): requests by route and status, latency and
 * queue-wait histograms, batch sizes, open sessions, the model version served, the event loop's
 * delay, and prom-client's process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { EventLoopDelay } from './event-loop-delay';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'rnn_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'rnn_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'rnn_queue_wait_seconds',
    help: 'How long the first call of each native batch waited for it to start',
    labelNames: ['model'],
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({ name: 'rnn_batch_size', help: 'Sequences per native batch', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: [this.registry] });
  readonly sessions = new Gauge({ name: 'rnn_open_sessions', help: 'Open streaming sessions', registers: [this.registry] });
  readonly modelVersion = new Gauge({ name: 'rnn_model_version', help: 'The version of each model being served (1 at start, one more per reload)', labelNames: ['model'], registers: [this.registry] });

  private readonly loop = new EventLoopDelay(10);
  // Read on each scrape, over the time since the last one (prom-client's own
  // nodejs_eventloop_lag_* count the 10 ms sampling interval in: event-loop-delay.ts).
  readonly eventLoopDelay = new Gauge({
    name: 'rnn_event_loop_delay_seconds',
    help: 'How late the event loop ran a timer since the last scrape (quantile 0.5, 0.99 and 1: the largest)',
    labelNames: ['quantile'],
    registers: [this.registry],
    collect: () => {
      const { p50, p99, max } = this.loop.read();
      this.eventLoopDelay.labels('0.5').set(p50 / 1000);
      this.eventLoopDelay.labels('0.99').set(p99 / 1000);
      this.eventLoopDelay.labels('1').set(max / 1000);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /** Stops sampling the event loop (the server closes). */
  close(): void {
    this.loop.stop();
  }

  /** The batching hook of one model: each native batch's size and its first call's wait. */
  onBatch(model: string): (sequences: number, waitedMs: number) => void {
    const size = this.batchSize.labels(model);
    const wait = this.queueWait.labels(model);
    return (sequences, waitedMs) => {
      size.observe(sequences);
      wait.observe(waitedMs / 1000);
    };
  }
}
