/**
 * Runs the guest test files in one Node process (a Node start-up costs about 1.5 s
 * under TCG): every `*.test.js` of a folder (default: the guest tests, ../../tests/guest
 * from here, in dist/ as in the guest), in name order, each as a top-level suite named
 * after the file, one file after the other.
 *
 *   node --test-reporter=<tap-per-file.js> run-files.js [--keep-going] [folder]
 *
 * A file that leaves a trace_pipe_raw mapping or descriptor behind fails (the
 * reporter adds a failing point named after the file) and the runner clears them.
 * Without --keep-going the files after the first one with a failure are not run: each
 * is reported as one failing test saying so. The exit code is node:test's: 1 when a
 * test failed.
 */
import { readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearLeftovers } from './leftovers.js';

const args = process.argv.slice(2);
const keepGoing = args.includes('--keep-going');
const folder = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'guest'));
const files = readdirSync(folder).filter((name) => name.endsWith('.test.js')).sort();
if (files.length === 0) {
  process.stderr.write(`run-files: no *.test.js in ${folder}\n`);
  process.exit(2);
}

let failedFirst: string | null = null;
for (const file of files) {
  if (failedFirst !== null) {
    const why = `not run: ${failedFirst} failed first (rbmap run --keep-going runs every file)`;
    describe(file, () => {
      test(why, () => {
        throw new Error(why);
      });
    });
    continue;
  }
  // The next file is declared only when this one has finished, so that its module
  // code (and its tests) never overlap this one's.
  await new Promise<void>((done) => {
    describe(file, { timeout: Infinity }, async () => {
      try {
        await import(pathToFileURL(join(folder, file)).href);
      } catch (error) {
        done();
        throw error;
      }
      // After the file's own after-hooks (registered by the import, so they run first).
      after(() => {
        try {
          clearLeftovers(file);
        } finally {
          done();
        }
      });
    });
  });
  if (!keepGoing && process.exitCode !== undefined && process.exitCode !== 0) failedFirst = file;
}
