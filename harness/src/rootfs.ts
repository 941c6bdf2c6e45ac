/**
 * Builds the guest initramfs (newc cpio, uncompressed: under TCG the kernel took 2.3 s to
 * gunzip a 40 MB image and 0.8 s to unpack the 105 MB plain one) described in docs/internals.md:
 *
 *   /init                          <- rootfs/init (busybox sh, mode 755)
 *   /bin/busybox + applet links    <- the host's busybox-static
 *   <node path> (+ /usr/bin/node)  <- the host's node binary (process.execPath)
 *   every library `ldd node` lists, at the same path, plus the dynamic loader
 *   (a guest of another architecture gets Debian's packages of its own instead of the
 *   host's busybox, node and libraries: userland.ts)
 *   /opt/rbmap/reader/             <- dist/reader (the reader library; /usr/bin/rbmap-cat links to its bin/rbmap-cat.js)
 *   /opt/rbmap/tests/guest/        <- dist/tests/guest (guest tests, helpers)
 *   /opt/rbmap/package.json        <- {"type":"module"}
 *   /opt/rbmap/addon/rbmap_sys.node
 *   /opt/rbmap/bin/rbmap-bench     <- rootfs/bench/rbmap_bench.c, static (with libtraceevent)
 *   /opt/rbmap/bin/rbmap-rfc-client <- rootfs/rfc-client/rbmap_rfc_client.c, static
 *   /dev /proc /sys /tmp /root /etc (empty dirs; init mounts devtmpfs on /dev)
 *
 * The image is named by a sha256 over every input (contents of init, addon,
 * bench reader and guest files; path + size + mtime of node, its libraries and busybox), so an
 * unchanged input set reuses the existing image.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, existsSync, type Dirent } from 'node:fs';
import {
  appendFile, chmod, copyFile, cp, mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, stat, symlink, writeFile,
} from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { isExecaError } from './proc.js';
import { hasInterpreter } from './elf.js';
import { RbmapError } from './errors.js';
import type { DebianUserland } from './userland.js';
import type { GuestProgram } from './addon.js';

export interface BuildRootfsOptions {
  /** Cache root; images go to <cacheDir>/rootfs/<architecture>/. */
  cacheDir: string;
  /** The guest's architecture (an ArchRecord's name): each keeps its own newest images. */
  architecture: string;
  /** The compiled addon (buildAddon()). */
  addonPath: string;
  /** The guest's static C programs (buildGuestPrograms()), /opt/rbmap/bin/<name> in the guest. */
  programs: readonly GuestProgram[];
  /** Compiled TypeScript folders to copy in (projectPaths.guestTrees). */
  guestTrees: readonly GuestTree[];
  /** The guest /init script (rootfs/init). */
  initPath: string;
  /** The guest's own busybox and Node.js when its architecture is not the host's (debianUserland()); default: the host's. */
  userland?: DebianUserland;
  log: (line: string) => void;
}

/** A compiled TypeScript folder copied into the guest. */
export interface GuestTree {
  /** The compiled folder (under dist/). */
  compiled: string;
  /** Its TypeScript sources: a compiled file whose source is gone (renamed, deleted) is stale and left out. */
  sources: string;
  /** Where its files land in the guest (an absolute guest path). */
  target: string;
}

interface GuestFile {
  /** Absolute guest path. */
  target: string;
  content: Buffer;
}

export interface RootfsImage {
  /** The newc cpio (not compressed). */
  path: string;
  /** false when an image for the same inputs already existed. */
  rebuilt: boolean;
  bytes: number;
}

/** Bump when the layout changes, so old cached images are not reused. */
const layoutVersion = 'rbmap-rootfs-v3';
/** Images kept in the cache per architecture (newest first); older ones are deleted. */
const keepImages = 3;
const imagePrefix = 'rbmap-rootfs-';
const imageSuffix = '.cpio';
const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox', '/usr/sbin/busybox', '/sbin/busybox'];

