#!/usr/bin/python3
"""Every architecture of the fixture runs its own python3 from a --packages
python3 view: `qemu-Q -L MNT MNT/usr/bin/python3 -c 'import json,ssl,sqlite3,
zlib,ctypes'` (extension modules, libssl, libsqlite3, libz and libffi from the
view).  Slow (about 15 MB fetched and a python start under emulation per
architecture): meson suite 'slow'."""

import os
import shutil
import sys
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

SCRIPT = 'import json,ssl,sqlite3,zlib,ctypes; print("ok")'


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:], r.stderr[-2000:])


def main(t, h):
    times = []
    for arch, suite, qemu in xstest.ARCH_CASES:
        path = shutil.which('qemu-' + qemu)
        if not t.ok(path is not None, '%s: qemu-%s is installed (qemu-user)' % (arch, qemu)):
            continue
        t0 = time.monotonic()
        m = h.start_mount(arch=arch, suite=suite, packages=['python3'])
        try:
            if not t.ok(m.rc == 0 and xstest.is_mounted(m.path),
                        '%s (%s): mount --packages python3' % (arch, suite),
                        'exit %s: %s\ndaemon log tail:\n%s'
                        % (m.rc, m.stderr.strip()[-1500:], m.daemon_log()[-1500:])):
                continue
            t1 = time.monotonic()
            r = sh([path, '-L', m.path, m.p('usr/bin/python3'), '-c', SCRIPT], timeout=900,
                   env=xstest.clean_env(LC_ALL='C.UTF-8'))
            t2 = time.monotonic()
            t.ok(r.returncode == 0 and r.stdout.strip() == 'ok',
                 '%s: qemu-%s -L MNT python3 imports json, ssl, sqlite3, zlib, ctypes'
                 % (arch, qemu), show(r))
            # once fetched, a second start is emulation alone
            r2 = sh([path, '-L', m.path, m.p('usr/bin/python3'), '-c', SCRIPT], timeout=900,
                    env=xstest.clean_env(LC_ALL='C.UTF-8'))
            t3 = time.monotonic()
            t.ok(r2.returncode == 0 and r2.stdout.strip() == 'ok',
                 '%s: a second python3 start in the same mount' % arch, show(r2))
            times.append('%s %.1f+%.1f+%.1f s' % (arch, t1 - t0, t2 - t1, t3 - t2))
        finally:
            xstest.cleanup_mount(m, t)
    t.diag('mount + first run + second run: ' + ', '.join(times))


xstest.run(main)
