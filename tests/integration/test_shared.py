#!/usr/bin/python3
"""One cache, many processes (issue 11, section 2).  Three times, each on a
fresh cache directory and against the fixture repository on one fault
server (which logs every request):

  a. at once: two mounts of arm64, a mount of armhf, a `fetch` and an `ldd`
     (arm64): every process succeeds;
  b. then first reads of the same big files through all three mounts at
     once (several threads per mount, each reading every file): every read
     gives the bytes of the package (dpkg-deb -x of the fixture .deb);
     while `cache gc --max-size 1` runs (it evicts only what no live
     process leases: nothing the mounts use);
  c. the server saw one GET per .deb, across all the processes;
  d. the compact Packages indexes they built at once (one per
     architecture) are whole."""

import collections
import glob
import hashlib
import os
import random
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

ITERATIONS = 3
THREADS = 3       # readers per mount
BIG = 3           # big files per architecture


def big_files(h, index, pkgs):
    """{view path: sha256} of the BIG largest regular files of PKGS."""
    ref = h.mktemp('ref-%s-' % index.arch)
    index.extract(pkgs, ref)
    sizes = []
    for pkg in pkgs:
        for rel in index.files_of(pkg):
            p = os.path.join(ref, rel)
            if (xstest.present(rel) and os.path.isfile(p) and not os.path.islink(p)):
                sizes.append((os.path.getsize(p), rel, p))
    sizes.sort(reverse=True)
    return {rel: xstest.sha256_file(p) for _, rel, p in sizes[:BIG]}


def in_threads(jobs):
    """Run every callable of JOBS at once; their results in order."""
    out = [None] * len(jobs)

    def run(i, f):
        try:
            out[i] = f()
        except Exception as e:  # reported, not raised in the thread
            out[i] = e
    ths = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(jobs)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return out


def read_all(m, files, seed):
    """Problems reading FILES ({rel: sha}) through mount M, in a shuffled order."""
    order = sorted(files)
    random.Random(seed).shuffle(order)
    bad = []
    for rel in order:
        data, err = xstest.read_errno(m.p(rel))
        if err is not None:
            bad.append('%s: %s' % (rel, xstest.ename(err)))
        elif hashlib.sha256(data).hexdigest() != files[rel]:
            bad.append('%s: wrong bytes (%d)' % (rel, len(data)))
    return bad


def compact_whole(path):
    """Whether the compact Packages index at PATH (pkgidx.h) is whole."""
    with open(path, 'rb') as f:
        d = f.read()
    return (len(d) >= 128 + 56 and d[:8] == b'XSPKGIDX'
            and hashlib.sha256(d[:-32]).digest() == d[-32:])


def meet(barrier):
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass


def mount_and_read(h, cache, arch, files, barrier):
    """Mount ARCH on CACHE and, once every mount is up, read FILES through
    it from THREADS threads at once: (Mount, read problems)."""
    m = h.start_mount(cache_dir=cache, arch=arch)
    meet(barrier)
    if m.rc != 0:
        return m, []
    res = in_threads([lambda k=k: read_all(m, files, k) for k in range(THREADS)])
    return m, [p for r in res for p in (r if isinstance(r, list) else [repr(r)])]


def iteration(t, h, n, hello, files):
    cache = h.mktemp('cache-')
    h.server.clear_log()
    h.server.clear_faults()
    # every .deb answered a little late: downloads of different processes
    # overlap, as they do on a real mirror
    h.server.add_fault(match=r'\.deb$', action='stall', arg=0.4, method='GET')
    repo = ['--mirror', h.server.url, '--suite', h.suite_for('arm64'),
            '--keyring', h.repo.keyring, '--cache-dir', cache]
    xs = xstest.XSYSROOT
    barrier = threading.Barrier(4, timeout=240)

    def gc():
        meet(barrier)
        r = xstest.sh([xs, 'cache', 'gc', '--max-size', '1', '--cache-dir', cache],
                      timeout=300)
        # over the bound only because live mounts use what is left: as asked
        if r.returncode == 1 and 'in use by live mounts or commands' in r.stderr:
            r.returncode = 0
        return r
    jobs = [lambda: mount_and_read(h, cache, 'arm64', files['arm64'], barrier),
            lambda: mount_and_read(h, cache, 'arm64', files['arm64'], barrier),
            lambda: mount_and_read(h, cache, 'armhf', files['armhf'], barrier),
            lambda: xstest.sh([xs, 'fetch'] + repo + ['--packages', 'hello,libc6', 'arm64'],
                              timeout=300),
            lambda: xstest.sh([xs, 'ldd'] + repo + ['arm64', hello], timeout=300),
            gc]
    res = in_threads(jobs)
    names = ['mount arm64 (1)', 'mount arm64 (2)', 'mount armhf', 'fetch', 'ldd', 'cache gc']
    failed, bad, mounts = [], [], []
    for name, r in zip(names, res):
        if isinstance(r, tuple):
            m, problems = r
            bad += ['%s: %s' % (name, p) for p in problems]
            if m.rc == 0:
                mounts.append(m)
            r = m
        if isinstance(r, Exception):
            failed.append('%s: %r' % (name, r))
        elif getattr(r, 'returncode', getattr(r, 'rc', 0)) != 0:
            failed.append('%s: exit %s: %s' % (name, getattr(r, 'returncode', getattr(r, 'rc', None)),
                                                (r.stderr or '')[-600:]))
    t.ok(not failed, 'iteration %d: two arm64 mounts, an armhf mount, a fetch, an ldd and a '
         'gc at once on one cache: 0 failed' % n, '\n'.join(failed))
    t.ok(len(mounts) == 3 and not bad,
         'iteration %d: %d concurrent first reads through %d mounts: 0 failed' %
         (n, 3 * THREADS * BIG, len(mounts)), '\n'.join(bad[:20]))
    idx = glob.glob(os.path.join(cache, 'meta', 'packages-*.idx'))
    broken = [p for p in idx if not compact_whole(p)]
    t.ok(len(idx) == 2 and not broken,
         'iteration %d: the compact Packages indexes the processes built at once (arm64, '
         'armhf) are whole' % n, repr(idx) + repr(broken))
    got = collections.Counter(e['path'] for e in xstest.deb_gets(h.server.log()))
    twice = {p: c for p, c in got.items() if c != 1}
    t.ok(got and not twice, 'iteration %d: one GET per .deb across all processes (%d .debs)' %
         (n, len(got)), '\n'.join('%s: %d GETs' % kv for kv in sorted(twice.items())))
    for m in mounts:
        xstest.cleanup_mount(m, t)
    h.server.clear_faults()


def main(t, h):
    hello_dir = h.mktemp('hello-')
    h.index.extract(['hello'], hello_dir)
    hello = os.path.join(hello_dir, 'usr', 'bin', 'hello')
    files = {'arm64': big_files(h, h.index, ['libc6', 'libstdc++6']),
             'armhf': big_files(h, h.index_for('armhf'), ['libc6', 'libstdc++6'])}
    for n in range(1, ITERATIONS + 1):
        iteration(t, h, n, hello, files)


if __name__ == '__main__':
    xstest.run(main)