function fail(message: string, hint: string, cause?: unknown): RbmapError {
  return new RbmapError('E_ROOTFS', message, cause === undefined ? { hint } : { hint, cause });
}

function firstLine(e: unknown): string {
  if (isExecaError(e)) return (String(e.stderr ?? '').trim() || e.shortMessage).split('\n')[0] ?? '';
  return e instanceof Error ? e.message : String(e);
}

async function findBusybox(): Promise<string> {
  for (const candidate of busyboxCandidates) {
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      continue;
    }
    if ((await hasInterpreter(real)) === true) continue; // dynamic: useless in the guest
    return real;
  }
  throw fail(
    `no statically linked busybox found (looked at ${busyboxCandidates.join(', ')})`,
    'apt-get install busybox-static',
  );
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  try {
    const { stdout } = await execa(busybox, ['--list'], { timeout: 30_000 });
    return stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => /^[A-Za-z0-9_.[\]-]+$/.test(s) && s !== 'busybox');
  } catch (e) {
    throw fail(`'${busybox} --list' failed: ${firstLine(e)}`, 'reinstall busybox-static: apt-get install --reinstall busybox-static', e);
  }
}

async function checkCpio(): Promise<void> {
  try {
    await execa('cpio', ['--version'], { timeout: 30_000 });
  } catch (e) {
    throw fail(`cpio is not usable: ${firstLine(e)}`, 'apt-get install cpio', e);
  }
}

/** Absolute paths of the shared libraries (and loader) `ldd` lists for `binary`. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const result = await execa('ldd', [binary], { timeout: 30_000, reject: false });
  const stdout = String(result.stdout ?? '');
  if (result.failed && !/not a dynamic executable/.test(stdout + String(result.stderr ?? ''))) {
    throw fail(`'ldd ${binary}' failed: ${firstLine(result)}`, 'ldd comes with libc-bin: apt-get install libc-bin', result);
  }
  const libs = new Set<string>();
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '' || /not a dynamic executable/.test(line)) continue;
    const missing = /^(\S+) => not found/.exec(line);
    if (missing) {
      throw fail(`${binary} needs ${missing[1] ?? '?'}, which ldd cannot find`, `install the package providing ${missing[1] ?? 'it'}`);
    }
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^(\/\S+)\s+\(/.exec(line);
    const lib = arrow?.[1] ?? bare?.[1];
    if (lib !== undefined) libs.add(lib);
  }
  return [...libs].sort();
}

/**
 * Paths under `root` of the entries `keep` accepts, relative, sorted by name, each
 * directory before its contents.
 */
async function listTree(root: string, keep: (entry: Dirent) => boolean = () => true): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (keep(entry)) out.push(relative(root, full));
      if (entry.isDirectory()) await walk(full);
    }
  }
  await walk(root);
  return out;
}

interface HostFile {
  /** Path in the guest (absolute) == path on the host as referenced. */
  path: string;
  /** Resolved host file to copy. */
  real: string;
  mode: number;
}

async function hostFile(path: string, what: string, hint: string): Promise<HostFile> {
  try {
    const real = await realpath(path);
    const st = await stat(real);
    return { path, real, mode: st.mode & 0o7777 };
  } catch (e) {
    throw fail(`cannot read ${what} ${path}: ${firstLine(e)}`, hint, e);
  }
}

async function hashStat(hash: Hash, file: HostFile): Promise<void> {
  const st = await stat(file.real);
  hash.update(`stat\0${file.path}\0${file.real}\0${st.size}\0${st.mtimeMs}\0${file.mode}\n`);
}

async function readInput(path: string, what: string, hint: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw fail(`cannot read ${what} ${path}: ${firstLine(e)}`, hint, e);
  }
}

/** The TypeScript source a compiled file came from (x.js, x.js.map, x.d.ts -> x.ts), or null for other files. */
function sourceOf(compiledFile: string): string | null {
  const match = /^(.*)\.(?:js|js\.map|d\.ts)$/.exec(compiledFile);
  return match === null ? null : `${match[1]}.ts`;
}

