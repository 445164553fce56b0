#!/usr/bin/python3
"""`xsysroot cache list|verify|gc` on a cache warmed by `xsysroot fetch`:
  a. list names every cached package with the fixture's version, and the
     indexes;
  b. verify passes on a clean cache; after one byte of an object is flipped
     it names that object, moves it to quarantine/, reports the incomplete
     package and exits 1; gc then empties quarantine/;
  c. gc --max-size evicts the least recently used package first;
  d. under a live mount, gc --max-size 1 evicts only what no live mount uses:
     a file held open and a file mmapped through the mount keep reading the
     right bytes, and opening files again (and new ones) works;
  e. mount --cache-max-size evicts by itself after mounting;
  f. the quota and cache-dir keys of a configuration file serve cache list,
     cache gc (with no --max-size) and mount;
  g. indexes, Contents indexes and views unused for 30 days: gc --dry-run
     names them and removes nothing; gc removes them and keeps the packages;
     a fetch then gets them again, and the next gc (just used) keeps them;
  h. run --native-tools layers (CACHEDIR/hybrid): one unused for 30 days and
     one a dead process left half made are removed (--dry-run: named only);
     one just used and one a live process is making stay."""

import hashlib
import mmap
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402


def xs(*args):
    return xstest.sh([xstest.XSYSROOT] + list(args))


def fetch(h, cache, packages):
    return xs('fetch', '--mirror', h.server.url, '--suite', h.suite_for(xstest.ARCH),
              '--keyring', h.repo.keyring, '--cache-dir', cache, '--packages',
              ','.join(packages), 'arm64')


def set_last_use(cache, deb_sha, when):
    os.utime(os.path.join(cache, 'meta', 'pkg-' + deb_sha), (when, when))


def obj_path(cache, sha):
    return os.path.join(cache, 'objects', 'sha256', sha[:2], sha[2:])


def listed(out):
    """{name: version} from `cache list`."""
    pk = {}
    section = None
    for line in out.splitlines():
        if not line.startswith(' '):
            section = line.split(' ')[0]
            continue
        f = line.split()
        if section == 'Packages' and f[0] != 'NAME':
            pk[f[0]] = f[1]
    return pk


def index_objects(cache):
    """The digests of the indexes a cached InRelease lists that the cache
    keeps: as objects, or a Packages index in its compact form."""
    meta = os.path.join(cache, 'meta')
    shas = set()
    for n in os.listdir(meta):
        if re.fullmatch(r'inrelease-[0-9a-f]{16}', n):
            shas |= set(re.findall(r'^ ([0-9a-f]{64}) +\d+ ', open(os.path.join(meta, n)).read(),
                                   re.M))
    return {x for x in shas if os.path.exists(obj_path(cache, x)) or
            os.path.exists(os.path.join(meta, 'packages-%s.idx' % x))}


def age_all(cache, days):
    when = os.path.getmtime(cache) - days * 86400
    for top in ('objects', 'meta'):
        for d, _, files in os.walk(os.path.join(cache, top)):
            for f in files:
                if not f.startswith(('pkg-', 'manifest-')):
                    os.utime(os.path.join(d, f), (when, when))


def tree(cache):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs)


