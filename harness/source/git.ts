import { run, tryRun, type CommandResult } from '../common/proc.js';
import type { RbmapErrorCode } from '../common/errors.js';

/** Identity used for commits the harness makes (base commit, git am). */
export const gitIdentityEnv = {
  GIT_AUTHOR_NAME: 'rbmap',
  GIT_AUTHOR_EMAIL: 'rbmap@localhost',
  GIT_COMMITTER_NAME: 'rbmap',
  GIT_COMMITTER_EMAIL: 'rbmap@localhost',
};

export function git(dir: string, args: string[], errorCode: RbmapErrorCode = 'E_SOURCE', hint?: string): Promise<CommandResult> {
  return run('git', ['-C', dir, ...args], {
    errorCode,
    env: { ...process.env, ...gitIdentityEnv },
    ...(hint !== undefined ? { hint } : {}),
  });
}

export function tryGit(dir: string, args: string[]): Promise<CommandResult> {
  return tryRun('git', ['-C', dir, ...args], { env: { ...process.env, ...gitIdentityEnv } });
}

/**
 * Add a work tree of `repo` at `dir`: detached at `commit`, or on `branch` (created or
 * reset to `commit`). Stale entries of removed work trees are pruned first.
 */
export async function addWorktree(repo: string, dir: string, commit: string, branch?: string): Promise<void> {
  await tryGit(repo, ['worktree', 'prune']);
  await git(repo, ['worktree', 'add', '-q', ...(branch !== undefined ? ['-B', branch] : ['--detach']), dir, commit]);
}

export async function revParse(dir: string, ref: string): Promise<string | null> {
  const r = await tryGit(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** The files a kernel configuration is made from: Kconfig files, config fragments, the kconfig tools. */
const configInputs = [':(glob)**/Kconfig*', ':(glob)**/*.config', 'scripts/kconfig'];

/**
 * What `make tinyconfig`, merge_config.sh and olddefconfig read from a git tree: HEAD and
 * any uncommitted change to a Kconfig file, a config fragment or the kconfig tools, with
 * the names of such files not yet tracked. An edit elsewhere (a .c file) leaves it the
 * same. Null when the tree is not a git work tree.
 */
export async function configTreeState(srcDir: string): Promise<string | null> {
  const head = await tryGit(srcDir, ['rev-parse', 'HEAD']);
  if (head.exitCode !== 0) return null;
  const diff = await tryGit(srcDir, ['diff', 'HEAD', '--', ...configInputs]);
  const untracked = await tryGit(srcDir, ['ls-files', '--others', '--exclude-standard', '--', ...configInputs]);
  if (diff.exitCode !== 0 || untracked.exitCode !== 0) return null;
  return `${head.stdout.trim()}\n${diff.stdout}\n${untracked.stdout}`;
}

/** HEAD of a git tree with no uncommitted change to tracked files; null otherwise (then nothing may be skipped). */
export async function cleanTreeHead(srcDir: string): Promise<string | null> {
  const head = await tryGit(srcDir, ['rev-parse', 'HEAD']);
  if (head.exitCode !== 0) return null;
  const status = await tryGit(srcDir, ['status', '--porcelain', '--untracked-files=no']);
  if (status.exitCode !== 0 || status.stdout.trim() !== '') return null;
  return head.stdout.trim();
}
