/**
 * What only a fresh boot shows: the top-level buffers still at the minimal size
 * tracing starts with. /init runs the test files in name order, so this file
 * runs first in every boot, before any other test expands them.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import {
  createInstance,
  openTracePipeRaw,
  readBufferSizeKb,
  RingBufferMapping,
  topLevel,
  tracePath,
} from '../../reader/index.js';
import { traceTest } from './lib/testing.js';

function topLevelExpanded(): boolean {
  return readBufferSizeKb(topLevel).expandedKb === null;
}

traceTest('fresh boot: opening trace_pipe_raw expands only the top level, never fails for it, and a later open expands it once the trace file is closed', ({ cleanup }) => {
  assert.equal(topLevelExpanded(), false, 'the top-level buffers were expanded before this test: it must run first in a boot');

  const name = 'rbmap-fresh';
  cleanup.instance(name);
  createInstance(name);
  cleanup.fd(openTracePipeRaw({ cpu: 0, instance: name }), 'instance cpu0 trace_pipe_raw');
  assert.equal(topLevelExpanded(), false, "opening an instance's trace_pipe_raw left the top level alone");

  // A reader of the trace file holds the buffers: an expansion now fails with EBUSY.
  const trace = openSync(tracePath(topLevel, 'trace'), 'r');
  try {
    const fd = openTracePipeRaw({ cpu: 0 });
    closeSync(fd);
  } finally {
    closeSync(trace);
  }
  assert.equal(topLevelExpanded(), false, 'the failed expansion did not mark the buffers expanded');

  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.equal(topLevelExpanded(), true, 'the next open expanded the top level');
  assert.ok(ring.meta().nrDataPages > 2, `a mapping made now has the full ring (nr_data_pages ${ring.meta().nrDataPages})`);
});
