import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { architectures } from '../../vm/index.js';
import { sourcePackageOf } from '../source/debianArchive.js';
import { RbmapError } from '../common/errors.js';
import { minGuestMemMb } from '../boot/qemu.js';
import type { RunRequest } from './run.js';
import { variantNamed } from '../build/variants.js';

/** What the argv gives the commands that build and boot: a run's request but for what the command decides itself. */
export interface PipelineOptions extends Omit<RunRequest, 'out' | 'cacheDir' | 'guestMode' | 'log'> {
  /** --out: the run folder; absent: a new one under the runs root. */
  out?: string;
  /** The summary as one JSON object on stdout; the human report goes to stderr. */
  json: boolean;
}

export const optionSpec = {
  arch: { type: 'string' as const, default: 'x86_64' },
  variant: { type: 'string' as const, default: 'default' },
  'kernel-src': { type: 'string' as const },
  'kernel-version': { type: 'string' as const },
  'no-patches': { type: 'boolean' as const, default: false },
  rootfs: { type: 'string' as const },
  'config-fragment': { type: 'string' as const, multiple: true as const, default: [] as string[] },
  smp: { type: 'string' as const, default: '2' },
  mem: { type: 'string' as const, default: '1024' },
  timeout: { type: 'string' as const, default: '900' },
  'boot-timeout': { type: 'string' as const, default: '120' },
  watchdog: { type: 'string' as const, default: '180' },
  'test-timeout': { type: 'string' as const, default: '120' },
  filter: { type: 'string' as const },
  'keep-going': { type: 'boolean' as const, default: false },
  'stress-seconds': { type: 'string' as const, default: '10' },
  seconds: { type: 'string' as const },
  rounds: { type: 'string' as const },
  'copy-paths': { type: 'boolean' as const, default: false },
  versions: { type: 'string' as const, default: 'all' },
  seed: { type: 'string' as const },
  kvm: { type: 'string' as const, default: 'auto' },
  out: { type: 'string' as const },
  verbose: { type: 'boolean' as const, short: 'v', default: false },
  install: { type: 'boolean' as const, default: false },
  dir: { type: 'string' as const },
  tree: { type: 'string' as const },
  base: { type: 'string' as const, default: 'rbmap-base' },
  force: { type: 'boolean' as const, default: false },
  'guest-mode': { type: 'string' as const, default: 'test' },
  json: { type: 'boolean' as const, default: false },
  help: { type: 'boolean' as const, short: 'h', default: false },
};

export type OptionName = keyof typeof optionSpec;
export const commandNames = ['doctor', 'run', 'shell', 'check', 'stress', 'bench', 'matrix', 'regress', 'hack', 'export'] as const;
export type CommandName = (typeof commandNames)[number];

const treeOptions: readonly OptionName[] = ['arch', 'variant', 'kernel-src', 'kernel-version', 'no-patches', 'config-fragment'];
const bootOptions: readonly OptionName[] = ['rootfs', 'smp', 'mem', 'kvm', 'out'];
const guestRunOptions: readonly OptionName[] = [...bootOptions, 'timeout', 'boot-timeout', 'watchdog', 'test-timeout', 'verbose'];

/** The options each command takes (and --help); any other is a usage error. */
export const commandOptions: Readonly<Record<CommandName, readonly OptionName[]>> = {
  doctor: ['arch', 'install'],
  run: [...treeOptions, ...guestRunOptions, 'filter', 'keep-going', 'stress-seconds', 'seed', 'guest-mode', 'json'],
  shell: [...treeOptions, ...bootOptions],
  check: [...treeOptions, 'keep-going', 'json'],
  stress: [...treeOptions, ...guestRunOptions, 'seconds', 'seed'],
  bench: [...treeOptions, ...guestRunOptions, 'seconds', 'rounds', 'copy-paths', 'json'],
  matrix: ['arch', 'variant', 'config-fragment', ...guestRunOptions, 'versions', 'filter', 'keep-going', 'stress-seconds', 'seed', 'json'],
  regress: ['arch', 'variant', 'kernel-src', 'kernel-version', 'config-fragment', ...guestRunOptions.filter((name) => name !== 'rootfs' && name !== 'test-timeout'), 'json'],
  hack: ['dir', 'force'],
  export: ['dir', 'tree', 'base'],
};

export function isCommandName(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

export function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: optionSpec, allowPositionals: true, strict: true, tokens: true });
  } catch (cause) {
    throw new RbmapError('E_USAGE', (cause as Error).message, { hint: 'rbmap --help lists the commands and options' });
  }
}

/** Refuses an option the command does not take, naming the ones it does. */
export function checkCommandOptions(command: CommandName, given: readonly string[]): void {
  const accepted = commandOptions[command];
  const foreign = given.filter((name) => name !== 'help' && !(accepted as readonly string[]).includes(name));
  if (foreign.length > 0) {
    throw new RbmapError('E_USAGE', `rbmap ${command} does not take ${foreign.map((name) => `--${name}`).join(', ')}`, {
      hint: `its options: ${accepted.map((name) => `--${name}`).join(' ')} (rbmap --help)`,
    });
  }
}

export function positiveIntOption(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new RbmapError('E_USAGE', `--${name} ${text}: expected a whole number ≥ ${min}`, { hint: 'rbmap --help' });
  }
  return n;
}

export function pipelineOptions(values: ReturnType<typeof parseCommandLine>['values']): PipelineOptions {
  const arch = architectures[values.arch];
  if (arch === undefined) {
    throw new RbmapError('E_USAGE', `unknown --arch ${values.arch}`, { hint: `known: ${Object.keys(architectures).join(', ')}` });
  }
  if (values.kvm !== 'auto' && values.kvm !== 'kvm' && values.kvm !== 'tcg') {
    throw new RbmapError('E_USAGE', `--kvm ${values.kvm}: expected auto, kvm or tcg`, { hint: 'rbmap --help' });
  }
  const options: PipelineOptions = {
    arch,
    variant: variantNamed(values.variant),
    applySeries: !values['no-patches'],
    extraFragments: values['config-fragment'].map((f) => resolve(f)),
    smp: positiveIntOption('smp', values.smp),
    memMb: positiveIntOption('mem', values.mem, minGuestMemMb),
    timeoutS: positiveIntOption('timeout', values.timeout),
    bootTimeoutS: positiveIntOption('boot-timeout', values['boot-timeout']),
    watchdogS: positiveIntOption('watchdog', values.watchdog),
    testTimeoutS: positiveIntOption('test-timeout', values['test-timeout']),
    keepGoing: values['keep-going'],
    stressSeconds: positiveIntOption('stress-seconds', values['stress-seconds']),
    kvm: values.kvm,
    verbose: values.verbose,
    json: values.json,
  };
  if (values['kernel-src'] !== undefined) options.kernelSrc = resolve(values['kernel-src']);
  if (values['kernel-version'] !== undefined) {
    if (options.kernelSrc !== undefined) {
      throw new RbmapError('E_USAGE', '--kernel-version and --kernel-src exclude each other', { hint: 'give the tree by path or by Debian version, not both' });
    }
    sourcePackageOf(values['kernel-version']);
    options.kernelVersion = values['kernel-version'];
  }
  if (values.rootfs !== undefined) options.rootfs = resolve(values.rootfs);
  if (values.filter !== undefined) options.filter = values.filter;
  if (values.seed !== undefined) options.stressSeed = positiveIntOption('seed', values.seed, 0);
  if (values.out !== undefined) options.out = resolve(values.out);
  return options;
}
