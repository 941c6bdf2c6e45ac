import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { projectPaths } from '../common/paths.js';
import { addWorktree, git, revParse, tryGit } from './git.js';
import { sha256 } from '../common/hash.js';

export interface SeriesPatch {
  file: string;
  path: string;
  subject: string;
  /** Files the patch touches (from its diff headers). */
  files: string[];
  content: string;
}

export interface Series {
  dir: string;
  patches: SeriesPatch[];
  /** Config fragment shipped with the series (options it adds), if any. */
  configFragment: string | null;
  /** Content hash of every patch, in order. */
  key: string;
}

export async function readSeries(dir: string): Promise<Series> {
  const seriesFile = join(dir, 'series');
  if (!existsSync(seriesFile)) {
    throw new RbmapError('E_PATCH_APPLY', `${seriesFile} not found`, { hint: 'the series file lists the patches in order, one per line' });
  }
  const names = (await readFile(seriesFile, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
  const patches: SeriesPatch[] = [];
  for (const file of names) {
    const path = join(dir, file);
    const content = await readFile(path, 'utf8').catch(() => {
      throw new RbmapError('E_PATCH_APPLY', `the series lists ${file} but ${path} does not exist`, {
        hint: 'fix kernel-patches/series or re-export the series with: rbmap export',
      });
    });
    patches.push({ file, path, subject: patchSubject(content, file), files: patchFiles(content), content });
  }
  const fragment = join(dir, 'series.config');
  return {
    dir,
    patches,
    configFragment: existsSync(fragment) ? fragment : null,
    key: sha256(...patches.map((p) => p.content)),
  };
}

export function patchSubject(content: string, fallback: string): string {
  const m = /^Subject: (?:\[[^\]]*\]\s*)?(.*(?:\n[ \t].*)*)/m.exec(content);
  return m?.[1] !== undefined ? m[1].replace(/\n[ \t]+/g, ' ').trim() : fallback;
}

export function patchFiles(content: string): string[] {
  const files = new Set<string>();
  for (const m of content.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)) {
    if (m[2] !== undefined) files.add(m[2]);
  }
  return [...files];
}

export interface ApplyFailure {
  patch: string;
  subject: string;
  conflictingFiles: string[];
  output: string;
}

/**
 * git am of the given patches on top of the current HEAD of `dir`. On failure the am
 * is aborted (the tree is left at the last good commit) and the failing patch and its
 * conflicting files are returned.
 */
export async function amPatches(dir: string, patches: SeriesPatch[], threeWay: boolean): Promise<ApplyFailure | null> {
  for (const patch of patches) {
    const r = await tryGit(dir, ['am', '--keep-cr', ...(threeWay ? ['-3'] : []), patch.path]);
    if (r.exitCode !== 0) {
      const output = `${r.stdout}\n${r.stderr}`;
      const conflicted = await tryGit(dir, ['diff', '--name-only', '--diff-filter=U']);
      const fromOutput = [...output.matchAll(/(?:error: patch failed: |CONFLICT \(content\): Merge conflict in )([^:\s]+)/g)].map((m) => m[1] ?? '');
      await tryGit(dir, ['am', '--abort']);
      const conflictingFiles = [...new Set([...conflicted.stdout.split('\n').filter((f) => f !== ''), ...fromOutput.filter((f) => f !== '')])];
      return { patch: patch.file, subject: patch.subject, conflictingFiles, output: output.trim() };
    }
  }
  return null;
}

export function applyError(failure: ApplyFailure, base: string): RbmapError {
  const files = failure.conflictingFiles.length > 0 ? failure.conflictingFiles.join(', ') : 'see the git output below';
  return new RbmapError('E_PATCH_APPLY', `patch ${failure.patch} ("${failure.subject}") does not apply on ${base}; conflicts in: ${files}\n${failure.output}`, {
    hint: `rebase the series in a git tree at that base: git am -3 ${projectPaths.patches}/*.patch, resolve and git am --continue; ` +
      'then write it back with: rbmap export --tree <that tree> --base <the base commit>',
  });
}

/**
 * The commit holding `base` + the series, made once per (base, series) pair in a scratch
 * worktree and remembered under refs/rbmap/series/. Making it elsewhere and then checking
 * it out in the build tree means only the files that differ get new mtimes, so make
 * recompiles exactly what the series changed.
 */
export function seriesKeyRef(base: string, series: Series): string {
  return `refs/rbmap/series/${sha256(base, series.key).slice(0, 16)}`;
}

export async function seriesCommit(repo: string, base: string, series: Series, threeWay: boolean): Promise<string> {
  const ref = seriesKeyRef(base, series);
  const known = await revParse(repo, ref);
  if (known !== null) return known;
  const scratch = await scratchWorktree(repo, base);
  const failure = await amPatches(scratch, series.patches, threeWay);
  if (failure !== null) throw applyError(failure, base.slice(0, 12));
  const tip = (await git(scratch, ['rev-parse', 'HEAD'])).stdout.trim();
  await git(repo, ['update-ref', ref, tip]);
  return tip;
}

/** A detached worktree of `repo` at `commit`, reused between calls. */
export async function scratchWorktree(repo: string, commit: string): Promise<string> {
  const dir = join(repo, '.git', 'rbmap-scratch');
  if (existsSync(join(dir, '.git'))) {
    await tryGit(dir, ['am', '--abort']);
    await git(dir, ['checkout', '-q', '--detach', '-f', commit]);
    await git(dir, ['clean', '-q', '-fdx']);
  } else {
    await rm(dir, { recursive: true, force: true });
    await addWorktree(repo, dir, commit);
  }
  return dir;
}

/** Moves the build tree to `commit`, touching only the files that differ. */
export async function checkoutTree(dir: string, commit: string): Promise<void> {
  const head = await revParse(dir, 'HEAD');
  if (head === commit) return;
  await tryGit(dir, ['am', '--abort']);
  await git(dir, ['checkout', '-q', '--detach', '-f', commit], 'E_SOURCE', `the tree at ${dir} could not be moved; remove it to start over`);
}

/** Are all (or none, or some) of the series' subjects already in the tree's recent history? */
export async function seriesPresence(dir: string, series: Series): Promise<'all' | 'none' | 'some'> {
  const log = await tryGit(dir, ['log', '--format=%s', '-n', '500']);
  if (log.exitCode !== 0) return 'none';
  const subjects = new Set(log.stdout.split('\n'));
  const found = series.patches.filter((p) => subjects.has(p.subject)).length;
  if (found === 0) return 'none';
  return found === series.patches.length ? 'all' : 'some';
}

/**
 * Writes the commits base..HEAD of `dir` as the series: one format-patch file each and
 * the series file, replacing what was there.
 */
export async function exportSeries(dir: string, base: string, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const tmp = join(outDir, '.export');
  await rm(tmp, { recursive: true, force: true });
  const r = await git(dir, ['format-patch', '--no-signature', '--zero-commit', '-o', tmp, `${base}..HEAD`]);
  const files = r.stdout.split('\n').filter((l) => l !== '').map((p) => basename(p));
  if (files.length === 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new RbmapError('E_PATCH_APPLY', `no commits between ${base.slice(0, 12)} and HEAD in ${dir}`, {
      hint: 'commit your changes in the hack tree first',
    });
  }
  for (const old of await readdir(outDir)) {
    if (old.endsWith('.patch')) await rm(join(outDir, old));
  }
  for (const f of files) {
    await writeFile(join(outDir, f), await readFile(join(tmp, f)));
  }
  await rm(tmp, { recursive: true, force: true });
  await writeFile(join(outDir, 'series'), `${files.join('\n')}\n`);
  return files;
}
