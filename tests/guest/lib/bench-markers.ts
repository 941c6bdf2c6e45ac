/**
 * What the benchmark's readers count, shared by its TypeScript children (the
 * C reader, rootfs/bench/rbmap_bench.c, counts the same way): the marker
 * sequence numbers seen, skipped and out of order, and the writer CPU's
 * overrun counter; and the C benchmark run from a guest test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { perCpuPath, topLevel } from '../../../reader/index.js';
import { BENCH_BINARY } from './paths.js';

/** A count of per_cpu/cpuN/stats ("overrun", "entries", ...). */
export function statsCount(cpu: number, field: string): bigint {
  const match = new RegExp(`^${field}: (\\d+)$`, 'm').exec(readFileSync(perCpuPath(topLevel, cpu, 'stats'), 'utf8'));
  if (match === null) throw new Error(`no ${field} in per_cpu/cpu${cpu}/stats`);
  return BigInt(match[1]!);
}

/** per_cpu/cpuN/stats's overrun: events the writer overwrote. */
export function overrunOf(cpu: number): bigint {
  return statsCount(cpu, 'overrun');
}

/** Run the C benchmark (rootfs/bench/rbmap_bench.c) to its end; its one JSON line, parsed. */
export function runRbmapBench<T>(args: readonly string[], seconds: number): T {
  const run = spawnSync(BENCH_BINARY, args, { encoding: 'utf8', timeout: seconds * 1000 + 60_000 });
  assert.equal(run.status, 0, `rbmap-bench ${args.join(' ')}: exit ${run.status}, signal ${run.signal}, stderr ${JSON.stringify(run.stderr.trim())}`);
  return JSON.parse(run.stdout) as T;
}

/** The markers "rbmb <n> ..." a reader saw, as rbmap-bench's see_marker() counts them. */
export class MarkerSequence {
  consumed = 0;
  missing = 0;
  outOfOrder = 0;
  private next = 0;

  // Every operation runs for every marker: one first reached at the first loss, inlined into the
  // TypeScript reader's compiled loop, would deoptimize it (see reader/prime.ts).
  see(seq: number): void {
    const gap = seq - this.next;
    this.consumed++;
    this.missing += gap > 0 ? gap : 0;
    this.outOfOrder += gap < 0 ? 1 : 0;
    this.next = gap >= 0 ? seq + 1 : this.next;
  }

  /** The writer wrote `written`: those never seen at the end count as missing too. */
  counts(written: number): { consumed: number; missing: number; outOfOrder: number } {
    return { consumed: this.consumed, missing: this.missing + Math.max(0, written - this.next), outOfOrder: this.outOfOrder };
  }
}
