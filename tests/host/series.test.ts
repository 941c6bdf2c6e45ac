import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { git } from '../../harness/source/git.js';
import { checkoutTree, exportSeries, patchFiles, patchSubject, readSeries, seriesCommit, seriesPresence } from '../../harness/source/series.js';

/** A small git repository standing in for a kernel tree, and a two-patch series on it. */
async function fixture(): Promise<{ repo: string; base: string; patchDir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'rbmap-series-'));
  const repo = join(root, 'tree');
  await mkdir(repo);
  await git(root, ['init', '-q', repo]);
  await writeFile(join(repo, 'a.c'), 'int a;\n');
  await writeFile(join(repo, 'b.c'), 'int b;\n');
  await writeFile(join(repo, 'untouched.c'), 'int u;\n');
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'base']);
  const base = (await git(repo, ['rev-parse', 'HEAD'])).stdout.trim();
  await writeFile(join(repo, 'a.c'), 'int a;\nint a2;\n');
  await git(repo, ['commit', '-q', '-am', 'ring-buffer: First change\n\nBody.\n\nSigned-off-by: T <t@example.org>']);
  await writeFile(join(repo, 'b.c'), 'int b;\nint b2;\n');
  await git(repo, ['commit', '-q', '-am', 'tracing: Second change\n\nBody.\n\nSigned-off-by: T <t@example.org>']);
  const patchDir = join(root, 'patches');
  const files = await exportSeries(repo, base, patchDir);
  await git(repo, ['checkout', '-q', '--detach', base]);
  t.equal(files.length, 2);
  return { repo, base, patchDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

t.test('readSeries reads patches in series order with subjects and files', async (t) => {
  const f = await fixture();
  t.teardown(f.cleanup);
  const series = await readSeries(f.patchDir);
  t.same(series.patches.map((p) => p.subject), ['ring-buffer: First change', 'tracing: Second change']);
  t.same(series.patches.map((p) => p.files), [['a.c'], ['b.c']]);
  t.equal(series.configFragment, null);
});

t.test('seriesCommit applies with git am once and reuses the commit', async (t) => {
  const f = await fixture();
  t.teardown(f.cleanup);
  const series = await readSeries(f.patchDir);
  const tip = await seriesCommit(f.repo, f.base, series, false);
  t.equal((await git(f.repo, ['show', `${tip}:a.c`])).stdout, 'int a;\nint a2;');
  t.equal((await git(f.repo, ['show', `${tip}:b.c`])).stdout, 'int b;\nint b2;');
  t.equal(await seriesCommit(f.repo, f.base, series, false), tip, 'same base + same series → same commit');
});

t.test('checkoutTree only rewrites files that differ', async (t) => {
  const f = await fixture();
  t.teardown(f.cleanup);
  const series = await readSeries(f.patchDir);
  const tip = await seriesCommit(f.repo, f.base, series, false);
  await checkoutTree(f.repo, tip);
  const before = (await stat(join(f.repo, 'untouched.c'))).mtimeMs;
  const aBefore = (await stat(join(f.repo, 'a.c'))).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  // Edit patch 2 only: a new series whose tip differs from the old one in b.c alone.
  const p2 = join(f.patchDir, series.patches[1]?.file ?? '');
  await writeFile(p2, (await readFile(p2, 'utf8')).replace('+int b2;', '+int b3;'));
  const edited = await seriesCommit(f.repo, f.base, await readSeries(f.patchDir), false);
  t.not(edited, tip);
  await checkoutTree(f.repo, edited);
  t.equal((await stat(join(f.repo, 'untouched.c'))).mtimeMs, before, 'untouched file keeps its mtime');
  t.equal((await stat(join(f.repo, 'a.c'))).mtimeMs, aBefore, 'file of the unchanged patch keeps its mtime');
  t.equal(await readFile(join(f.repo, 'b.c'), 'utf8'), 'int b;\nint b3;\n');
});

t.test('a patch that does not apply is named with its conflicting file', async (t) => {
  const f = await fixture();
  t.teardown(f.cleanup);
  await writeFile(join(f.repo, 'b.c'), 'int something_else;\n');
  await git(f.repo, ['commit', '-q', '-am', 'diverge']);
  const newBase = (await git(f.repo, ['rev-parse', 'HEAD'])).stdout.trim();
  const series = await readSeries(f.patchDir);
  await t.rejects(seriesCommit(f.repo, newBase, series, true), {
    name: 'RbmapError',
    code: 'E_PATCH_APPLY',
    message: /patch 0002-tracing-Second-change\.patch .*conflicts in: b\.c/,
  });
});

t.test('seriesPresence tells a patched tree from a pristine one', async (t) => {
  const f = await fixture();
  t.teardown(f.cleanup);
  const series = await readSeries(f.patchDir);
  t.equal(await seriesPresence(f.repo, series), 'none');
  await checkoutTree(f.repo, await seriesCommit(f.repo, f.base, series, false));
  t.equal(await seriesPresence(f.repo, series), 'all');
});

t.test('patchSubject and patchFiles parse format-patch headers', async (t) => {
  const text = 'Subject: [PATCH 2/4] tracing: Allow user-space mapping of\n trace_pipe_raw\n\n---\ndiff --git a/kernel/trace/trace.c b/kernel/trace/trace.c\ndiff --git a/include/uapi/linux/trace_mmap.h b/include/uapi/linux/trace_mmap.h\n';
  t.equal(patchSubject(text, 'x'), 'tracing: Allow user-space mapping of trace_pipe_raw');
  t.same(patchFiles(text), ['kernel/trace/trace.c', 'include/uapi/linux/trace_mmap.h']);
});
