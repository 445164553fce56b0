#!/usr/bin/python3
"""`xsysroot status` and the user.xsysroot.* extended attributes of a live
mount:
  a. the status of a fresh mount: architecture, source, packages in the view
     (the closure computed here from the fixture's Packages), the declared
     packages and the base, none fetched;
  b. per-file provenance: a file of a package not fetched yet (its directory
     listed first, which fetches nothing; getxattr reaches it through a
     lookup, which fetches it) and a file of a fetched package carry their
     package, version and SHA-256, checked against the fixture's Packages and
     the .deb extracted here with dpkg-deb; a generated file (ld.so.cache)
     has a digest, the package "generated" and no version; unknown names, size probes and short
     buffers behave like any file system (ENODATA, size, ERANGE);
  c. the counters after those accesses agree with the server's request log,
     and a failed fetch appears among the recent errors with its package;
  d. a mount whose daemon was killed is listed as dead (exit status 1)."""

import ctypes
import errno
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

PFX = 'user.xsysroot.'
libc = ctypes.CDLL(None, use_errno=True)
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t


def status_kv(path):
    raw = os.getxattr(path, PFX + 'status').decode()
    kv = {}
    for line in raw.splitlines():
        k, _, v = line.partition('=')
        kv.setdefault(k, []).append(v)
    return raw, kv


def one(kv, key):
    return kv.get(key, [None])[0]


def xattr_errno(path, name, size):
    """(return value, errno) of getxattr(2) with a SIZE-byte buffer."""
    buf = ctypes.create_string_buffer(max(size, 1))
    n = libc.getxattr(path.encode(), name.encode(), buf if size else None, size)
    return n, (ctypes.get_errno() if n < 0 else 0), buf.raw[:max(n, 0)]


