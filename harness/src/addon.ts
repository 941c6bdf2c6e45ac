/**
 * Builds the guest's Node-API addon (reader/addon/rbmap_sys.c) with the guest
 * architecture's compiler (the host's gcc, or the cross compiler), against the host
 * Node's headers: the addon asks for Node-API 8, whose ABI every Node since 16
 * keeps, so it loads in the host's node (x86_64 guests) and in Debian's arm64
 * Node 18 alike.
 *
 * Cached by sha256(source + compiler command + node version) in
 * <cacheDir>/addon/rbmap_sys-<hash>.node.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { RbmapError } from './errors.js';
import { projectPaths } from './paths.js';
import { isExecaError, tryRun } from './proc.js';

export interface BuildAddonOptions {
  /** Cache root; the addon goes to <cacheDir>/addon/. */
  cacheDir: string;
  /** The guest architecture's CROSS_COMPILE prefix ('' for the host's own gcc). */
  crossCompile: string;
  log: (line: string) => void;
}
const baseFlags = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror'] as const;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder holding node_api.h for the running Node (the addon is built against it;
 * doctor reports it): npm's nodedir, /usr (Debian, NodeSource), or the install prefix
 * of the node binary (nvm, a tarball). Null when none has it.
 */
export async function nodeHeadersDir(): Promise<string | null> {
  const candidates: string[] = [];
  const fromNpm = await tryRun('npm', ['config', 'get', 'nodedir'], { timeout: 30_000 });
  const nodedir = fromNpm.stdout.trim();
  if (fromNpm.exitCode === 0 && nodedir !== '' && nodedir !== 'undefined' && nodedir !== 'null') candidates.push(nodedir);
  candidates.push('/usr', join(process.execPath, '..', '..'));
  for (const dir of candidates) {
    const include = join(dir, 'include', 'node');
    if (await exists(join(include, 'node_api.h'))) return include;
  }
  return null;
}

interface NativeBuild {
  /** What it is, for messages: "the guest addon". */
  what: string;
  source: string;
  flags: readonly string[];
  /** Libraries, after the source on the command line (static links resolve in order). */
  libraries?: readonly string[];
  /** Cached as <cacheDir>/addon/<stem>-<hash><suffix>. */
  stem: string;
  suffix: string;
}

/** Compile a C source of the guest (or reuse the cached build, named by a hash of its inputs). */
async function compileCached(build: NativeBuild, options: BuildAddonOptions): Promise<string> {
  const { cacheDir, log } = options;
  const { what, source, flags } = build;
  const compiler = `${options.crossCompile}gcc`;
  let text: Buffer;
  try {
    text = await readFile(source);
  } catch (cause) {
    throw new RbmapError('E_ROOTFS', `cannot read the source of ${what}, ${source}`, {
      hint: `the checkout is incomplete: restore ${source}`,
      cause,
    });
  }
  const hash = createHash('sha256')
    .update(text)
    .update('\0')
    .update([compiler, ...flags, ...(build.libraries ?? [])].join(' '))
    .update('\0')
    .update(process.version)
    .digest('hex')
    .slice(0, 16);
  const outDir = join(cacheDir, 'addon');
  const out = join(outDir, `${build.stem}-${hash}${build.suffix}`);
  if (await exists(out)) {
    log(`native: cached ${out}`);
    return out;
  }

  await mkdir(outDir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const started = Date.now();
  const libraries = build.libraries ?? [];
  log(`native: ${compiler} ${flags.join(' ')} -o ${out} ${source} ${libraries.join(' ')}`.trimEnd());
  try {
    await execa(compiler, [...flags, '-o', tmp, source, ...libraries], { timeout: 120_000 });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    if (isExecaError(e) && e.code === 'ENOENT') {
      throw new RbmapError('E_HOST_DEPS', `the C compiler '${compiler}' is not installed (needed for ${what})`, {
        hint: options.crossCompile === '' ? 'apt-get install gcc' : `install the cross compiler: rbmap doctor --install --arch <the guest's>`,
        cause: e,
      });
    }
    const detail = isExecaError(e) ? String(e.stderr ?? '').trim() || e.shortMessage : String(e);
    throw new RbmapError('E_ROOTFS', `compiling ${what} (${source}) failed:\n${detail}`, {
      hint: `fix the compiler errors above in ${source} (warnings are errors)`,
      cause: e,
    });
  }
  log(`native: ${what} built in ${Date.now() - started} ms`);
  return out;
}

/** Compile the addon (or reuse the cached build); returns the .node path. */
export async function buildAddon(options: BuildAddonOptions): Promise<string> {
  const include = await nodeHeadersDir();
  if (include === null) {
    throw new RbmapError('E_HOST_DEPS', `Node.js headers (node_api.h) not found for ${process.execPath}`, {
      hint:
        'install the headers of the running Node.js (Debian: apt-get install libnode-dev; NodeSource nodejs ships ' +
        '/usr/include/node), or point npm at them: npm config set nodedir <dir containing include/node>',
    });
  }
  return compileCached(
    { what: 'the guest addon', source: projectPaths.addonSource, flags: [...baseFlags, `-I${include}`], stem: 'rbmap_sys', suffix: '.node' },
    options,
  );
}

const staticProgramFlags = ['-static', '-O2', '-Wall', '-Wextra', '-Werror'] as const;
/** Debian's libtracefs and libtraceevent (the -dev packages of the guest's architecture). */
const traceeventIncludes = ['-I/usr/include/tracefs', '-I/usr/include/traceevent'] as const;
const traceeventLibraries = ['-ltracefs', '-ltraceevent'] as const;

/** A static C program of the guest, /opt/rbmap/bin/<name> (the guest has no C library of its own). */
export interface GuestProgram {
  name: string;
  path: string;
}

/** Compile the benchmark's native reader, rbmap-bench (its tep-mmap method reads with Debian's libtraceevent). */
export async function buildBenchReader(options: BuildAddonOptions): Promise<string> {
  return compileCached(
    {
      what: 'the benchmark reader (needs libtracefs-dev and libtraceevent-dev of the guest architecture: rbmap doctor --install)',
      source: projectPaths.benchSource,
      flags: [...staticProgramFlags, ...traceeventIncludes],
      libraries: traceeventLibraries,
      stem: 'rbmap-bench',
      suffix: '',
    },
    options,
  );
}

/**
 * Compile rbmap-rfc-client, a reader written the way the RFC's demo is (libtracefs and
 * libtraceevent's kbuffer, Debian's static libraries of the guest's architecture).
 */
export async function buildRfcClient(options: BuildAddonOptions): Promise<string> {
  return compileCached(
    {
      what: 'the RFC-style client (needs libtracefs-dev and libtraceevent-dev of the guest architecture: rbmap doctor --install)',
      source: projectPaths.rfcClientSource,
      flags: [...staticProgramFlags, ...traceeventIncludes],
      libraries: traceeventLibraries,
      stem: 'rbmap-rfc-client',
      suffix: '',
    },
    options,
  );
}

/** Every static program the guest runs: the bench reader (and writer) and the RFC-style client. */
export async function buildGuestPrograms(options: BuildAddonOptions): Promise<GuestProgram[]> {
  return [
    { name: 'rbmap-bench', path: await buildBenchReader(options) },
    { name: 'rbmap-rfc-client', path: await buildRfcClient(options) },
  ];
}
