/**
 * What only a fresh boot shows: the top-level buffers still at the minimal size
 * tracing starts with, until tracing is first used. /init runs the test files in name
 * order, so this file runs first in every boot, before any other test expands them.
 *
 * The rule (issue 20): open() and read() of trace_pipe_raw are exactly pristine 6.1's,
 * they expand nothing; mmap() of a top-level buffer that was never expanded is refused
 * with EBUSY and changes nothing, so the first use of tracing (an event enabled, a tracer
 * set, buffer_size_kb written) expands the buffers as it does without the series.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import {
  createInstance,
  kbShownForRingPages,
  openTracePipeRaw,
  readBufferSizeKb,
  ringPagesForKb,
  RingBufferMapping,
  sys,
  topLevel,
  tracePath,
  writeTraceFile,
  type BufferSize,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { traceTest } from './lib/trace-test.js';

const { PROT_READ, MAP_SHARED } = sys.constants;

function topLevelSize(): BufferSize {
  return readBufferSizeKb(topLevel);
}

function assertUnexpanded(what: string): BufferSize {
  const size = topLevelSize();
  assert.notEqual(size.expandedKb, null, `${what}: the top-level buffers are expanded (buffer_size_kb ${JSON.stringify(size)})`);
  return size;
}

traceTest('fresh boot: open() and read() of trace_pipe_raw leave buffer_size_kb as pristine 6.1 does (never expanded)', () => {
  const before = assertUnexpanded('before the open (this file must run first in a boot)');
  const fd = openTracePipeRaw({ cpu: 0, nonBlocking: true });
  try {
    const page = Buffer.alloc(sys.pageSize());
    try {
      readSync(fd, page, 0, page.length, null);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EAGAIN') throw error;
    }
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(topLevelSize(), before, 'open() + read() + close() changed buffer_size_kb');
});

traceTest('fresh boot: mmap() of a never-expanded top-level buffer is refused with EBUSY and tracing is untouched; the first event enable then works and expands', ({ cleanup }) => {
  const before = assertUnexpanded('before the mapping');

  // An instance is allocated at its full size: it maps at once and leaves the top level alone.
  const name = 'rbmap-fresh';
  cleanup.instance(name);
  createInstance(name);
  const instanceRing = cleanup.closes('instance cpu0 mapping', RingBufferMapping.open({ cpu: 0, instance: name }));
  assert.ok(instanceRing.meta().nrDataPages > 2, `the instance maps its full ring (nr_data_pages ${instanceRing.meta().nrDataPages})`);
  assert.deepEqual(topLevelSize(), before, "mapping an instance's buffer left the top level alone");

  // The sequence of issue 20, finding 1: a reader of the trace file holds the buffers
  // while cpu0's trace_pipe_raw is opened and mapped, then goes away.
  const trace = openSync(tracePath(topLevel, 'trace'), 'r');
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }), 'top-level cpu0 trace_pipe_raw');
  try {
    assertErrno(() => sys.mmapRaw(0n, BigInt(sys.pageSize()), PROT_READ, MAP_SHARED, fd, 0n), 'EBUSY', 'mmap of a never-expanded top-level buffer');
  } finally {
    closeSync(trace);
  }
  assert.deepEqual(topLevelSize(), before, 'the refused mapping changed buffer_size_kb');

  // The first use of tracing expands the buffers as on pristine 6.1.
  cleanup.add('disable sched_switch', () => writeTraceFile(topLevel, 'events/sched/sched_switch/enable', '0\n'));
  writeTraceFile(topLevel, 'events/sched/sched_switch/enable', '1\n');
  const configuredKb = kbShownForRingPages(ringPagesForKb(before.expandedKb ?? 0));
  assert.deepEqual(topLevelSize(), { kb: configuredKb, expandedKb: null }, 'the first event enable expanded the top level to its configured size');

  // Now the same fd maps, and the mapping has the full ring.
  const ring = cleanup.closes('top-level cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  assert.ok(ring.meta().nrDataPages > 2, `a mapping made now has the full ring (nr_data_pages ${ring.meta().nrDataPages})`);
});
