/**
 * Kernel trees of a given Debian version (--kernel-version): the linux-source-X.Y package of
 * that exact version, fetched from the Debian archive with the ordinary apt tools and never
 * installed: `apt-cache madison` lists the versions, `apt-get download` fetches the .deb,
 * `dpkg-deb` takes the source tarball out of it into the cache.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { runWithProgress, tryRun } from '../common/proc.js';

/** The source package of a Debian kernel version: 6.1.170-3 -> linux-source-6.1. */
export function sourcePackageOf(version: string): string {
  const match = /^(\d+)\.(\d+)\.\d+-[\w.~+]+$/.exec(version);
  if (match === null) {
    throw new RbmapError('E_USAGE', `--kernel-version ${version}: expected a Debian kernel version such as 6.1.170-3`, {
      hint: 'list them with: apt-cache madison linux-source-6.1',
    });
  }
  return `linux-source-${match[1]}.${match[2]}`;
}

/** Linux 6.10 and later carry upstream's own ring-buffer mapping (struct trace_buffer_meta). */
export function hasUpstreamMapping(version: string): boolean {
  const [major, minor] = version.split(/[.-]/).map(Number);
  return (major ?? 0) > 6 || ((major ?? 0) === 6 && (minor ?? 0) >= 10);
}

/** The installed version of a Debian package, or null when it is not installed. */
export async function installedPackageVersion(pkg: string): Promise<string | null> {
  const r = await tryRun('dpkg-query', ['-W', '-f', '${Status}|${Version}', pkg]);
  const [status, version] = r.stdout.split('|');
  return r.exitCode === 0 && status?.endsWith(' installed') === true && version !== undefined && version !== '' ? version : null;
}

/** The versions `apt-cache madison` lists for a package, newest first. */
export function parseMadison(text: string): string[] {
  const versions: string[] = [];
  for (const line of text.split('\n')) {
    const version = line.split('|')[1]?.trim();
    if (version !== undefined && version !== '' && !versions.includes(version)) versions.push(version);
  }
  return versions;
}

/**
 * The source tarball of linux-source-X.Y at `version`, fetched once into
 * <cacheDir>/debian/<version>/. A version the archive does not hold is a setup error
 * listing the ones it does.
 */
export async function sourceTarballOf(cacheDir: string, version: string, log: (line: string) => void): Promise<string> {
  const pkg = sourcePackageOf(version);
  const dir = join(cacheDir, 'debian', version);
  const tarball = join(dir, `${pkg}.tar.xz`);
  if (existsSync(tarball)) return tarball;

  const madison = await tryRun('apt-cache', ['madison', pkg]);
  const versions = parseMadison(madison.stdout);
  if (!versions.includes(version)) {
    throw new RbmapError('E_SOURCE', `${pkg} ${version} is not in the Debian archive this host uses${versions.length > 0 ? `; it has ${versions.join(', ')}` : ` (apt-cache madison ${pkg} lists nothing)`}`, {
      hint: versions.length > 0 ? `use one of those: --kernel-version ${versions[0]}` : 'run apt-get update, or check the apt sources',
    });
  }
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`source: fetching ${pkg}=${version} from the Debian archive into ${dir}`);
  await runWithProgress('apt-get', ['download', '-q', `${pkg}=${version}`], {
    label: 'source: apt-get download', cwd: staging, errorCode: 'E_SOURCE', hint: 'check that the Debian archive is reachable',
    status: (line) => (/^Get:/.test(line) ? line.slice(0, 100) : undefined),
  });
  const deb = (await readdir(staging)).find((name) => name.endsWith('.deb'));
  if (deb === undefined) throw new RbmapError('E_SOURCE', `apt-get download ${pkg}=${version} left no .deb in ${staging}`, { hint: 'run it by hand to see why' });
  await runWithProgress('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xf - -O "./usr/src/${pkg}.tar.xz" > "$2"`, 'sh', join(staging, deb), join(staging, `${pkg}.tar.xz`)], {
    label: 'source: dpkg-deb', errorCode: 'E_SOURCE', hint: `check free disk space in ${cacheDir}`,
  });
  await rm(join(staging, deb), { force: true });
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return tarball;
}
