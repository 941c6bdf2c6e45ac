import { existsSync } from 'node:fs';
import type { ArchRecord } from '../../vm/arch.js';
import { RbmapError } from '../common/errors.js';
import { nodeHeadersDir } from '../rootfs/addon.js';
import { runWithProgress, tryRun } from '../common/proc.js';
import { isHostArch } from '../../vm/index.js';

/** A host requirement: a Debian package, and a file that proves it is usable. */
export interface HostRequirement {
  debianPackage: string;
  /** Why the pipeline needs it, shown when it is missing. */
  purpose: string;
  /** A path whose existence shows the package is installed. */
  probe: string;
}

export function hostRequirements(arch: ArchRecord): HostRequirement[] {
  return [
    { debianPackage: 'linux-source-6.1', purpose: 'the base kernel tree', probe: '/usr/src/linux-source-6.1.tar.xz' },
    { debianPackage: arch.qemuPackage, purpose: 'boots the guest', probe: `/usr/bin/${arch.qemuBinary}` },
    { debianPackage: 'busybox-static', purpose: 'the guest userland', probe: '/bin/busybox' },
    { debianPackage: 'gcc', purpose: 'compiles the kernel and the addon', probe: '/usr/bin/gcc' },
    { debianPackage: 'make', purpose: 'kernel build', probe: '/usr/bin/make' },
    { debianPackage: 'flex', purpose: 'kernel build (kconfig)', probe: '/usr/bin/flex' },
    { debianPackage: 'bison', purpose: 'kernel build (kconfig)', probe: '/usr/bin/bison' },
    { debianPackage: 'bc', purpose: 'kernel build (timeconst)', probe: '/usr/bin/bc' },
    { debianPackage: 'libelf-dev', purpose: 'kernel build (objtool)', probe: '/usr/include/libelf.h' },
    { debianPackage: 'libssl-dev', purpose: 'kernel build (sign-file)', probe: '/usr/include/openssl/ssl.h' },
    { debianPackage: 'cpio', purpose: 'packs the initramfs', probe: '/usr/bin/cpio' },
    { debianPackage: 'ccache', purpose: 'incremental kernel builds', probe: '/usr/lib/ccache/gcc' },
    { debianPackage: 'perl', purpose: 'checkpatch.pl and kernel build scripts', probe: '/usr/bin/perl' },
    { debianPackage: 'git', purpose: 'the kernel tree and the series (git am)', probe: '/usr/bin/git' },
    { debianPackage: 'xz-utils', purpose: 'unpacks linux-source', probe: '/usr/bin/xz' },
    { debianPackage: 'python3', purpose: 'kernel build helper scripts', probe: '/usr/bin/python3' },
    { debianPackage: 'python3-ply', purpose: "checkpatch's SPDX licence check (spdxcheck.py)", probe: '/usr/lib/python3/dist-packages/ply/__init__.py' },
    { debianPackage: 'python3-git', purpose: "checkpatch's SPDX licence check (spdxcheck.py)", probe: '/usr/lib/python3/dist-packages/git/__init__.py' },
    ...arch.hostPackages,
  ];
}

export interface DoctorReport {
  missing: HostRequirement[];
  nodeHeaders: string | null;
}

export async function examineHost(arch: ArchRecord): Promise<DoctorReport> {
  return {
    missing: hostRequirements(arch).filter((r) => !existsSync(r.probe)),
    nodeHeaders: await nodeHeadersDir(),
  };
}

