#!/usr/bin/python3
"""The compact form of a Packages index kept instead of the index (issue 13,
item 4), with `xsysroot fetch` against the fixture repository:
  a. on a fresh cache the arm64 Packages index is kept as one whole
     meta/packages-SHA.idx (magic, format version, sizes, digest, as many
     packages as the index), and not as a raw object;
  b. a later resolution (the view cache removed) reads it: no Packages
     request reaches the server;
  c. a compact file with a flipped byte, then one cut short: the next fetch
     warns naming the file, gets the index from the server again, and
     leaves a whole file;
  e. `cache verify` checks the compact file: a whole one passes and is
     counted; a cut one and a bit-flipped one are each named, moved to
     quarantine/, counted, with exit status 1, and the next fetch gets the
     index again and leaves a whole file;
  d. two fetches at once on a fresh cache (the index answered slowly, so
     both build it): both succeed, the file is whole, no temp file is left,
     and a third fetch reads it without asking the server."""

import glob
import hashlib
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

ARCH = 'arm64'
XS_HEADER = 128  # bytes of a compact file's header (pkgidx.h)


def fetch(h, cache, packages=('hello',)):
    return xstest.sh([xstest.XSYSROOT, 'fetch', '--mirror', h.server.url, '--suite',
                      h.suite_for(ARCH), '--keyring', h.repo.keyring, '--cache-dir', cache,
                      '--packages', ','.join(packages), ARCH], timeout=300)


def bindir(h):
    return os.path.join(h.repo.out, 'dists', h.suite_for(ARCH), 'main', 'binary-' + ARCH)


def compact_files(cache):
    return sorted(glob.glob(os.path.join(cache, 'meta', 'packages-*.idx')))


def whole(path, npkgs):
    """Why the compact file at PATH is not whole, or None."""
    with open(path, 'rb') as f:
        d = f.read()
    if len(d) < 128 + 56 or d[:8] != b'XSPKGIDX':
        return 'no header (%d bytes)' % len(d)
    if int.from_bytes(d[8:12], 'little') != 1:
        return 'format version %d' % int.from_bytes(d[8:12], 'little')
    if hashlib.sha256(d[:-32]).digest() != d[-32:]:
        return 'digest mismatch'
    foot = d[-56:]
    if int.from_bytes(foot[16:24], 'little') != len(d) - 128 - 56:
        return 'payload size'
    if int.from_bytes(foot[0:8], 'little') != npkgs:
        return '%d packages, not %d' % (int.from_bytes(foot[0:8], 'little'), npkgs)
    return None


def index_gets(h):
    """The requests for the arm64 Packages index (by its name or by hash)."""
    return [e['path'] for e in h.server.log() if '/binary-%s/' % ARCH in e['path']]


def drop_views(cache):
    for v in glob.glob(os.path.join(cache, 'meta', 'view-*')):
        os.unlink(v)