def main(t, h):
    idx = h.index
    closure = idx.closure(['hello'])
    ref = idx.extract(['hello', 'libc6'], h.mktemp('ref-'))
    with h.mount(packages=['hello'], extra=['--fetch-timeout', '10']) as m:
        # a. a fresh mount
        raw, kv = status_kv(m.path)
        t.eq(one(kv, 'arch'), 'arm64', 'status: the architecture')
        t.eq(kv.get('source'), ['%s %s' % (h.server.url.rstrip('/'), m.suite)],
             'status: the source (mirror and suite)')
        t.eq(int(one(kv, 'packages')), len(closure),
             'status: packages in the view = the closure of hello and the base (%d)'
             % len(closure))
        t.eq(int(one(kv, 'debs_fetched')), 0, 'status: nothing fetched at mount time')
        t.eq((one(kv, 'declared'), one(kv, 'base')),
             ('hello', 'libc6,libc-bin,libgcc-s1,libstdc++6'),
             'status: the declared packages and the base, whose closure the view is')
        t.eq(kv.get('error'), None, 'status: no error yet')

        # b. provenance; listing usr/bin fetches nothing
        h.server.clear_log()
        t.ok('hello' in os.listdir(m.p('usr/bin')) and not xstest.deb_gets(h.server.log()),
             'listing usr/bin shows hello and fetches no package')
        hello = m.p('usr/bin/hello')
        want_ver = idx.pkgs['hello']['Version']
        t.eq(os.getxattr(hello, PFX + 'package'), b'hello',
             'a file of a package not fetched yet: user.xsysroot.package')
        t.eq(os.getxattr(hello, PFX + 'version').decode(), want_ver,
             'user.xsysroot.version is the fixture\'s version of hello')
        got_sha = os.getxattr(hello, PFX + 'sha256').decode()
        t.eq(got_sha, xstest.sha256_file(os.path.join(ref, 'usr/bin/hello')),
             'user.xsysroot.sha256 is the SHA-256 of usr/bin/hello as dpkg-deb extracts it')
        t.eq(len([e for e in xstest.deb_gets(h.server.log()) if '/hello_' in e['path']]), 1,
             'reaching it fetched hello once')
        names = sorted(os.listxattr(hello))
        t.eq(names, sorted(PFX + k for k in ('package', 'version', 'sha256')),
             'listxattr names the three attributes')
        real = os.path.realpath(m.p('usr/lib/aarch64-linux-gnu/libc.so.6'))
        rel = os.path.relpath(real, m.path)
        shipped = [os.path.join(ref, c) for c in (rel, rel[len('usr/'):]) if
                   os.path.isfile(os.path.join(ref, c)) and not os.path.islink(os.path.join(ref, c))]
        t.eq((os.getxattr(real, PFX + 'package'), os.getxattr(real, PFX + 'version').decode(),
              os.getxattr(real, PFX + 'sha256').decode()),
             (b'libc6', idx.pkgs['libc6']['Version'],
              xstest.sha256_file(shipped[0]) if shipped else None),
             'a file of libc6 (%s): package, version and digest as extracted' % rel)
        cache = m.p('etc/ld.so.cache')
        t.eq(os.getxattr(cache, PFX + 'package'), b'generated',
             'ld.so.cache (generated): package "generated"')
        n, err, _ = xattr_errno(cache, PFX + 'version', 0)
        t.ok(n < 0 and err == errno.ENODATA, 'ld.so.cache has no version (ENODATA)')
        t.eq(os.getxattr(cache, PFX + 'sha256').decode(), xstest.sha256_file(cache),
             'ld.so.cache has the digest of its content')
        t.eq(sorted(os.listxattr(cache)), [PFX + 'package', PFX + 'sha256'],
             'listxattr of ld.so.cache: package and sha256')
        n, err, _ = xattr_errno(hello, PFX + 'nosuch', 100)
        t.ok(n < 0 and err == errno.ENODATA, 'an unknown name is ENODATA')
        n, err, _ = xattr_errno(hello, 'user.other', 100)
        t.ok(n < 0 and err == errno.ENODATA, 'a name outside user.xsysroot. is ENODATA')
        n, err, _ = xattr_errno(hello, PFX + 'sha256', 0)
        t.eq((n, err), (64, 0), 'a size-0 probe of sha256 gives its size (64)')
        n, err, _ = xattr_errno(hello, PFX + 'sha256', 10)
        t.ok(n < 0 and err == errno.ERANGE, 'a 10-byte buffer for sha256 is ERANGE')
        n, err, val = xattr_errno(hello, PFX + 'package', 5)
        t.eq((n, val), (5, b'hello'), 'an exact-size buffer gets the value')
        n, err, _ = xattr_errno(m.path, PFX + 'package', 100)
        t.ok(n < 0 and err == errno.ENODATA, 'the root (no package) has no package attribute')

        # c. counters and a failed fetch
        # let the background prefetches of hello's libraries end
        deadline = time.time() + 20
        while time.time() < deadline:
            time.sleep(0.5)
            if one(status_kv(m.path)[1], 'in_flight') == '0':
                break
        h.server.wait_idle()
        # a package of the view that nothing has fetched yet
        got = {os.path.basename(e['path']) for e in xstest.deb_gets(h.server.log())}
        victim = None
        for name in closure:
            if os.path.basename(idx.pkgs[name]['Filename']) in got:
                continue
            files = [f for f in idx.files_of(name) if xstest.present(f.lstrip('./'))]
            if files:
                victim = (name, xstest.present(files[0].lstrip('./')))
                break
        _, kv = status_kv(m.path)
        log = h.server.log()
        t.eq(int(one(kv, 'debs_fetched')), len(xstest.deb_gets(log)),
             'status: debs_fetched = .debs in the server log (%d)' % len(xstest.deb_gets(log)))
        t.eq(int(one(kv, 'deb_bytes')), xstest.deb_bytes(log),
             'status: deb_bytes = .deb bytes the server sent')
        t.eq(int(one(kv, 'packages_fetched')), int(one(kv, 'debs_fetched')),
             'status: every fetched package counted once')
        if t.ok(victim is not None, 'a package of the view not fetched yet', closure):
            name, rel = victim
            fname = os.path.basename(idx.pkgs[name]['Filename'])
            h.server.add_fault(match=re.escape(fname), action='status', arg=404)
            data, err = xstest.read_errno(m.p(rel), 16)
            t.eq(err, errno.EIO, 'a file of %s while its .deb is 404: EIO' % name)
            h.server.clear_faults()
            raw, kv = status_kv(m.path)
            errs = kv.get('error', [])
            t.ok(len(errs) == 1 and name in errs[0] and errs[0].split(' ', 1)[0].isdigit(),
                 'status: the failure is a recent error, with its time and package', raw)
            t.ok(int(one(kv, 'fetch_failures')) >= 1, 'status: fetch_failures counted')
            r = xstest.sh([xstest.XSYSROOT, 'status', m.path])
            t.ok(r.returncode == 0 and '%s: arm64, live' % m.path in r.stdout
                 and 'recent errors:' in r.stdout and name in r.stdout
                 and 'packages:    %d in the view' % len(closure) in r.stdout
                 and 'declared:    hello (base: libc6,libc-bin,libgcc-s1,libstdc++6)'
                 in r.stdout,
                 'xsysroot status MNT prints the mount, its counters and the error',
                 r.stdout + r.stderr)
        r = xstest.sh([xstest.XSYSROOT, 'status'])   # other mounts of the host may be dead
        t.ok(r.returncode in (0, 1) and m.path + ': arm64, live' in r.stdout,
             'xsysroot status lists the mount', r.stdout + r.stderr)

        # d. a dead mount
        xstest.kill_daemon(m)
        r = xstest.sh([xstest.XSYSROOT, 'status', m.path])
        t.ok(r.returncode == 1 and 'dead' in r.stdout and 'xsysroot umount' in r.stdout,
             'a mount whose daemon was killed is listed as dead (exit 1)', r.stdout + r.stderr)
        r = xstest.sh([xstest.XSYSROOT, 'status'])
        t.ok(r.returncode == 1 and m.path + ': arm64, dead' in r.stdout,
             'xsysroot status (all mounts) shows it dead too', r.stdout + r.stderr)
    r = xstest.sh([xstest.XSYSROOT, 'status', h.tmp])
    t.ok(r.returncode == 1 and 'not an xsysroot mount' in r.stderr,
         'status of a directory that is no xsysroot mount: exit 1 and why', r.stderr)


xstest.run(main)
