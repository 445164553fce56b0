#!/usr/bin/python3
"""Safety rails of `xsysroot mount` and the mount helper, through the real binary:
  a. a mount over a live mount is refused, naming it (no second mount stacks);
  b. a mount over a directory with files is refused, naming one; --force, and
     -o nonempty in the mount helper (fstab) form, mount over it;
  c. --packages with several unknown names names each, with a close match
     where there is one (zlib1-dev: did you mean zlib1g-dev?), and mounts
     nothing;
  d. an fstab -o option xsysroot does not know is refused as such, before
     anything is fetched, not by FUSE;
  e. FUSE unusable: a user (nobody) for whom /dev/fuse is 0600 is told so at
     once, with how to fix it, and nothing is downloaded.  /dev/fuse is a
     private copy of the device node (mode 0600) bind-mounted over /dev/fuse
     in a private mount namespace: the machine's /dev/fuse is never changed;
  f. `meson install --destdir` puts /sbin/mount.fuse.xsysroot, a link to
     PREFIX/BINDIR/xsysroot, which mount(8) finds whatever its PATH;
  g. `xsysroot env` (sh) names `xsysroot run ARCH -- ./prog` and `qemu-ARCH -L`
     as the ways that always work, and says whether a binfmt_misc handler
     runs the architecture's programs here (checked against the handlers
     registered, then with Debian's registered for the test when none was:
     qemubinfmt undoes it)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemubinfmt  # noqa: E402
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

NOBODY = 65534


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:],
                                                r.stderr[-2000:])


def mountinfo_count(path):
    n = 0
    with open('/proc/self/mountinfo') as f:
        for line in f:
            if line.split()[4] == path:
                n += 1
    return n


def fixture_args(h, cache, log):
    return ['--mirror', h.server.url, '--suite', h.suite_for('arm64'), '--keyring',
            h.repo.keyring, '--cache-dir', cache, '--log-file', log]


def test_live_and_nonempty(t, h, xs):
    with h.mount() as m:
        before = mountinfo_count(m.path)
        log = os.path.join(h.mktemp('log-'), 'daemon.log')
        r = sh([xs, 'mount'] + fixture_args(h, m.cache_dir, log) + ['arm64', m.path],
               timeout=120)
        t.ok(r.returncode != 0 and 'already a mount point' in r.stderr and
             'fuse.xsysroot' in r.stderr and mountinfo_count(m.path) == before,
             'a: mount over a live mount is refused, naming it, and nothing stacks', show(r))
    d = h.mktemp('full-')
    with open(os.path.join(d, 'precious.txt'), 'w') as f:
        f.write('mine\n')
    cache = h.mktemp('cache-')
    log = os.path.join(h.mktemp('log-'), 'daemon.log')
    r = sh([xs, 'mount'] + fixture_args(h, cache, log) + ['arm64', d], timeout=120)
    t.ok(r.returncode != 0 and 'not empty' in r.stderr and 'precious.txt' in r.stderr and
         not xstest.is_mounted(d), 'b: mount over a directory with files is refused, naming one',
         show(r))
    t.ok(not os.listdir(cache), 'b: nothing was fetched for the refused mount',
         os.listdir(cache))
    for label, argv in (
            ('--force', [xs, 'mount', '--force'] + fixture_args(h, cache, log) + ['arm64', d]),
            ('the mount helper with -o nonempty',
             [xs, 'arm64', d, '-o', ','.join(
                 ['nonempty', 'mirror=' + h.server.url, 'suite=' + h.suite_for('arm64'),
                  'keyring=' + h.repo.keyring, 'cache-dir=' + cache, 'log-file=' + log])])):
        m = xstest.Mount(d, cache, log, argv)
        with xstest._ACTIVE_LOCK:
            xstest._ACTIVE.append(m)
        try:
            r = sh(argv, timeout=180)
            t.ok(r.returncode == 0 and xstest.is_mounted(d) and
                 os.path.exists(os.path.join(d, 'usr/bin')),
                 'b: %s mounts over the directory with files' % label, show(r))
        finally:
            xstest.cleanup_mount(m, t)
        t.ok(os.path.exists(os.path.join(d, 'precious.txt')),
             'b: %s: the files are there again after the umount' % label)


def test_unknown_packages(t, h, xs):
    d = h.mktemp('mnt-')
    cache = h.mktemp('cache-')
    log = os.path.join(h.mktemp('log-'), 'daemon.log')
    r = sh([xs, 'mount', '--packages', 'zlib1-dev,hello,pyhton3,xs-no-such-thing'] +
           fixture_args(h, cache, log) + ['arm64', d], timeout=180)
    t.ok(r.returncode != 0 and not xstest.is_mounted(d), 'c: unknown packages: not mounted',
         show(r))
    for want in ('zlib1-dev: no such package for arm64; did you mean zlib1g-dev?',
                 'pyhton3: no such package for arm64; did you mean python3?',
                 'xs-no-such-thing: no such package for arm64'):
        t.ok(want in r.stderr, 'c: said: %s' % want, r.stderr)
    t.ok('hello:' not in r.stderr, 'c: a known name is not named', r.stderr)


def test_fstab_option(t, h, xs):
    d = h.mktemp('mnt-')
    cache = h.mktemp('cache-')
    log = os.path.join(h.mktemp('log-'), 'daemon.log')
    opts = ','.join(['mirror=' + h.server.url, 'suite=' + h.suite_for('arm64'),
                     'keyring=' + h.repo.keyring, 'cache-dir=' + cache, 'log-file=' + log,
                     'packges=hello', 'allow_other'])
    r = sh([xs, 'arm64', d, '-o', opts], timeout=60)
    t.ok(r.returncode != 0 and "mount option 'packges=hello' is unknown to xsysroot"
         in r.stderr and 'fuse:' not in r.stderr and not xstest.is_mounted(d),
         'd: an fstab option xsysroot does not know is refused as such', show(r))
    t.ok(not os.listdir(cache), 'd: nothing was fetched', os.listdir(cache))


def test_fuse_unusable(t, h, xs):
    if not shutil.which('setpriv') or not shutil.which('unshare'):
        t.skip('e: /dev/fuse 0600 for nobody', 'setpriv and unshare (util-linux) are needed')
        return
    st = os.stat('/dev/fuse')
    # outside the harness's 0700 directory, so that nobody reaches it
    base = tempfile.mkdtemp(prefix='xsysroot-rails-')
    try:
        fuse_unusable_in(t, h, xs, base, st)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def fuse_unusable_in(t, h, xs, base, st):
    mode_before = stat.S_IMODE(st.st_mode)
    os.chmod(base, 0o755)
    node = os.path.join(base, 'fuse')
    os.mknod(node, 0o600 | stat.S_IFCHR, st.st_rdev)
    os.chmod(node, 0o600)
    home = os.path.join(base, 'home')
    os.makedirs(home)
    os.chown(home, NOBODY, NOBODY)
    mnt = os.path.join(home, 'mnt')
    os.makedirs(mnt)
    os.chown(mnt, NOBODY, NOBODY)
    cache = os.path.join(home, 'cache')
    env = {'HOME': home, 'PATH': '/usr/local/bin:/usr/bin:/bin', 'LC_ALL': 'C.UTF-8',
           'XSYSROOT_CONFIG': ''}
    # a private mount namespace: the bind mount over /dev/fuse is gone with it;
    # so are the xsysroot mounts of other tests, detached there only (run
    # would use one of them rather than mount)
    script = ('mount --make-rprivate / && mount --bind "$1" /dev/fuse && shift && '
              'awk \'{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == '
              '"fuse.xsysroot") print $5; break }}\' /proc/self/mountinfo | '
              'while read -r m; do umount -l "$(printf %%b "$m")"; done; '
              'exec setpriv --reuid %d --regid %d --clear-groups -- "$@"' % (NOBODY, NOBODY))
    t0 = time.monotonic()
    try:
        r = sh(['unshare', '--mount', '--', 'sh', '-c', script, 'sh', node, xs, 'mount',
                '--mirror', h.server.url, '--suite', h.suite_for('arm64'), '--keyring',
                h.repo.keyring, '--cache-dir', cache, 'arm64', mnt], env=env, timeout=120)
    finally:
        now = stat.S_IMODE(os.stat('/dev/fuse').st_mode)
        if now != mode_before:  # cannot happen: the node changed is the copy
            os.chmod('/dev/fuse', mode_before)
    secs = time.monotonic() - t0
    t.diag('nobody with /dev/fuse 0600: %.2f s: %s' % (secs, r.stderr.strip()))
    t.ok(r.returncode != 0 and '/dev/fuse' in r.stderr and 'chmod 0666 /dev/fuse' in r.stderr,
         'e: nobody with /dev/fuse 0600 is told /dev/fuse is not usable, and how to fix it',
         show(r))
    t.ok(not os.path.exists(cache) or not os.listdir(cache),
         'e: nothing was downloaded (no cache made)', os.path.exists(cache) and os.listdir(cache))
    t.ok(secs < 5, 'e: told at once (%.2f s)' % secs)
    t0 = time.monotonic()
    try:
        r = sh(['unshare', '--mount', '--', 'sh', '-c', script, 'sh', node, xs, 'run',
                '--strict', '--mirror', h.server.url, '--suite', h.suite_for('arm64'),
                '--keyring', h.repo.keyring, '--cache-dir', cache, 'arm64', '--', '/bin/true'],
               env=env, timeout=120)
    finally:
        if stat.S_IMODE(os.stat('/dev/fuse').st_mode) != mode_before:
            os.chmod('/dev/fuse', mode_before)
    secs = time.monotonic() - t0
    t.ok(r.returncode == 125 and 'cannot make a private mount' in r.stderr and
         'chmod 0666 /dev/fuse' in r.stderr and secs < 5 and
         (not os.path.exists(cache) or not os.listdir(cache)),
         'e: run --strict as nobody is told at once (%.2f s), and nothing is downloaded'
         % secs, show(r))
    t.eq(stat.S_IMODE(os.stat('/dev/fuse').st_mode), mode_before,
         'e: the machine\'s /dev/fuse keeps its mode')


def test_install(t, h):
    build = os.path.dirname(xstest.XSYSROOT)  # the build directory's top
    if not os.path.exists(os.path.join(build, 'meson-info')) or not shutil.which('meson'):
        t.skip('f: meson install --destdir', 'no meson build directory (%s)' % build)
        return
    with open(os.path.join(build, 'meson-info', 'intro-buildoptions.json')) as f:
        opts = {o['name']: o['value'] for o in json.load(f)}
    if not opts.get('mount_helper', True):
        t.skip('f: meson install --destdir', '-Dmount_helper=false')
        return
    dest = h.mktemp('destdir-')
    r = sh(['meson', 'install', '-C', build, '--destdir', dest, '--no-rebuild', '--quiet'],
           timeout=120)
    prefix = opts['prefix']
    target = os.path.join(prefix, opts['bindir'], 'xsysroot')
    link = os.path.join(dest, 'sbin/mount.fuse.xsysroot') if prefix != '/usr' else \
        os.path.join(dest, prefix.lstrip('/'), opts['sbindir'], 'mount.fuse.xsysroot')
    got = os.readlink(link) if os.path.islink(link) else None
    t.ok(r.returncode == 0 and got is not None, 'f: meson install --destdir makes %s'
         % os.path.relpath(link, dest), show(r))
    if got is None:
        return
    resolved = got if got.startswith('/') else os.path.normpath(
        os.path.join(os.path.dirname(link[len(dest):]), got))
    t.eq(resolved, target, 'f: the mount helper points at the installed program')
    t.ok(os.access(dest + target, os.X_OK), 'f: and the program is installed there')
    r = sh([dest + target, '--version'])
    t.ok(r.returncode == 0, 'f: the installed program runs', show(r))


def binfmt_state(head):
    """What env should say of binfmt_misc: the names of the enabled handlers
    that take HEAD, and whether binfmt_misc is mounted."""
    live = sorted(n for n, hd in qemubinfmt.handlers().items()
                  if hd['enabled'] and qemubinfmt.matches(hd, head))
    return live, os.path.exists(os.path.join(qemubinfmt.BINFMT_MISC, 'register'))


def test_env_binfmt(t, h, xs):
    with h.mount(packages=['hello']) as m:
        with open(m.p('usr/bin/hello'), 'rb') as f:
            head = f.read(64)
        before = binfmt_state(head)
        r = sh([xs, 'env', m.path])
        after = binfmt_state(head)
        comment = '\n'.join(ln for ln in r.stdout.splitlines() if ln.startswith('#'))
        t.diag('binfmt_misc: handlers %s, mounted %s; env says:\n%s'
               % (before[0], before[1], comment))
        t.ok(r.returncode == 0 and 'xsysroot run arm64 -- ./prog' in comment and
             'qemu-aarch64 -L %s ./prog' % m.path in comment and
             'then: $CC prog.c $LDFLAGS -o prog; ./prog' not in comment,
             'g: env names xsysroot run and qemu -L as the ways that always work', show(r))
        live, mounted = before
        if before != after:
            t.skip('g: env says whether a handler runs arm64 programs',
                   'the binfmt_misc handlers changed meanwhile')
        elif live:
            t.ok(any('binfmt_misc handler %s ' % n in comment for n in live) and
                 './prog works too' in comment,
                 'g: env names the handler that runs arm64 programs here', comment)
        else:
            want = 'no binfmt_misc handler runs' if mounted else 'binfmt_misc is not mounted'
            t.ok(want in comment and './prog alone does not run here' in comment,
                 'g: env says ./prog alone does not run here (%s)' % want, comment)
        if live:
            return
        try:
            with qemubinfmt.debian_handler('aarch64', head, t.diag) as (name, hd, done):
                r = sh([xs, 'env', m.path])
                t.ok('binfmt_misc handler %s ' % name in r.stdout and
                     './prog works too' in r.stdout,
                     'g: with Debian\'s handler registered, env names it', r.stdout)
        except RuntimeError as e:
            t.skip('g: with a handler registered, env names it', str(e))


def main(t, h):
    xs = xstest.XSYSROOT
    test_live_and_nonempty(t, h, xs)
    test_unknown_packages(t, h, xs)
    test_fstab_option(t, h, xs)
    test_fuse_unusable(t, h, xs)
    test_install(t, h)
    test_env_binfmt(t, h, xs)


xstest.run(main)
