/**
 * Worker thread of a stress worker process: blocking system calls on the
 * top-level buffers while the process's main thread maps, splits and unmaps
 * in the same mm. It waits in poll() on a mapped fd and then takes a page,
 * waits in poll() then read()s or splice()s a CPU's pages and checks every
 * marker in the copy. Its own PRNG comes from the process's seed. It says when
 * it runs and runs until the main thread says stop (StressControl), counting
 * its steps there. Posts `{ done }` with its counts, or `{ failed }` with the
 * last operations.
 */
import { closeSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import {
  hasCode,
  onlineCpus,
  openTracePipeRaw,
  RingBufferMapping,
  sys,
} from '../../../reader/index.js';
import { OperationLog, StressControl, countWholeMarkersInPages, pinToCpu, prng, settledMetaProblems, type SlowestOperation } from '../lib/stress.js';

export interface StressThreadData {
  readonly seed: number;
  /** StressControl's buffer: the main thread's stop, this thread's state and step count. */
  readonly control: SharedArrayBuffer;
  readonly cpu: number;
}

export type StressThreadReport =
  | {
      readonly done: {
        steps: number;
        markersChecked: number;
        counts: Record<string, number>;
        slowest?: SlowestOperation;
      };
    }
  | { readonly failed: string };

const { seed, control: controlBuffer, cpu } = workerData as StressThreadData;
const control = new StressControl(controlBuffer);
const random = prng(seed);
const cpus = onlineCpus();
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pageSize = sys.pageSize();
const { POLLIN, SPLICE_F_NONBLOCK } = sys.constants;
const log = new OperationLog();
let markersChecked = 0;

function checkCopy(data: Buffer, where: string): number {
  const whole = countWholeMarkersInPages(data, pageSize, where);
  markersChecked += whole;
  return whole;
}

const operations: Record<string, () => string> = {
  pollThenTake: () => {
    const ring = RingBufferMapping.open({ cpu: pick(cpus) });
    try {
      let taken = 0;
      for (let round = 0; round < 5; round++) {
        if (sys.poll(ring.fd, POLLIN, 20) === 0) continue;
        if (!ring.getReaderPage()) continue;
        taken++;
        const problems = settledMetaProblems(ring.metaView(), ring.geometry);
        if (problems.length > 0) throw new Error(`meta page after a hand-over: ${problems.join('; ')}`);
      }
      return `cpu${ring.cpu} ${taken} taken`;
    } finally {
      ring.close();
    }
  },
  pollThenRead: () => {
    const target = pick(cpus);
    const fd = openTracePipeRaw({ cpu: target, nonBlocking: true });
    try {
      if (sys.poll(fd, POLLIN, 20) === 0) return 'timeout';
      const data = Buffer.alloc(2 * pageSize);
      let got: number;
      try {
        got = readSync(fd, data, 0, data.length, null);
      } catch (error) {
        // Another consumer emptied it between poll() and read().
        if (hasCode(error, 'EAGAIN')) return 'EAGAIN';
        throw error;
      }
      return `${checkCopy(data.subarray(0, got), `read() of cpu${target} (thread)`)} whole markers`;
    } finally {
      closeSync(fd);
    }
  },
  pollThenSplice: () => {
    const target = pick(cpus);
    const fd = openTracePipeRaw({ cpu: target, nonBlocking: true });
    try {
      if (sys.poll(fd, POLLIN, 20) === 0) return 'timeout';
      try {
        return `${checkCopy(sys.splice(fd, pageSize, SPLICE_F_NONBLOCK), `splice() of cpu${target} (thread)`)} whole markers`;
      } catch (error) {
        if (hasCode(error, 'EAGAIN')) return 'EAGAIN';
        throw error;
      }
    } finally {
      closeSync(fd);
    }
  },
};

const names = Object.keys(operations);
try {
  pinToCpu(cpu);
  control.threadRunning();
  while (!control.stopped) {
    const name = pick(names);
    log.run(name, operations[name]!);
    control.countThreadStep();
  }
  const report: StressThreadReport = {
    done: { steps: log.steps, markersChecked, counts: Object.fromEntries(log.counts), slowest: log.slowest },
  };
  parentPort?.postMessage(report);
} catch (error) {
  const report: StressThreadReport = {
    failed: `thread at step ${log.steps}: ${error instanceof Error ? error.message : String(error)}\nlast thread operations:\n${log.last()}`,
  };
  parentPort?.postMessage(report);
} finally {
  control.threadEnded();
}
