import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { addWorktree, git, revParse } from './git.js';
import { projectPaths } from '../common/paths.js';
import { exportSeries, readSeries, seriesCommit } from './series.js';
import { baseTag, debianBaseTree } from './source.js';

export const hackBranch = 'rbmap-hack';

/**
 * A work tree on branch rbmap-hack holding base + the series as commits, for editing the
 * series with ordinary git (commit --amend, rebase -i). `rbmap export` writes it back.
 */
export async function createHackTree(options: { cacheDir: string; dir: string; force: boolean; log: (line: string) => void }): Promise<string> {
  const dir = resolve(options.dir);
  const managed = await debianBaseTree(options.cacheDir, options.log);
  const series = await readSeries(projectPaths.patches);
  const tip = await seriesCommit(managed.dir, managed.baseCommit as string, series, false);
  if (existsSync(dir)) {
    if (!options.force) {
      throw new RbmapError('E_USAGE', `${dir} already exists`, {
        hint: 'export it first (rbmap export --tree DIR) or pass --force to reset it to the current series',
      });
    }
    await git(dir, ['checkout', '-q', '-B', hackBranch, tip]);
    await git(dir, ['reset', '-q', '--hard', tip]);
  } else {
    await addWorktree(managed.dir, dir, tip, hackBranch);
  }
  options.log(`hack: ${dir} is on branch ${hackBranch}: ${baseTag} + ${series.patches.length} commits`);
  options.log('hack: edit, commit (git commit --amend / git rebase -i rbmap-base), build with');
  options.log(`hack:   rbmap run --kernel-src ${dir}`);
  options.log(`hack: and write the commits back to kernel-patches/ with: rbmap export --tree ${dir}`);
  return dir;
}

/** format-patch base..HEAD of the hack tree into kernel-patches/ (+ series file). */
export async function exportHackTree(options: { dir: string; base: string; log: (line: string) => void }): Promise<string[]> {
  const dir = resolve(options.dir);
  if (!existsSync(dir)) throw new RbmapError('E_USAGE', `${dir} does not exist`, { hint: 'create it with: rbmap hack --dir DIR' });
  const base = await revParse(dir, options.base);
  if (base === null) {
    throw new RbmapError('E_USAGE', `${options.base} is not a commit in ${dir}`, { hint: 'pass --base REF: the commit the series sits on' });
  }
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=no']);
  if (status.stdout.trim() !== '') {
    throw new RbmapError('E_USAGE', `${dir} has uncommitted changes:\n${status.stdout}`, { hint: 'commit them (or stash) first: export writes commits only' });
  }
  const files = await exportSeries(dir, base, projectPaths.patches);
  for (const f of files) options.log(`export: kernel-patches/${f}`);
  return files;
}