def test_index_gc(t, h):
    cache = h.mktemp('cache-idx-')
    t.ok(fetch(h, cache, ['hello']).returncode == 0, 'g: fetch hello into a fresh cache')
    idx = index_objects(cache)
    t.ok(len(idx) >= 1, 'g: the Packages index is cached', idx)
    views = [n for n in os.listdir(os.path.join(cache, 'meta')) if n.startswith('view-')]
    age_all(cache, 30)
    before = tree(cache)
    r = xs('cache', 'gc', '--dry-run', '--cache-dir', cache)
    t.ok(r.returncode == 0 and re.search(r'^would remove index .*Packages', r.stdout, re.M)
         and '(dry run: nothing removed)' in r.stdout,
         'g: gc --dry-run names the unused Packages index', r.stdout + r.stderr)
    t.eq(tree(cache), before, 'g: gc --dry-run removes nothing')
    r = xs('cache', 'gc', '--cache-dir', cache)
    t.ok(r.returncode == 0 and re.search(r'^removed index .*Packages', r.stdout, re.M),
         'g: gc removes it', r.stdout + r.stderr)
    t.eq(index_objects(cache), set(), 'g: no index object is left')
    t.ok(not any(os.path.exists(os.path.join(cache, 'meta', v)) for v in views)
         and views, 'g: nor the resolved view', views)
    r = xs('cache', 'list', '--cache-dir', cache)
    t.ok('hello' in listed(r.stdout), 'g: the packages stay', r.stdout)
    t.ok(fetch(h, cache, ['hello']).returncode == 0, 'g: fetch works again')
    t.eq(index_objects(cache), idx, 'g: it fetched the index again')
    r = xs('cache', 'gc', '--cache-dir', cache)
    t.ok(r.returncode == 0 and 'removed 0 unused indexes' in r.stdout,
         'g: an index just used stays', r.stdout)


