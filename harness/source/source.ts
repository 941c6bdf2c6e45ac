import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { git, revParse } from './git.js';
import { fileStamp, sha256 } from '../common/hash.js';
import { runWithProgress } from '../common/proc.js';

export const debianTarball = '/usr/src/linux-source-6.1.tar.xz';
export const baseTag = 'rbmap-base';

/** A kernel tree the harness can build, and what it knows about its history. */
export interface KernelTree {
  /** Source directory (the work tree). */
  dir: string;
  /** True when the harness owns the tree and may move its HEAD. */
  managed: boolean;
  /** Commit of the pristine base, when the tree is a git repository. */
  baseCommit: string | null;
  /** Human label for reports: 'debian-6.1 (6.1.192)' or the user's path. */
  label: string;
}

/** `VERSION.PATCHLEVEL.SUBLEVEL` from a tree's top-level Makefile. */
export async function kernelVersion(dir: string): Promise<string> {
  const makefile = await readFile(join(dir, 'Makefile'), 'utf8').catch(() => {
    throw new RbmapError('E_SOURCE', `${dir} has no top-level Makefile: not a kernel tree`, {
      hint: 'point --kernel-src at the top of a Linux source tree',
    });
  });
  const field = (name: string): string => new RegExp(`^${name}\\s*=\\s*(\\S*)`, 'm').exec(makefile)?.[1] ?? '?';
  return `${field('VERSION')}.${field('PATCHLEVEL')}.${field('SUBLEVEL')}`;
}

/**
 * Refuses a tree that already has upstream's own ring-buffer mapping (Linux 6.10 and
 * later): its include/uapi/linux/trace_mmap.h defines struct trace_buffer_meta, and the
 * series would only conflict with it.
 */
export async function refuseUpstreamMapping(dir: string): Promise<void> {
  const header = await readFile(join(dir, 'include', 'uapi', 'linux', 'trace_mmap.h'), 'utf8').catch(() => '');
  if (!/\bstruct\s+trace_buffer_meta\b/.test(header)) return;
  throw new RbmapError(
    'E_SOURCE',
    `${dir} (${await kernelVersion(dir)}) already has upstream's ring-buffer mapping: include/uapi/linux/trace_mmap.h defines ` +
      `${upstreamMappingAbi}, Linux 6.10 and later`,
    { hint: upstreamMappingHint },
  );
}

/** Upstream's mapping ABI, as the refusals name it. */
export const upstreamMappingAbi =
  "struct trace_buffer_meta, mapped through trace_pipe_raw, TRACE_MMAP_IOCTL_GET_READER = _IO('R', 0x20)";
export const upstreamMappingHint =
  "this series adds its own ABI (struct ring_buffer_meta_page) to kernels without upstream's: use a tree older than 6.10 " +
  "(the default is Debian's linux-source-6.1), or --no-patches to build this one as it is";

/**
 * The default source: Debian's linux-source-6.1 tarball (the installed one, or one fetched
 * for --kernel-version) unpacked into the cache and turned into a git repository whose first
 * commit (tagged rbmap-base) is the pristine tree. Reused as long as the tarball is the same file.
 */
export async function debianBaseTree(cacheDir: string, log: (line: string) => void, tarball: string = debianTarball): Promise<KernelTree> {
  if (!existsSync(tarball)) {
    throw new RbmapError('E_SOURCE', `${tarball} not found`, {
      hint: 'apt-get install linux-source-6.1 (or run: rbmap doctor --install), or use --kernel-version V or --kernel-src DIR',
    });
  }
  const key = sha256(await fileStamp(tarball)).slice(0, 12);
  const dir = join(cacheDir, 'trees', `debian-6.1-${key}`);
  const ready = join(dir, '.git', 'rbmap-ready');
  if (!existsSync(ready)) {
    await createBaseRepository(dir, tarball, log);
    await writeFile(ready, `${tarball}\n`);
  }
  const baseCommit = await revParse(dir, baseTag);
  if (baseCommit === null) {
    throw new RbmapError('E_SOURCE', `the cached tree ${dir} has no ${baseTag} tag`, {
      hint: `remove ${dir} and run again; it will be recreated`,
    });
  }
  return { dir, managed: true, baseCommit, label: `debian linux-source-6.1 (${await kernelVersion(dir)})` };
}

async function createBaseRepository(dir: string, tarball: string, log: (line: string) => void): Promise<void> {
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`source: unpacking ${tarball} into ${staging}`);
  let files = 0;
  await runWithProgress('tar', ['-xvf', tarball, '-C', staging, '--strip-components=1'], {
    label: 'source: unpacking',
    status: () => `${++files} files`,
    errorCode: 'E_SOURCE',
    hint: 'check free disk space and that xz-utils is installed',
  });
  const version = await kernelVersion(staging);
  log(`source: making the pristine base commit of ${version} (${files} files)`);
  await git(staging, ['init', '-q']);
  // Debian's packaging .gitignore ignores every top-level entry; force-add the tree once
  // so the base commit is the whole pristine tarball, .gitignore included as shipped.
  await runWithProgress('git', ['-C', staging, 'add', '-A', '-f'], {
    label: 'source: git add', errorCode: 'E_SOURCE', hint: 'check free disk space',
  });
  await runWithProgress('git', ['-C', staging, 'commit', '-q', '--no-verify', '-m', `Linux ${version} (Debian linux-source-6.1, pristine)`], {
    label: 'source: git commit', errorCode: 'E_SOURCE', hint: 'check free disk space and that git can write the tree',
  });
  await git(staging, ['tag', baseTag]);
  await rename(staging, dir);
}

/**
 * A tree given with --kernel-src. A git repository keeps its history (the harness never
 * moves its HEAD); its base for the series is HEAD unless the series is already applied.
 */
export async function userTree(dir: string): Promise<KernelTree> {
  if (!existsSync(dir)) {
    throw new RbmapError('E_SOURCE', `--kernel-src ${dir} does not exist`, { hint: 'give the path of a Linux source tree' });
  }
  const version = await kernelVersion(dir);
  const head = await revParse(dir, 'HEAD');
  return { dir, managed: false, baseCommit: head, label: `${dir} (${version})` };
}
