#!/usr/bin/python3
"""Lock files (--lock FILE, issue 12 item 3): written after resolution,
reproduced on fresh caches (the same user.xsysroot.sha256 for every file,
the same view digest in the status), a tampered SHA-256 refused naming the
package, a lock of an older suite state served from the cache while the
mirror has moved on, uncovered --packages refused, fetch and run with it."""

import gzip
import hashlib
import os
import re
import shutil
import stat

import xstest  # noqa: I100 (first: it puts tests/fixtures on the path)
import mkrepo  # noqa: E402

ARCH = xstest.ARCH
PFX = 'user.xsysroot.'


def repo_args(h, srv, cache):
    return ['--mirror', srv.url, '--suite', h.suite_for(ARCH), '--keyring', h.repo.keyring,
            '--cache-dir', cache]


def xs(h, cmd, srv, cache, lock, extra=(), packages=None, timeout=300):
    argv = [xstest.XSYSROOT, cmd] + repo_args(h, srv, cache) + ['--lock', lock]
    if packages:
        argv += ['--packages', ','.join(packages)]
    return xstest.sh(argv + list(extra) + [ARCH], timeout=timeout)


def parse_lock(path):
    with open(path) as f:
        text = f.read()
    body = '\n'.join(line for line in text.split('\n') if not line.startswith('#'))
    return text, mkrepo.parse_deb822(body)


def view_digest(shas):
    return hashlib.sha256(''.join(s + '\n' for s in sorted(set(shas))).encode()).hexdigest()


def write_lock(path, header, srcs, pkgs):
    with open(path, 'w') as f:
        f.write('\n'.join(mkrepo.format_stanza(s) for s in [header] + srcs + pkgs))


def status_of(mnt):
    raw = os.getxattr(mnt, PFX + 'status').decode()
    return dict(line.split('=', 1) for line in raw.splitlines() if '=' in line)


def file_digests(mnt):
    """{path: user.xsysroot.sha256} of every regular file of the mount."""
    out = {}
    for dp, dn, fn in os.walk(mnt):
        for n in fn:
            p = os.path.join(dp, n)
            if stat.S_ISREG(os.lstat(p).st_mode):
                try:
                    out[os.path.relpath(p, mnt)] = os.getxattr(p, PFX + 'sha256').decode()
                except OSError as e:  # a generated file has none
                    out[os.path.relpath(p, mnt)] = 'errno %d' % e.errno
    return out


def moved_on(h, hello_deb_dir):
    """A copy of the fixture whose suite moved on: hello 2.10-99 (a new
    .deb outside the shared pool), re-signed with a newer Date."""
    v = h.repo.variant(os.path.join(h.mktemp('moved-'), 'repo'))
    deb = mkrepo._mkpkg(hello_deb_dir, 'hello', '2.10-99', ARCH,
                        [('usr/bin/hello', 'file', b'#!/bin/sh\necho moved on\n', 0o755)])
    rel = 'newpool/h/hello/hello_2.10-99_%s.deb' % ARCH
    os.makedirs(os.path.join(v.out, os.path.dirname(rel)))
    shutil.copy(deb, os.path.join(v.out, rel))
    size, hashes = mkrepo.file_hashes(os.path.join(v.out, rel))
    stanzas = v.packages(ARCH)
    for st in stanzas:
        if st['Package'] == 'hello':
            st.update({'Version': '2.10-99', 'Filename': rel, 'Size': str(size),
                       'MD5sum': hashes['MD5Sum'], 'SHA256': hashes['SHA256']})
    bdir = os.path.join(v.dists, mkrepo.COMPONENT, 'binary-' + ARCH)
    for name in ('Packages', 'Packages.gz', 'Packages.xz', 'Release'):
        os.unlink(os.path.join(bdir, name))  # copies: never write through to the fixture
    mkrepo._write_packages(bdir, v.suite, ARCH, stanzas)
    # its Contents lists a path only the new hello has
    cpath = os.path.join(v.dists, mkrepo.COMPONENT, 'Contents-%s.gz' % ARCH)
    with gzip.open(cpath, 'rt') as f:
        lines = f.read().splitlines(True)
    lines.append('%-60s%s\n' % ('usr/bin/hello-moved', 'devel/hello'))
    os.unlink(cpath)
    with gzip.open(cpath, 'wt') as f:
        f.write(''.join(sorted(lines)))
    v.resign()
    return v, hashes['SHA256']


