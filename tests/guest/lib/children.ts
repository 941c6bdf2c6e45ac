/** Child processes of the guest tests: helper scripts run in their own Node process. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { helperPath } from './paths.js';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A script in a child Node process: a helper of tests/guest/helpers by name, or
 * an absolute path. The test can wait for what the child prints and write to its
 * stdin; the child is killed on timeout.
 */
export class ChildHelper {
  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private stdoutText = '';
  private stderrText = '';
  private readonly done: Promise<ChildResult>;
  private readonly waiters: Array<{ pattern: RegExp; stream: 'stdout' | 'stderr'; resolve: (match: RegExpMatchArray) => void }> = [];

  constructor(name: string, args: readonly string[], extraFds: readonly number[] = []) {
    this.child = spawn(process.execPath, [name.startsWith('/') ? name : helperPath(name), ...args], {
      stdio: ['pipe', 'pipe', 'pipe', ...extraFds],
    });
    const { stdin, stdout, stderr } = this.child;
    if (stdin === null || stdout === null || stderr === null) throw new Error('child without stdio pipes');
    this.stdin = stdin;
    this.stdin.on('error', () => {
      // the child may exit (SIGBUS) before it reads its input
    });
    const out: Readable = stdout;
    out.setEncoding('utf8');
    stderr.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.stdoutText += chunk;
      this.checkWaiters();
    });
    stderr.on('data', (chunk: string) => {
      this.stderrText += chunk;
      this.checkWaiters();
    });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        resolve({ code, signal, stdout: this.stdoutText, stderr: this.stderrText });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  private checkWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      const match = (waiter.stream === 'stdout' ? this.stdoutText : this.stderrText).match(waiter.pattern);
      if (match !== null) {
        this.waiters.splice(i, 1);
        waiter.resolve(match);
      }
    }
  }

  /** Wait until stdout (or stderr) matches `pattern` (rejects if the child ends first or on timeout). */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const already = (stream === 'stdout' ? this.stdoutText : this.stderrText).match(pattern);
    if (already !== null) return already;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpMatchArray>((resolve) => this.waiters.push({ pattern, stream, resolve })),
        this.done.then((result) => {
          throw new Error(`child ended (code ${result.code}, signal ${result.signal}) before printing ${pattern}: ${result.stdout} ${result.stderr}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`child did not print ${pattern} within ${timeoutMs} ms; stdout: ${this.stdoutText}; stderr: ${this.stderrText}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  send(line: string): void {
    this.stdin.write(`${line}\n`);
  }

  /** Has the child exited? */
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Wait for the exit; kill it with SIGKILL after `timeoutMs`. */
  async result(timeoutMs = 30_000): Promise<ChildResult> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Run a helper to completion. */
export async function runHelper(name: string, args: readonly string[], timeoutMs = 30_000): Promise<ChildResult> {
  const child = new ChildHelper(name, args);
  child.send('');
  return child.result(timeoutMs);
}

export function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}, stdout ${JSON.stringify(result.stdout.trim())}, stderr ${JSON.stringify(result.stderr.trim().slice(0, 800))}`;
}
