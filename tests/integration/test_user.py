#!/usr/bin/python3
"""A mount by an ordinary user (nobody), through the setuid fusermount3, with
the default cache directory in the user's ~/.cache:
  a. `xsysroot mount` as nobody, without --cache-dir, mounts (owner 65534 in
     mountinfo) and puts the cache in $HOME/.cache/xsysroot, owned by
     nobody; nothing is written outside $HOME and the mount point;
  b. nobody runs the arm64 hello from it under qemu-aarch64 -L and reads
     `xsysroot status` of it;
  c. without allow_other, root cannot look into nobody's mount (the FUSE
     rule that protects other users from a user's file system);
  d. `xsysroot umount` as nobody unmounts it and the daemon exits;
  e. XDG_CACHE_HOME, when set, is where the cache goes instead;
  f. `xsysroot run` as nobody makes its private mount and removes it."""

import os
import shutil
import stat
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

NOBODY = 65534


def as_nobody(argv, home, extra_env=None, timeout=180):
    env = {'HOME': home, 'PATH': '/usr/local/bin:/usr/bin:/bin', 'LC_ALL': 'C.UTF-8',
           'XSYSROOT_CONFIG': ''}
    env.update(extra_env or {})
    return xstest.sh(['setpriv', '--reuid', str(NOBODY), '--regid', str(NOBODY),
                      '--clear-groups', '--'] + argv, timeout=timeout, env=env)


def tree_owned_by(root, uid):
    bad = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            if os.lstat(p).st_uid != uid:
                bad.append(p)
    return bad


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-1500:], r.stderr[-1500:])


def one_mount(t, h, base, label, extra_env=None):
    """Mount as nobody, check a-d; returns the cache dir used."""
    home = os.path.join(base, 'home-' + label)
    mnt = os.path.join(base, 'mnt-' + label)
    for d in (home, mnt):
        os.makedirs(d)
        os.chown(d, NOBODY, NOBODY)
    keyring = os.path.join(base, 'keyring.gpg')
    if not os.path.exists(keyring):
        shutil.copy(h.repo.keyring, keyring)
        os.chmod(keyring, 0o644)
    xs = xstest.XSYSROOT
    argv = [xs, 'mount', '--mirror', h.server.url, '--suite', h.suite_for(xstest.ARCH),
            '--keyring', keyring, '--packages', 'hello', 'arm64', mnt]
    m = xstest.Mount(mnt, None, os.devnull, argv)
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)
    try:
        r = as_nobody(argv, home, extra_env)
        e = xstest.mountinfo_entry(mnt)
        t.ok(r.returncode == 0 and e is not None,
             '%s: xsysroot mount as nobody mounts (through fusermount3)' % label, show(r))
        if e is None:
            return None
        text = open('/proc/self/mountinfo').read()
        line = [ln for ln in text.splitlines() if ' %s ' % mnt in ln]
        t.ok(line and 'user_id=%d' % NOBODY in line[-1],
             '%s: the mount belongs to nobody (user_id=%d)' % (label, NOBODY), line)
        if extra_env and 'XDG_CACHE_HOME' in extra_env:
            cache = os.path.join(extra_env['XDG_CACHE_HOME'], 'xsysroot')
        else:
            cache = os.path.join(home, '.cache', 'xsysroot')
        t.ok(os.path.isdir(os.path.join(cache, 'objects')),
             '%s: the cache is %s' % (label, cache.replace(base, 'BASE')),
             sorted(os.listdir(home)))
        bad = tree_owned_by(home, NOBODY)
        t.ok(not bad, '%s: everything under $HOME is nobody\'s' % label, bad[:10])

        qemu = shutil.which('qemu-aarch64')
        r = as_nobody([qemu, '-L', mnt, os.path.join(mnt, 'usr/bin/hello')], home, extra_env)
        t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
             '%s: nobody runs the arm64 hello from the mount' % label, show(r))
        r = as_nobody([xs, 'status', mnt], home, extra_env)
        t.ok(r.returncode == 0 and 'arm64' in r.stdout,
             '%s: nobody reads xsysroot status of it' % label, show(r))

        err = None
        try:
            os.listdir(mnt)
        except OSError as ex:
            err = ex.errno
        t.ok(err is not None, '%s: root cannot look into nobody\'s mount (no allow_other): %s'
             % (label, xstest.ename(err)))

        pids = m.daemon_pids()
        r = as_nobody([xs, 'umount', mnt], home, extra_env, timeout=60)
        deadline = time.time() + 10
        while xstest.is_mounted(mnt) and time.time() < deadline:
            time.sleep(0.05)
        while any(os.path.exists('/proc/%d' % p) for p in pids) and time.time() < deadline:
            time.sleep(0.05)
        t.ok(r.returncode == 0 and not xstest.is_mounted(mnt) and
             not any(os.path.exists('/proc/%d' % p) for p in pids),
             '%s: xsysroot umount as nobody unmounts and the daemon exits' % label, show(r))
        return cache
    finally:
        xstest.cleanup_mount(m, t)


def main(t, h):
    if not shutil.which('setpriv'):
        t.bail('setpriv (util-linux) is needed')
    st = os.stat(xstest.FUSERMOUNT)
    t.ok(st.st_mode & stat.S_ISUID and st.st_uid == 0,
         '%s is setuid root (how a user mounts FUSE)' % xstest.FUSERMOUNT)
    # Debian's udev rules make /dev/fuse 0666 (fusermount3 opens it as the
    # user); a container may have it 0600: give it Debian's mode for the
    # test, and put the old one back after.
    dev_mode = stat.S_IMODE(os.stat('/dev/fuse').st_mode)
    if dev_mode & 0o006 != 0o006:
        t.diag('/dev/fuse is %o here; 0666 (as on Debian) for this test' % dev_mode)
        os.chmod('/dev/fuse', 0o666)
    base = tempfile.mkdtemp(prefix='xsysroot-user-')
    os.chmod(base, 0o755)
    try:
        before = set(os.listdir('/tmp'))
        one_mount(t, h, base, 'default')
        xdg = os.path.join(base, 'xdg')
        os.makedirs(xdg)
        os.chown(xdg, NOBODY, NOBODY)
        cache = one_mount(t, h, base, 'xdg', {'XDG_CACHE_HOME': xdg})
        t.ok(cache and os.path.isdir(os.path.join(xdg, 'xsysroot', 'objects')),
             'with XDG_CACHE_HOME set the cache goes there')
        # run as nobody: its own private mount, removed afterwards
        home = os.path.join(base, 'home-run')
        os.makedirs(home)
        os.chown(home, NOBODY, NOBODY)
        r = as_nobody([xstest.XSYSROOT, 'run', 'arm64', '--mirror', h.server.url, '--suite',
                       h.suite_for(xstest.ARCH), '--keyring', os.path.join(base, 'keyring.gpg'),
                       '--packages', 'hello', '--', '/usr/bin/hello'], home)
        t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
             'xsysroot run as nobody runs hello from a private mount', show(r))
        left = [ln for ln in open('/proc/self/mountinfo').read().splitlines()
                if 'fuse.xsysroot' in ln and 'user_id=%d' % NOBODY in ln]
        t.eq(left, [], 'and leaves no mount of nobody\'s behind')
        new = sorted(n for n in set(os.listdir('/tmp')) - before
                     if os.stat(os.path.join('/tmp', n)).st_uid == NOBODY)
        t.eq(new, [], 'nobody left nothing in /tmp')
    finally:
        shutil.rmtree(base, ignore_errors=True)
        os.chmod('/dev/fuse', dev_mode)


xstest.run(main)
