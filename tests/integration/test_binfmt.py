#!/usr/bin/python3
"""mount --binfmt-prefix: /etc/qemu-binfmt/aarch64 (Debian qemu's default
library prefix) points at the mount while it is mounted, and a dynamically
linked arm64 `hello` copied out of the view runs as a plain `./hello`
through Debian's binfmt_misc handler (registered here only when no enabled
handler takes arm64 programs, and unregistered at the end) with no
QEMU_LD_PREFIX and no qemu on the command line.

What was there before comes back however the mount ends:
  1. `xsysroot umount`: the state found (normally: nothing, and no
     /etc/qemu-binfmt either) is back;
  2. `fusermount3 -u` over a previous symlink (made by this test when
     there was nothing): the daemon puts that symlink back;
  3. a second --binfmt-prefix mount while the first is live is refused;
  4. a daemon killed with SIGKILL leaves the link; `xsysroot umount` of its
     (gone) mount restores it, and so does the next --binfmt-prefix mount,
     which takes the prefix over; its own umount restores the state.
Also: --binfmt-prefix as a user other than root is a clear error, and once
the prefix is restored the same ./hello no longer finds its loader (when
the host has no arm64 loader of its own).
"""

import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemubinfmt  # noqa: E402
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

PREFIX_DIR = '/etc/qemu-binfmt'
LINK = PREFIX_DIR + '/aarch64'
STATE_FILES = (LINK + '.xsysroot-saved', LINK + '.xsysroot-none')
OLD_TARGET = '/nonexistent/xsysroot-test-previous-prefix'


def state():
    """What /etc/qemu-binfmt/aarch64 is: ('absent', dir exists), ('link', target),
    ('dir', None) or ('other', None)."""
    try:
        os.lstat(LINK)
    except FileNotFoundError:
        return ('absent', os.path.isdir(PREFIX_DIR))
    if os.path.islink(LINK):
        return ('link', os.readlink(LINK))
    return ('dir' if os.path.isdir(LINK) else 'other', None)


def wait_state(want, seconds=10):
    deadline = time.time() + seconds
    while state() != want and time.time() < deadline:
        time.sleep(0.05)
    return state()


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:],
                                                r.stderr[-2000:])


def main(t, h):
    xs = xstest.XSYSROOT
    if not t.ok(os.geteuid() == 0, 'running as root (binfmt_misc and /etc/qemu-binfmt)'):
        return
    before = state()
    t.diag('%s before the test: %r' % (LINK, before))
    if not t.ok(not any(os.path.lexists(p) for p in STATE_FILES),
                'no state files of an earlier --binfmt-prefix are left on this machine',
                ' '.join(p for p in STATE_FILES if os.path.lexists(p))):
        return
    try:
        run_cases(t, h, xs, before)
    finally:
        # whatever happened: the machine as it was
        for m in list(xstest._ACTIVE):
            xstest.cleanup_mount(m, t)
        if state() != before:
            t.ok(False, '%s is as before the test' % LINK, 'now %r, before %r'
                 % (state(), before))
            if before[0] == 'absent' and os.path.islink(LINK):
                os.unlink(LINK)
        for p in STATE_FILES:
            if os.path.lexists(p) and not os.path.isdir(p):
                t.diag('removing a leftover %s' % p)
                os.unlink(p)
        if before == ('absent', False) and os.path.isdir(PREFIX_DIR) and \
                not os.listdir(PREFIX_DIR):
            os.rmdir(PREFIX_DIR)


