/**
 * Builds the guest initramfs (newc cpio, uncompressed: under TCG the kernel took 2.3 s to
 * gunzip a 40 MB image and 0.8 s to unpack the 105 MB plain one) described in docs/internals.md:
 *
 *   /init                          <- guest/init (busybox sh, mode 755)
 *   /bin/busybox + applet links    <- the host's busybox-static
 *   <node path> (+ /usr/bin/node)  <- the host's node binary (process.execPath)
 *   every library `ldd node` lists, at the same path, plus the dynamic loader
 *   (a guest of another architecture gets Debian's packages of its own instead of the
 *   host's busybox, node and libraries: userland.ts)
 *   /opt/rbmap/reader/             <- dist/reader (the reader library; /usr/bin/rbmap-cat links to its bin/rbmap-cat.js)
 *   /opt/rbmap/guest/              <- dist/guest (the runner, its reporter, the contract, the command-line reader)
 *   /opt/rbmap/tests/guest/        <- dist/tests/guest (guest tests, lib, helpers)
 *   /opt/rbmap/package.json        <- {"type":"module"}
 *   /opt/rbmap/addon/rbmap_sys.node
 *   /opt/rbmap/bin/rbmap-bench     <- rootfs/bench/rbmap_bench.c, static (with libtraceevent)
 *   /opt/rbmap/bin/rbmap-rfc-client <- rootfs/rfc-client/rbmap_rfc_client.c, static
 *   /dev /proc /sys /tmp /root /etc (empty dirs; init mounts devtmpfs on /dev)
 *
 * What goes where: rootfsLayout.ts (with rootfsUserland.ts for busybox, node and its
 * libraries); the archive: cpio.ts. The image is named by a sha256 over every input
 * (contents of init, addon, bench reader and guest files; path + size + mtime of node, its
 * libraries and busybox), so an unchanged input set reuses the existing image.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveTree } from './cpio.js';
import { RbmapError } from '../common/errors.js';
import { fail, firstLine } from './rootfsError.js';
import { gatherInputs, type RootfsInputs, type RootfsSources, stageTree } from './rootfsLayout.js';
import type { HostFile } from './rootfsUserland.js';

export type { GuestTree } from './rootfsLayout.js';
export { extendImage, type ExtendedImageOptions } from './cpio.js';

export interface BuildRootfsOptions extends RootfsSources {
  /** Cache root; images go to <cacheDir>/rootfs/<architecture>/. */
  cacheDir: string;
  /** The guest's architecture (an ArchRecord's name): each keeps its own newest images. */
  architecture: string;
}

export interface RootfsImage {
  /** The newc cpio (not compressed). */
  path: string;
  /** false when an image for the same inputs already existed. */
  rebuilt: boolean;
  bytes: number;
}

/** Bump when the layout changes, so old cached images are not reused. */
const layoutVersion = 'rbmap-rootfs-v4';
/** Images kept in the cache per architecture (newest first); older ones are deleted. */
const keepImages = 3;
const imagePrefix = 'rbmap-rootfs-';
const imageSuffix = '.cpio';

async function hashStat(hash: Hash, file: HostFile): Promise<void> {
  const st = await stat(file.real);
  hash.update(`stat\0${file.path}\0${file.real}\0${st.size}\0${st.mtimeMs}\0${file.mode}\n`);
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
