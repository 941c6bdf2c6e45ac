import t from 'tap';
import { escapeXml, toJUnitXml } from '../../harness/results/junit.js';

t.test('escaping', async (t) => {
  t.equal(escapeXml(`a<b>&"c"'d'`), 'a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;');
  t.equal(escapeXml('esc\u001b[31mred\u0000nul\u007f'), 'esc\\x1B[31mred\\x00nul\\x7F');
  t.equal(escapeXml('tab\tnl\n'), 'tab&#9;nl&#10;');
  t.equal(escapeXml('lone \ud800 surrogate, pair 😀, \uffff'), 'lone \\uD800 surrogate, pair 😀, \\uFFFF');
});

t.test('document', async (t) => {
  const xml = toJUnitXml(
    [
      { name: 'm.test.js > maps', status: 'pass', durationMs: 12.4, suite: 'm.test.js' },
      { name: 'm.test.js > <write>', status: 'fail', durationMs: 1, suite: 'm.test.js', diagnostic: 'error: expected EPERM & got 0\u0007\nstack: x' },
      { name: 'm.test.js > two cpus', status: 'skip', suite: 'm.test.js', diagnostic: 'SKIP: single CPU' },
      { name: 'k > case', status: 'todo', suite: 'ring_buffer_map' },
    ],
    { timestamp: new Date('2026-11-26T12:00:00Z') },
  );
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="rbmap" tests="4" failures="1" errors="0" skipped="2"/);
  t.match(xml, /<testsuite name="m\.test\.js" tests="3" failures="1" errors="0" skipped="1" time="0\.013" timestamp="2026-11-26T12:00:00">/);
  t.match(xml, /<testcase classname="m\.test\.js" name="m\.test\.js &gt; maps" time="0\.012"\/>/);
  t.match(xml, /<failure message="error: expected EPERM &amp; got 0\\x07" type="failure">error: expected EPERM &amp; got 0\\x07\nstack: x<\/failure>/);
  t.match(xml, /<skipped message="SKIP: single CPU"\/>/);
  t.match(xml, /<testsuite name="ring_buffer_map"[^>]*>\n    <testcase[^>]*>\n      <skipped message="TODO"\/>/);
  t.notMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/, 'no control characters XML 1.0 forbids');
});
