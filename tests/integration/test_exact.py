#!/usr/bin/python3
"""The view is exactly the dependency closure of what was declared.

A mount with --packages zlib1g-dev on the fixture repository, whose arm64
archive also ships libssl-dev (libssl.pc, libcrypto.pc, openssl.pc, the
headers under /usr/include/openssl), libxml2 and libsqlite3-0, none of them
in zlib1g-dev's closure:
  - the mount holds the closure the fixture's Packages give, and the status
    names the declared package and the base;
  - pkg-config (PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_LIBDIR into the mount)
    finds zlib, the declared library, and none of libssl, libcrypto and
    openssl (the three modules the archive ships undeclared);
  - stat and ls of four undeclared libraries all miss;
  - the package count in the status and in the generated
    /var/lib/dpkg/status is the same after those probes;
  - a directory probed before and after other lookups (one of them of a .pc
    file its package ships) gives the same answer, by stat and by listing
    its parent, so no cached "no such file" can outlive a change of the view.
"""

import os
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

TRIPLET = 'aarch64-linux-gnu'
LIB = 'usr/lib/' + TRIPLET
# undeclared libraries the fixture's archive ships: (path, package)
UNDECLARED = [(LIB + '/libssl.so', 'libssl-dev'), (LIB + '/libcrypto.so', 'libssl-dev'),
              (LIB + '/libxml2.so.2', 'libxml2'), (LIB + '/libsqlite3.so.0', 'libsqlite3-0')]
PC_MISSING = ['libssl', 'libcrypto', 'openssl']


def status_kv(path):
    kv = {}
    for line in os.getxattr(path, 'user.xsysroot.status').decode().splitlines():
        k, _, v = line.partition('=')
        kv.setdefault(k, v)
    return kv


def dpkg_count(m):
    with open(m.p('var/lib/dpkg/status')) as f:
        return sum(1 for line in f if line.startswith('Package: '))


def probe(path):
    """'exists' or the errno name of a stat of path."""
    try:
        os.stat(path)
        return 'exists'
    except OSError as e:
        return 'errno %d' % e.errno


def drop_dentries():
    """Make the kernel forget cached dentries (negative ones too), so that
    the next lookups reach the daemon."""
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('2\n')


def main(t, h):
    if not t.ok(sh(['which', 'pkg-config']).returncode == 0,
                'pkg-config is installed (package pkg-config; a required tool)'):
        return
    idx = h.index
    closure = idx.closure(['zlib1g-dev'])
    shipped = {p: pkg for p, pkg in UNDECLARED if pkg in idx.pkgs}
    t.eq(sorted(shipped), sorted(p for p, _ in UNDECLARED),
         'the fixture archive has the packages of the four undeclared libraries')
    t.ok(not any(pkg in closure for _, pkg in UNDECLARED) and 'libssl-dev' not in closure,
         'none of them is in the closure of zlib1g-dev (%d packages)' % len(closure))

    with h.mount(packages=['zlib1g-dev']) as m:
        kv = status_kv(m.path)
        before = (kv.get('packages'), dpkg_count(m))
        t.eq(int(kv.get('packages', -1)), len(closure),
             'the view holds the closure of zlib1g-dev and the base (%d packages)' % len(closure))
        t.eq(before[1], len(closure), 'the generated dpkg status lists each of them')
        t.eq((kv.get('declared'), kv.get('base')),
             ('zlib1g-dev', 'libc6,libc-bin,libgcc-s1,libstdc++6'),
             'the status names the declared package and the base')

        # a directory an undeclared package ships, probed first
        inc = m.p('usr/include/openssl')
        first = (probe(inc), 'openssl' in os.listdir(m.p('usr/include')))
        t.eq(first, ('errno 2', False), 'usr/include/openssl (libssl-dev): missing, not listed')

        env = xstest.clean_env(PKG_CONFIG_SYSROOT_DIR=m.path,
                               PKG_CONFIG_LIBDIR='%s/%s/pkgconfig:%s/usr/share/pkgconfig'
                               % (m.path, LIB, m.path))
        r = sh(['pkg-config', '--modversion', 'zlib'], env=env)
        t.ok(r.returncode == 0 and r.stdout.strip(),
             'pkg-config finds zlib, declared (%s)' % r.stdout.strip(), r.stderr)
        for mod in PC_MISSING:
            r = sh(['pkg-config', '--exists', '--print-errors', mod], env=env)
            t.ok(r.returncode != 0, 'pkg-config: %s (libssl-dev, undeclared) is not found' % mod,
                 r.stdout + r.stderr)
        for path, pkg in UNDECLARED:
            t.eq(probe(m.p(path)), 'errno 2', 'stat /%s (%s, undeclared): ENOENT' % (path, pkg))
        listed = set(os.listdir(m.p(LIB)))
        t.eq(sorted(os.path.basename(p) for p, _ in UNDECLARED if os.path.basename(p) in listed),
             [], 'ls /%s lists none of them' % LIB)
        t.ok('libz.so' in listed, 'ls /%s lists libz.so (zlib1g-dev)' % LIB)
        r = sh(['ls', m.p(LIB + '/pkgconfig/libssl.pc')])
        t.ok(r.returncode != 0, 'ls of libssl.pc misses', r.stdout)

        kv = status_kv(m.path)
        t.eq((kv.get('packages'), dpkg_count(m)), before,
             'after the probes: the same package count in the status and the dpkg status (%s)'
             % before[0])
        # the kernel's cached answers go first (a negative dentry would hide a
        # change of the view): the daemon answers again
        drop_dentries()
        again = (probe(inc), 'openssl' in os.listdir(m.p('usr/include')))
        t.eq(again, first, 'usr/include/openssl probed again after the other lookups: the same '
             'answer (missing, not listed)')
        t.ok('to the view' not in m.daemon_log(), 'the daemon log names no package added',
             m.daemon_log()[-2000:])


xstest.run(main)
