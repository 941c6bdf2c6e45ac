import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { ArchRecord } from '../../vm/arch.js';
import { buildKernel, type BuildResult } from './build.js';
import { RbmapError } from '../common/errors.js';
import { addWorktree } from '../source/git.js';
import { sha256 } from '../common/hash.js';
import { configureKernel } from './kconfig.js';
import { projectPaths } from '../common/paths.js';
import { checkoutTree, readSeries, seriesCommit, seriesPresence, type Series } from '../source/series.js';
import { hasUpstreamMapping, installedPackageVersion, sourcePackageOf, sourceTarballOf } from '../source/debianArchive.js';
import { debianBaseTree, debianTarball, refuseUpstreamMapping, upstreamMappingAbi, upstreamMappingHint, userTree, type KernelTree } from '../source/source.js';
import type { VariantRecord } from './variants.js';

/** The project's fragments, merged in this order onto tinyconfig. */
export const baseFragments = ['base.config', 'node.config', 'virtio.config', 'tracing.config', 'kunit.config'].map((f) =>
  join(projectPaths.configFragments, f),
);

export interface KernelRequest {
  arch: ArchRecord;
  cacheDir: string;
  /** --kernel-version: Debian's linux-source-6.1 of that version, fetched from the archive. */
  kernelVersion?: string;
  /** --kernel-src; the Debian base when absent. */
  kernelSrc?: string;
  /** false with --no-patches. */
  applySeries: boolean;
  /** --config-fragment, merged after the project's own. */
  extraFragments: string[];
  /** Build variant: its fragments come last; each variant has its own build folder. */
  variant: VariantRecord;
  /** Load the series but leave the tree at its base (check applies it patch by patch). */
  atBase?: boolean;
  log: (line: string) => void;
}

export interface PreparedTree {
  tree: KernelTree;
  /** Where make runs (-C). */
  srcDir: string;
  buildDir: string;
  series: Series | null;
  /** How the series got into srcDir ('at-base': loaded, tree left at its base, for check). */
  seriesState: 'applied' | 'already-present' | 'at-base' | 'not-requested';
  fragments: string[];
}

export interface PreparedKernel extends PreparedTree {
  build: BuildResult;
}

/**
 * The build folder of a tree. A tree the harness keeps in its cache builds in
 * `<tree>/.rbmap-build/<arch>-<variant>`: the sources are then `../..` from every build
 * folder, and with CCACHE_BASEDIR ccache sees the same command line for the same file in
 * any tree, so builds of different kernel versions share their hits. Other trees (a
 * --kernel-src tree built as it is, the hack tree) build in `<cache>/build/`, keyed by path.
 */
export function buildDirFor(cacheDir: string, arch: ArchRecord, variant: string, srcDir: string): string {
  const rel = relative(join(cacheDir, 'trees'), srcDir);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.includes(sep)) return join(srcDir, '.rbmap-build', `${arch.name}-${variant}`);
  return join(cacheDir, 'build', `${arch.name}-${variant}-${sha256(srcDir).slice(0, 8)}`);
}

/** The source tarball of --kernel-version (refused at once when that version has upstream's mapping), or undefined. */
async function versionTarball(request: KernelRequest): Promise<string | undefined> {
  const version = request.kernelVersion;
  if (version === undefined) return undefined;
  if (request.applySeries && hasUpstreamMapping(version)) {
    throw new RbmapError('E_SOURCE', `Linux ${version} already has upstream's ring-buffer mapping (${upstreamMappingAbi}, Linux 6.10 and later)`, {
      hint: upstreamMappingHint,
    });
  }
  // The installed linux-source-6.1 of that version is the same tarball: reuse its tree and build.
  const pkg = sourcePackageOf(version);
  if (pkg === 'linux-source-6.1' && existsSync(debianTarball) && (await installedPackageVersion(pkg)) === version) return debianTarball;
  return sourceTarballOf(request.cacheDir, version, request.log);
}

