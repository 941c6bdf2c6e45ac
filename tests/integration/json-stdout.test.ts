// `--json` promises one JSON object on stdout and everything human on stderr. Each command
// that takes it is run for real here (kernel and initramfs come from the cache of the runs
// before) and its whole stdout goes through JSON.parse.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { projectRoot } from '../../harness/common/paths.js';

const cli = join(projectRoot, 'dist', 'harness', 'commands', 'cli.js');

async function stdoutOf(command: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out = await mkdtemp(join(tmpdir(), `rbmap-json-${command}-`));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const r = await execa('node', [cli, command, '--json', '--kvm', 'tcg', '--out', out, ...args], { reject: false });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

for (const [command, args] of [
  ['run', ['--filter', '^a trace_marker write']],
  ['bench', ['--seconds', '1', '--rounds', '1']],
  ['run', ['--smp', '4096']],
] as const) {
  t.test(`rbmap ${command} --json ${args.join(' ')}: stdout is one JSON object`, async (t) => {
    const r = await stdoutOf(command, [...args]);
    let parsed: unknown;
    t.doesNotThrow(() => {
      parsed = JSON.parse(r.stdout);
    }, `the whole stdout parses (stdout starts ${JSON.stringify(r.stdout.slice(0, 200))})`);
    t.match(parsed, { command, exitCode: r.exitCode }, 'the object names the command and its exit code');
    t.match(r.stderr, /Verdict:/, 'the human report went to stderr');
  });
}
