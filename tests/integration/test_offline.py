#!/usr/bin/python3
"""`xsysroot fetch` warms a cache; `mount --offline` then works from it alone:
  a. fetch ARCH --packages hello: every package of the view is downloaded
     once, and the summary line says so; a second fetch downloads no .deb;
  b. mount --offline on that cache makes no request at all (the server's
     request log stays empty), and hello runs under qemu-aarch64 -L MNT, also
     with the server stopped;
  c. a package of the view that fetch did not cache (offline, --packages
     hello,zlib1g): reading its file is EIO, and the daemon log names it;
  d. mount --offline on an empty cache fails at once with "no cached index"
     and the command to run; ldd --offline works from the warm cache;
  e. apt's Valid-Until rule holds offline: a cached InRelease that expired
     since it was fetched is refused, unless --allow-expired."""

import errno
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402


def repo_args(h, srv, cache):
    return ['--mirror', srv.url, '--suite', h.suite_for(xstest.ARCH), '--keyring',
            h.repo.keyring, '--cache-dir', cache]


def main(t, h):
    qemu = shutil.which('qemu-aarch64')
    t.ok(qemu is not None, 'qemu-aarch64 is installed (qemu-user)')
    srv = h.serve(h.repo.out)   # a server of our own, stopped below
    cache = h.mktemp('cache-')
    closure = h.index.closure(['hello'])

    # a. fetch
    r = xstest.sh([xstest.XSYSROOT, 'fetch'] + repo_args(h, srv, cache) +
                  ['--packages', 'hello', 'arm64'])
    t.eq(r.returncode, 0, 'xsysroot fetch --packages hello arm64 exits 0')
    t.eq(r.stderr, '', 'fetch is quiet on stderr when it is not a terminal')
    t.ok('view of %d packages' % len(closure) in r.stdout and
         '%d fetched' % len(closure) in r.stdout and '0 failed' in r.stdout,
         'the summary line counts the view (%d packages), all fetched' % len(closure),
         r.stdout)
    debs = sorted(os.path.basename(e['path']) for e in xstest.deb_gets(srv.log()))
    t.eq(debs, sorted(os.path.basename(h.index.pkgs[n]['Filename']) for n in closure),
         'each package of the view was downloaded exactly once')
    srv.clear_log()
    r = xstest.sh([xstest.XSYSROOT, 'fetch'] + repo_args(h, srv, cache) +
                  ['--packages', 'hello', 'arm64'])
    t.ok(r.returncode == 0 and '%d already cached' % len(closure) in r.stdout
         and not xstest.deb_gets(srv.log()),
         'a second fetch downloads no .deb', r.stdout + r.stderr)

    # b. offline, with the server running (to count) and stopped
    srv.clear_log()
    with h.mount(packages=['hello'], cache_dir=cache, mirror=srv.url,
                 extra=['--offline']) as m:
        t.eq(srv.log(), [], 'mount --offline made no request (server log empty)')
        if qemu:
            r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/hello')])
            t.ok(r.returncode == 0 and 'Hello, world!' in r.stdout,
                 'hello runs under qemu-aarch64 -L on the offline mount', r.stdout + r.stderr)
        t.eq(srv.log(), [], 'running hello made no request either')
        st = os.getxattr(m.path, 'user.xsysroot.status').decode()
        t.ok('offline=1' in st and 'debs_fetched=0' in st, 'status says offline, nothing fetched',
             st)
    srv.stop()
    with h.mount(packages=['hello'], cache_dir=cache, mirror=srv.url,
                 extra=['--offline']) as m:
        if qemu:
            r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/hello')])
            t.ok(r.returncode == 0 and 'Hello, world!' in r.stdout,
                 'with the server stopped: hello still runs', r.stdout + r.stderr)

        # ldd --offline from the same cache
        r = xstest.sh([xstest.XSYSROOT, 'ldd', '--offline'] + repo_args(h, srv, cache) +
                      ['--packages', 'hello', 'arm64', m.p('usr/bin/hello')])
        t.ok(r.returncode == 0 and 'libc.so.6' in r.stdout and 'libc6' in r.stdout,
             'ldd --offline resolves hello\'s libraries from the cache', r.stdout + r.stderr)

    # c. a package that is not cached
    zlib = h.index.pkgs.get('zlib1g')
    if t.ok(zlib is not None, 'the fixture has zlib1g'):
        with h.mount(packages=['hello', 'zlib1g'], cache_dir=cache, mirror=srv.url,
                     extra=['--offline']) as m:
            lib = [f for f in h.index.files_of('zlib1g') if '/libz.so.' in f][0]
            rel = xstest.present(lib.lstrip('./'))
            data, err = xstest.read_errno(m.p(rel), 16)
            t.eq(err, errno.EIO, 'a file of zlib1g (not fetched) is EIO offline: %s' % rel)
            log = m.daemon_log()
            t.ok("zlib1g %s" % zlib['Version'] in log and 'offline' in log and
                 'xsysroot fetch' in log,
                 'the daemon log names the package and says how to fetch it', log[-2000:])
            hello, err = xstest.read_errno(m.p('usr/bin/hello'), 4)
            t.eq(hello, b'\x7fELF', 'the cached packages of the same view still read')
            st = os.getxattr(m.path, 'user.xsysroot.status').decode()
            t.ok('zlib1g' in st, 'status lists the failure among the recent errors', st)

    # d. an empty cache
    empty = h.mktemp('empty-')
    m = h.try_mount(packages=['hello'], cache_dir=empty, mirror=srv.url, extra=['--offline'])
    t.ok(m.rc == 1 and 'no cached index for' in m.stderr and 'xsysroot fetch' in m.stderr
         and not m.was_mounted,
         'mount --offline on an empty cache: a clear error naming what to run', m.stderr)

    # e. Valid-Until, offline
    v = h.repo.variant(os.path.join(h.mktemp('variant-'), 'repo'))
    until = time.time() + 6
    v.resign(date=time.time() - 60, valid_until=until)
    vsrv = h.serve(v.out)
    vcache = h.mktemp('vcache-')
    r = xstest.sh([xstest.XSYSROOT, 'fetch'] + repo_args(h, vsrv, vcache) +
                  ['--packages', 'hello', 'arm64'])
    t.eq(r.returncode, 0, 'fetch from a repository whose Valid-Until is 6 s away')
    time.sleep(max(0, until - time.time()) + 1.5)
    vsrv.clear_log()
    m = h.try_mount(packages=['hello'], cache_dir=vcache, mirror=vsrv.url, extra=['--offline'])
    t.ok(m.rc == 1 and 'Valid-Until' in m.stderr and '--allow-expired' in m.stderr,
         'offline, the cached InRelease that has expired since is refused', m.stderr)
    with h.mount(packages=['hello'], cache_dir=vcache, mirror=vsrv.url,
                 extra=['--offline', '--allow-expired']) as m:
        t.eq(xstest.read_errno(m.p('usr/bin/hello'), 4)[0], b'\x7fELF',
             '... and accepted with --allow-expired')
    t.eq(vsrv.log(), [], 'neither made a request')


xstest.run(main)
