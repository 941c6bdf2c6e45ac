/** configTreeState(): a .config is kept across edits that cannot change it, and only those. */
import t from 'tap';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { configTreeState } from '../../harness/source/git.js';

t.test('configTreeState follows Kconfig files, config fragments and the kconfig tools', async (t) => {
  const tree = await mkdtemp(join(tmpdir(), 'rbmap-git-'));
  t.teardown(() => rm(tree, { recursive: true, force: true }));
  t.equal(await configTreeState(tree), null, 'not a git tree');
  const git = (...args: string[]) => execa('git', ['-C', tree, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await mkdir(join(tree, 'kernel', 'trace'), { recursive: true });
  await mkdir(join(tree, 'kernel', 'configs'), { recursive: true });
  await mkdir(join(tree, 'scripts', 'kconfig'), { recursive: true });
  await writeFile(join(tree, 'kernel', 'trace', 'Kconfig'), 'config TRACING\n');
  await writeFile(join(tree, 'kernel', 'trace', 'ring_buffer.c'), 'int x;\n');
  await writeFile(join(tree, 'kernel', 'configs', 'tiny.config'), 'CONFIG_EMBEDDED=y\n');
  await writeFile(join(tree, 'scripts', 'kconfig', 'conf.c'), 'int main(void) { return 0; }\n');
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'base');
  const base = await configTreeState(tree);
  t.type(base, 'string');

  await appendFile(join(tree, 'kernel', 'trace', 'ring_buffer.c'), 'int y;\n');
  t.equal(await configTreeState(tree), base, 'an edited .c file keeps it');

  await appendFile(join(tree, 'kernel', 'trace', 'Kconfig'), 'config RING_BUFFER_MAP\n');
  const kconfigEdited = await configTreeState(tree);
  t.not(kconfigEdited, base, 'an edited Kconfig changes it');

  await writeFile(join(tree, 'kernel', 'trace', 'Kconfig.new'), 'config NEW\n');
  const untracked = await configTreeState(tree);
  t.not(untracked, kconfigEdited, 'a new, untracked Kconfig file changes it');

  await appendFile(join(tree, 'kernel', 'configs', 'tiny.config'), 'CONFIG_X=y\n');
  const fragment = await configTreeState(tree);
  t.not(fragment, untracked, 'an edited config fragment of the tree changes it');

  await appendFile(join(tree, 'scripts', 'kconfig', 'conf.c'), '/* changed */\n');
  t.not(await configTreeState(tree), fragment, 'an edited kconfig tool changes it');

  await git('add', '-A');
  await git('commit', '-q', '-m', 'edits');
  t.not(await configTreeState(tree), base, 'a new HEAD changes it');
});
