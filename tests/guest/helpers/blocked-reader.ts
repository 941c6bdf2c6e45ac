/**
 * Child process: block in read() or splice() of cpuN's trace_pipe_raw (a
 * blocking fd), and report when the call returns.
 *
 *   node blocked-reader.js <read|splice> <cpu|inherited> [instance]
 *
 * `inherited` uses fd 3, which the parent passed down (the same open file).
 * Prints `blocking` just before the call, then `returned <bytes>` or
 * `failed <code>`, and exits 0.
 */
import { readSync } from 'node:fs';
import { openTracePipeRaw, sys } from '../../../reader/index.js';

const mode = process.argv[2];
const target = process.argv[3] ?? '0';
const instance = process.argv[4] ?? null;
const INHERITED_FD = 3;
const fd = target === 'inherited' ? INHERITED_FD : openTracePipeRaw({ cpu: Number(target), instance });
const pageSize = sys.pageSize();

process.stdout.write('blocking\n');
try {
  let bytes: number;
  if (mode === 'read') {
    bytes = readSync(fd, Buffer.alloc(pageSize), 0, pageSize, null);
  } else if (mode === 'splice') {
    bytes = sys.splice(fd, pageSize).length;
  } else {
    throw new Error(`unknown mode ${String(mode)}`);
  }
  process.stdout.write(`returned ${bytes}\n`);
} catch (error) {
  const code = error instanceof Error ? String((error as Error & { code?: unknown }).code) : String(error);
  process.stdout.write(`failed ${code}\n`);
}
process.exit(0);
