/**
 * reader/README.md shows reader/examples/print-cpu.ts in full; the guest suite runs the file
 * (consumer.test.ts), so the page must show exactly that file.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../harness/common/paths.js';

t.test('the reader README shows the example file as it is', async (t) => {
  const readme = await readFile(join(projectRoot, 'reader', 'README.md'), 'utf8');
  const example = await readFile(join(projectRoot, 'reader', 'examples', 'print-cpu.ts'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(block !== undefined, 'the README has a ts code block');
  t.equal(block, example, 'the code block equals reader/examples/print-cpu.ts');
});
