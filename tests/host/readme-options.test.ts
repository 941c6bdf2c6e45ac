/** The README's options table says which commands take each option: the same as commandOptions. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandNames, commandOptions, type OptionName } from '../../harness/commands/options.js';
import { projectRoot } from '../../harness/common/paths.js';

t.test('every option row of the README names exactly the commands that take it', async (t) => {
  const readme = await readFile(join(projectRoot, 'README.md'), 'utf8');
  // Cells split at the pipes that are not escaped (`--kvm auto\|kvm\|tcg`).
  const rows = readme.split('\n').filter((line) => line.startsWith('| `-')).map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()));
  t.ok(rows.length > 20, `${rows.length} option rows`);
  const documented = new Set<string>();
  for (const [, options, commands] of rows) {
    const names = [...options!.matchAll(/`--([\w-]+)/g)].map((m) => m[1]!);
    const listed = commands!.split(',').map((c) => c.trim()).sort();
    for (const name of names) {
      documented.add(name);
      const takers = commandNames.filter((c) => (commandOptions[c] as readonly string[]).includes(name)).sort();
      t.same(listed, takers, `--${name}: the README lists the commands that take it`);
    }
  }
  const all = new Set(commandNames.flatMap((c) => commandOptions[c] as readonly OptionName[]));
  t.same([...all].filter((name) => !documented.has(name)), [], 'every option a command takes has a row');
});
