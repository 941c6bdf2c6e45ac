import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestPaths } from '../../guest/contract.js';

/** The project checkout (two levels above dist/harness/common or harness/common). */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  // dist/harness/common -> project, harness/common -> project
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
  guestInit: join(projectRoot, 'guest', 'init'),
  /** The guest addon, rbmap_sys.node: every .c file of this folder (its .h files included by them). */
  addonDir: join(projectRoot, 'reader', 'addon'),
  /** The benchmark's native reader and writer, rbmap-bench: every .c file of this folder, likewise. */
  benchDir: join(projectRoot, 'rootfs', 'bench'),
  rfcClientSource: join(projectRoot, 'rootfs', 'rfc-client', 'rbmap_rfc_client.c'),
  /** What the guest gets of the compiled TypeScript: the reader library, the guest package and the guest tests. */
  guestTrees: [
    { compiled: join(distRoot, 'reader'), sources: join(projectRoot, 'reader'), target: guestPaths.reader },
    { compiled: join(distRoot, 'guest'), sources: join(projectRoot, 'guest'), target: guestPaths.guest },
    { compiled: join(distRoot, 'tests', 'guest'), sources: join(projectRoot, 'tests', 'guest'), target: guestPaths.tests },
  ],
  projectRootDir: projectRoot,
} as const;
