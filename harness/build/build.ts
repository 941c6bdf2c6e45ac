import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArchRecord } from '../../vm/arch.js';
import { RbmapError } from '../common/errors.js';
import { cleanTreeHead } from '../source/git.js';
import { sha256 } from '../common/hash.js';
import { crossArgs } from './kconfig.js';
import { runStreamed } from '../common/proc.js';

export interface BuildOptions {
  srcDir: string;
  buildDir: string;
  arch: ArchRecord;
  cacheDir: string;
  jobs?: number;
  /** Extra make arguments/targets (e.g. W=1 and object files). */
  makeArgs?: string[];
  log: (line: string) => void;
  /** Log file for the full make output. */
  logFile?: string;
}

export interface BuildResult {
  image: string;
  /** false when the stamp showed nothing changed and make was not run. */
  ran: boolean;
  durationMs: number;
  /** The warning and error lines of make's output (the whole output is in the log file). */
  diagnostics: string[];
}

/** The progress status of a make line: objects compiled so far and the folder of the last one. */
export function makeStatus(): (line: string) => string | undefined {
  let objects = 0;
  return (line) => {
    const m = /^\s+(?:CC|AS)(?: \[M\])?\s+(\S+)$/.exec(line);
    if (m?.[1] === undefined) return undefined;
    objects += 1;
    return `${objects} objects compiled, now in ${dirname(m[1])}`;
  };
}

/** Environment for reproducible, ccache-backed kernel builds. */
export function buildEnv(cacheDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CCACHE_DIR: process.env['CCACHE_DIR'] ?? join(cacheDir, 'ccache'),
    CCACHE_MAXSIZE: process.env['CCACHE_MAXSIZE'] ?? '8G',
    CCACHE_BASEDIR: process.env['CCACHE_BASEDIR'] ?? cacheDir,
    KBUILD_BUILD_USER: 'rbmap',
    KBUILD_BUILD_HOST: 'rbmap',
  };
}

export function makeArgv(options: Pick<BuildOptions, 'srcDir' | 'buildDir' | 'arch' | 'jobs'>, extra: string[] = []): string[] {
  const jobs = options.jobs ?? availableParallelism();
  const cc = `ccache ${options.arch.crossCompile}gcc`;
  return ['-C', options.srcDir, `O=${options.buildDir}`, `ARCH=${options.arch.kernelArch}`, ...crossArgs(options.arch), `CC=${cc}`, `HOSTCC=ccache gcc`, `-j${jobs}`, ...extra];
}

/**
 * What identifies a finished build of a clean git tree: HEAD, the .config, the make
 * arguments. When it matches the recorded stamp and the image exists, make is skipped.
 */
async function buildStamp(options: BuildOptions): Promise<string | null> {
  const head = await cleanTreeHead(options.srcDir);
  const dotConfig = join(options.buildDir, '.config');
  if (head === null || !existsSync(dotConfig)) return null;
  return sha256(head, await readFile(dotConfig), makeArgv(options).join(' '));
}

export async function buildKernel(options: BuildOptions): Promise<BuildResult> {
  const image = join(options.buildDir, options.arch.kernelImage);
  const stampFile = join(options.buildDir, '.rbmap-build-stamp');
  const stamp = options.makeArgs === undefined ? await buildStamp(options) : null;
  if (stamp !== null && existsSync(image) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) {
    options.log(`build: ${image} is up to date (tree, .config and make arguments unchanged)`);
    return { image, ran: false, durationMs: 0, diagnostics: [] };
  }
  await mkdir(options.buildDir, { recursive: true });
  const argv = makeArgv(options, options.makeArgs ?? []);
  const logFile = options.logFile ?? join(options.buildDir, 'rbmap-build.log');
  options.log(`build: make ${argv.join(' ')}`);
  options.log(`build: full log in ${logFile}`);
  const started = Date.now();
  const result = await runStreamed('make', argv, {
    label: 'build',
    env: buildEnv(options.cacheDir),
    logFile,
    status: makeStatus(),
    keep: (line) => /: (?:warning|error):|Error \d|undefined reference/.test(line),
  });
  const durationMs = Date.now() - started;
  if (result.failed) {
    const errors = result.kept.filter((l) => /error:|Error \d|undefined reference/.test(l));
    throw new RbmapError('E_BUILD', `kernel build failed in ${options.srcDir}:\n${(errors.length > 0 ? errors.slice(0, 20).join('\n') : result.tail)}`, {
      hint: `full log: ${logFile}`,
    });
  }
  if (options.makeArgs === undefined) {
    if (!existsSync(image)) throw new RbmapError('E_BUILD', `make succeeded but ${image} was not produced`, { hint: `see ${logFile}` });
    if (stamp !== null) await writeFile(stampFile, stamp);
    const s = await stat(image);
    options.log(`build: ${image} (${(s.size / 1e6).toFixed(1)} MB) in ${(durationMs / 1000).toFixed(1)} s`);
  }
  return { image, ran: true, durationMs, diagnostics: result.kept };
}