def run_cases(t, h, xs, before):
    # a user other than root
    nobody = sh(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', xs, 'mount',
                 '--binfmt-prefix', 'arm64', '/tmp'])
    t.ok(nobody.returncode == 1 and '--binfmt-prefix needs root' in nobody.stderr,
         '--binfmt-prefix as nobody: exit 1, "needs root"', show(nobody))
    t.eq(state(), before, 'the refused mount changed nothing')

    hello_src = h.index.deb('hello')
    work = h.mktemp('binfmt-')
    ref = h.index.extract(['hello'], os.path.join(work, 'ref'))
    hello = os.path.join(work, 'hello')
    shutil.copy(os.path.join(ref, 'usr/bin/hello'), hello)
    os.chmod(hello, 0o755)
    with open(hello, 'rb') as f:
        head = f.read(64)
    t.diag('hello from %s' % os.path.basename(hello_src))
    cache = h.mktemp('cache-')
    env = xstest.clean_env(LC_ALL='C')
    host_loader = os.path.exists('/lib/ld-linux-aarch64.so.1')

    with qemubinfmt.debian_handler('aarch64', head, t.diag) as (name, handler, done):
        foreign = not qemubinfmt.is_debian_qemu(handler, 'aarch64')
        if foreign:
            t.diag('the handler %s that takes arm64 programs is not Debian\'s qemu (%s): its '
                   'prefix is not %s' % (name, handler.get('interpreter'), LINK))

        def run_hello(label):
            if foreign:
                t.skip('%s: ./hello runs through binfmt_misc' % label,
                       'another handler (%s) takes arm64 programs' % name)
                return
            r = sh([hello], env=env, cwd=work, timeout=60)
            t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
                 '%s: ./hello runs through binfmt_misc with no QEMU_LD_PREFIX' % label, show(r))

        # 1. xsysroot umount restores the state found
        with h.mount(packages=['hello'], cache_dir=cache, extra=['--binfmt-prefix']) as m:
            t.eq(state(), ('link', m.path), 'while mounted, %s -> the mount point' % LINK)
            run_hello('xsysroot umount case')
            t.ok('now points at %s' % m.path in m.daemon_log(),
                 'the daemon log says the prefix points at the mount', m.daemon_log()[-1500:])
            r = sh([xs, 'umount', m.path])
            t.ok(r.returncode == 0, 'xsysroot umount', show(r))
            t.eq(state(), before, 'after xsysroot umount, %s is as before (%r)'
                 % (LINK, before))
            t.ok('%s restored' % LINK in m.daemon_log(), 'the daemon log says it restored it',
                 m.daemon_log()[-1500:])
        if foreign or host_loader:
            t.skip('without the prefix ./hello finds no loader',
                   'the host has /lib/ld-linux-aarch64.so.1' if host_loader else
                   'another handler takes arm64 programs')
        else:
            r = sh([hello], env=env, cwd=work, timeout=60)
            t.ok(r.returncode != 0 and 'ld-linux-aarch64.so.1' in r.stderr,
                 'without the prefix ./hello finds no loader (so the mount was what served it)',
                 show(r))

        # 2. fusermount3 -u over a previous symlink
        prev = before
        made = False
        if before[0] == 'absent':
            os.makedirs(PREFIX_DIR, exist_ok=True)
            os.symlink(OLD_TARGET, LINK)
            made = True
            prev = ('link', OLD_TARGET)
        try:
            with h.mount(packages=['hello'], cache_dir=cache, extra=['--binfmt-prefix']) as m:
                t.eq(state(), ('link', m.path), 'over %r: %s -> the mount point' % (prev, LINK))
                run_hello('fusermount3 case')
                # 3. a second one is refused while this one is live
                m2 = h.try_mount(packages=['hello'], cache_dir=cache, extra=['--binfmt-prefix'])
                t.ok(m2.rc == 1 and 'already points at the xsysroot mount %s' % m.path
                     in m2.stderr and not m2.was_mounted,
                     'a second --binfmt-prefix mount is refused, naming the first',
                     'rc %s was_mounted %s stderr %s' % (m2.rc, m2.was_mounted, m2.stderr))
                t.eq(state(), ('link', m.path), 'the refused mount left the link alone')
                r = sh([xstest.FUSERMOUNT, '-u', m.path])
                t.ok(r.returncode == 0, 'fusermount3 -u', show(r))
                t.eq(wait_state(prev), prev, 'after fusermount3 -u the daemon put back %r'
                     % (prev,))
                deadline = time.time() + 10
                while m.daemon_pids() and time.time() < deadline:
                    time.sleep(0.05)

            # 4. a killed daemon: xsysroot umount restores what it left ...
            def kill_daemon(m):
                pids = [p for p in m.daemon_pids() if 'fusermount' not in
                        open('/proc/%d/cmdline' % p, 'rb').read().split(b'\0')[0].decode()]
                t.ok(len(pids) == 1, 'one daemon process for the mount', repr(pids))
                for p in pids:
                    os.kill(p, signal.SIGKILL)
                deadline = time.time() + 10
                while xstest.is_mounted(m.path) and time.time() < deadline:
                    time.sleep(0.05)
                t.eq(state(), ('link', m.path), 'a killed daemon leaves the link behind')

            with h.mount(packages=['hello'], cache_dir=cache, extra=['--binfmt-prefix']) as m:
                kill_daemon(m)
                r = sh([xs, 'umount', m.path])
                t.ok(r.returncode == 0 and 'restored %s' % LINK in r.stderr,
                     'xsysroot umount after a killed daemon: exit 0, "restored"', show(r))
                t.eq(state(), prev, 'and %s is %r again' % (LINK, prev))

            # ... and so does the next --binfmt-prefix mount
            with h.mount(packages=['hello'], cache_dir=cache, extra=['--binfmt-prefix']) as m:
                kill_daemon(m)
                with h.mount(packages=['hello'], cache_dir=cache,
                             extra=['--binfmt-prefix']) as m3:
                    t.eq(state(), ('link', m3.path), 'the next --binfmt-prefix mount takes '
                         'over the prefix a killed daemon left')
                    run_hello('after recovery')
                    r = sh([xs, 'umount', m3.path])
                    t.ok(r.returncode == 0, 'xsysroot umount', show(r))
                    t.eq(state(), prev, 'after its umount, %s is %r again' % (LINK, prev))
        finally:
            if made and os.path.islink(LINK) and os.readlink(LINK) == OLD_TARGET:
                os.unlink(LINK)
                if not os.listdir(PREFIX_DIR) and not before[1]:
                    os.rmdir(PREFIX_DIR)
        t.ok(not any(os.path.lexists(p) for p in STATE_FILES),
             'no state files are left', ' '.join(STATE_FILES))
    t.diag('binfmt handler work undone: %s' % (', '.join(done) or 'nothing to undo'))
    t.ok(not any(qemubinfmt.handlers().get(n, {}).get('enabled') for n in
                 ([name] if 'registered' in done or 'enabled' in done else [])),
         'the handler this test registered is gone again')


xstest.run(main)
