/**
 * Child process: the benchmark's rbmap-cat row. Starts `rbmap-cat --cpu
 * <writer> --follow` pinned to <reader-cpu>, its output into a file on the
 * guest's tmpfs (/dev/null would hide what it printed), then `rbmap-bench
 * write` on <writer-cpu>; when the writer is done and rbmap-cat has printed
 * the last marker (or a second has passed), interrupts it. Prints one JSON
 * line in the shape of rbmap-bench's (method "rbmap-cat"): the CPU rbmap-cat
 * used from its "following" line to its end (/proc/<pid>/stat, so Node's
 * start-up is not counted), and the markers its lines show.
 *
 *   node bench-cat-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { sys } from '../../../reader/index.js';
import { MarkerSequence, overrunOf } from '../lib/bench-markers.js';
import { BENCH_BINARY, readerScript } from '../lib/paths.js';

const args = process.argv.slice(2).map(Number);
const [writerCpu, readerCpu, seconds, rate, eventBytes] = args;
if (args.length !== 5 || args.some((n) => !Number.isFinite(n))) {
  process.stderr.write('usage: bench-cat-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>\n');
  process.exit(2);
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const USER_HZ = 100;

/** utime and stime of a process, µs. */
function cpuOf(pid: number): { userUs: number; systemUs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5); the slice starts at field 3.
  return { userUs: (Number(fields[11]) * 1e6) / USER_HZ, systemUs: (Number(fields[12]) * 1e6) / USER_HZ };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const outputPath = `/tmp/bench-cat-${process.pid}.txt`;
const output = openSync(outputPath, 'w');
// Children inherit the affinity: rbmap-cat reads on <reader-cpu>; the writer pins itself to <writer-cpu>.
sys.setAffinity(readerCpu!);
const cat = spawn(process.execPath, [readerScript('bin/rbmap-cat'), '--cpu', String(writerCpu), '--follow'], { stdio: ['ignore', output, 'pipe'] });
closeSync(output);
const catExit = exited(cat);
await new Promise<void>((resolve, reject) => {
  let stderr = '';
  cat.stderr!.setEncoding('utf8');
  cat.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.includes('following')) resolve();
  });
  void catExit.then((code) => reject(new Error(`rbmap-cat exited ${code} before it followed: ${stderr.trim()}`)));
});
const catPid = cat.pid!;
const before = cpuOf(catPid);
const overrunBefore = overrunOf(writerCpu!);
const startWall = process.hrtime.bigint();
const writer = spawn(BENCH_BINARY, ['write', String(writerCpu), String(seconds), String(rate), String(eventBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
let writerOut = '';
writer.stdout!.on('data', (chunk: Buffer) => {
  writerOut += chunk.toString();
});
const writerCode = await exited(writer);
if (writerCode !== 0) throw new Error(`rbmap-bench write exited ${writerCode}`);
const written = Number(JSON.parse(writerOut).written);
const lastMarker = new RegExp(`print: rbmb ${written - 1} `);
for (let waited = 0; waited < 1000 && !lastMarker.test(readFileSync(outputPath, 'utf8')); waited += 50) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const after = cpuOf(catPid);
const wallUs = Number((process.hrtime.bigint() - startWall) / 1000n);
cat.kill('SIGINT');
const catCode = await catExit;
if (catCode !== 0) throw new Error(`rbmap-cat exited ${catCode} after SIGINT`);

/**
 * A marker event as the ring stores it (what the other rows count): the
 * 16-byte entry, the text, room for '\n' and NUL (6.1's tracing_mark_write),
 * its length word past 112 bytes, the 4-byte header, in whole words.
 */
const entryBytes = 16 + eventBytes! + 2;
const markerEventBytes = Math.ceil((entryBytes + (entryBytes > 112 ? 4 : 0) + 4) / 4) * 4;
const markers = new MarkerSequence();
for (const line of readFileSync(outputPath, 'utf8').split('\n')) {
  const match = /print: rbmb (\d+) /.exec(line);
  if (match === null) continue;
  markers.see(Number(match[1]));
}
rmSync(outputPath);
process.stdout.write(
  `${JSON.stringify({
    method: 'rbmap-cat',
    rate,
    seconds,
    eventBytes,
    written,
    ...markers.counts(written),
    overrun: Number(overrunOf(writerCpu!) - overrunBefore),
    payloadBytes: markers.consumed * markerEventBytes,
    userUs: after.userUs - before.userUs,
    systemUs: after.systemUs - before.systemUs,
    wallUs,
  })}\n`,
);
