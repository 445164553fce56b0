#!/usr/bin/python3
"""arm64 programs run under qemu-aarch64 with the mount as their sysroot:
hello from the mount, python3 importing json/ssl/sqlite3, and (if a binfmt
handler is registered) an extracted hello run directly with QEMU_LD_PREFIX."""

import os
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

BINFMT = '/proc/sys/fs/binfmt_misc/qemu-aarch64'


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:], r.stderr[-2000:])


def main(t, h):
    qemu = shutil.which('qemu-aarch64')
    if not t.ok(qemu is not None, 'qemu-aarch64 is installed (qemu-user; a required tool)'):
        return
    with h.mount(packages=['hello', 'python3']) as m:
        env = xstest.clean_env(LC_ALL='C.UTF-8')
        r = sh([qemu, '-L', m.path, m.p('usr/bin/hello')], timeout=120, env=env)
        t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
             'qemu-aarch64 -L MNT MNT/usr/bin/hello prints Hello, world!', show(r))

        r = sh([qemu, '-L', m.path, m.p('usr/bin/python3'), '-c',
                'import json,ssl,sqlite3; print("ok")'], timeout=180, env=env)
        t.ok(r.returncode == 0 and r.stdout.strip() == 'ok',
             'python3 imports json, ssl and sqlite3 under qemu-aarch64 -L MNT', show(r))

        r = sh([qemu, '-L', m.path, m.p('usr/bin/python3'), '-c',
                'import sys; print(sys.version_info[:2] >= (3, 11))'], timeout=180, env=env)
        t.ok(r.returncode == 0 and r.stdout.strip() == 'True',
             'the arm64 python3 runs its own standard library', show(r))

        if not os.path.exists(BINFMT):
            t.skip('hello through binfmt_misc with QEMU_LD_PREFIX=MNT',
                   '%s is not registered' % BINFMT)
        else:
            with open(BINFMT) as f:
                t.diag('binfmt: ' + ' '.join(f.read().split()))
            d = h.index.extract(['hello'], h.mktemp('hello-'))
            r = sh([os.path.join(d, 'usr/bin/hello')], timeout=120,
                   env=xstest.clean_env(QEMU_LD_PREFIX=m.path))
            t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
                 'an extracted arm64 hello runs through binfmt with QEMU_LD_PREFIX=MNT', show(r))


xstest.run(main)
