import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchRecord } from '../../vm/arch.js';
import { RbmapError } from '../common/errors.js';
import { configTreeState } from '../source/git.js';
import { sha256 } from '../common/hash.js';
import { run } from '../common/proc.js';

/** One requested option: CONFIG_FOO=y, =m, ="string", =123, or "is not set". */
export interface ConfigRequest {
  name: string;
  value: string | null;
  fragment: string;
}

export function parseFragment(text: string, fragment: string): ConfigRequest[] {
  const requests: ConfigRequest[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) {
      requests.push({ name: unset[1], value: null, fragment });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set?.[1] === undefined || set[2] === undefined) {
      throw new RbmapError('E_CONFIG_MISSING', `${fragment}: cannot read line "${line}"`, {
        hint: 'fragment lines are CONFIG_NAME=value or "# CONFIG_NAME is not set"',
      });
    }
    requests.push({ name: set[1], value: set[2], fragment });
  }
  return requests;
}

/** Values of a .config, by option name; "is not set" lines map to null. */
export function parseDotConfig(text: string): Map<string, string | null> {
  const values = new Map<string, string | null>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined && set[2] !== undefined) {
      values.set(set[1], set[2]);
      continue;
    }
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) values.set(unset[1], null);
  }
  return values;
}

export interface ConfigMismatch {
  request: ConfigRequest;
  actual: string | null | undefined;
}

/**
 * Every requested option must hold its requested value in the final .config. An option
 * kconfig dropped (unknown to the tree, or a dependency unmet) is a mismatch.
 */
export function verifyConfig(requests: ConfigRequest[], dotConfig: Map<string, string | null>): ConfigMismatch[] {
  const last = new Map<string, ConfigRequest>();
  for (const r of requests) last.set(r.name, r);
  const mismatches: ConfigMismatch[] = [];
  for (const request of last.values()) {
    const actual = dotConfig.get(request.name);
    const wanted = request.value;
    const ok = wanted === null ? actual === null || actual === undefined : actual === wanted;
    if (!ok) mismatches.push({ request, actual });
  }
  return mismatches;
}

export function describeMismatches(mismatches: ConfigMismatch[]): string {
  return mismatches
    .map(({ request, actual }) => {
      const wanted = request.value === null ? 'not set' : request.value;
      const got = actual === undefined ? 'absent (unknown to this tree, or a dependency is not met)' : actual === null ? 'not set' : actual;
      return `  ${request.name}: requested ${wanted} by ${request.fragment}, final .config has ${got}`;
    })
    .join('\n');
}

export interface ConfigureOptions {
  srcDir: string;
  buildDir: string;
  arch: ArchRecord;
  fragments: string[];
  log: (line: string) => void;
  /** Requests from these fragments may be absent from the tree without failing (check of a partial series). */
  optionalFragments?: string[];
}

/**
 * tinyconfig + fragments (merge_config.sh) + olddefconfig, then checks that every
 * requested option holds. Returns the mismatches of optional fragments (never fatal).
 */
export async function configureKernel(options: ConfigureOptions): Promise<ConfigMismatch[]> {
  const { srcDir, buildDir, arch, fragments } = options;
  await mkdir(buildDir, { recursive: true });
  for (const f of fragments) {
    if (!existsSync(f)) throw new RbmapError('E_CONFIG_MISSING', `config fragment ${f} not found`, { hint: 'check --config-fragment paths' });
  }
  const make = (target: string) =>
    run('make', ['-s', '-C', srcDir, `O=${buildDir}`, `ARCH=${arch.kernelArch}`, ...crossArgs(arch), target], {
      errorCode: 'E_BUILD',
      hint: `the kernel tree at ${srcDir} could not be configured; if it was built in-tree, run "make mrproper" there`,
    });
  const dotConfig = join(buildDir, '.config');
  const previous = existsSync(dotConfig) ? await readFile(dotConfig, 'utf8') : null;
  // The same tree (as far as kconfig reads it), fragments and architecture made this .config
  // last time: keep it. An edited ring_buffer.c does not reconfigure; an edited Kconfig does.
  // Fragments count by their text, not their path, so another clone of the project reuses it.
  const stampFile = join(buildDir, '.rbmap-config-stamp');
  const treeState = await configTreeState(srcDir);
  const fragmentTexts = await Promise.all(fragments.map((f) => readFile(f, 'utf8')));
  const stampOf = (config: string): string | null =>
    treeState === null ? null : sha256(treeState, arch.name, crossArgs(arch).join(' '), ...fragmentTexts, config);
  const unchanged = previous !== null && stampOf(previous) !== null && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stampOf(previous);
  if (!unchanged) {
    await make('tinyconfig');
    await run(join(srcDir, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', buildDir, dotConfig, ...fragments], {
      errorCode: 'E_CONFIG_MISSING',
      cwd: srcDir,
      env: { ...process.env, ARCH: arch.kernelArch },
    });
    await make('olddefconfig');
  }
  const final = await readFile(dotConfig, 'utf8');
  if (previous !== null && previous !== final) {
    await copyFile(dotConfig, join(buildDir, '.config.rbmap-previous')).catch(() => undefined);
  }
  const requests: ConfigRequest[] = [];
  fragments.forEach((f, i) => requests.push(...parseFragment(fragmentTexts[i] ?? '', f)));
  const mismatches = verifyConfig(requests, parseDotConfig(final));
  const optional = new Set(options.optionalFragments ?? []);
  const fatal = mismatches.filter((m) => !optional.has(m.request.fragment));
  if (fatal.length > 0) {
    throw new RbmapError('E_CONFIG_MISSING', `the final .config lacks requested options:\n${describeMismatches(fatal)}`, {
      hint: `look at ${dotConfig}; an option that depends on another needs that one in a fragment too`,
    });
  }
  const stamp = stampOf(final);
  if (stamp !== null) await writeFile(stampFile, stamp);
  else await rm(stampFile, { force: true });
  options.log(`config: ${requests.length} requested options verified in ${dotConfig}${unchanged ? ' (kept: Kconfig files, fragments and .config as last time)' : ''}`);
  return mismatches.filter((m) => optional.has(m.request.fragment));
}

export function crossArgs(arch: ArchRecord): string[] {
  return arch.crossCompile === '' ? [] : [`CROSS_COMPILE=${arch.crossCompile}`];
}
