#!/usr/bin/python3
"""Laziness: listing the python3 view downloads no .deb; running an arm64
hello that lives outside the mount downloads about libc6 only."""

import os
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
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
        n = sum(len(os.listdir(m.p(d))) for d in ('usr/bin', 'usr/lib/aarch64-linux-gnu', 'etc'))
        srv.wait_idle()
        t.eq(debs(srv.log()), [], 'reading three directories (%d names) downloads no .deb' % n)

    # A directory listing is readdir: it must list every name the packages
    # ship, complete before anything is fetched, and fetch nothing.  (A
    # lookup -- stat, open, ls -l -- is what fetches a package, by design.)
    ref = h.index.extract(h.index.closure(['python3']), h.mktemp('ref-'))
    with h.mount(packages=['python3']) as m:
        srv.wait_idle()
        srv.clear_log()
        # Contents indexes list files and symlinks, not directories: a
        # directory that holds nothing else appears once its package is
        # fetched (a documented limit), so the walk leaves such subtrees out.
        def holds_files(d):
            return any(f for _, _, f in os.walk(d))
        dirs = missing = names = 0
        for root, subdirs, files in os.walk(ref):
            subdirs[:] = [d for d in subdirs
                          if os.path.islink(os.path.join(root, d)) or holds_files(os.path.join(root, d))]
            rel = os.path.relpath(root, ref)
            got = set(os.listdir(m.p('' if rel == '.' else rel)))   # readdir only
            want = set(subdirs) | set(files)
            dirs += 1
            names += len(want)
            lost = want - got
            missing += len(lost)
            if lost:
                t.diag('%s: missing %s' % (rel, ' '.join(sorted(lost)[:5])))
        srv.wait_idle()
        log = srv.log()
        t.eq(missing, 0, 'readdir of all %d directories lists all %d names before any fetch'
             % (dirs, names))
        t.eq(debs(log), [], 'listing every directory of the view downloads no .deb')

    qemu = shutil.which('qemu-aarch64')
    if not t.ok(qemu is not None, 'qemu-aarch64 is installed (qemu-user; a required tool)'):
        return
    hello = os.path.join(h.index.extract(['hello'], h.mktemp('hello-')), 'usr/bin/hello')
    libc6 = h.index.pkgs['libc6']
    needed = int(libc6['Size'])
    with h.mount(packages=['python3']) as m:          # fresh cache
        srv.wait_idle()
        srv.clear_log()
        # the C locale: what hello needs is then libc6 alone (a UTF-8 locale
        # would also need libc-bin's C.utf8, which the view provides)
        r = sh([qemu, '-L', m.path, hello], timeout=180,
               env=xstest.clean_env(LC_ALL='C', LANG='C'))
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
