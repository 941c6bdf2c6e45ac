/** Kernel trees given with --kernel-src: one that already has upstream's own mapping is refused before git am. */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ExitCode } from '../../harness/common/outcome.js';
import { distRoot } from '../../harness/common/paths.js';
import { refuseUpstreamMapping } from '../../harness/source/source.js';

async function kernelTree(header: string | null): Promise<string> {
  const tree = await mkdtemp(join(tmpdir(), 'rbmap-tree-'));
  await writeFile(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n');
  if (header !== null) {
    await mkdir(join(tree, 'include', 'uapi', 'linux'), { recursive: true });
    await writeFile(join(tree, 'include', 'uapi', 'linux', 'trace_mmap.h'), header);
  }
  return tree;
}

const upstreamHeader = [
  '#ifndef _TRACE_MMAP_H_',
  'struct trace_buffer_meta {',
  '\t__u32\tmeta_page_size;',
  '};',
  "#define TRACE_MMAP_IOCTL_GET_READER\t_IO('R', 0x20)",
  '#endif',
].join('\n');

t.test('refuseUpstreamMapping: upstream\'s header is refused, ours and none pass', async (t) => {
  const upstream = await kernelTree(upstreamHeader);
  const ours = await kernelTree('struct ring_buffer_meta_page {\n\t__u64\tentries;\n};\n');
  const none = await kernelTree(null);
  t.teardown(() => Promise.all([upstream, ours, none].map((dir) => rm(dir, { recursive: true, force: true }))));
  await t.rejects(refuseUpstreamMapping(upstream), {
    code: 'E_SOURCE',
    message: /\(6\.12\.117\) already has upstream's ring-buffer mapping: .*struct trace_buffer_meta.*_IO\('R', 0x20\)/,
    hint: /older than 6\.10.*--no-patches/,
  });
  await t.resolves(refuseUpstreamMapping(ours), 'a tree with this series applied is not upstream\'s');
  await t.resolves(refuseUpstreamMapping(none), 'a tree without the header (6.1) passes');
});

t.test('rbmap run and check stop at once with exit 4, before git am', async (t) => {
  const upstream = await kernelTree(upstreamHeader);
  t.teardown(() => rm(upstream, { recursive: true, force: true }));
  for (const command of ['run', 'check']) {
    const r = await execa('node', [join(distRoot, 'harness', 'commands', 'cli.js'), command, '--kernel-src', upstream], { reject: false });
    t.equal(r.exitCode, ExitCode.setupError, `${command}: exit 4`);
    t.match(String(r.stderr), /error \[E_SOURCE\]: .*already has upstream's ring-buffer mapping/, `${command}: says why`);
    t.notMatch(String(r.stderr), /git am|conflict/i, `${command}: never reaches git am`);
  }
});