def main(t, h):
    srv = h.server
    lock = os.path.join(h.mktemp('lock-'), 'view.lock')
    cache_a = h.mktemp('cache-a-')

    # a. written after resolution
    r = xs(h, 'fetch', srv, cache_a, lock, packages=['hello'])
    t.eq(r.returncode, 0, 'fetch --lock FILE (FILE absent): succeeds')
    t.ok(os.path.exists(lock), 'the lock file is written', r.stderr)
    text, st = parse_lock(lock)
    hdr, srcs = st[0], [s for s in st[1:] if 'URIs' in s]
    pkgs = [s for s in st[1:] if 'Package' in s]
    idx = h.index
    closure = idx.closure(['hello'])
    t.eq(hdr.get('Lock-Format'), '1', 'the header names the format')
    t.eq(hdr.get('Architecture'), ARCH, 'the header names the architecture')
    t.eq(len(srcs), 1, 'one source stanza')
    with open(h.repo.inrelease, 'rb') as f:
        inrel_sha = hashlib.sha256(f.read()).hexdigest()
    t.ok(srcs and srcs[0].get('Suite') == h.suite_for(ARCH)
         and srcs[0].get('InRelease-SHA256') == inrel_sha
         and srcs[0].get('URIs') == srv.url.rstrip('/') and srcs[0].get('Date'),
         'the source: URIs, Suite, Date and the verified InRelease\'s SHA-256', srcs)
    names = [p['Package'] for p in pkgs]
    t.eq(names, sorted(closure), 'one stanza per package of the closure, sorted by name')
    good = all(p['SHA256'] == idx.pkgs[p['Package']]['SHA256']
               and p['Size'] == idx.pkgs[p['Package']]['Size']
               and p['Filename'] == idx.pkgs[p['Package']]['Filename']
               and p['Version'] == idx.pkgs[p['Package']]['Version'] for p in pkgs)
    t.ok(good, 'every package pinned with the index\'s Version, Filename, Size and SHA256')
    digest = hdr.get('View-Digest')
    t.eq(digest, view_digest(p['SHA256'] for p in pkgs),
         'View-Digest: the view digest of the pinned .debs')
    mtime = os.stat(lock).st_mtime_ns
    r = xs(h, 'fetch', srv, cache_a, lock)
    t.ok(r.returncode == 0 and os.stat(lock).st_mtime_ns == mtime,
         'fetch --lock FILE (FILE present): succeeds, FILE untouched', r.stderr)

    mlock = os.path.join(h.mktemp('mlock-'), 'mount.lock')
    with h.mount(cache_dir=h.mktemp('mcache-'), packages=['hello'], extra=['--lock', mlock]):
        pass
    t.ok(os.path.exists(mlock) and open(mlock).read() == text,
         'mount --lock FILE (FILE absent) writes the same lock as fetch')

    # b. reproduced on two fresh caches: the same files, the same digest
    views = []
    for k in range(2):
        srv.clear_log()
        with h.mount(cache_dir=h.mktemp('fresh-%d-' % k), extra=['--lock', lock]) as m:
            index_gets = [e['path'] for e in srv.log() if '/Packages' in e['path']]
            t.eq(index_gets, [], 'mount %d with the lock reads no Packages index' % k)
            views.append((status_of(m.path), file_digests(m.path)))
    (s0, f0), (s1, f1) = views
    t.eq(s0.get('view_digest'), digest, 'status: the view digest is the lock\'s')
    t.eq(s1.get('view_digest'), digest, 'status on a second fresh cache: the same digest')
    t.eq(int(s0.get('packages', -1)), len(pkgs), 'status: exactly the lock\'s packages')
    t.ok(len(f0) > 100 and 'usr/bin/hello' in f0, 'the view holds hello\'s files (%d)' % len(f0))
    t.ok(f0 == f1, 'two fresh caches: identical user.xsysroot.sha256 for every file',
         sorted(set(f0.items()) ^ set(f1.items()))[:10])

    # c. a tampered SHA-256 is refused, naming the package
    bad = os.path.join(h.mktemp('bad-'), 'bad.lock')
    # the digest of a .deb outside the view: one of the view's would share
    # that package's lock and manifest, and the outcome would be a race
    other = next(p['SHA256'] for n, p in sorted(idx.pkgs.items())
                 if n not in {q['Package'] for q in pkgs})
    tampered = [dict(p, SHA256=other) if p['Package'] == 'hello' else p for p in pkgs]
    write_lock(bad, hdr, srcs, tampered)
    r = xs(h, 'fetch', srv, h.mktemp('bad-cache-'), bad)
    t.ok(r.returncode != 0 and bad in r.stderr and 'View-Digest' in r.stderr,
         'a SHA-256 changed alone: the lock is refused (its View-Digest does not match)',
         r.stderr)
    write_lock(bad, dict(hdr, **{'View-Digest': view_digest(p['SHA256'] for p in tampered)}),
               srcs, tampered)
    r = xs(h, 'fetch', srv, h.mktemp('bad-cache-'), bad)
    t.ok(r.returncode != 0 and "'hello 2.10" in r.stderr and 'hello_' in r.stderr
         and 'mismatch' in r.stderr and 'lock file %s' % bad in r.stderr,
         'a SHA-256 changed with its digest: the .deb is refused naming hello and its file',
         r.stderr)
    write_lock(bad, hdr, srcs, [dict(p, Filename='../../etc/passwd') if p['Package'] == 'hello'
                          else p for p in pkgs])
    r = xs(h, 'fetch', srv, h.mktemp('bad-cache-'), bad)
    t.ok(r.returncode != 0 and 'Filename' in r.stderr and "'hello'" in r.stderr
         and re.search(r'line \d+', r.stderr),
         'a Filename climbing out of the mirror: refused naming the line and package', r.stderr)

    # d. --packages the lock does not cover
    r = xs(h, 'fetch', srv, cache_a, lock, packages=['hello', 'zlib1g', 'xs-links'])
    t.ok(r.returncode != 0 and 'zlib1g, xs-links' in r.stderr and 'delete it' in r.stderr
         and 'hello' not in r.stderr.split('zlib1g')[0].split('--packages')[-1],
         '--packages outside the lock: an error naming them and the way to refresh', r.stderr)
    m = h.try_mount(cache_dir=cache_a, packages=['zlib1g'], extra=['--lock', lock])
    t.ok(m.rc != 0 and not m.was_mounted and 'zlib1g' in m.stderr,
         'mount: the same error', m.stderr)

    # e. the mirror moved on: the lock still gives the old packages, from the cache
    v, new_sha = moved_on(h, h.mktemp('newdeb-'))
    vsrv = h.serve(v.out)
    with h.mount(cache_dir=h.mktemp('unlocked-'), mirror=vsrv.url, packages=['hello']) as m:
        t.ok('hello-moved' in os.listdir(m.p('usr/bin')),
             'the moved-on mirror\'s Contents list usr/bin/hello-moved (hello 2.10-99)')
        t.eq(os.getxattr(m.p('usr/bin/hello'), PFX + 'version'), b'2.10-99',
             'the moved-on mirror: an unlocked mount gets hello 2.10-99')
    with h.mount(cache_dir=h.mktemp('locked-fresh-'), mirror=vsrv.url,
                 extra=['--lock', lock]) as m:
        listing = os.listdir(m.p('usr/bin'))
        t.ok('hello' in listing and 'hello-moved' not in listing,
             'mount --lock, fresh cache, moved-on mirror: exactly the pinned hello\'s files '
             '(not the Contents\' paths of the new one)', listing)
        got = file_digests(m.path)
        diff = sorted(k for k in set(got) | set(f0) if got.get(k) != f0.get(k))
        t.eq(diff, [], 'and the same user.xsysroot.sha256 for every file (dpkg .list files '
             'included: from the pinned .debs, not the Contents)')
    old = idx.pkgs['hello']['Filename']
    vsrv.add_fault(match=re.escape(os.path.basename(old)), action='status', arg=404)
    vsrv.clear_log()
    r = xs(h, 'fetch', vsrv, cache_a, lock)
    t.ok(r.returncode == 0, 'fetch --lock against the moved-on mirror: the cache serves the '
         'pinned packages', r.stderr)
    with h.mount(cache_dir=cache_a, mirror=vsrv.url, extra=['--lock', lock]) as m:
        hello = m.p('usr/bin/hello')
        t.eq(os.getxattr(hello, PFX + 'version').decode(), idx.pkgs['hello']['Version'],
             'mount --lock on the moved-on mirror: the pinned hello')
        t.eq(os.getxattr(hello, PFX + 'sha256').decode(), f0['usr/bin/hello'],
             'its bytes are the pinned ones')
        t.eq(status_of(m.path).get('view_digest'), digest, 'and the lock\'s view digest')
    t.eq([e['path'] for e in vsrv.log() if e['path'].endswith('.deb')], [],
         'no .deb was asked of the moved-on mirror')
    r = xs(h, 'fetch', vsrv, h.mktemp('gone-'), lock)
    t.ok(r.returncode != 0 and 'hello' in r.stderr and os.path.basename(old) in r.stderr,
         'a pinned .deb neither cached nor on the mirror: refused naming it and its file',
         r.stderr)
    t.ok(new_sha not in open(lock).read(), 'the lock was not rewritten')

    # f. run --lock
    if not shutil.which('qemu-aarch64'):
        t.skip('run --lock', 'no qemu-aarch64')
    else:
        runlog = os.path.join(h.mktemp('runlog-'), 'run.log')
        r = xstest.sh([xstest.XSYSROOT, 'run', ARCH] + repo_args(h, srv, cache_a) +
                      ['--lock', lock, '--log-file', runlog, '--', '/usr/bin/hello'],
                      timeout=300, env=xstest.clean_env(LC_ALL='C.UTF-8'))
        t.ok(r.returncode == 0 and 'Hello, world!' in r.stdout, 'run --lock runs hello',
             r.stderr)
        r = xstest.sh([xstest.XSYSROOT, 'run', ARCH] + repo_args(h, srv, cache_a) +
                      ['--lock', lock, '--packages', 'zlib1g', '--log-file', runlog, '--',
                       '/usr/bin/hello'], timeout=300, env=xstest.clean_env(LC_ALL='C.UTF-8'))
        t.ok(r.returncode != 0 and 'zlib1g' in r.stderr and 'delete it' in r.stderr,
             'run --lock with uncovered --packages: the error', r.stderr)
        # a host program: run adds its DT_NEEDED packages, and the lock it
        # writes holds them; a lock without them refuses the program
        work = h.mktemp('tar-')
        idx.extract(['tar'], work)
        tar = [p for p in (os.path.join(work, 'usr/bin/tar'), os.path.join(work, 'bin/tar'))
               if os.path.isfile(p)][0]
        tlock = os.path.join(h.mktemp('tlock-'), 'tar.lock')
        argv = [xstest.XSYSROOT, 'run', ARCH] + repo_args(h, srv, cache_a) + [
            '--log-file', runlog]
        env = xstest.clean_env(LC_ALL='C.UTF-8')
        r = xstest.sh(argv + ['--lock', tlock, '--', tar, '--version'], timeout=300, env=env)
        _, tst = parse_lock(tlock) if os.path.exists(tlock) else ('', [])
        tnames = [p['Package'] for p in tst if 'Package' in p]
        t.ok(r.returncode == 0 and 'GNU tar' in r.stdout and 'libacl1' in tnames,
             'run --lock (new FILE) with a host program: its DT_NEEDED packages are in the '
             'lock written', (r.stderr, tnames))
        r = xstest.sh(argv + ['--lock', tlock, '--', tar, '--version'], timeout=300, env=env)
        t.ok(r.returncode == 0 and 'GNU tar' in r.stdout, 'and it runs again from that lock',
             r.stderr)
        r = xstest.sh(argv + ['--lock', lock, '--', tar, '--version'], timeout=300, env=env)
        t.ok(r.returncode != 0 and 'libacl1' in r.stderr and lock in r.stderr,
             'a lock without the program\'s libraries: refused naming them', r.stderr)


if __name__ == "__main__":
    xstest.run(main)