def main(t, h):
    with open(os.path.join(bindir(h), 'Packages'), 'rb') as f:
        npkgs = f.read().count(b'\nPackage: ') + 1
    with open(os.path.join(bindir(h), 'Packages.xz'), 'rb') as f:
        xz_sha = hashlib.sha256(f.read()).hexdigest()

    # a. kept compact
    cache = h.mktemp('cache-')
    h.server.clear_log()
    r = fetch(h, cache)
    t.ok(r.returncode == 0 and len(index_gets(h)) == 1,
         'a: fetch hello into a fresh cache gets the index once', r.stderr + repr(index_gets(h)))
    files = compact_files(cache)
    t.eq([os.path.basename(p) for p in files], ['packages-%s.idx' % xz_sha],
         'a: one compact file, named by the Packages.xz the Release lists')
    t.ok(files and whole(files[0], npkgs) is None,
         'a: it is whole and holds the %d packages of the index' % npkgs,
         files and whole(files[0], npkgs))
    t.ok(not os.path.exists(os.path.join(cache, 'objects', 'sha256', xz_sha[:2], xz_sha[2:])),
         'a: the raw Packages.xz is not kept')

    # b. read back instead of the index
    drop_views(cache)
    h.server.clear_log()
    r = fetch(h, cache, ['hello', 'zlib1g'])
    t.ok(r.returncode == 0 and index_gets(h) == [],
         'b: a resolution from the compact file asks the server for no Packages index',
         r.stderr + repr(index_gets(h)))

    # c. damaged: refused, named, rebuilt
    for how in ('a flipped byte', 'cut short'):
        path = files[0]
        with open(path, 'rb') as f:
            d = bytearray(f.read())
        if how == 'cut short':
            d = d[:len(d) * 2 // 3]
        else:
            d[len(d) // 2] ^= 0x10
        with open(path, 'wb') as f:
            f.write(d)
        drop_views(cache)
        h.server.clear_log()
        r = fetch(h, cache)
        t.diag(r.stderr.strip())
        t.ok(r.returncode == 0 and path in r.stderr and 'refused' in r.stderr,
             'c: %s: fetch works and warns naming the file' % how, r.stderr)
        t.ok(len(index_gets(h)) == 1, 'c: %s: the index is fetched again' % how,
             repr(index_gets(h)))
        t.ok(whole(path, npkgs) is None, 'c: %s: the file is whole again' % how,
             whole(path, npkgs))

    # e. cache verify
    def verify():
        return xstest.sh([xstest.XSYSROOT, 'cache', 'verify', '--cache-dir', cache], timeout=300)
    r = verify()
    t.ok(r.returncode == 0 and ' and 1 compact indexes verified in ' in r.stdout and
         ', 0 bad compact indexes' in r.stdout,
         'e: cache verify passes the whole compact file and counts it', r.stdout + r.stderr)
    for how in ('cut short', 'a flipped bit'):
        path = files[0]
        with open(path, 'rb') as f:
            d = bytearray(f.read())
        if how == 'cut short':
            d = d[:len(d) - 100]
        else:
            d[XS_HEADER + 7] ^= 0x01
        with open(path, 'wb') as f:
            f.write(d)
        r = verify()
        quar = glob.glob(os.path.join(cache, 'quarantine', '*-' + os.path.basename(path)))
        t.ok(r.returncode == 1 and ('bad compact index %s' % path) in r.stdout and
             ', 1 bad compact indexes' in r.stdout,
             'e: %s: cache verify names the compact file, counts it, exits 1' % how,
             r.stdout + r.stderr)
        t.ok(not os.path.exists(path) and len(quar) == 1,
             'e: %s: it is moved to quarantine/' % how, repr(quar))
        for q in quar:
            os.unlink(q)
        drop_views(cache)
        h.server.clear_log()
        r = fetch(h, cache)
        t.ok(r.returncode == 0 and len(index_gets(h)) == 1 and whole(path, npkgs) is None,
             'e: %s: the next fetch gets the index again and keeps a whole file' % how,
             r.stderr + repr(index_gets(h)))

    # d. two builders at once
    cache = h.mktemp('cache2-')
    h.server.clear_faults()
    h.server.clear_log()
    h.server.add_fault(match=r'/binary-%s/' % ARCH, action='stall', arg=0.5, method='GET')
    res = [None, None]

    def run(i, pk):
        res[i] = fetch(h, cache, pk)
    ths = [threading.Thread(target=run, args=(0, ['hello'])),
           threading.Thread(target=run, args=(1, ['hello', 'zlib1g']))]
    try:
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    finally:
        h.server.clear_faults()
    t.ok(all(x is not None and x.returncode == 0 for x in res),
         'd: two fetches at once on a fresh cache both succeed',
         '\n'.join(x.stderr for x in res if x is not None))
    t.eq(len(index_gets(h)), 2, 'd: both got the index, so both built the compact file')
    files = compact_files(cache)
    t.ok(len(files) == 1 and whole(files[0], npkgs) is None,
         'd: one compact file, whole', files and whole(files[0], npkgs))
    left = [n for n in os.listdir(os.path.join(cache, 'meta')) if n.startswith('.')]
    t.eq(left, [], 'd: no temp file left in meta/')
    drop_views(cache)
    h.server.clear_log()
    r = fetch(h, cache)
    t.ok(r.returncode == 0 and index_gets(h) == [],
         'd: a third fetch reads the shared file, asking the server for no index',
         r.stderr + repr(index_gets(h)))


if __name__ == '__main__':
    xstest.run(main)
