/**
 * What the guest's file system is made of (docs/internals.md, "Guest file system"): the
 * inputs read once, and their layout in a staging folder that cpio.ts archives.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { run } from '../common/proc.js';
import type { GuestProgram } from './addon.js';
import { checkCpio, listTree } from './cpio.js';
import { fail, firstLine } from './rootfsError.js';
import { debianUserland, type HostFile, hostUserland, type Userland } from './rootfsUserland.js';
import type { DebianUserland } from './userland.js';

/** A compiled TypeScript folder copied into the guest. */
export interface GuestTree {
  /** The compiled folder (under dist/). */
  compiled: string;
  /** Its TypeScript sources: a compiled file whose source is gone (renamed, deleted) is stale and left out. */
  sources: string;
  /** Where its files land in the guest (an absolute guest path). */
  target: string;
}

/** What goes into the image besides the guest's userland. */
export interface RootfsSources {
  /** The compiled addon (buildAddon()). */
  addonPath: string;
  /** The guest's static C programs (buildGuestPrograms()), /opt/rbmap/bin/<name> in the guest. */
  programs: readonly GuestProgram[];
  /** Compiled TypeScript folders to copy in (projectPaths.guestTrees). */
  guestTrees: readonly GuestTree[];
  /** The guest /init script (guest/init). */
  initPath: string;
  /** The guest's own busybox and Node.js when its architecture is not the host's (debianUserland()); default: the host's. */
  userland?: DebianUserland;
  log: (line: string) => void;
}

export interface GuestFile {
  /** Absolute guest path. */
  target: string;
  content: Buffer;
}

/** Everything the image is made of, read once. */
export interface RootfsInputs extends Userland {
  init: Buffer;
  addon: Buffer;
  programs: Array<{ name: string; content: Buffer }>;
  guestFiles: GuestFile[];
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

export async function gatherInputs(sources: RootfsSources): Promise<RootfsInputs> {
  await checkCpio();
  const userland = sources.userland === undefined ? await hostUserland() : await debianUserland(sources.userland);
  const init = await readInput(sources.initPath, 'the guest init', 'restore guest/init from the checkout');
  const addon = await readInput(sources.addonPath, 'the guest addon', 'rebuild it (buildAddon) before the rootfs');
  const programs = [];
  for (const { name, path } of sources.programs) {
    programs.push({ name, content: await readInput(path, `the guest program ${name}`, 'rebuild it (buildGuestPrograms) before the rootfs') });
  }
  const guestFiles: GuestFile[] = [];
  for (const tree of sources.guestTrees) guestFiles.push(...(await readGuestTree(tree, sources.log)));
  return { ...userland, init, addon, programs, guestFiles };
}

/** Lay the guest's file system out under `staging`. */
export async function stageTree(staging: string, inputs: RootfsInputs): Promise<void> {
  const at = (guestPath: string): string => join(staging, ...guestPath.split('/').filter((s) => s !== ''));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'opt/rbmap/addon', 'opt/rbmap/bin']) {
    await mkdir(at(d), { recursive: true });
  }
  await chmod(at('tmp'), 0o1777);
  if (inputs.userlandTree !== null) await run('cp', ['-a', `${inputs.userlandTree}/.`, staging], { errorCode: 'E_ROOTFS', hint: `check free space in ${staging}` });

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
