#!/usr/bin/python3
"""A mirror behind the InRelease the cache verified before (a mirror being
updated, a stale node of a mirror network, or another process on the same
cache that met the newer one first) never rolls the view back, and never
fails the mount: as apt does, the newer InRelease is kept and checked again.

  a. a mount verifies an InRelease dated now (the mirror's newest);
  b. the mirror then serves the one of an hour ago, signed by the archive
     key: a mount on that cache succeeds, its log warns naming both Dates,
     and the InRelease installed in the cache is still the newer one;
  c. three processes at once on that cache (two mounts and a `fetch`),
     against the mirror that is behind: each succeeds, and the newer
     InRelease stays;
  d. the kept one is checked again: once its Valid-Until has passed, a
     mirror serving the older one (with no Valid-Until) gets the mount
     refused as expired (the older one is never used instead), naming the
     mirror."""

import glob
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

WARN = 'is older than the Release verified before'


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def installed(cache):
    names = [n for n in glob.glob(os.path.join(cache, 'meta', 'inrelease-*'))
             if '.' not in os.path.basename(n)]
    return read(names[0]) if len(names) == 1 else None


def variant(h, **new_kw):
    """A copy of the fixture repository signed twice: (variant, the bytes of
    the InRelease of an hour ago, the bytes of the current one, signed with
    the Release fields new_kw)."""
    v = h.repo.variant(os.path.join(h.mktemp('variant-'), 'repo'))
    v.resign(date=time.time() - 3600)
    old = read(v.inrelease)
    v.resign(date=time.time(), **new_kw)
    return v, old, read(v.inrelease)


def serve_behind(v, old):
    with open(v.inrelease, 'wb') as f:
        f.write(old)



def at_once(t, h, srv, cache, new):
    """c: two mounts and a fetch at once against the mirror behind."""
    out = [None] * 3

    def mount(i):
        m = h.start_mount(packages=['hello'], cache_dir=cache, mirror=srv.url)
        try:
            out[i] = (m.rc, m.stderr)
            if m.rc == 0:
                out[i] = (0 if xstest.read_errno(m.p('usr/bin/hello'), 4)[0] == b'\x7fELF'
                          else 'unreadable', m.stderr)
        finally:
            xstest.cleanup_mount(m, t)

    def fetch():
        r = xstest.sh([xstest.XSYSROOT, 'fetch', '--cache-dir', cache, '--mirror', srv.url,
                       '--suite', h.suite_for(xstest.ARCH), '--keyring', h.repo.keyring,
                       '--packages', 'hello', xstest.ARCH], timeout=300)
        out[2] = (r.returncode, r.stderr)
    ths = [threading.Thread(target=mount, args=(0,)), threading.Thread(target=mount, args=(1,)),
           threading.Thread(target=fetch)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    for i, what in enumerate(('a mount', 'a second mount', 'a fetch')):
        rc, err = out[i] if out[i] else ('not run', '')
        t.ok(rc == 0, 'c. at once, against the mirror behind: %s succeeds' % what, err[-1500:])
    t.ok(installed(cache) == new, 'c. and the newer InRelease stays installed')


def main(t, h):
    v, old, new = variant(h)
    srv = h.serve(v.out)
    cache = h.mktemp('cache-')
    xstest.mount_hello(t, h, srv.url, cache, 'a. a mount on the newest InRelease works')
    t.ok(installed(cache) == new, 'a. that InRelease is installed in the cache')

    serve_behind(v, old)
    log = xstest.mount_hello(t, h, srv.url, cache, 'b. a mount against the mirror behind works')
    warned = [ln for ln in log.splitlines() if WARN in ln]
    t.ok(len(warned) == 1 and 'the newer one is kept' in warned[0] and
         srv.url.rstrip('/') in warned[0], 'b. the log warns once, naming the mirror', warned)
    t.ok(installed(cache) == new, 'b. the newer InRelease stays installed')

    at_once(t, h, srv, cache, new)

    # d: the kept one expires; the older one must not take its place
    until = time.time() + 8
    v2, old2, _ = variant(h, valid_until=until)
    srv2 = h.serve(v2.out)
    cache2 = h.mktemp('cache-')
    xstest.mount_hello(t, h, srv2.url, cache2,
                       'd. a mount while the newest InRelease is valid works')
    serve_behind(v2, old2)
    time.sleep(max(0, until - time.time()) + 1.5)
    m = h.try_mount(packages=['hello'], cache_dir=cache2, mirror=srv2.url)
    t.diag('d: %s' % m.stderr.strip())
    t.ok(m.rc != 0 and not m.was_mounted and 'Valid-Until' in m.stderr and
         'older InRelease' in m.stderr and srv2.url.rstrip('/') in m.stderr,
         'd. the kept one expired: refused, naming the mirror (the older one is not used)',
         m.stderr)


xstest.run(main)
