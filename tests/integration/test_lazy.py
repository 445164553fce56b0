#!/usr/bin/python3
"""Laziness: listing the python3 view downloads no .deb; running an arm64
hello that lives outside the mount downloads about libc6 only."""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh, deb_gets, deb_bytes  # noqa: E402


def debs(log):
    return sorted({os.path.basename(e['path']) for e in deb_gets(log)})


def main(t, h):
    srv = h.server
    srv.clear_log()
    with h.mount(packages=['python3']) as m:
        srv.wait_idle()
        log = srv.log()
        t.eq(debs(log), [], 'mounting downloads no .deb')
        t.diag('mount fetched %d files, %d bytes: %s' % (
            len(log), xstest.total_bytes(log), ' '.join(sorted({e['path'] for e in log}))))

        srv.clear_log()
        r = sh(['ls', '-R', m.path], timeout=120)
        t.ok(r.returncode == 0, 'ls -R MNT succeeds', r.stderr[-1000:])
        srv.wait_idle()
        t.eq(debs(srv.log()), [], 'ls -R (directory reads only) downloads no .deb')

        srv.clear_log()
        r = sh(['ls', '-lR', m.path], timeout=300)
        t.ok(r.returncode == 0, 'ls -lR MNT succeeds', r.stderr[-1000:])
        srv.wait_idle()
        log = srv.log()
        t.diag('ls -lR listed %d lines; .deb GETs: %d, %d bytes'
               % (len(r.stdout.splitlines()), len(deb_gets(log)), deb_bytes(log)))
        t.eq(debs(log), [], 'ls -lR (directory reads and lstat) downloads no .deb')

    qemu = shutil.which('qemu-aarch64')
    if not t.ok(qemu is not None, 'qemu-aarch64 is installed (qemu-user; a required tool)'):
        return
    hello = os.path.join(h.index.extract(['hello'], h.mktemp('hello-')), 'usr/bin/hello')
    libc6 = h.index.pkgs['libc6']
    needed = int(libc6['Size'])
    with h.mount(packages=['python3']) as m:          # fresh cache
        srv.wait_idle()
        srv.clear_log()
        r = sh([qemu, '-L', m.path, hello], timeout=180, env=xstest.clean_env())
        t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n',
             'hello from outside the mount runs with -L MNT',
             'exit %s\n%s\n%s' % (r.returncode, r.stdout, r.stderr))
        srv.wait_idle()
        log = srv.log()
        fetched = deb_bytes(log)
        t.diag('deb bytes fetched: %d, needed: %d, ratio %.3f' % (fetched, needed, fetched / needed))
        t.diag('.debs fetched: %s' % ' '.join(debs(log)))
        t.ok(os.path.basename(libc6['Filename']) in debs(log), 'libc6 was fetched')
        t.ok(fetched <= 1.05 * needed, '.deb bytes fetched <= 1.05 x the libc6 .deb',
             'fetched %d, limit %d' % (fetched, int(1.05 * needed)))


xstest.run(main)
