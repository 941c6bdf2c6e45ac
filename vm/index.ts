import type { ArchRecord } from './arch.js';
import { arm64 } from './arm64.js';
import { x86_64 } from './x86_64.js';

export type { ArchRecord } from './arch.js';
export const architectures: Record<string, ArchRecord> = { x86_64, arm64 };

/** Debian's name of the architecture this harness runs on (compare with ArchRecord.debianArch). */
export function hostDebianArch(): string {
  const names: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  return names[process.arch] ?? process.arch;
}

/** Whether a guest of this architecture runs the host's own binaries (and may use KVM). */
export function isHostArch(arch: ArchRecord): boolean {
  return arch.debianArch === hostDebianArch();
}