/** The files of one compiled folder, without the stale ones (their source is gone: tsc never deletes). */
async function readGuestTree(tree: GuestTree, log: (line: string) => void): Promise<GuestFile[]> {
  let files: string[];
  try {
    files = await listTree(tree.compiled, (entry) => entry.isFile());
  } catch (e) {
    throw fail(`cannot list the compiled guest files in ${tree.compiled}: ${firstLine(e)}`, 'compile them first: npm run build', e);
  }
  const stale = files.filter((f) => {
    const source = sourceOf(f);
    return source !== null && !existsSync(join(tree.sources, source));
  });
  const current = files.filter((f) => !stale.includes(f));
  if (!current.some((f) => f.endsWith('.js'))) {
    throw fail(`no compiled guest files in ${tree.compiled}`, 'compile them first: npm run build');
  }
  if (stale.length > 0) {
    log(`rootfs: left out ${stale.length} stale file(s) of ${tree.compiled} whose source is gone: ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}`);
  }
  return Promise.all(
    current.map(async (f) => ({
      target: posix.join(tree.target, ...f.split(sep)),
      content: await readInput(join(tree.compiled, f), 'guest file', 'compile the guest files again: npm run build'),
    })),
  );
}

async function pruneOld(dir: string, keep: string, log: (line: string) => void): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(imagePrefix) && n.endsWith(imageSuffix));
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => b.t - a.t);
  const old = dated.filter((d) => join(dir, d.n) !== keep).slice(keepImages - 1);
  for (const { n } of old) {
    await rm(join(dir, n), { force: true });
    log(`rootfs: pruned old image ${n}`);
  }
}

/** Everything the image is made of, read once. */
interface RootfsInputs {
  busybox: string;
  applets: string[];
  node: HostFile;
  libs: HostFile[];
  /** Copied in first, as it is (a DebianUserland's root), or null. */
  userlandTree: string | null;
  userlandPackages: readonly string[];
  init: Buffer;
  addon: Buffer;
  programs: Array<{ name: string; content: Buffer }>;
  guestFiles: GuestFile[];
}

/** The guest's busybox, node and libraries. */
type Userland = Pick<RootfsInputs, 'busybox' | 'applets' | 'node' | 'libs' | 'userlandTree' | 'userlandPackages'>;

/** The host's own, for a guest of the host's architecture. */
async function hostUserland(): Promise<Userland> {
  const busybox = await findBusybox();
  const node = await hostFile(process.execPath, 'the node binary', 'run the harness with a regular Node.js install');
  const libs = await Promise.all(
    (await sharedLibraries(node.real)).map((lib) => hostFile(lib, 'shared library', 'reinstall the package that provides it')),
  );
  return { busybox, applets: await busyboxApplets(busybox), node, libs, userlandTree: null, userlandPackages: [] };
}

/** The guest's busybox and node from Debian's packages of another architecture (userland.ts), copied in as a tree. */
async function debianUserland(userland: DebianUserland): Promise<Userland> {
  const inTree = (path: string): string => join(userland.root, ...path.split('/').filter((s) => s !== ''));
  const node = await hostFile(inTree(userland.node), 'the guest node binary', `remove ${userland.root} to fetch the userland again`);
  return {
    busybox: inTree(userland.busybox),
    applets: userland.applets,
    node: { ...node, path: userland.node },
    libs: [],
    userlandTree: userland.root,
    userlandPackages: userland.packages,
  };
}

async function gatherInputs(options: BuildRootfsOptions): Promise<RootfsInputs> {
  await checkCpio();
  const userland = options.userland === undefined ? await hostUserland() : await debianUserland(options.userland);
  const init = await readInput(options.initPath, 'the guest init', 'restore rootfs/init from the checkout');
  const addon = await readInput(options.addonPath, 'the guest addon', 'rebuild it (buildAddon) before the rootfs');
  const programs = [];
  for (const { name, path } of options.programs) {
    programs.push({ name, content: await readInput(path, `the guest program ${name}`, 'rebuild it (buildGuestPrograms) before the rootfs') });
  }
  const guestFiles: GuestFile[] = [];
  for (const tree of options.guestTrees) guestFiles.push(...(await readGuestTree(tree, options.log)));
  return { ...userland, init, addon, programs, guestFiles };
}

