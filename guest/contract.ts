/**
 * The host↔guest contract (docs/internals.md), imported by both sides: the harness on the
 * host, and in the guest the runner's reporter (runner/tap-per-file.ts) and the
 * command-line reader (cmdline.ts). guest/init (busybox sh) cannot import it: a host test
 * (tests/host/contract.test.ts) checks that it uses the same markers, ports, keys and paths.
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

/** Where the initramfs puts the compiled TypeScript the guest runs. */
export const guestPaths = {
  /** The reader library (dist/reader). */
  reader: '/opt/rbmap/reader',
  /** This package (dist/guest): the runner, its reporter, the command-line reader. */
  guest: '/opt/rbmap/guest',
  /** The guest tests (dist/tests/guest): the `*.test.js` files /init runs, their lib/ and helpers/. */
  tests: '/opt/rbmap/tests/guest',
} as const;

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

/** The KEY of each `rbmap.KEY=value` word: /init reads the first five, the guest tests the others (cmdline.ts). */
export type CommandLineKey =
  | 'mode' | 'filter' | 'ftracetest_cases' | 'test_timeout' | 'keep_going'
  | 'stress_seconds' | 'stress_seed' | 'bench' | 'bench_seconds' | 'bench_rounds' | 'bench_methods';

export function commandLineWord(key: CommandLineKey, value: string | number): string {
  return `rbmap.${key}=${value}`;
}

function hex(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

/** The `rbmap.*` words of the kernel command line. */
export function guestCommandLineWords(line: GuestCommandLine): string[] {
  const words = [commandLineWord('mode', line.mode)];
  if (line.testTimeoutS !== undefined) words.push(commandLineWord('test_timeout', line.testTimeoutS));
  if (line.filter !== undefined) words.push(commandLineWord('filter', hex(line.filter)));
  if (line.keepGoing === true) words.push(commandLineWord('keep_going', 1));
  if (line.stressSeconds !== undefined) words.push(commandLineWord('stress_seconds', line.stressSeconds));
  if (line.stressSeed !== undefined) words.push(commandLineWord('stress_seed', line.stressSeed));
  if (line.benchSeconds !== undefined) words.push(commandLineWord('bench', 'full'), commandLineWord('bench_seconds', line.benchSeconds));
  if (line.benchRounds !== undefined) words.push(commandLineWord('bench_rounds', line.benchRounds));
  if (line.benchCopyPathsOnly === true) words.push(commandLineWord('bench_methods', 'copy'));
  if (line.ftracetestCases !== undefined && line.ftracetestCases.length > 0) {
    words.push(commandLineWord('ftracetest_cases', hex(line.ftracetestCases.join(' '))));
  }
  return words;
}

/** What starts the line announcing a test file on the TAP port, before the file's own TAP document. */
export const suiteLinePrefix = '# rbmap-suite:';

/** The line the guest's reporter writes before a test file's TAP document. */
export function suiteLine(file: string): string {
  return `${suiteLinePrefix} ${file}\n`;
}

/** The test file a TAP line announces (suiteLine()), or null. */
export function announcedSuite(line: string): string | null {
  if (!line.startsWith(suiteLinePrefix)) return null;
  const file = line.slice(suiteLinePrefix.length).trim();
  return file === '' ? null : file;
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
