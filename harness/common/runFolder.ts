/**
 * The run folder: one per command run under the runs root, named `<time>-<kind>`, with
 * `latest` pointing at the newest; the files a guest run leaves in it; and its run
 * record, run.json.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What made the folder: a guest run in one mode, or a command that boots several times. */
export type RunKind = 'test' | 'hang' | 'crash' | 'shell' | 'stress' | 'bench' | 'copy-paths' | 'matrix' | 'regress';

/** Where a guest run's files are; the console log, TAP, KTAP and status files are written by QEMU. */
export interface RunArtifacts {
  runDir: string;
  consoleLog: string;
  tap: string;
  ktap: string;
  status: string;
  summary: string;
  junit: string;
  record: string;
}

export function runArtifactPaths(runDir: string): RunArtifacts {
  return {
    runDir,
    consoleLog: join(runDir, 'console.log'),
    tap: join(runDir, 'guest.tap'),
    ktap: join(runDir, 'kunit.ktap'),
    status: join(runDir, 'status'),
    summary: join(runDir, 'summary.json'),
    junit: join(runDir, 'results.xml'),
    record: join(runDir, 'run.json'),
  };
}

/** `20261207-071313`: local to no time zone (UTC), sorts by time. */
export function runStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A new folder `<runsDir>/<time>-<kind>`, which `<runsDir>/latest` then points at. */
export function newRunFolder(runsDir: string, kind: RunKind, now = new Date()): string {
  const dir = join(runsDir, `${runStamp(now)}-${kind}`);
  mkdirSync(dir, { recursive: true });
  const latest = join(runsDir, 'latest');
  rmSync(latest, { force: true });
  try {
    symlinkSync(dir, latest);
  } catch {
    // A file system without symbolic links still has the folder; the report names it.
  }
  return dir;
}

/** The folder of one guest run, made if missing, without the result files of an earlier run in it. */
export function guestRunFolder(runDir: string): RunArtifacts {
  mkdirSync(runDir, { recursive: true });
  const artifacts = runArtifactPaths(runDir);
  for (const file of [artifacts.tap, artifacts.ktap, artifacts.status]) rmSync(file, { force: true });
  return artifacts;
}

/** run.json: what ran, exactly, so that a run can be told apart from another and repeated. */
export interface RunRecord {
  arch: string;
  kernel: { tree: string; srcDir: string; buildDir: string; series: string; rebuilt: boolean; image: string };
  initrd: string;
  accel: string;
  /** The QEMU binary and its whole argument vector, as started (no shell). */
  qemu: { binary: string; argv: readonly string[] };
  timingsMs: Readonly<Record<string, number>>;
}

export function writeRunRecord(artifacts: RunArtifacts, record: RunRecord): void {
  writeFileSync(artifacts.record, `${JSON.stringify(record, null, 2)}\n`);
}