/** The image's name: a hash of the contents of what we build, and of path, size and mtime of what the host provides. */
async function imageDigest(inputs: RootfsInputs): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${layoutVersion}\n`);
  hash.update(`init\0`).update(inputs.init).update('\n');
  hash.update(`addon\0`).update(inputs.addon).update('\n');
  for (const { name, content } of inputs.programs) hash.update(`program\0${name}\0`).update(content).update('\n');
  for (const { target, content } of inputs.guestFiles) {
    hash.update(`guest\0${target}\0${content.length}\0`).update(content).update('\n');
  }
  await hashStat(hash, { path: '/bin/busybox', real: inputs.busybox, mode: 0o755 });
  hash.update(`applets\0${inputs.applets.join(' ')}\n`);
  hash.update(`userland\0${inputs.userlandPackages.join(' ')}\n`);
  await hashStat(hash, inputs.node);
  for (const lib of inputs.libs) await hashStat(hash, lib);
  return hash.digest('hex').slice(0, 20);
}

/** Lay the guest's file system out under `staging`. */
async function stageTree(staging: string, inputs: RootfsInputs): Promise<void> {
  const at = (guestPath: string): string => join(staging, ...guestPath.split('/').filter((s) => s !== ''));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'opt/rbmap/addon', 'opt/rbmap/bin']) {
    await mkdir(at(d), { recursive: true });
  }
  await chmod(at('tmp'), 0o1777);
  if (inputs.userlandTree !== null) await execa('cp', ['-a', `${inputs.userlandTree}/.`, staging]);

  const copyHost = async (file: HostFile): Promise<void> => {
    await mkdir(dirname(at(file.path)), { recursive: true });
    await copyFile(file.real, at(file.path));
    await chmod(at(file.path), file.mode);
  };

  await copyFile(inputs.busybox, at('/bin/busybox'));
  await chmod(at('/bin/busybox'), 0o755);
  for (const applet of inputs.applets) {
    await symlink('busybox', at(`/bin/${applet}`));
  }
  // Shebangs such as "#!/usr/bin/env node" in guest commands.
  await symlink('/bin/busybox', at('/usr/bin/env'));

  await copyHost(inputs.node);
  if (inputs.node.path !== '/usr/bin/node') await symlink(inputs.node.path, at('/usr/bin/node'));
  for (const lib of inputs.libs) await copyHost(lib);

  await writeFile(at('/init'), inputs.init);
  await chmod(at('/init'), 0o755);
  await writeFile(at('/opt/rbmap/addon/rbmap_sys.node'), inputs.addon, { mode: 0o755 });
  for (const { name, content } of inputs.programs) await writeFile(at(`/opt/rbmap/bin/${name}`), content, { mode: 0o755 });
  for (const { target, content } of inputs.guestFiles) {
    await mkdir(dirname(at(target)), { recursive: true });
    const command = content.subarray(0, 2).toString() === '#!' && posix.basename(posix.dirname(target)) === 'bin';
    await writeFile(at(target), content, { mode: command ? 0o755 : 0o644 });
    // A command (reader/bin/rbmap-cat.js) is on PATH under its name without .js.
    if (command) await symlink(target, at(posix.join('/usr/bin', posix.basename(target, '.js'))));
  }
  await writeFile(at('/opt/rbmap/package.json'), '{"type":"module"}\n');
  await writeFile(at('/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(at('/etc/group'), 'root:x:0:\n');
}

/** Write `staging` as a newc cpio (owned by root) to `image`. */
async function archiveTree(staging: string, image: string): Promise<void> {
  const names = await listTree(staging);
  const cpio = execa('cpio', ['-o', '-H', 'newc', '-R', '0:0', '-0', '--quiet'], {
    cwd: staging,
    input: names.join('\0') + '\0',
    buffer: false,
    stderr: 'pipe',
  });
  let stderr = '';
  cpio.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    if (cpio.stdout === null) throw new Error('cpio has no stdout');
    await Promise.all([pipeline(cpio.stdout, createWriteStream(image)), cpio]);
  } catch (e) {
    throw fail(`archiving the rootfs with cpio failed: ${stderr.trim() || firstLine(e)}`, 'check free space in the cache folder and that cpio works', e);
  }
}

/** Build (or reuse) the guest initramfs. */
export async function buildRootfs(options: BuildRootfsOptions): Promise<RootfsImage> {
  const { log } = options;
  const started = Date.now();
  const inputs = await gatherInputs(options);
  const outDir = join(options.cacheDir, 'rootfs', options.architecture);
  const image = join(outDir, `${imagePrefix}${await imageDigest(inputs)}${imageSuffix}`);
  try {
    const st = await stat(image);
    log(`rootfs: cached ${image} (${st.size} bytes)`);
    return { path: image, rebuilt: false, bytes: st.size };
  } catch {
    // not built yet
  }

  let staging: string;
  try {
    await mkdir(outDir, { recursive: true });
    staging = await mkdtemp(join(outDir, 'staging-'));
  } catch (e) {
    throw fail(`cannot create a staging folder in ${outDir}: ${firstLine(e)}`, 'make the cache writable or set RBMAP_CACHE to a writable folder', e);
  }
  const tmpImage = `${image}.tmp-${process.pid}`;
  try {
    await stageTree(staging, inputs);
    await archiveTree(staging, tmpImage);
    await rename(tmpImage, image);
  } catch (e) {
    if (e instanceof RbmapError) throw e;
    throw fail(`building the rootfs failed: ${firstLine(e)}`, `check free space and permissions in ${outDir}`, e);
  } finally {
    await rm(tmpImage, { force: true });
    await rm(staging, { recursive: true, force: true });
  }

  const bytes = (await stat(image)).size;
  log(`rootfs: built ${image} (${bytes} bytes, ${inputs.userlandTree === null ? `${inputs.libs.length} host libraries` : `${inputs.userlandPackages.length} Debian packages`}, ${inputs.guestFiles.length} guest files) in ${Date.now() - started} ms`);
  await pruneOld(outDir, image, log).catch((e: unknown) => log(`rootfs: pruning old images failed: ${firstLine(e)}`));
  return { path: image, rebuilt: true, bytes };
}

export interface ExtendedImageOptions {
  /** An initramfs image of ours (uncompressed newc cpio). */
  baseImage: string;
  /** A host folder to add, copied whole... */
  tree: string;
  /** ...to this absolute path in the guest. */
  guestPath: string;
  /** Where the new image goes (replaced). */
  image: string;
}

/**
 * `baseImage` with `tree` added at `guestPath`: a second cpio archive appended to the
 * first, which the kernel unpacks after it (initramfs archives may be concatenated).
 */
export async function extendImage(options: ExtendedImageOptions): Promise<void> {
  const staging = await mkdtemp(join(dirname(options.image), 'extra-'));
  const extra = join(staging, '..', `${posix.basename(staging)}.cpio`);
  try {
    const root = join(staging, 'root');
    await cp(options.tree, join(root, options.guestPath), { recursive: true });
    await archiveTree(root, extra);
    await copyFile(options.baseImage, options.image);
    await appendFile(options.image, await readFile(extra));
  } catch (e) {
    if (e instanceof RbmapError) throw e;
    throw fail(`adding ${options.tree} to the initramfs as ${options.guestPath} failed: ${firstLine(e)}`, `check free space in ${dirname(options.image)}`, e);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(extra, { force: true });
  }
}
