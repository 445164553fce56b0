#!/usr/bin/python3
"""fstab and mount -t: the mount helper form reached the ways mount(8) reaches it.

- fuse3's mount.fuse3, as mount(8) runs it for `xsysroot#arm64 MNT fuse OPTS`:
  run here directly with the build dir in PATH (mount(8) itself resets PATH);
- mount(8) with `-t fuse.xsysroot` and with `mount --fstab FILE` (never the
  real /etc/fstab), through /sbin/mount.fuse.xsysroot, which this test links
  to the build's xsysroot only when nothing is there, and always removes.

Each mount reads a file fetched on demand, keeps ro,nosuid,nodev (although
mount.fuse3 adds dev,suid), carries the packages of a ':'-separated list, and
is unmounted with umount(8), after which its daemon exits."""

import atexit
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

HELPER = '/sbin/mount.fuse.xsysroot'
MOUNT_FUSE3 = '/sbin/mount.fuse3'
IGNORED = 'noauto,_netdev,nofail,user,x-systemd.automount,x-systemd.requires=network-online.target'


class Helper:
    """The /sbin/mount.fuse.xsysroot link, made only when absent."""

    def __init__(self, target):
        self.made = False
        if os.path.lexists(HELPER):
            self.ours = os.path.realpath(HELPER) == os.path.realpath(target)
            return
        os.symlink(target, HELPER)
        self.made = self.ours = True
        atexit.register(self.remove)

    def remove(self):
        if self.made and os.path.islink(HELPER):
            os.unlink(HELPER)
        self.made = False


def fixture_options(h, m):
    return ','.join(['mirror=' + h.server.url, 'suite=' + h.suite_for('arm64'),
                     'keyring=' + h.repo.keyring, 'cache-dir=' + m.cache_dir,
                     'log-file=' + m.log_file, 'packages=hello:zlib1g-dev'])


def new_mount(h, what):
    """A Mount the harness cleans up whatever happens (mount point, cache, log)."""
    m = xstest.Mount(h.mktemp('mnt-'), h.mktemp('cache-'),
                     os.path.join(h.mktemp('log-'), 'daemon.log'), [what])
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)
    return m


def check_mounted(t, h, m, label, r):
    """The checks every way of mounting must pass, then umount(8)."""
    t.eq(r.returncode, 0, '%s exits 0' % label)
    if r.returncode != 0:
        t.diag(r.stderr + '\n' + m.daemon_log()[-2000:])
        return
    mi = xstest.mountinfo_entry(m.path)
    t.ok(mi is not None, '%s: the mount point is mounted' % label)
    if mi is None:
        return
    t.diag('%s: %s' % (label, mi['line']))
    opts = set(mi['mount_options'])
    t.ok({'ro', 'nosuid', 'nodev'} <= opts, '%s: mounted ro,nosuid,nodev' % label, sorted(opts))
    t.eq(mi['fstype'], 'fuse.xsysroot', '%s: file system type fuse.xsysroot' % label)
    head, err = xstest.read_errno(m.p('usr/bin/hello'), 20)
    t.eq(xstest.elf_machine(head or b''), (2, 1, 183),
         '%s: usr/bin/hello (from packages=hello:zlib1g-dev) reads as aarch64 ELF' % label)
    t.ok(os.path.exists(m.p('usr/include/zlib.h')),
         '%s: usr/include/zlib.h, the second package of the list, is there' % label)
    cached = sorted(os.listdir(m.cache_dir))
    t.ok(cached and 'daemon.log' not in cached and 'ready in' in m.daemon_log(),
         '%s: cache-dir= and log-file= reached the daemon' % label,
         'cache dir: %s; log: %s' % (cached, m.daemon_log()[-1000:]))
    pids = m.daemon_pids()
    u = sh(['umount', m.path], timeout=60)
    t.eq(u.returncode, 0, '%s: umount(8) exits 0' % label)
    deadline = time.time() + 10
    while (xstest.is_mounted(m.path) or any(
            os.path.exists('/proc/%d' % p) and not xstest._is_zombie(p) for p in pids)) \
            and time.time() < deadline:
        time.sleep(0.05)
    t.ok(not xstest.is_mounted(m.path), '%s: unmounted' % label)
    left = [p for p in pids if os.path.exists('/proc/%d' % p) and not xstest._is_zombie(p)]
    t.ok(pids and not left, '%s: the daemon ran and exited after umount' % label,
         'pids %s, still running %s' % (pids, left))


