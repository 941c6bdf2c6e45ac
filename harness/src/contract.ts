/**
 * The host side of the host↔guest contract (docs/internals.md). The guest side is
 * rootfs/init (busybox sh) and commandLineValue() in tests/guest/lib/testing.ts: a
 * change here is a change there.
 */

/** What the guest's /init prints on the console as soon as it starts (ends the boot timeout). */
export const bootDoneMarker = 'rbmap-guest: init';
/** What /init prints in rbmap.mode=probe before it powers off (the KVM probe). */
export const probeOkMarker = 'rbmap-probe-ok';

/** The result channels (virtio-serial ports, by the name the guest looks up in /sys/class/virtio-ports). */
export const resultPorts = {
  /** The guest tests' TAP, one document per test file, each after a suite line. */
  tap: 'rbmap.tap',
  /** The kernel log from the first KTAP header on (KUnit). */
  ktap: 'rbmap.ktap',
  /** One status line, written last. */
  status: 'rbmap.status',
} as const;

export type ResultPort = keyof typeof resultPorts;

export type GuestMode = 'test' | 'ftracetest' | 'shell' | 'probe' | 'hang' | 'crash';

/** What the kernel command line tells the guest. */
export interface GuestCommandLine {
  mode: GuestMode;
  /** Per-test timeout in the guest's runner. */
  testTimeoutS?: number;
  /** node --test-name-pattern; sent hex-encoded (the command line splits at spaces). */
  filter?: string;
  /** Run every test file even after one failed. */
  keepGoing?: boolean;
  stressSeconds?: number;
  stressSeed?: number;
  /** The benchmark's full matrix, this many seconds per measurement. */
  benchSeconds?: number;
  /** ...and its small-ring loss rows this many times. */
  benchRounds?: number;
  /** ...with read() and splice() only: a kernel without the series (bench --no-patches) has no mapping. */
  benchCopyPathsOnly?: boolean;
  /** Mode ftracetest: only these case files (paths in the guest), in this order. */
  ftracetestCases?: readonly string[];
}

/** The `rbmap.*` words of the kernel command line. */
export function guestCommandLineWords(line: GuestCommandLine): string[] {
  const words = [`rbmap.mode=${line.mode}`];
  if (line.testTimeoutS !== undefined) words.push(`rbmap.test_timeout=${line.testTimeoutS}`);
  if (line.filter !== undefined) words.push(`rbmap.filter=${Buffer.from(line.filter, 'utf8').toString('hex')}`);
  if (line.keepGoing === true) words.push('rbmap.keep_going=1');
  if (line.stressSeconds !== undefined) words.push(`rbmap.stress_seconds=${line.stressSeconds}`);
  if (line.stressSeed !== undefined) words.push(`rbmap.stress_seed=${line.stressSeed}`);
  if (line.benchSeconds !== undefined) words.push('rbmap.bench=full', `rbmap.bench_seconds=${line.benchSeconds}`);
  if (line.benchRounds !== undefined) words.push(`rbmap.bench_rounds=${line.benchRounds}`);
  if (line.benchCopyPathsOnly === true) words.push('rbmap.bench_methods=copy');
  if (line.ftracetestCases !== undefined && line.ftracetestCases.length > 0) {
    words.push(`rbmap.ftracetest_cases=${Buffer.from(line.ftracetestCases.join(' '), 'utf8').toString('hex')}`);
  }
  return words;
}

/** The test file a TAP line announces (`# rbmap-suite: <file>`, written by /init before each file's TAP), or null. */
export function announcedSuite(line: string): string | null {
  const match = /^# rbmap-suite:\s*(\S.*?)\s*$/.exec(line.replace(/\r$/, ''));
  return match?.[1] ?? null;
}

/** The last test file announced in a TAP stream: the one running when the guest stopped. */
export function lastAnnouncedSuite(tapText: string): string | null {
  let last: string | null = null;
  for (const line of tapText.split('\n')) last = announcedSuite(line) ?? last;
  return last;
}

/** The guest runner's exit code from the status channel (`rbmap-exit N`; the last one wins), or null. */
export function parseStatusLine(text: string): number | null {
  let code: number | null = null;
  for (const line of text.split('\n')) {
    const match = /^rbmap-exit (-?\d+)\s*$/.exec(line.replace(/\r$/, ''));
    if (match !== null) code = Number(match[1]);
  }
  return code;
}