export function installCommand(missing: HostRequirement[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${missing.map((r) => r.debianPackage).join(' ')}`;
}

/**
 * Checks the host; with install=true and root, installs what is missing with apt-get.
 * Throws E_HOST_DEPS naming each missing package and the command that fixes it.
 */
export async function doctor(arch: ArchRecord, options: { install: boolean; log: (line: string) => void }): Promise<void> {
  const listsUpdated = await checkForeignArchitecture(arch, options);
  let report = await examineHost(arch);
  if (report.missing.length > 0 && options.install) {
    if (process.getuid?.() !== 0) {
      throw new RbmapError('E_HOST_DEPS', `missing host packages: ${names(report.missing)}; --install needs root`, {
        hint: `run as root: ${installCommand(report.missing)}`,
      });
    }
    options.log(`doctor: installing ${names(report.missing)}`);
    if (!listsUpdated) await aptGetUpdate();
    await runWithProgress('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...report.missing.map((r) => r.debianPackage)], {
      label: 'doctor: apt-get install',
      env: aptEnv,
      status: aptStatus,
      errorCode: 'E_HOST_DEPS',
      hint: `install them by hand: ${installCommand(report.missing)}`,
    });
    report = await examineHost(arch);
  }
  const requirements = hostRequirements(arch);
  const width = Math.max(...requirements.map((r) => r.debianPackage.length));
  for (const r of requirements) {
    const ok = !report.missing.some((m) => m.debianPackage === r.debianPackage && m.probe === r.probe);
    options.log(`doctor: ${ok ? 'ok     ' : 'MISSING'} ${r.debianPackage.padEnd(width)} ${r.purpose}`);
  }
  options.log(`doctor: ${report.nodeHeaders !== null ? 'ok     ' : 'MISSING'} ${'node headers'.padEnd(width)} ${report.nodeHeaders ?? 'node_api.h not found'}`);
  if (report.missing.length > 0) {
    throw new RbmapError('E_HOST_DEPS', `missing host packages: ${names(report.missing)}`, {
      hint: `install them (as root): ${installCommand(report.missing)}  — or run: rbmap doctor --install`,
    });
  }
  if (report.nodeHeaders === null) {
    throw new RbmapError('E_HOST_DEPS', 'Node.js headers (node_api.h) not found; the guest syscall addon cannot be built', {
      hint: 'install the headers of the running Node (Debian/NodeSource package nodejs ships /usr/include/node), or set npm config nodedir',
    });
  }
}

const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function aptStatus(line: string): string | undefined {
  return /^(Get|Hit|Unpacking|Setting up)\b/.test(line) ? line.slice(0, 100) : undefined;
}

async function aptGetUpdate(): Promise<void> {
  await runWithProgress('apt-get', ['update', '-q'], {
    label: 'doctor: apt-get update', env: aptEnv, status: aptStatus, errorCode: 'E_HOST_DEPS', hint: 'check that the Debian mirror is reachable',
  });
}

function names(list: HostRequirement[]): string {
  return list.map((r) => r.debianPackage).join(', ');
}

/** The architectures dpkg takes packages of besides the host's own. */
async function foreignArchitectures(): Promise<string[]> {
  const r = await tryRun('dpkg', ['--print-foreign-architectures']);
  return r.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}

/**
 * A guest of another architecture runs Debian's packages of its own (userland.ts): apt
 * must list them, which takes `dpkg --add-architecture` and `apt-get update`. Of that
 * architecture, only the static libraries the guest's C programs link are installed on the
 * host (its hostPackages). Says whether it updated the package lists.
 */
async function checkForeignArchitecture(arch: ArchRecord, options: { install: boolean; log: (line: string) => void }): Promise<boolean> {
  if (isHostArch(arch) || (await foreignArchitectures()).includes(arch.debianArch)) return false;
  const fix = `dpkg --add-architecture ${arch.debianArch} && apt-get update`;
  if (!options.install || process.getuid?.() !== 0) {
    options.log(`doctor: MISSING ${arch.debianArch} package lists (the guest's busybox and Node.js)`);
    throw new RbmapError('E_HOST_DEPS', `apt does not list Debian's ${arch.debianArch} packages, which the ${arch.name} guest's userland comes from`, {
      hint: `as root: ${fix}  — or run: rbmap doctor --install --arch ${arch.name}`,
    });
  }
  options.log(`doctor: adding the ${arch.debianArch} architecture to dpkg (its package lists; of it, only the static libraries of the guest's C programs get installed)`);
  await runWithProgress('dpkg', ['--add-architecture', arch.debianArch], {
    label: 'doctor: dpkg --add-architecture', env: aptEnv, errorCode: 'E_HOST_DEPS', hint: `run it by hand: ${fix}`,
  });
  await aptGetUpdate();
  return true;
}
