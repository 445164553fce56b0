#!/usr/bin/python3
"""The view's dpkg database keeps each fetched package's control files.

  a. on a fixture mount (--packages hello), once libc6 is fetched,
     /var/lib/dpkg/info/libc6.NAME holds every file of its control.tar
     but control (shlibs, symbols, triggers, md5sums, the maintainer
     scripts...), byte for byte as `dpkg-deb -e` extracts them, the
     scripts executable, and the library's package reads "libc6";
  b. a cache whose manifests were written before (format 1, rewritten
     here): mount --offline keeps working from them, without the control
     files; an online mount fetches libc6 again and has them.
"""

import os
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

LIBC = 'usr/lib/aarch64-linux-gnu/libc.so.6'
INFO = 'var/lib/dpkg/info'


def control_files(h):
    """{NAME: (bytes, executable)} of libc6's control.tar, as dpkg-deb -e
    extracts it, control left out."""
    deb = os.path.join(h.repo.out, h.index.pkgs['libc6']['Filename'])
    out = h.mktemp('ctl-')
    subprocess.run(['dpkg-deb', '-e', deb, out], check=True)
    want = {}
    for name in sorted(os.listdir(out)):
        if name == 'control':
            continue
        p = os.path.join(out, name)
        with open(p, 'rb') as f:
            want[name] = (f.read(), bool(os.stat(p).st_mode & stat.S_IXUSR))
    return want


def info_files(m):
    got = {}
    for name in sorted(os.listdir(m.p(INFO))):
        if name.startswith('libc6.') and not name.endswith('.list'):
            p = m.p(INFO + '/' + name)
            with open(p, 'rb') as f:
                got[name[len('libc6.'):]] = (f.read(), bool(os.stat(p).st_mode & stat.S_IXUSR))
    return got


def to_format1(cache):
    """Rewrite every cached manifest as the format 1 one an older build
    wrote: without the control files.  How many."""
    n = 0
    meta = os.path.join(cache, 'meta')
    for name in os.listdir(meta):
        if not name.startswith('manifest-'):
            continue
        p = os.path.join(meta, name)
        with open(p, 'rb') as f:
            lines = f.read().split(b'\n')
        if lines[0] != b'xsysroot-manifest 2':
            continue
        body = [ln for ln in lines[1:] if ln and not ln.startswith(b'end ') and
                not ln.split(b'\t')[8].startswith(INFO.encode() + b'/')]
        with open(p, 'wb') as f:
            f.write(b'\n'.join([b'xsysroot-manifest 1'] + body +
                                [b'end %d' % len(body), b'']))
        n += 1
    return n


def main(t, h):
    want = control_files(h)
    t.ok({'shlibs', 'symbols', 'triggers', 'md5sums', 'postinst'} <= set(want),
         "libc6's control.tar has shlibs, symbols, triggers, md5sums, postinst",
         ' '.join(want))
    srv = h.serve(h.repo.out)
    cache = h.mktemp('cache-')
    with h.mount(packages=['hello'], cache_dir=cache, mirror=srv.url) as m:
        with open(m.p(LIBC), 'rb') as f:
            f.read(4)
        got = info_files(m)
        t.eq(sorted(got), sorted(want), 'a. libc6 fetched: its control files in %s' % INFO)
        t.ok(got == want, 'a. their bytes and executable bits are those of its control.tar')
        t.eq(os.getxattr(m.p(INFO + '/libc6.shlibs'), 'user.xsysroot.package'), b'libc6',
             'a. libc6.shlibs belongs to libc6')
        t.ok(not os.path.exists(m.p(INFO + '/libc6.control')), 'a. no libc6.control')
    n = to_format1(cache)
    t.ok(n > 0, 'b. %d cached manifests rewritten as format 1' % n)
    with h.mount(packages=['hello'], cache_dir=cache, mirror=srv.url,
                 extra=['--offline']) as m:
        with open(m.p(LIBC), 'rb') as f:
            head = f.read(4)
        t.ok(head == b'\x7fELF' and not info_files(m),
             'b. offline: libc6 read from the format 1 manifest, no control files')
    srv.clear_log()
    with h.mount(packages=['hello'], cache_dir=cache, mirror=srv.url) as m:
        with open(m.p(LIBC), 'rb') as f:
            f.read(4)
        t.ok(info_files(m) == want, 'b. online: libc6 fetched again, its control files there')
        gets = [os.path.basename(e['path']) for e in xstest.deb_gets(srv.log())]
        t.ok(any(g.startswith('libc6_') for g in gets), 'b. libc6 .deb downloaded again',
             ' '.join(gets))


xstest.run(main)
