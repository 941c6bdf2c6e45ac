/**
 * Builds the guest's Node-API addon (every .c file of reader/addon, rbmap_sys.c
 * registering the module) with the guest architecture's compiler (the host's gcc,
 * or the cross compiler), against the host Node's headers: the addon asks for
 * Node-API 8, whose ABI every Node since 16 keeps, so it loads in the host's node
 * (x86_64 guests) and in Debian's arm64 Node 18 alike. The guest's static C
 * programs are built the same way.
 *
 * Cached by sha256(every source and header by name and content + compiler command
 * + node version) in <cacheDir>/addon/rbmap_sys-<hash>.node.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { projectPaths } from '../common/paths.js';
import { tryRun } from '../common/proc.js';

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
  /** Where its sources are, for messages: the one source file, or their folder. */
  where: string;
  /** The C files compiled and linked together, in this order. */
  sources: readonly string[];
  /** Every file the build reads: the sources and the headers they include (the cache key hashes them all). */
  inputs: readonly string[];
  flags: readonly string[];
  /** Libraries, after the sources on the command line (static links resolve in order). */
  libraries?: readonly string[];
  /** Cached as <cacheDir>/addon/<stem>-<hash><suffix>. */
  stem: string;
  suffix: string;
}

type SourceSet = Pick<NativeBuild, 'where' | 'sources' | 'inputs'>;

/** A program of one C file, which includes no header of its own. */
function oneSource(source: string): SourceSet {
  return { where: source, sources: [source], inputs: [source] };
}

/** A program of every .c file of `dir` (in name order); its inputs are those and every .h file there. */
async function folderSources(dir: string, what: string): Promise<SourceSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (cause) {
    throw new RbmapError('E_ROOTFS', `cannot read the sources of ${what}, ${dir}`, {
      hint: `the checkout is incomplete: restore ${dir}`,
      cause,
    });
  }
  const sources = names.filter((name) => name.endsWith('.c')).map((name) => join(dir, name));
  if (sources.length === 0) {
    throw new RbmapError('E_ROOTFS', `no C source of ${what} in ${dir}`, { hint: `the checkout is incomplete: restore ${dir}` });
  }
  const inputs = names.filter((name) => name.endsWith('.c') || name.endsWith('.h')).map((name) => join(dir, name));
  return { where: dir, sources, inputs };
}

/**
 * The cache key of a build: every input, by name and content (not by path: every
 * checkout on the machine shares the cache), the compiler command and Node's version.
 */
async function buildKey(build: NativeBuild, compiler: string): Promise<string> {
  const hash = createHash('sha256');
  for (const input of build.inputs) {
    let text: Buffer;
    try {
      text = await readFile(input);
    } catch (cause) {
      throw new RbmapError('E_ROOTFS', `cannot read the source of ${build.what}, ${input}`, {
        hint: `the checkout is incomplete: restore ${input}`,
        cause,
      });
    }
    hash.update(basename(input)).update('\0').update(text).update('\0');
  }
  return hash
    .update([compiler, ...build.flags, ...(build.libraries ?? [])].join(' '))
    .update('\0')
    .update(process.version)
    .digest('hex')
    .slice(0, 16);
}

/** Compile the C sources of a guest program (or reuse the cached build, named by a hash of its inputs). */
async function compileCached(build: NativeBuild, options: BuildAddonOptions): Promise<string> {
  const { cacheDir, log } = options;
  const { what, where, sources, flags } = build;
  const compiler = `${options.crossCompile}gcc`;
  const hash = await buildKey(build, compiler);
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
  log(`native: ${compiler} ${flags.join(' ')} -o ${out} ${sources.join(' ')} ${libraries.join(' ')}`.trimEnd());
  const result = await tryRun(compiler, [...flags, '-o', tmp, ...sources, ...libraries], { timeout: 120_000 });
  if (result.exitCode !== 0) {
    await rm(tmp, { force: true });
    if (/ENOENT/.test(result.stderr) && result.exitCode === 127) {
      throw new RbmapError('E_HOST_DEPS', `the C compiler '${compiler}' is not installed (needed for ${what})`, {
        hint: options.crossCompile === '' ? 'apt-get install gcc' : `install the cross compiler: rbmap doctor --install --arch <the guest's>`,
      });
    }
    throw new RbmapError('E_ROOTFS', `compiling ${what} (${where}) failed:\n${result.stderr.trim()}`, {
      hint: `fix the compiler errors above in ${where} (warnings are errors)`,
    });
  }
  await rename(tmp, out);
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
  const what = 'the guest addon';
  return compileCached(
    { what, ...(await folderSources(projectPaths.addonDir, what)), flags: [...baseFlags, `-I${include}`], stem: 'rbmap_sys', suffix: '.node' },
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
  const what = 'the benchmark reader (needs libtracefs-dev and libtraceevent-dev of the guest architecture: rbmap doctor --install)';
  return compileCached(
    {
      what,
      ...(await folderSources(projectPaths.benchDir, what)),
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
      ...oneSource(projectPaths.rfcClientSource),
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
