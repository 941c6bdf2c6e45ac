import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project checkout (two levels above dist/harness/src or harness/src). */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  // dist/harness/src -> project, harness/src -> project
  dir = resolve(dir, '..', '..');
  return dir.endsWith('/dist') || dir.endsWith('\\dist') ? resolve(dir, '..') : dir;
})();

/** Where compiled TypeScript lives (dist/ in the checkout). */
export const distRoot: string = join(projectRoot, 'dist');

/**
 * Long-lived cache shared by every checkout on this machine: kernel trees, build
 * folders, rootfs images, the KVM probe verdict. RBMAP_CACHE overrides it.
 */
export function cacheRoot(): string {
  const fromEnv = process.env['RBMAP_CACHE'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'rbmap');
}

/** Run folders (one per `rbmap run`) live here unless --out says otherwise. */
export function runsRoot(): string {
  return join(projectRoot, '.rbmap', 'runs');
}

export const projectPaths = {
  patches: join(projectRoot, 'kernel-patches'),
  seriesFile: join(projectRoot, 'kernel-patches', 'series'),
  configFragments: join(projectRoot, 'config'),
  rootfsInit: join(projectRoot, 'rootfs', 'init'),
  addonSource: join(projectRoot, 'reader', 'addon', 'rbmap_sys.c'),
  benchSource: join(projectRoot, 'rootfs', 'bench', 'rbmap_bench.c'),
  rfcClientSource: join(projectRoot, 'rootfs', 'rfc-client', 'rbmap_rfc_client.c'),
  /** What the guest gets of the compiled TypeScript: the reader library and the guest tests. */
  guestTrees: [
    { compiled: join(distRoot, 'reader'), sources: join(projectRoot, 'reader'), target: '/opt/rbmap/reader' },
    { compiled: join(distRoot, 'tests', 'guest'), sources: join(projectRoot, 'tests', 'guest'), target: '/opt/rbmap/tests/guest' },
  ],
  projectRootDir: projectRoot,
} as const;