/** source → patch: a tree at the right commit, and the fragment list for it. */
export async function prepareTree(request: KernelRequest): Promise<PreparedTree> {
  const series = request.applySeries ? await readSeries(projectPaths.patches) : null;
  if (series !== null && series.patches.length === 0) {
    throw new RbmapError('E_PATCH_APPLY', 'kernel-patches/series lists no patches', { hint: 'use --no-patches to build the tree as it is' });
  }
  const atBase = request.atBase === true;
  let tree: KernelTree;
  let srcDir: string;
  let seriesState: PreparedTree['seriesState'] = 'not-requested';
  if (request.kernelSrc === undefined) {
    tree = await debianBaseTree(request.cacheDir, request.log, await versionTarball(request));
    const base = tree.baseCommit as string;
    let target = base;
    if (series !== null) {
      seriesState = atBase ? 'at-base' : 'applied';
      if (!atBase) target = await seriesCommit(tree.dir, base, series, false);
    }
    await checkoutTree(tree.dir, target);
    srcDir = tree.dir;
  } else {
    tree = await userTree(request.kernelSrc);
    srcDir = tree.dir;
    if (series !== null) {
      await refuseUpstreamMapping(tree.dir);
      const presence = await seriesPresence(tree.dir, series);
      if (presence === 'all' && !atBase) {
        seriesState = 'already-present';
      } else if (presence !== 'none') {
        throw new RbmapError('E_PATCH_APPLY', `${tree.dir} holds ${presence === 'all' ? 'the whole series' : "some of the series' commits but not all"}`, {
          hint: atBase
            ? 'check applies the series itself: point --kernel-src at the base tree, without the series'
            : 'check it out at the base (or at the full series), or pass --no-patches to build it as it is',
        });
      } else {
        if (tree.baseCommit === null) {
          throw new RbmapError('E_PATCH_APPLY', `${tree.dir} is not a git repository, so the series cannot be applied with git am`, {
            hint: 'make it a git repository (git init && git add -A -f && git commit), or pass --no-patches if it is already patched',
          });
        }
        const target = atBase ? tree.baseCommit : await seriesCommit(tree.dir, tree.baseCommit, series, true);
        srcDir = join(request.cacheDir, 'trees', `ext-${sha256(tree.dir).slice(0, 12)}`);
        if (!existsSync(join(srcDir, '.git'))) {
          await addWorktree(tree.dir, srcDir, target);
        } else {
          await checkoutTree(srcDir, target);
        }
        seriesState = atBase ? 'at-base' : 'applied';
      }
    }
  }
  const fragments = [...baseFragments, join(projectPaths.projectRootDir, request.arch.configFragment)];
  if (series?.configFragment != null && seriesState !== 'not-requested') fragments.push(series.configFragment);
  fragments.push(...request.variant.fragments, ...request.extraFragments);
  const buildDir = buildDirFor(request.cacheDir, request.arch, request.variant.name, srcDir);
  request.log(`source: ${tree.label}; series ${seriesState}${series !== null ? ` (${series.patches.length} patches)` : ''}; build in ${buildDir}`);
  request.log(`variant: ${request.variant.name} (${request.variant.summary})`);
  return { tree, srcDir, buildDir, series, seriesState, fragments };
}

/** source → patch → config → build. */
export async function prepareKernel(request: KernelRequest): Promise<PreparedKernel> {
  const prepared = await prepareTree(request);
  await configureKernel({
    srcDir: prepared.srcDir,
    buildDir: prepared.buildDir,
    arch: request.arch,
    fragments: prepared.fragments,
    log: request.log,
  });
  const build = await buildKernel({
    srcDir: prepared.srcDir,
    buildDir: prepared.buildDir,
    arch: request.arch,
    cacheDir: request.cacheDir,
    log: request.log,
  });
  return { ...prepared, build };
}
