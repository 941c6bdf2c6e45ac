/**
 * What the reader benchmark measures, in order: the guest's throughput test runs it and
 * the host's `rbmap bench` sizes its time limits from it.
 */

export type BenchMethod = 'read' | 'splice' | 'mmap' | 'tep-mmap' | 'node-mmap' | 'node-mmap-poll' | 'rbmap-cat';

export interface BenchPlanOptions {
  /** rbmap bench: two ring sizes and three rates; otherwise one short row per method. */
  full: boolean;
  /** A kernel without the series: read() and splice() only. */
  copyPathsOnly: boolean;
  /** How many times the small-ring loss rows are measured. */
  rounds: number;
}

export interface BenchStep {
  method: BenchMethod;
  ringKb: number;
  /** Events per second; 0 = as fast as the writer can. */
  rate: number;
  /** 'default': the kernel's buffer_percent; 0: poll() wakes at the first event. */
  wakeAt: 'default' | 0;
  round: number;
}

const lossRingKb = 32;
const lossRates = [0, 50_000];

export function benchPlan({ full, copyPathsOnly, rounds }: BenchPlanOptions): BenchStep[] {
  const ringSizesKb = full ? [1024, lossRingKb] : [1024];
  const rates = full ? [0, 50_000, 10_000] : [0];
  const methods: readonly BenchMethod[] = copyPathsOnly ? ['read', 'splice'] : ['read', 'splice', 'mmap', 'tep-mmap', 'node-mmap', 'node-mmap-poll'];
  const smallRingMethods: readonly BenchMethod[] = copyPathsOnly ? ['read'] : ['read', 'mmap', 'node-mmap', 'node-mmap-poll'];
  const steps: BenchStep[] = [];
  const step = (method: BenchMethod, ringKb: number, rate: number, wakeAt: BenchStep['wakeAt'] = 'default', round = 1): void => {
    steps.push({ method, ringKb, rate, wakeAt, round });
  };
  for (const ringKb of ringSizesKb) {
    for (const rate of rates) for (const method of methods) step(method, ringKb, rate);
    if (full && !copyPathsOnly) step('rbmap-cat', ringKb, 0);
    if (full && ringKb < 256) for (const method of smallRingMethods) step(method, ringKb, 0, 0);
  }
  for (let round = 2; round <= (full ? rounds : 1); round++) {
    for (const rate of lossRates) for (const method of smallRingMethods) step(method, lossRingKb, rate, 'default', round);
  }
  return steps;
}
