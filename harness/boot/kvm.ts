import { constants, accessSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { ArchRecord } from '../../vm/arch.js';
import { hostDebianArch, isHostArch } from '../../vm/index.js';
import { runQemu } from './boot.js';
import { guestCommandLineWords, probeOkMarker } from '../../guest/contract.js';
import { RbmapError } from '../common/errors.js';
import { run } from '../common/proc.js';
import { buildQemuArgs, type Accel } from './qemu.js';

export type AccelMode = 'auto' | 'kvm' | 'tcg';

export interface ChooseAccelOptions {
  mode: AccelMode;
  arch: ArchRecord;
  /** The kernel and initrd of this run: the probe boots them with rbmap.mode=probe. */
  kernel: string;
  initrd: string;
  /** Where kvm-probe.json (the cached verdicts) and the last probe's console log live. */
  cacheDir: string;
  log: (message: string) => void;
  /** For tests; defaults to /dev/kvm and 8 s. */
  kvmDevice?: string;
  probeTimeoutMs?: number;
}

export interface AccelChoice {
  accel: Accel;
  /** One line saying why, for the run log. */
  why: string;
  /** The verdict came from kvm-probe.json, no probe boot this time. */
  cached: boolean;
}

const defaultProbeTimeoutMs = 8000;
const probeFileName = 'kvm-probe.json';

interface ProbeVerdict {
  usable: boolean;
  detail: string;
  probedAt: string;
}

type ProbeCache = Record<string, ProbeVerdict>;

function kvmDeviceUsable(device: string): boolean {
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function qemuVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version'], { timeout: 10_000, errorCode: 'E_HOST_DEPS', hint: 'install QEMU for this architecture (rbmap doctor --install)' });
  return stdout.split('\n')[0]?.trim() ?? 'unknown';
}

function readCache(path: string): ProbeCache {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as ProbeCache) : {};
  } catch {
    return {};
  }
}

/**
 * Decides between KVM and TCG. `tcg` and `kvm` are obeyed (kvm fails if /dev/kvm
 * cannot be used). `auto` uses KVM only if a probe boot of this very kernel and
 * initrd under KVM prints `rbmap-probe-ok` within a few seconds; the verdict is
 * cached per QEMU version, host kernel release and KVM machine arguments, so only
 * the first run pays.
 */
export async function chooseAccel(options: ChooseAccelOptions): Promise<AccelChoice> {
  const device = options.kvmDevice ?? '/dev/kvm';
  if (options.mode === 'tcg') return { accel: 'tcg', why: 'TCG requested', cached: false };
  if (options.mode === 'kvm') {
    if (!kvmDeviceUsable(device)) {
      throw new RbmapError('E_HOST_DEPS', `KVM was requested but ${device} is missing or not readable and writable by this user`, {
        hint: 'use --kvm tcg (or auto), or give this user access to /dev/kvm (group kvm)',
      });
    }
    return { accel: 'kvm', why: 'KVM requested', cached: false };
  }

  // KVM runs a guest of the host's own architecture only.
  if (!isHostArch(options.arch)) {
    return { accel: 'tcg', why: `the ${options.arch.name} guest does not match the ${hostDebianArch()} host`, cached: false };
  }
  if (!kvmDeviceUsable(device)) return { accel: 'tcg', why: `${device} is not usable`, cached: false };

  const key = `${options.arch.name} | ${await qemuVersion(options.arch.qemuBinary)} | host ${release()} | ${options.arch.qemuKvmArgs.join(' ')}`;
  const cachePath = join(options.cacheDir, probeFileName);
  const cache = readCache(cachePath);
  const known = cache[key];
  if (known !== undefined) {
    return { accel: known.usable ? 'kvm' : 'tcg', why: `cached KVM probe (${known.probedAt}): ${known.detail}`, cached: true };
  }

  options.log(`probing KVM (at most ${(options.probeTimeoutMs ?? defaultProbeTimeoutMs) / 1000} s)`);
  const verdict = await probeKvm(options);
  cache[key] = verdict;
  mkdirSync(options.cacheDir, { recursive: true });
  writeFileSync(cachePath, `${JSON.stringify(cache, null, 2)}\n`);
  options.log(`KVM probe: ${verdict.detail}`);
  return { accel: verdict.usable ? 'kvm' : 'tcg', why: `KVM probe: ${verdict.detail}`, cached: false };
}

async function probeKvm(options: ChooseAccelOptions): Promise<ProbeVerdict> {
  const timeoutMs = options.probeTimeoutMs ?? defaultProbeTimeoutMs;
  mkdirSync(options.cacheDir, { recursive: true });
  let sawOk = false;
  const outcome = await runQemu({
    command: options.arch.qemuBinary,
    args: buildQemuArgs({
      arch: options.arch,
      kernel: options.kernel,
      initrd: options.initrd,
      smp: 1,
      memMb: 512,
      accel: 'kvm',
      append: guestCommandLineWords({ mode: 'probe' }),
      interactive: false,
    }),
    consoleLogPath: join(options.cacheDir, 'kvm-probe-console.log'),
    bootTimeoutMs: timeoutMs,
    runTimeoutMs: timeoutMs,
    watchdogMs: 0,
    bootMarker: probeOkMarker,
    killGraceMs: 1000,
    onLine: (line) => {
      if (line.includes(probeOkMarker)) sawOk = true;
    },
  });
  const probedAt = new Date().toISOString();
  const seconds = (outcome.durationMs / 1000).toFixed(1);
  if (sawOk || outcome.bootMs !== null) {
    return { usable: true, detail: `guest booted under KVM in ${seconds} s`, probedAt };
  }
  const what =
    outcome.reason === 'qemu-error'
      ? `QEMU failed: ${outcome.stderr.trim().split('\n')[0] ?? ''}`
      : `no ${probeOkMarker} within ${timeoutMs / 1000} s (${outcome.reason})`;
  return { usable: false, detail: `${what}; using TCG`, probedAt };
}
