import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ControllerMetrics } from '../../../src/controller/observe/controller-metrics.ts';
import { createRegistry } from '../../../src/shared/metrics-registry.ts';

/** The value of one sample line `name{labels} value` in the text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('ControllerMetrics', () => {
  test('builds, swaps and the snapshot version', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new ControllerMetrics(registry);
    m.build({ durationMs: 12, changed: true, version: 3, diagnostics: 0 });
    m.build({ durationMs: 4, changed: false, version: 3, diagnostics: 1 });
    m.swap(3, new Date(1_700_000_000_000));
    const text = await registry.metrics();
    assert.equal(sample(text, 'sticky_ingress_config_builds_total{changed="true"}'), 1);
    assert.equal(sample(text, 'sticky_ingress_config_builds_total{changed="false"}'), 1);
    assert.equal(sample(text, 'sticky_ingress_config_build_duration_seconds_count'), 2);
    assert.equal(sample(text, 'sticky_ingress_config_build_duration_seconds_sum'), 0.016);
    assert.equal(sample(text, 'sticky_ingress_config_snapshot_version'), 3);
    assert.equal(sample(text, 'sticky_ingress_config_last_swap_timestamp_seconds'), 1_700_000_000);
  });

  test('invalid objects: a kind that becomes clean drops to 0', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new ControllerMetrics(registry);
    m.invalidObjects({ Ingress: 2, StickyRoute: 1 });
    m.invalidObjects({ Ingress: 1 });
    const text = await registry.metrics();
    assert.equal(sample(text, 'sticky_ingress_config_invalid_objects{kind="Ingress"}'), 1);
    assert.equal(sample(text, 'sticky_ingress_config_invalid_objects{kind="StickyRoute"}'), 0);
  });

  test('informer restarts, API errors and leader state', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new ControllerMetrics(registry);
    assert.equal(sample(await registry.metrics(), 'sticky_ingress_controller_leader'), 0);
    m.informerRestart('EndpointSlice');
    m.informerRestart('EndpointSlice');
    m.apiError('Ingress', 409);
    m.apiError('Lease', 'ECONNRESET');
    m.leader(true);
    const text = await registry.metrics();
    assert.equal(sample(text, 'sticky_ingress_controller_informer_restarts_total{kind="EndpointSlice"}'), 2);
    assert.equal(sample(text, 'sticky_ingress_controller_api_errors_total{kind="Ingress",code="409"}'), 1);
    assert.equal(
      sample(text, 'sticky_ingress_controller_api_errors_total{kind="Lease",code="ECONNRESET"}'),
      1,
    );
    assert.equal(sample(text, 'sticky_ingress_controller_leader'), 1);
  });

  test('process metrics go into the given registry only', async () => {
    const registry = createRegistry();
    const text = await registry.metrics();
    assert.match(text, /^sticky_ingress_process_cpu_seconds_total /m);
    assert.match(text, /^sticky_ingress_nodejs_eventloop_lag_seconds /m);
    const other = createRegistry({ processMetrics: false });
    assert.doesNotMatch(await other.metrics(), /process_cpu/);
  });
});
