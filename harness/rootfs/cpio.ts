/** Writing a folder as a newc cpio archive (owned by root), and appending one to an initramfs image. */
import type { Dirent } from 'node:fs';
import { appendFile, copyFile, cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import { run, runToFile } from '../common/proc.js';
import { RbmapError } from '../common/errors.js';
import { fail, firstLine } from './rootfsError.js';

export async function checkCpio(): Promise<void> {
  await run('cpio', ['--version'], { timeout: 30_000, errorCode: 'E_ROOTFS', hint: 'apt-get install cpio' });
}

/**
 * Paths under `root` of the entries `keep` accepts, relative, sorted by name, each
 * directory before its contents.
 */
export async function listTree(root: string, keep: (entry: Dirent) => boolean = () => true): Promise<string[]> {
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

/** Write `staging` as a newc cpio (owned by root) to `image`. */
export async function archiveTree(staging: string, image: string): Promise<void> {
  const names = await listTree(staging);
  await runToFile('cpio', ['-o', '-H', 'newc', '-R', '0:0', '-0', '--quiet'], {
    cwd: staging,
    input: names.join('\0') + '\0',
    outputFile: image,
    errorCode: 'E_ROOTFS',
    hint: 'check free space in the cache folder and that cpio works',
  });
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
