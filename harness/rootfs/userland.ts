/**
 * The userland of a guest whose architecture is not the host's: Debian's own packages
 * of that architecture (busybox-static, nodejs and the libraries and Node modules they
 * depend on), fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
 * <cacheDir>/userland/<arch>-<hash of the package versions>/root. Nothing is installed
 * on the host; the host runs none of these binaries. What they need is read from the
 * files themselves: the applets from busybox's own name table, the libraries from
 * each ELF file's DT_NEEDED entries (readelf), checked before the image is built.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchRecord } from '../../vm/index.js';
import { isElf } from './elf.js';
import { fail } from './rootfsError.js';
import { runWithProgress, tryRun } from '../common/proc.js';

/** A Debian package at the version the archive offers. */
export interface DebianPackage {
  name: string;
  /** Debian architecture (arm64) or 'all'. */
  architecture: string;
  version: string;
  section: string;
  /** First alternative of each Depends/Pre-Depends entry, version and :any removed. */
  depends: string[];
}

export interface DebianUserland {
  /** Unpacked packages: copied into the image as they are. */
  root: string;
  /** Guest paths. */
  busybox: string;
  node: string;
  applets: string[];
  /** name:architecture=version of every package, sorted (names the userland). */
  packages: string[];
}

/** What the guest runs; their dependencies follow. */
export const userlandRoots = ['busybox-static', 'nodejs'] as const;
/** Dependencies are followed into these sections only: shared libraries and Node modules (not dpkg, debconf, perl...). */
const followedSections = new Set(['libs', 'javascript']);
/** Left out of the image: documentation, and glibc's iconv modules (dlopen()ed by iconv(), which Node does not use). */
const droppedTrees = (triplet: string): string[] => ['usr/share/doc', 'usr/share/man', 'usr/share/lintian', 'usr/share/bug', `usr/lib/${triplet}/gconv`];

/** Parse `apt-cache show --no-all-versions` output of one package (the first record). */
export function parsePackageRecord(text: string): DebianPackage | null {
  const record = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(record)?.[1]?.trim();
  const name = field('Package');
  const version = field('Version');
  const architecture = field('Architecture');
  if (name === undefined || version === undefined || architecture === undefined) return null;
  const depends = [field('Pre-Depends'), field('Depends')]
    .filter((list): list is string => list !== undefined)
    .flatMap((list) => list.split(','))
    .map((entry) => (entry.split('|')[0] ?? '').replace(/\(.*?\)/g, '').trim().replace(/:any$/, ''))
    .filter((dep) => dep !== '');
  return { name, architecture, version, section: field('Section') ?? '', depends };
}

/**
 * The records of `names` for `debianArch` (an Architecture: all package answers to its
 * plain name only), in two apt-cache calls: each call reads the whole package cache.
 */
async function showPackages(names: readonly string[], debianArch: string): Promise<Map<string, DebianPackage>> {
  const found = new Map<string, DebianPackage>();
  const take = (text: string): void => {
    for (const record of text.split(/\n\s*\n/).map(parsePackageRecord)) {
      if (record !== null && (record.architecture === debianArch || record.architecture === 'all') && !found.has(record.name)) found.set(record.name, record);
    }
  };
  take((await tryRun('apt-cache', ['show', '--no-all-versions', ...names.map((name) => `${name}:${debianArch}`)])).stdout);
  const rest = names.filter((name) => !found.has(name));
  if (rest.length > 0) take((await tryRun('apt-cache', ['show', '--no-all-versions', ...rest])).stdout);
  return found;
}

/** The packages the guest needs: userlandRoots and, recursively, their dependencies in followedSections. */
export async function resolveUserland(arch: ArchRecord): Promise<DebianPackage[]> {
  const { debianArch } = arch;
  const found = new Map<string, DebianPackage>();
  const seen = new Set<string>();
  const isRoot = (name: string): boolean => (userlandRoots as readonly string[]).includes(name);
  let frontier: string[] = [...userlandRoots];
  while (frontier.length > 0) {
    frontier.forEach((name) => seen.add(name));
    const records = await showPackages(frontier, debianArch);
    const next: string[] = [];
    for (const name of frontier) {
      const record = records.get(name);
      if (record === undefined) {
        if (!isRoot(name)) continue; // a virtual package or another architecture's: not ours to follow
        throw fail(`the Debian archive this host uses has no ${name} for ${debianArch}`, `add the architecture and fetch its package lists: rbmap doctor --install --arch ${arch.name}`);
      }
      if (!isRoot(name) && !followedSections.has(record.section)) continue;
      found.set(name, record);
      next.push(...record.depends);
    }
    frontier = [...new Set(next)].filter((name) => !seen.has(name));
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Applet names from busybox's own table in the binary (the packed, sorted,
 * NUL-separated applet_names string that begins "[", "[["): the list
 * `busybox --list` prints, read without running the binary.
 */
export function appletsInBinary(binary: Buffer): string[] {
  const start = binary.indexOf(Buffer.from('\0[\0[[\0', 'latin1'));
  if (start < 0) return [];
  const end = binary.indexOf(Buffer.from('\0\0', 'latin1'), start + 1);
  const names = binary.subarray(start + 1, end < 0 ? undefined : end).toString('latin1').split('\0');
  const valid = names.every((n, i) => /^[a-z0-9_.[\]-]+$/i.test(n) && (i === 0 || names[i - 1]! < n));
  return valid ? names.filter((n) => n !== 'busybox') : [];
}

/** DT_NEEDED sonames and the PT_INTERP loader in `readelf -dl` output. */
export function parseReadelf(text: string): { needed: string[]; interpreter: string | null } {
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const interpreter = /\[Requesting program interpreter: ([^\]]+)\]/.exec(text)?.[1] ?? null;
  return { needed, interpreter };
}