def dead_pid():
    """A pid no process has: a child that has exited and been reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_hybrid_gc(t, h):
    cache = h.mktemp('cache-hybrid-')
    t.ok(fetch(h, cache, ['hello']).returncode == 0, 'h: fetch hello into a fresh cache')
    top = os.path.join(cache, 'hybrid')
    d = hashlib.sha256(b'digest').hexdigest()
    layers = {'old': d, 'new': d[::-1], 'dead': '%s.tmp-%d' % (d, dead_pid()),
              'live': '%s.tmp-%d' % (d[::-1], os.getpid())}
    for name in layers.values():
        os.makedirs(os.path.join(top, name, 'usr', 'bin'))
        with open(os.path.join(top, name, 'usr', 'bin', 'as'), 'wb') as f:
            f.write(b'x' * 8192)
    when = os.path.getmtime(cache) - 30 * 86400
    for k in ('old', 'dead', 'live'):
        os.utime(os.path.join(top, layers[k]), (when, when))
    # the tools' Multi-Arch answers kept beside the layers (native.c)
    for name, t_ in (('foreign-' + d, when), ('foreign-' + d[::-1], None)):
        with open(os.path.join(top, name), 'w') as f:
            f.write('sed\n')
        if t_:
            os.utime(os.path.join(top, name), (t_, t_))
    before = tree(cache)
    r = xs('cache', 'gc', '--dry-run', '--cache-dir', cache)
    t.ok(r.returncode == 0 and 'would remove' in r.stdout and ' 2 native-tools layers' in r.stdout,
         'h: gc --dry-run counts the unused and the half-made layer', r.stdout + r.stderr)
    t.eq(tree(cache), before, 'h: gc --dry-run removes nothing')
    r = xs('cache', 'gc', '--cache-dir', cache)
    t.ok(r.returncode == 0 and 'removed' in r.stdout and ' 2 native-tools layers' in r.stdout,
         'h: gc removes them', r.stdout + r.stderr)
    t.eq(sorted(os.listdir(top)), sorted([layers['new'], layers['live'], 'foreign-' + d[::-1]]),
         'h: the layer just used, the one a live process is making and the recent tools '
         'answer stay')


def main(t, h):
    idx = h.index
    cache = h.mktemp('cache-')
    closure = idx.closure(['hello'])
    r = fetch(h, cache, ['hello'])
    t.eq(r.returncode, 0, 'fetch hello into a fresh cache')

    # a. list
    r = xs('cache', 'list', '--cache-dir', cache)
    pk = listed(r.stdout)
    t.ok(pk == {n: idx.pkgs[n]['Version'] for n in closure},
         'cache list names every package of the view with its version', r.stdout)
    t.ok(re.search(r'Packages(\.xz|\.gz)?\s', r.stdout) and 'InRelease' in r.stdout
         and 'Contents-arm64' in r.stdout and re.search(r'^Total: .* in ', r.stdout, re.M),
         'cache list shows the indexes and the total', r.stdout)
    t.eq(xs('cache', '--cache-dir', cache).stdout, r.stdout,
         'cache with no action is cache list')
    suite = h.suite_for('arm64')
    t.ok(r.stdout.index('Packages (') < r.stdout.index('Indexes (') and
         re.search(r'^  %s \(.*\), arm64:\n(    \S+ +[\d.]+ [kMG]?B\n)*'
                   r'    main/binary-arm64/Packages\S* +[\d.]+ [kMG]?B$' % re.escape(suite),
                   r.stdout, re.M) and
         re.search(r'^  %s \(.*\), every architecture:\n    InRelease ' % re.escape(suite),
                   r.stdout, re.M),
         'cache list: the packages first, then the index rows under a line naming their '
         'suite and architecture', r.stdout)
    t.ok(not re.search(r'\b0 B\b', r.stdout), 'cache list: no "0 B" rows or figures', r.stdout)

    # b. verify
    r = xs('cache', 'verify', '--cache-dir', cache)
    t.ok(r.returncode == 0 and ' 0 bad, 0 packages incomplete' in r.stdout,
         'verify on a clean cache: exit 0', r.stdout + r.stderr)
    ref = idx.extract(['hello'], h.mktemp('ref-'))
    sha = xstest.sha256_file(os.path.join(ref, 'usr/bin/hello'))
    p = obj_path(cache, sha)
    os.chmod(p, 0o644)
    with open(p, 'r+b') as f:
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xff]))
    r = xs('cache', 'verify', '--cache-dir', cache)
    t.ok(r.returncode == 1 and 'bad object %s' % sha in r.stdout and ' 1 bad,' in r.stdout,
         'verify finds the flipped byte, names the object, exits 1', r.stdout + r.stderr)
    t.ok(re.search(r'incomplete package hello %s' % re.escape(idx.pkgs['hello']['Version']),
                   r.stdout), 'verify names the package that lost a file', r.stdout)
    t.ok(not os.path.exists(p) and any(n.endswith(sha) for n in
                                        os.listdir(os.path.join(cache, 'quarantine'))),
         'the bad object is in quarantine/, not in objects/')
    r = xs('cache', 'gc', '--cache-dir', cache)
    t.ok(r.returncode == 0 and not os.listdir(os.path.join(cache, 'quarantine')),
         'gc empties quarantine/', r.stdout + r.stderr)
    r = fetch(h, cache, ['hello'])
    t.ok(r.returncode == 0 and os.path.exists(p) and xstest.sha256_file(p) == sha,
         'fetch again restores the object', r.stdout + r.stderr)

    # c. LRU: hello is the oldest, libc6 the newest
    for i, n in enumerate(sorted(closure, key=lambda n: (n != 'hello', n == 'libc6', n))):
        set_last_use(cache, idx.pkgs[n]['SHA256'], 1000000000 + i * 1000)
    r = xs('cache', 'gc', '--cache-dir', cache)   # leftovers first: only eviction below
    total = r.returncode == 0
    du = int(xstest.sh(['du', '-s', '-B1', cache]).stdout.split()[0])
    r = xs('cache', 'gc', '--max-size', str(du - 20000), '--cache-dir', cache)
    ev = re.findall(r'^evicted (\S+)', r.stdout, re.M)
    t.ok(r.returncode == 0 and ev == ['hello'],
         'gc --max-size just under the size evicts only the least recently used (hello)',
         r.stdout + r.stderr)
    t.ok(total and 'hello' not in listed(xs('cache', 'list', '--cache-dir', cache).stdout),
         'hello is no longer listed')

    # d. a live mount: nothing it uses is evicted, open and mapped files intact
    other = idx.pkgs.get('zlib1g')
    t.ok(other is not None and fetch(h, cache, ['zlib1g']).returncode == 0,
         'zlib1g fetched too (not in the mount\'s view)')
    with h.mount(packages=['hello'], cache_dir=cache) as m:
        lib = os.path.realpath(m.p('usr/lib/aarch64-linux-gnu/libc.so.6'))
        want = hashlib.sha256(open(lib, 'rb').read()).hexdigest()
        held = open(lib, 'rb')
        mf = open(m.p('usr/bin/hello'), 'rb')
        mapped = mmap.mmap(mf.fileno(), 0, prot=mmap.PROT_READ)
        hello_sha = hashlib.sha256(mapped[:]).hexdigest()
        r = xs('cache', 'gc', '--max-size', '1', '--cache-dir', cache)
        ev = re.findall(r'^evicted (\S+)', r.stdout, re.M)
        t.ok('zlib1g' in ev and not set(ev) & set(closure),
             'gc --max-size 1 under a live mount evicts zlib1g, nothing of the view',
             r.stdout + r.stderr)
        t.ok(r.returncode == 1 and 'in use by live mounts' in r.stderr,
             'gc says the bound could not be reached because of live mounts (exit 1)',
             r.stderr)
        held.seek(0)
        t.eq(hashlib.sha256(held.read()).hexdigest(), want,
             'a file held open through the mount reads the same bytes after gc')
        t.eq(hashlib.sha256(mapped[:]).hexdigest(), hello_sha,
             'a file mmapped through the mount reads the same bytes after gc')
        t.eq(hello_sha, sha, 'and those are the bytes of the package')
        mapped.close()
        mf.close()
        held.close()
        os.system('sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null')
        t.eq(xstest.sha256_file(lib), want, 'opened again after gc, libc.so.6 reads right')
        n = [f for f in idx.files_of('libc6') if f.endswith('.so') or '.so.' in f]
        fresh = [xstest.present(f.lstrip('./')) for f in n if not f.endswith('libc.so.6')][:3]
        ok = all(xstest.read_errno(m.p(f))[1] is None for f in fresh)
        t.ok(ok and fresh, 'files of the view not opened before gc open fine after it', fresh)
        r = xs('cache', 'list', '--cache-dir', cache)
        t.ok(re.search(r'^  libc6 .* in use$', r.stdout, re.M),
             'cache list marks the live mount\'s packages in use', r.stdout)
    r = xs('cache', 'gc', '--max-size', '1', '--cache-dir', cache)
    t.ok(r.returncode == 0 and set(re.findall(r'^evicted (\S+)', r.stdout, re.M))
         == set(closure),
         'after the unmount the same gc evicts the rest', r.stdout + r.stderr)

    # e. the quota of a mount
    t.ok(fetch(h, cache, ['zlib1g']).returncode == 0, 'zlib1g fetched again')
    with h.mount(packages=['hello'], cache_dir=cache, extra=['--cache-max-size', '1K']) as m:
        log = m.daemon_log()
        t.ok(re.search(r'quota: evicted zlib1g ', log),
             'mount --cache-max-size 1K evicts zlib1g (not in its view) at once', log[-2000:])
        t.eq(xstest.read_errno(m.p('usr/bin/hello'), 4)[0], b'\x7fELF',
             'and the mount serves its own files')
        st = os.getxattr(m.path, 'user.xsysroot.status').decode()
        t.ok('quota=1024' in st, 'status shows the quota', st)

    # f. the quota and cache dir of a configuration file
    t.ok(fetch(h, cache, ['zlib1g']).returncode == 0, 'zlib1g fetched once more')
    conf = os.path.join(h.mktemp('conf-'), 'config')
    with open(conf, 'w') as f:
        f.write('cache-dir = %s\nquota = 1K\n' % cache)
    r = xs('cache', 'list', '--config', conf)
    t.ok(r.returncode == 0 and 'zlib1g' in listed(r.stdout),
         'cache list --config FILE lists the cache dir the file names', r.stdout + r.stderr)
    r = xs('cache', 'gc', '--config', conf)
    ev = re.findall(r'^evicted (\S+)', r.stdout, re.M)
    t.ok('zlib1g' in ev, 'cache gc with no --max-size evicts down to the file\'s quota',
         r.stdout + r.stderr)
    with h.mount(packages=['hello'], cache_dir=cache, extra=['--config', conf]) as m:
        st = os.getxattr(m.path, 'user.xsysroot.status').decode()
        t.ok('quota=1024' in st, 'a mount takes its quota from the configuration file', st)


    # g. indexes
    test_index_gc(t, h)
    test_hybrid_gc(t, h)


xstest.run(main)
