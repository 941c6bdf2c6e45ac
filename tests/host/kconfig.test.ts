import t from 'tap';
import { describeMismatches, parseDotConfig, parseFragment, verifyConfig } from '../../harness/build/kconfig.js';

const fragment = `# comment
CONFIG_TRACING=y
CONFIG_CMDLINE="console=ttyS0 quiet"
# CONFIG_SLOB is not set
CONFIG_LOG_BUF_SHIFT=17
`;

t.test('parseFragment reads set, string, number and unset options', async (t) => {
  const requests = parseFragment(fragment, 'frag.config');
  t.same(
    requests.map((r) => [r.name, r.value]),
    [
      ['CONFIG_TRACING', 'y'],
      ['CONFIG_CMDLINE', '"console=ttyS0 quiet"'],
      ['CONFIG_SLOB', null],
      ['CONFIG_LOG_BUF_SHIFT', '17'],
    ],
  );
  t.ok(requests.every((r) => r.fragment === 'frag.config'));
});

t.test('parseFragment rejects a line it cannot read, naming the fragment', async (t) => {
  t.throws(() => parseFragment('TRACING=y\n', 'bad.config'), { name: 'RbmapError', code: 'E_CONFIG_MISSING', message: /bad\.config/ });
});

t.test('verifyConfig passes when every option holds its value', async (t) => {
  const dot = parseDotConfig('CONFIG_TRACING=y\nCONFIG_CMDLINE="console=ttyS0 quiet"\n# CONFIG_SLOB is not set\nCONFIG_LOG_BUF_SHIFT=17\n');
  t.same(verifyConfig(parseFragment(fragment, 'f'), dot), []);
});

t.test('verifyConfig names an option kconfig dropped and one with another value', async (t) => {
  const dot = parseDotConfig('CONFIG_CMDLINE="console=ttyS0 quiet"\nCONFIG_SLOB=y\nCONFIG_LOG_BUF_SHIFT=17\n');
  const mismatches = verifyConfig(parseFragment(fragment, 'f.config'), dot);
  t.same(mismatches.map((m) => m.request.name), ['CONFIG_TRACING', 'CONFIG_SLOB']);
  const text = describeMismatches(mismatches);
  t.match(text, /CONFIG_TRACING: requested y by f\.config, final \.config has absent/);
  t.match(text, /CONFIG_SLOB: requested not set by f\.config, final \.config has y/);
});

t.test('a later fragment overrides an earlier request for the same option', async (t) => {
  const requests = [...parseFragment('CONFIG_A=y\n', 'one'), ...parseFragment('CONFIG_A=m\n', 'two')];
  t.same(verifyConfig(requests, parseDotConfig('CONFIG_A=m\n')), []);
  t.equal(verifyConfig(requests, parseDotConfig('CONFIG_A=y\n'))[0]?.request.fragment, 'two');
});