/** Every regular ELF file under `root` (relative paths). */
async function elfFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && /(^|\/)(bin\/[^/]+|[^/]+\.so(\.[0-9.]+)?)$/.test(path)) {
        if (await isElf(join(root, path))) out.push(path);
      }
    }
  }
  await walk('');
  return out.sort();
}

/**
 * Check that every ELF file of the unpacked userland finds its loader and every
 * library it names in the folders the loader searches (no ld.so.cache in the guest).
 */
async function checkLibraries(root: string, triplet: string): Promise<void> {
  const searched = [`lib/${triplet}`, `usr/lib/${triplet}`, 'lib', 'usr/lib'];
  const problems: string[] = [];
  for (const file of await elfFiles(root)) {
    const r = await tryRun('readelf', ['-dlW', join(root, file)]);
    if (r.exitCode !== 0) throw fail(`readelf -dl ${file} failed: ${r.stderr.trim()}`, 'readelf comes with binutils: apt-get install binutils');
    const { needed, interpreter } = parseReadelf(r.stdout);
    if (interpreter !== null && !existsSync(join(root, interpreter))) problems.push(`${file}: loader ${interpreter}`);
    for (const soname of needed) {
      if (!searched.some((dir) => existsSync(join(root, dir, soname)))) problems.push(`${file}: ${soname}`);
    }
  }
  if (problems.length > 0) {
    throw fail(`the guest userland lacks what its binaries need:\n  ${problems.join('\n  ')}`, 'the package resolution missed a dependency: report it with this list');
  }
}

/** apt-get download's name for a package: name:arch=version, or name=version for an Architecture: all one. */
function downloadName(p: DebianPackage): string {
  return p.architecture === 'all' ? `${p.name}=${p.version}` : `${p.name}:${p.architecture}=${p.version}`;
}

/** The GNU triplet of the libraries of a Debian architecture. */
const triplets: Record<string, string> = { arm64: 'aarch64-linux-gnu', amd64: 'x86_64-linux-gnu' };

/** Fetch and unpack (once per set of package versions) the userland of `arch`. */
export async function fetchDebianUserland(options: { cacheDir: string; arch: ArchRecord; log: (line: string) => void }): Promise<DebianUserland> {
  const { cacheDir, arch, log } = options;
  const { debianArch } = arch;
  const triplet = triplets[debianArch];
  if (triplet === undefined) throw fail(`no library triplet known for the Debian architecture ${debianArch}`, 'add it to triplets in harness/rootfs/userland.ts');
  const resolved = await resolveUserland(arch);
  const packages = resolved.map((p) => `${p.name}:${p.architecture}=${p.version}`);
  const digest = createHash('sha256').update(packages.join('\n')).digest('hex').slice(0, 16);
  const dir = join(cacheDir, 'userland', `${debianArch}-${digest}`);
  const root = join(dir, 'root');

  if (!existsSync(root)) {
    const staging = `${dir}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'debs'), { recursive: true });
    log(`userland: fetching ${resolved.length} ${debianArch} packages from the Debian archive: ${resolved.map((p) => p.name).join(' ')}`);
    await runWithProgress('apt-get', ['download', '-q', ...resolved.map(downloadName)], {
      label: 'userland: apt-get download', cwd: join(staging, 'debs'), errorCode: 'E_ROOTFS', hint: 'check that the Debian archive is reachable (apt-get update)',
      status: (line) => (/^Get:/.test(line) ? line.slice(0, 100) : undefined),
    });
    const debs = (await readdir(join(staging, 'debs'))).filter((name) => name.endsWith('.deb'));
    if (debs.length !== resolved.length) {
      throw fail(`apt-get download left ${debs.length} .deb files for ${resolved.length} packages in ${join(staging, 'debs')}`, 'run the download by hand to see which one is missing');
    }
    for (const deb of debs) {
      await runWithProgress('dpkg-deb', ['-x', join(staging, 'debs', deb), join(staging, 'root')], {
        label: `userland: dpkg-deb -x ${deb}`, errorCode: 'E_ROOTFS', hint: `check free disk space in ${cacheDir}`,
      });
    }
    for (const tree of droppedTrees(triplet)) await rm(join(staging, 'root', tree), { recursive: true, force: true });
    await checkLibraries(join(staging, 'root'), triplet);
    await rm(join(staging, 'debs'), { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log(`userland: ${debianArch} userland unpacked in ${root}`);
  }
  const applets = appletsInBinary(await readFile(join(root, 'bin', 'busybox')));
  if (!applets.includes('sh') || !applets.includes('mount')) {
    throw fail(`no applet table found in ${join(root, 'bin', 'busybox')} (or it lacks sh and mount)`, `remove ${dir} to fetch it again`);
  }
  log(`userland: ${debianArch}: nodejs ${resolved.find((p) => p.name === 'nodejs')?.version ?? '?'}, busybox with ${applets.length} applets, ${resolved.length} packages (${root})`);
  return { root, busybox: '/bin/busybox', node: '/usr/bin/node', applets, packages };
}
