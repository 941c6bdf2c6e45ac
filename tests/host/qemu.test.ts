import t from 'tap';
import { x86_64 } from '../../vm/x86_64.js';
import { RbmapError } from '../../harness/common/errors.js';
import { buildQemuArgs, kernelCommandLine, type QemuOptions } from '../../harness/boot/qemu.js';

const base: QemuOptions = {
  arch: x86_64,
  kernel: '/k/bzImage',
  initrd: '/r/initramfs.cpio.gz',
  smp: 2,
  memMb: 1024,
  accel: 'tcg',
  append: ['rbmap.mode=test'],
  interactive: false,
};

/** Value following the n-th occurrence of an option. */
function valuesOf(args: string[], option: string): string[] {
  return args.flatMap((arg, index) => (arg === option ? [args[index + 1] ?? ''] : []));
}

t.test('batch run, TCG, with channels', async (t) => {
  const args = buildQemuArgs({ ...base, channels: { tap: '/run/a/guest.tap', ktap: '/run/a/kunit.ktap', status: '/run/a/status' } });
  t.same(args.slice(0, 4), ['-machine', 'q35,accel=tcg', '-cpu', 'max']);
  t.same(valuesOf(args, '-smp'), ['2']);
  t.same(valuesOf(args, '-m'), ['1024M']);
  t.same(valuesOf(args, '-kernel'), ['/k/bzImage']);
  t.same(valuesOf(args, '-initrd'), ['/r/initramfs.cpio.gz']);
  t.same(valuesOf(args, '-append'), ['console=ttyS0 panic=1 rdinit=/init rbmap.mode=test']);
  t.ok(args.includes('-nographic') && args.includes('-no-reboot'));
  t.same(valuesOf(args, '-serial'), ['stdio']);
  t.same(valuesOf(args, '-monitor'), ['none']);
  t.notOk(args.includes('-enable-kvm'));
  t.same(valuesOf(args, '-device'), [
    'virtio-serial-pci,id=rbmapser',
    'virtserialport,bus=rbmapser.0,chardev=rbmap_tap,name=rbmap.tap',
    'virtserialport,bus=rbmapser.0,chardev=rbmap_ktap,name=rbmap.ktap',
    'virtserialport,bus=rbmapser.0,chardev=rbmap_status,name=rbmap.status',
  ]);
  t.same(valuesOf(args, '-chardev'), [
    'file,id=rbmap_tap,path=/run/a/guest.tap',
    'file,id=rbmap_ktap,path=/run/a/kunit.ktap',
    'file,id=rbmap_status,path=/run/a/status',
  ]);
});

t.test('interactive KVM, no channels', async (t) => {
  const args = buildQemuArgs({ ...base, accel: 'kvm', interactive: true, append: [] });
  t.same(args.slice(0, 4), ['-machine', 'q35,accel=kvm', '-cpu', 'host']);
  t.same(valuesOf(args, '-serial'), ['mon:stdio']);
  t.same(valuesOf(args, '-monitor'), []);
  t.same(valuesOf(args, '-device'), []);
  t.same(valuesOf(args, '-append'), ['console=ttyS0 panic=1 rdinit=/init']);
});

t.test('paths with spaces and commas need no shell and survive QEMU option parsing', async (t) => {
  const args = buildQemuArgs({ ...base, kernel: '/my dir/bz Image', channels: { tap: '/r,1/t ap', ktap: '/k', status: '/s' } });
  t.same(valuesOf(args, '-kernel'), ['/my dir/bz Image']);
  t.equal(valuesOf(args, '-chardev')[0], 'file,id=rbmap_tap,path=/r,,1/t ap');
});

t.test('bad input is a usage error', async (t) => {
  t.throws(() => buildQemuArgs({ ...base, smp: 0 }), RbmapError);
  t.throws(() => buildQemuArgs({ ...base, memMb: 12.5 }), RbmapError);
  t.throws(() => kernelCommandLine(x86_64, ['a b']), { code: 'E_USAGE' });
  t.throws(() => kernelCommandLine(x86_64, ['']), { code: 'E_USAGE' });
});
