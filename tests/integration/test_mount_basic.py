#!/usr/bin/python3
"""Default view: mounts, serves an aarch64 libc, is read-only, unmounts cleanly;
a mirror that does not answer makes `mount` fail with a message naming it.
A package's symlinks that climb above the root (xs-escape) are clamped at the
view's root, as a chroot resolves them: a read through them never reaches the
host's files."""

import errno
import os
import sys
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

EM_AARCH64 = 183
LIBC = ['lib/aarch64-linux-gnu/libc.so.6', 'usr/lib/aarch64-linux-gnu/libc.so.6']


def expect_erofs(t, desc, fn):
    try:
        r = fn()
        if isinstance(r, int):
            os.close(r)
        t.ok(False, '%s fails with EROFS' % desc, 'it succeeded')
    except OSError as e:
        t.ok(e.errno == errno.EROFS, '%s fails with EROFS' % desc,
             'errno %s (%s)' % (errno.errorcode.get(e.errno), e.strerror))


def main(t, h):
    with h.mount() as m:
        t.diag('mount returned after %.2f s' % m.seconds)
        st = os.stat(m.path)
        t.ok(st.st_dev != os.stat(os.path.dirname(m.path)).st_dev,
             'mount point answers as soon as mount returns')
        libc = next((m.p(p) for p in LIBC if os.path.lexists(m.p(p))), None)
        t.ok(libc is not None, 'libc.so.6 exists in the default view', 'looked for %s' % LIBC)
        if libc:
            head, err = xstest.read_errno(libc, 20)
            t.ok(err is None, 'libc.so.6 is readable',
                 'errno %s' % errno.errorcode.get(err, err))
            t.eq(xstest.elf_machine(head or b''), (2, 1, EM_AARCH64),
                 'libc.so.6 is an ELF64 little-endian aarch64 file')
        else:
            libc = m.p(LIBC[0])

        expect_erofs(t, 'creating a file', lambda: os.open(
            m.p('xs-new-file'), os.O_CREAT | os.O_WRONLY, 0o644))
        expect_erofs(t, 'opening libc.so.6 for writing', lambda: os.open(libc, os.O_WRONLY))
        expect_erofs(t, 'mkdir', lambda: os.mkdir(m.p('xs-new-dir')))
        expect_erofs(t, 'unlink', lambda: os.unlink(libc))
        expect_erofs(t, 'rename', lambda: os.rename(libc, libc + '.old'))
        expect_erofs(t, 'chmod', lambda: os.chmod(libc, 0o777))
        expect_erofs(t, 'symlink', lambda: os.symlink('x', m.p('xs-new-link')))
        expect_erofs(t, 'truncate', lambda: os.truncate(libc, 0))
        expect_erofs(t, 'utime', lambda: os.utime(libc, (0, 0)))

        mi = xstest.mountinfo_entry(m.path)
        t.ok(mi is not None, 'mount point is in /proc/self/mountinfo')
        if mi:
            t.diag('mountinfo: ' + mi['line'])
            opts = set(mi['mount_options']) | set(mi['super_options'])
            for o in ('ro', 'nosuid', 'nodev'):
                t.ok(o in opts, 'mounted with %s' % o, 'options: %s' % sorted(opts))
            t.ok(mi['fstype'].startswith('fuse'), 'file system type is fuse*',
                 'fstype %s' % mi['fstype'])

        pids = m.daemon_pids()
        t.diag('daemon pids: %s' % pids)
        r = sh([xstest.XSYSROOT, 'umount', m.path], timeout=60)
        t.eq(r.returncode, 0, 'xsysroot umount exits 0')
        if r.returncode != 0:
            t.diag(r.stderr)
        deadline = time.time() + 5
        while xstest.is_mounted(m.path) and time.time() < deadline:
            time.sleep(0.05)
        out = sh(['mount']).stdout
        t.ok(m.path not in out, 'after umount, `mount` does not list the mount point',
             [l for l in out.splitlines() if m.path in l])
        while any(os.path.exists('/proc/%d' % p) and not xstest._is_zombie(p) for p in pids) \
                and time.time() < deadline:
            time.sleep(0.05)
        left = [p for p in pids if os.path.exists('/proc/%d' % p) and not xstest._is_zombie(p)]
        t.ok(not left, 'daemon exited after umount', 'still running: %s' % left)
        t.ok(os.listdir(m.path) == [], 'mount point is an empty directory again')

    # usage errors
    r = sh([xstest.XSYSROOT, 'mount'], timeout=30)
    t.eq(r.returncode, 2, '`xsysroot mount` without arguments exits 2')
    d = h.mktemp('usage-')
    r = sh([xstest.XSYSROOT, 'mount', '--no-such-option', 'arm64', d], timeout=30)
    t.eq(r.returncode, 2, 'an unknown option exits 2')
    t.ok(not xstest.is_mounted(d), 'nothing mounted after a usage error')

    # a mirror nobody answers on
    port = xstest.free_port()
    url = 'http://127.0.0.1:%d/' % port
    m = h.try_mount(mirror=url, timeout=150)
    t.diag('closed port: exit %s after %.1f s; stderr: %s' % (m.rc, m.seconds, m.stderr.strip()))
    t.eq(m.rc, 1, 'mount with a mirror on a closed port exits 1')
    t.ok('127.0.0.1:%d' % port in m.stderr, 'the error names the mirror URL', m.stderr)
    t.ok(m.stderr.strip() != '' and len(m.stderr.strip().splitlines()) <= 5,
         'the error is a short message', m.stderr)
    t.ok(not m.was_mounted, 'nothing is mounted after the failure')
    t.ok(m.seconds < 120, 'failure comes in bounded time (%.1f s)' % m.seconds)
    confined_links(t, h)


ESC = 'usr/share/xs-escape/'


def confined_links(t, h):
    with open('/etc/hostname', 'rb') as f:
        host = f.read()
    with h.mount(packages=['xs-escape']) as m:
        want = {'up': '../../../etc/hostname', 'sneak': '../../../etc/hostname',
                'abs': '../../../etc/hostname', 'up-inside': 'inside.txt', 'here': '.'}
        for name, target in sorted(want.items()):
            try:
                got = os.readlink(m.p(ESC + name))
            except OSError as e:
                got = 'error %s' % errno.errorcode.get(e.errno)
            t.eq(got, target, 'xs-escape: %s presented confined as %s' % (name, target))
        for name in ('up', 'sneak', 'abs'):
            data, err = xstest.read_errno(m.p(ESC + name))
            t.ok(err == errno.ENOENT and data is None,
                 'xs-escape: reading %s reaches the view\'s /etc/hostname (none), not the '
                 'host\'s' % name, 'got %s' % (xstest.ename(err) if err else data))
            t.ok(data != host, 'xs-escape: %s never returns the host file\'s content' % name)
        data, err = xstest.read_errno(m.p(ESC + 'up-inside'))
        t.eq(data, b'inside the view\n', 'xs-escape: a link that climbs and comes back down '
             'reads the view\'s file')


xstest.run(main)