def main(t, h):
    bindir = os.path.dirname(xstest.XSYSROOT)
    env = xstest.clean_env(PATH=bindir + ':/usr/sbin:/usr/bin:/sbin:/bin')

    # 1. fuse3's mount.fuse3, as for an fstab line of type fuse: it runs
    #    `sh -c "xsysroot arm64 MNT -o OPTIONS,dev,suid"` with xsysroot from PATH.
    if os.access(MOUNT_FUSE3, os.X_OK):
        m = new_mount(h, 'mount.fuse3')
        r = sh([MOUNT_FUSE3, 'xsysroot#arm64', m.path, '-o',
                fixture_options(h, m) + ',' + IGNORED], env=env, timeout=180)
        check_mounted(t, h, m, 'mount.fuse3 xsysroot#arm64', r)
        xstest.cleanup_mount(m, t)
    else:
        t.skip('mount.fuse3 dispatch', '%s is not installed (fuse3)' % MOUNT_FUSE3)

    # 2. mount(8) itself, through /sbin/mount.fuse.xsysroot.
    helper = Helper(xstest.XSYSROOT)
    try:
        if not helper.ours:
            t.skip('mount -t fuse.xsysroot and fstab entries',
                   '%s exists and is not this build\'s (left alone)' % HELPER)
            return
        m = new_mount(h, 'mount -t')
        r = sh(['mount', '-t', 'fuse.xsysroot', 'arm64', m.path, '-o',
                'ro,' + fixture_options(h, m) + ',' + IGNORED], timeout=180)
        check_mounted(t, h, m, 'mount -t fuse.xsysroot', r)
        xstest.cleanup_mount(m, t)

        for source in ('xsysroot#arm64', 'arm64'):
            m = new_mount(h, 'fstab')
            fstab = os.path.join(h.mktemp('fstab-'), 'fstab')
            with open(fstab, 'w') as f:
                f.write('# a test fstab\n%s %s fuse.xsysroot %s,%s 0 0\n'
                        % (source, m.path, fixture_options(h, m), IGNORED))
            r = sh(['mount', '--fstab', fstab, m.path], timeout=180)
            check_mounted(t, h, m, 'fstab entry %s' % source, r)
            xstest.cleanup_mount(m, t)

        # mount -f (fake) does everything but mount
        m = new_mount(h, 'fake')
        r = sh(['mount', '-f', '-t', 'fuse.xsysroot', 'arm64', m.path, '-o',
                fixture_options(h, m)], timeout=60)
        t.ok(r.returncode == 0 and not xstest.is_mounted(m.path),
             'mount -f mounts nothing', r.stderr)
        # errors: a flag with a value, an option without one, an option
        # FUSE does not know: refused by name, nothing mounted
        for extra, said, desc in (
                ('allow-expired=1', "'allow-expired=1' takes no value", 'a flag given a value'),
                ('suite', "'suite' needs a value", 'an option without its value'),
                ('no_such_fuse_option', 'no_such_fuse_option', 'an option FUSE does not know')):
            r = sh(['mount', '-t', 'fuse.xsysroot', 'arm64', m.path, '-o',
                    fixture_options(h, m) + ',' + extra], timeout=120)
            t.ok(r.returncode != 0 and said in r.stderr and not xstest.is_mounted(m.path),
                 '%s is refused, naming it' % desc, r.stderr)
        xstest.cleanup_mount(m, t)
    finally:
        made = helper.made
        helper.remove()
        if made:
            t.ok(not os.path.lexists(HELPER), 'the %s link made by this test is gone' % HELPER)


xstest.run(main)
