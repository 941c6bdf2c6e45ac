import type { ArchRecord } from '../../vm/arch.js';
import { resultPorts } from '../../guest/contract.js';
import { RbmapError } from '../common/errors.js';

/** Files on the host that receive what the guest writes to each results port. */
export interface ChannelFiles {
  tap: string;
  ktap: string;
  status: string;
}

export type Accel = 'kvm' | 'tcg';

export interface QemuOptions {
  arch: ArchRecord;
  kernel: string;
  initrd: string;
  smp: number;
  memMb: number;
  accel: Accel;
  /** Extra kernel command line words (e.g. `rbmap.mode=test`); no whitespace inside a word. */
  append: string[];
  channels?: ChannelFiles;
  /** Console on the user's terminal with the QEMU monitor multiplexed (Ctrl-A c). */
  interactive: boolean;
}


const channelOrder: readonly (keyof ChannelFiles)[] = ['tap', 'ktap', 'status'];

/** The least guest memory (MB) the initramfs (Node.js and its libraries, unpacked in RAM) boots in. */
export const minGuestMemMb = 256;

/** The kernel command line: console, panic handling, init, then the caller's words. */
export function kernelCommandLine(arch: ArchRecord, append: readonly string[]): string {
  for (const word of append) {
    if (word === '' || /\s/.test(word)) {
      throw new RbmapError('E_USAGE', `kernel command line word ${JSON.stringify(word)} is empty or contains whitespace`, {
        hint: 'pass one key=value per word; encode values with spaces (e.g. as hex, like rbmap.filter)',
      });
    }
  }
  // panic=1: a panic reboots after one second, which -no-reboot turns into QEMU exiting. The
  // second lets the serial port drain: QEMU drops what it has not written when it exits, and
  // rebooting at once (panic=-1) lost the panic message on a loaded host (CI, 2026-12-02).
  // Oopses are not forced into panics here: CONFIG_PANIC_ON_OOPS decides, after the oops is printed.
  return [`console=${arch.console}`, 'panic=1', 'rdinit=/init', ...append].join(' ');
}

/** QEMU's option parser splits on ',' — a literal comma in a value is written ',,'. */
function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** The full QEMU argument vector (without the binary), ready for spawn() — no shell involved. */
export function buildQemuArgs(options: QemuOptions): string[] {
  const { arch } = options;
  if (!Number.isInteger(options.smp) || options.smp < 1) {
    throw new RbmapError('E_USAGE', `invalid CPU count ${options.smp}`, { hint: 'use --smp with a whole number ≥ 1' });
  }
  if (!Number.isInteger(options.memMb) || options.memMb < minGuestMemMb) {
    throw new RbmapError('E_USAGE', `invalid guest memory ${options.memMb} MB`, {
      hint: `use --mem with a whole number of MB ≥ ${minGuestMemMb}`,
    });
  }
  const args: string[] = [
    ...(options.accel === 'kvm' ? arch.qemuKvmArgs : arch.qemuTcgArgs),
    '-smp', String(options.smp),
    '-m', `${options.memMb}M`,
    '-kernel', options.kernel,
    '-initrd', options.initrd,
    '-append', kernelCommandLine(arch, options.append),
    '-nographic',
    '-no-reboot',
    '-net', 'none',
  ];
  if (options.interactive) {
    args.push('-serial', 'mon:stdio');
  } else {
    // -nographic would put the monitor on stdio as well; a test run has no use for it.
    args.push('-serial', 'stdio', '-monitor', 'none');
  }
  if (options.channels !== undefined) {
    args.push('-device', 'virtio-serial-pci,id=rbmapser');
    for (const channel of channelOrder) {
      const id = `rbmap_${channel}`;
      args.push(
        '-chardev', `file,id=${id},path=${qemuOptValue(options.channels[channel])}`,
        '-device', `virtserialport,bus=rbmapser.0,chardev=${id},name=${resultPorts[channel]}`,
      );
    }
  }
  return args;
}
