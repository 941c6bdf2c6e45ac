import { run, tryRun, type CommandResult } from './proc.js';
import type { RbmapErrorCode } from './errors.js';

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

export async function revParse(dir: string, ref: string): Promise<string | null> {
  const r = await tryGit(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

export async function isGitRepo(dir: string): Promise<boolean> {
  const r = await tryGit(dir, ['rev-parse', '--is-inside-work-tree']);
  return r.exitCode === 0 && r.stdout.trim() === 'true';
}
