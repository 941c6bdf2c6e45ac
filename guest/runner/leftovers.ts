/**
 * What a test file must not leave behind in the one runner process: a mapping of a
 * trace_pipe_raw file (it blocks resizing and snapshots for every later file) or an
 * open trace_pipe_raw file. Found leftovers are unmapped and closed, so the next
 * file starts clean, and reported as a failure of the file that left them.
 */
import { closeSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sys } from '../../reader/index.js';

const traceFile = /\/trace_pipe_raw$/;

export interface Leftovers {
  mappings: { start: bigint; end: bigint; path: string }[];
  fds: { fd: number; path: string }[];
}

/** The trace_pipe_raw mappings of a /proc/PID/maps text. */
export function traceMappingsIn(maps: string): Leftovers['mappings'] {
  const mappings: Leftovers['mappings'] = [];
  for (const line of maps.split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s+(\S.*)$/.exec(line);
    if (match !== null && traceFile.test(match[3]!)) mappings.push({ start: BigInt(`0x${match[1]}`), end: BigInt(`0x${match[2]}`), path: match[3]! });
  }
  return mappings;
}

/** The trace_pipe_raw mappings (from /proc/self/maps) and open descriptors of this process. */
export function findLeftovers(): Leftovers {
  const mappings = traceMappingsIn(readFileSync('/proc/self/maps', 'utf8'));
  const fds: Leftovers['fds'] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    let path: string;
    try {
      path = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // the descriptor readdir itself used, closed by now
    }
    if (traceFile.test(path)) fds.push({ fd: Number(name), path });
  }
  return { mappings, fds };
}

/** Unmaps and closes what findLeftovers() found; throws naming it, when there was anything. */
export function clearLeftovers(file: string): void {
  const { mappings, fds } = findLeftovers();
  if (mappings.length === 0 && fds.length === 0) return;
  for (const m of mappings) sys.munmapRange(m.start, Number(m.end - m.start));
  for (const f of fds) closeSync(f.fd);
  const named = [
    ...mappings.map((m) => `a mapping of ${m.path} (${m.end - m.start} bytes)`),
    ...fds.map((f) => `open fd ${f.fd} on ${f.path}`),
  ];
  throw new Error(`${file} left ${named.join(', ')} behind; the runner unmapped and closed them so that the next files start clean`);
}
