/**
 * The guest's busybox, node and shared libraries: the host's own for a guest of the
 * host's architecture, or Debian's packages of the guest's (userland.ts).
 */
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tryRun } from '../common/proc.js';
import { hasInterpreter } from './elf.js';
import { fail, firstLine } from './rootfsError.js';
import type { DebianUserland } from './userland.js';

const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox', '/usr/sbin/busybox', '/sbin/busybox'];

export interface HostFile {
  /** Path in the guest (absolute) == path on the host as referenced. */
  path: string;
  /** Resolved host file to copy. */
  real: string;
  mode: number;
}

/** The guest's busybox, node and libraries. */
export interface Userland {
  busybox: string;
  applets: string[];
  node: HostFile;
  libs: HostFile[];
  /** Copied in first, as it is (a DebianUserland's root), or null. */
  userlandTree: string | null;
  userlandPackages: readonly string[];
}

async function findBusybox(): Promise<string> {
  for (const candidate of busyboxCandidates) {
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      continue;
    }
    if ((await hasInterpreter(real)) === true) continue; // dynamic: useless in the guest
    return real;
  }
  throw fail(
    `no statically linked busybox found (looked at ${busyboxCandidates.join(', ')})`,
    'apt-get install busybox-static',
  );
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await run(busybox, ['--list'], { timeout: 30_000, errorCode: 'E_ROOTFS', hint: 'reinstall busybox-static: apt-get install --reinstall busybox-static' });
  return stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z0-9_.[\]-]+$/.test(s) && s !== 'busybox');
}

/** Absolute paths of the shared libraries (and loader) `ldd` lists for `binary`. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const result = await tryRun('ldd', [binary], { timeout: 30_000 });
  const { stdout } = result;
  if (result.exitCode !== 0 && !/not a dynamic executable/.test(stdout + result.stderr)) {
    throw fail(`'ldd ${binary}' failed: ${result.stderr.trim().split('\n')[0] ?? ''}`, 'ldd comes with libc-bin: apt-get install libc-bin');
  }
  const libs = new Set<string>();
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable/.test(line)) continue;
    const missing = /^(\S+) => not found/.exec(line);
    if (missing) {
      throw fail(`${binary} needs ${missing[1] ?? '?'}, which ldd cannot find`, `install the package providing ${missing[1] ?? 'it'}`);
    }
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^(\/\S+)\s+\(/.exec(line);
    const lib = arrow?.[1] ?? bare?.[1];
    if (lib !== undefined) libs.add(lib);
  }
  return [...libs].sort();
}

async function hostFile(path: string, what: string, hint: string): Promise<HostFile> {
  try {
    const real = await realpath(path);
    const st = await stat(real);
    return { path, real, mode: st.mode & 0o7777 };
  } catch (e) {
    throw fail(`cannot read ${what} ${path}: ${firstLine(e)}`, hint, e);
  }
}

/** The host's own, for a guest of the host's architecture. */
export async function hostUserland(): Promise<Userland> {
  const busybox = await findBusybox();
  const node = await hostFile(process.execPath, 'the node binary', 'run the harness with a regular Node.js install');
  const libs = await Promise.all(
    (await sharedLibraries(node.real)).map((lib) => hostFile(lib, 'shared library', 'reinstall the package that provides it')),
  );
  return { busybox, applets: await busyboxApplets(busybox), node, libs, userlandTree: null, userlandPackages: [] };
}

/** The guest's busybox and node from Debian's packages of another architecture (userland.ts), copied in as a tree. */
export async function debianUserland(userland: DebianUserland): Promise<Userland> {
  const inTree = (path: string): string => join(userland.root, ...path.split('/').filter((s) => s !== ''));
  const node = await hostFile(inTree(userland.node), 'the guest node binary', `remove ${userland.root} to fetch the userland again`);
  return {
    busybox: inTree(userland.busybox),
    applets: userland.applets,
    node: { ...node, path: userland.node },
    libs: [],
    userlandTree: userland.root,
    userlandPackages: userland.packages,
  };
}
