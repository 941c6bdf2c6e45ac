import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arm64 } from '../../vm/arm64.js';
import { x86_64 } from '../../vm/x86_64.js';
import { chooseAccel, type ChooseAccelOptions } from '../../harness/boot/kvm.js';
import { projectRoot } from '../../harness/common/paths.js';

// A fake QEMU binary and a fake /dev/kvm: no real KVM is touched here.
const fakeQemu = join(projectRoot, 'tests', 'host', 'fixtures', 'fake-qemu.mjs');
const dir = mkdtempSync(join(tmpdir(), 'rbmap-kvm-'));
const fakeKvm = join(dir, 'kvm');
writeFileSync(fakeKvm, '');

function options(overrides: Partial<ChooseAccelOptions>): ChooseAccelOptions {
  return {
    mode: 'auto',
    arch: { ...x86_64, qemuBinary: fakeQemu },
    kernel: '/k/bzImage',
    initrd: '/r/initrd',
    cacheDir: join(dir, 'cache'),
    log: () => {},
    kvmDevice: fakeKvm,
    probeTimeoutMs: 1500,
    ...overrides,
  };
}

t.test('explicit modes', async (t) => {
  t.match(await chooseAccel(options({ mode: 'tcg' })), { accel: 'tcg' });
  t.match(await chooseAccel(options({ mode: 'kvm' })), { accel: 'kvm' });
  await t.rejects(chooseAccel(options({ mode: 'kvm', kvmDevice: join(dir, 'absent') })), { code: 'E_HOST_DEPS', message: /KVM was requested/ });
  t.match(await chooseAccel(options({ kvmDevice: join(dir, 'absent') })), { accel: 'tcg', why: /not usable/ });
});

t.test('auto: a probe that boots selects KVM, and the verdict is cached', async (t) => {
  process.env['FAKE_QEMU_MODE'] = 'probe';
  const cacheDir = join(dir, 'cache-ok');
  const logged: string[] = [];
  const first = await chooseAccel(options({ cacheDir, log: (message) => logged.push(message) }));
  t.match(first, { accel: 'kvm', cached: false });
  t.ok(logged.some((line) => /probing KVM/.test(line)));
  t.ok(existsSync(join(cacheDir, 'kvm-probe.json')));
  const cache = JSON.parse(readFileSync(join(cacheDir, 'kvm-probe.json'), 'utf8')) as Record<string, { usable: boolean }>;
  const [key] = Object.keys(cache);
  t.match(key, /x86_64 \| QEMU emulator version 0\.0\.0 \(fake\) \| host /);

  process.env['FAKE_QEMU_MODE'] = 'probe-hang';
  const second = await chooseAccel(options({ cacheDir }));
  t.match(second, { accel: 'kvm', cached: true }, 'no second probe');
});

t.test('auto: a probe that hangs falls back to TCG quickly and leaves no QEMU', async (t) => {
  process.env['FAKE_QEMU_MODE'] = 'probe-hang';
  const started = Date.now();
  const choice = await chooseAccel(options({ cacheDir: join(dir, 'cache-hang') }));
  t.match(choice, { accel: 'tcg', cached: false, why: /no rbmap-probe-ok within 1\.5 s/ });
  t.ok(Date.now() - started < 6000);
});

t.test('auto: a guest of another architecture than the host gets TCG without a probe', async (t) => {
  const logged: string[] = [];
  const other = process.arch === 'arm64' ? x86_64 : arm64;
  const choice = await chooseAccel(options({ arch: { ...other, qemuBinary: '/nonexistent/qemu' }, cacheDir: join(dir, 'cache-foreign'), log: (m) => logged.push(m) }));
  t.match(choice, { accel: 'tcg', cached: false, why: new RegExp(`the ${other.name} guest does not match the \\w+ host`) });
  t.notOk(existsSync(join(dir, 'cache-foreign')), 'no probe verdict written: nothing was tried');
});
