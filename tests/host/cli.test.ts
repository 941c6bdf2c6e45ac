import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ExitCode } from '../../harness/common/outcome.js';
import { checkCommandOptions, commandNames, commandOptions, optionSpec, pipelineOptions, parseCommandLine } from '../../harness/commands/options.js';
import { projectRoot } from '../../harness/common/paths.js';

const cli = join(projectRoot, 'dist', 'harness', 'commands', 'cli.js');

// About twenty Node start-ups of the CLI: 25-35 s on a busy 2-core host, past tap's 30 s default.
t.setTimeout(120_000);

async function rbmap(...args: string[]) {
  const r = await execa('node', [cli, ...args], { reject: false });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

t.test('--help lists every command and the exit codes, and exits 0', async (t) => {
  const r = await rbmap('--help');
  t.equal(r.exitCode, ExitCode.pass);
  for (const command of ['doctor', 'run', 'stress', 'shell', 'check', 'bench', 'matrix', 'hack', 'export']) t.match(r.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  t.match(r.stdout, /exit codes: 0 pass, 1 test failure, 2 kernel crash, 3 timeout, 4 setup error, 64 usage error/);
});

t.test('no command is a usage error (64) that still prints the help', async (t) => {
  const r = await rbmap();
  t.equal(r.exitCode, ExitCode.usage);
  t.match(r.stdout, /usage: rbmap <command>/);
});

t.test('an unknown command or option is a usage error with a hint', async (t) => {
  const unknown = await rbmap('frobnicate');
  t.equal(unknown.exitCode, ExitCode.usage);
  t.match(unknown.stderr, /error \[E_USAGE\]: unknown command frobnicate/);
  t.match(unknown.stderr, /what to do: rbmap --help/);
  const badOption = await rbmap('run', '--no-such-option');
  t.equal(badOption.exitCode, ExitCode.usage);
  t.match(badOption.stderr, /E_USAGE/);
});

t.test('bad option values are refused before any work starts', async (t) => {
  for (const args of [['--smp', '0'], ['--mem', '12'], ['--timeout', 'soon'], ['--kvm', 'maybe'], ['--arch', 'sparc'], ['--guest-mode', 'dance'], ['--variant', 'fast'], ['--stress-seconds', '0'], ['--seed', 'lucky']]) {
    const r = await rbmap('run', ...args);
    t.equal(r.exitCode, ExitCode.usage, `run ${args.join(' ')}`);
    t.match(r.stderr, /E_USAGE/, `run ${args.join(' ')} says why`);
  }
});

t.test('pipelineOptions: defaults and conversions', async (t) => {
  const { values } = parseCommandLine(['run', '--config-fragment', 'a.config', '--config-fragment', 'b.config', '--no-patches', '--filter', 'resize']);
  const o = pipelineOptions(values);
  t.equal(o.arch.name, 'x86_64');
  t.equal(o.applySeries, false);
  t.equal(o.smp, 2);
  t.equal(o.memMb, 1024);
  t.equal(o.kvm, 'auto');
  t.equal(o.variant.name, 'default');
  t.equal(o.stressSeconds, 10);
  t.equal(o.stressSeed, undefined);
  t.same(o.variant.fragments, []);
  t.equal(o.filter, 'resize');
  t.same(o.extraFragments.map((f) => f.split('/').pop()), ['a.config', 'b.config']);
  t.ok(o.extraFragments.every((f) => f.startsWith('/')), 'fragment paths are made absolute');
});

t.test('--variant debug adds the debug fragment, whose checkers are the ones issue 7 needs', async (t) => {
  const o = pipelineOptions(parseCommandLine(['run', '--variant', 'debug']).values);
  t.equal(o.variant.name, 'debug');
  t.same(o.variant.fragments.map((f) => f.split('/').pop()), ['debug.config']);
  const text = await readFile(o.variant.fragments[0]!, 'utf8');
  for (const option of ['CONFIG_KASAN=y', 'CONFIG_SLUB=y', 'CONFIG_PROVE_LOCKING=y', 'CONFIG_PERF_EVENTS=y', 'CONFIG_DEBUG_ATOMIC_SLEEP=y', 'CONFIG_DEBUG_LIST=y']) {
    t.match(text, new RegExp(`^${option}$`, 'm'), option);
  }
});

t.test('stress: --seconds must be a whole number, and --seed is passed on', async (t) => {
  const bad = await rbmap('stress', '--seconds', 'long');
  t.equal(bad.exitCode, ExitCode.usage);
  t.match(bad.stderr, /--seconds long: expected a whole number/);
  t.equal(pipelineOptions(parseCommandLine(['stress', '--seed', '0']).values).stressSeed, 0, 'seed 0 is a seed');
});

t.test('bench: --seconds must be a whole number ≥ 1', async (t) => {
  const bad = await rbmap('bench', '--seconds', '0');
  t.equal(bad.exitCode, ExitCode.usage);
  t.match(bad.stderr, /--seconds 0: expected a whole number ≥ 1/);
});

t.test('an option the command does not take is a usage error naming its options', async (t) => {
  for (const [command, option] of [['doctor', 'filter'], ['hack', 'kernel-src'], ['hack', 'arch'], ['check', 'smp'], ['shell', 'json'], ['export', 'variant'], ['run', 'seconds']] as const) {
    t.throws(() => checkCommandOptions(command, [option]), { code: 'E_USAGE', message: `rbmap ${command} does not take --${option}`, hint: /^its options: --/ }, `${command} --${option}`);
  }
  t.doesNotThrow(() => checkCommandOptions('bench', ['seconds', 'json', 'smp', 'help']));
  const r = await rbmap('hack', '--kernel-src', '/usr/src/linux');
  t.equal(r.exitCode, ExitCode.usage);
  t.match(r.stderr, /error \[E_USAGE\]: rbmap hack does not take --kernel-src/);
  t.match(r.stderr, /what to do: its options: --dir --force/);
});

t.test('every option is taken by some command, and each command lists only known options', async (t) => {
  const taken = new Set(Object.values(commandOptions).flat());
  for (const name of Object.keys(optionSpec)) {
    if (name !== 'help') t.ok(taken.has(name as keyof typeof optionSpec), `--${name} belongs to a command`);
  }
  t.same(Object.keys(commandOptions).sort(), [...commandNames].sort());
});

t.test('--json: run prints one JSON object on stdout, even when it fails at setup', async (t) => {
  // A --kernel-src that does not exist fails before any build: the error is the object.
  const r = await rbmap('run', '--json', '--kernel-src', '/nonexistent/linux', '--no-patches');
  t.equal(r.exitCode, ExitCode.setupError);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line on stdout');
  t.match(JSON.parse(lines[0] ?? '{}'), { command: 'run', exitCode: ExitCode.setupError, error: { code: 'E_SOURCE', message: /does not exist/ } });
  t.match(r.stderr, /E_SOURCE/, 'the human error still goes to stderr');
});
