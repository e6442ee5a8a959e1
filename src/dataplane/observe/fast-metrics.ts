import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms whose children are plain objects the hot path bumps with no hashing, label
 * validation or allocation (prom-client hashes the label set on every `inc`/`observe`). Children are created
 * off the hot path, kept by the caller, and read by the registry at scrape time through `get()`.
 */
type Labels = Record<string, string>;

/** One exported sample, as prom-client's registry reads it. */
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What get() returns: the shape of prom-client's MetricObjectWithValues. */
export interface FastMetricObject {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

/** One label set of a FastCounter; `value` is incremented directly. */
export interface CounterChild {
  value: number;
}

/** One label set of a FastHistogram. */
export interface HistogramChild {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

abstract class FastMetric<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum' as const;
  protected readonly children = new Map<string, { labels: Labels; child: C }>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // The registry only calls get() and reads name/help/type; these classes have that shape.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for these label values (in labelNames order), created on first use. Not for the hot path. */
  child(...values: string[]): C {
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? '';
      });
      entry = { labels, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Drops every child whose labels fail `keep` (series of endpoints or routes that no longer exist). */
  retain(keep: (labels: Readonly<Labels>) => boolean): void {
    for (const [key, entry] of this.children) if (!keep(entry.labels)) this.children.delete(key);
  }

  /** Number of label sets (series before bucket expansion). */
  get size(): number {
    return this.children.size;
  }

  /** Prom-client's collect hook; nothing to refresh, values are live. */
  collect(): void {}

  protected abstract create(): C;
}

/** A monotonically increasing counter with hot-path children. */
export class FastCounter extends FastMetric<CounterChild> {
  readonly type = 'counter' as const;

  protected create(): CounterChild {
    return { value: 0 };
  }

  async get(): Promise<FastMetricObject> {
    const values: Sample[] = [];
    for (const { labels, child } of this.children.values()) values.push({ labels, value: child.value });
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      aggregator: 'sum',
      values,
    };
  }
}

/** A histogram with fixed upper bounds (seconds) and hot-path children. */
export class FastHistogram extends FastMetric<HistogramChild> {
  readonly type = 'histogram' as const;
  readonly bounds: readonly number[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: number[],
  ) {
    super(registry, name, help, labelNames);
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  protected create(): HistogramChild {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  /** Records one value in `child`: a linear scan over a dozen bounds beats a binary search at this size. */
  observe(child: HistogramChild, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    child.counts[i]!++;
    child.sum += value;
    child.count++;
  }

  async get(): Promise<FastMetricObject> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, child } of this.children.values()) {
      let acc = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        acc += child.counts[i]!;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        values.push({ labels: { le, ...labels }, value: acc, metricName: bucket });
      }
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      values,
    };
  }
}
