#!/usr/bin/python3
"""The view as a sysroot: layout fix-ups, loader order and --bind.

- merged /usr: lib, bin, sbin are relative links into usr/, the libraries
  appear under usr/lib/TRIPLET; no absolute symlink anywhere in the view
  (`find MNT -type l -lname '/*'` prints nothing); no proc, sys, dev, run,
  tmp at the top;
- /etc/ld.so.conf.d/00-xsysroot.conf puts /usr/local/lib first, an empty
  /etc/ld.so.preload;
- --bind HOSTDIR:/usr/local/lib overlays a host directory: a library built
  there (an arm64 libz.so.1 of our own, with its own zlibVersion) is listed
  first in the generated ld.so.cache and wins over the view's zlib1g at run
  time, which is seed 002's ld.so.conf order problem, fixed; a library added
  to the directory while mounted appears in ld.so.cache (regenerated).
"""

import os
import shutil
import sys
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

TRIPLET = 'aarch64-linux-gnu'

FAKE_ZLIB = r'''
const char *zlibVersion(void) { return "xs-local"; }
'''
FAKE_BAR = r'''
int xs_bar(void) { return 7; }
'''
PROG = r'''
#include <stdio.h>
const char *zlibVersion(void);
int main(void) { printf("zlib %s\n", zlibVersion()); return 0; }
'''


def ldconfig_entries(path):
    """{key: value} from the host's `ldconfig -p -C path` (first value wins)."""
    r = sh(['ldconfig', '-p', '-C', path], timeout=60)
    out = {}
    for line in r.stdout.splitlines()[1:]:
        if '=>' in line:
            left, value = line.rsplit('=>', 1)
            out.setdefault(left.strip().split(' ')[0], value.strip())
    return out


def main(t, h):
    clang = shutil.which('clang')
    qemu = shutil.which('qemu-aarch64')
    for tool, pkg in ((clang, 'clang'), (shutil.which('ld.lld'), 'lld'), (qemu, 'qemu-user')):
        if not t.ok(tool is not None, '%s is installed (package %s; a required tool)' % (pkg, pkg)):
            return

    with h.mount(packages=['hello']) as m:
        for name in ('lib', 'bin', 'sbin'):
            p = m.p(name)
            t.ok(os.path.islink(p) and os.readlink(p) == 'usr/' + name,
                 '/%s is the relative link usr/%s' % (name, name),
                 os.readlink(p) if os.path.islink(p) else 'not a link')
        t.ok(os.path.exists(m.p('lib/%s/libc.so.6' % TRIPLET)) and
             os.path.exists(m.p('usr/lib/%s/libc.so.6' % TRIPLET)),
             'libc.so.6 is reachable as /lib/%s and /usr/lib/%s' % (TRIPLET, TRIPLET))
        hidden = [d for d in ('proc', 'sys', 'dev', 'run', 'tmp') if os.path.lexists(m.p(d))]
        t.eq(hidden, [], 'no proc, sys, dev, run or tmp at the top of the view')
        r = sh(['find', m.path, '-type', 'l', '-lname', '/*'], timeout=300)
        t.ok(r.returncode == 0 and r.stdout == '',
             '`find MNT -type l -lname "/*"` prints nothing', r.stdout[:2000] + r.stderr[-500:])
        with open(m.p('etc/ld.so.conf.d/00-xsysroot.conf')) as f:
            dirs = [x for x in f.read().splitlines() if x and not x.startswith('#')]
        t.eq(dirs[:4], ['/usr/local/lib', '/usr/local/lib/' + TRIPLET, '/lib/' + TRIPLET,
                        '/usr/lib/' + TRIPLET], 'ld.so.conf.d order: /usr/local first, then multiarch')
        t.eq(os.path.getsize(m.p('etc/ld.so.preload')), 0, '/etc/ld.so.preload is empty')
        ent = ldconfig_entries(m.p('etc/ld.so.cache'))
        t.eq(ent.get('libc.so.6'), '/usr/lib/%s/libc.so.6' % TRIPLET,
             'ldconfig -p -C MNT/etc/ld.so.cache lists libc.so.6 in the view')

    work = os.path.realpath(h.mktemp('bind-'))
    bind = os.path.join(work, 'lib')
    os.mkdir(bind)
    for name, text in (('z.c', FAKE_ZLIB), ('bar.c', FAKE_BAR), ('prog.c', PROG)):
        with open(os.path.join(work, name), 'w') as f:
            f.write(text)
    target = ['--target=%s' % TRIPLET, '-fuse-ld=lld']
    # libraries without libc: nothing from a sysroot is needed to link them
    r = sh([clang] + target + ['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libz.so.1', '-o',
                               os.path.join(bind, 'libz.so.1'), os.path.join(work, 'z.c')])
    if not t.ok(r.returncode == 0, 'an arm64 libz.so.1 of our own builds', r.stderr[-2000:]):
        return
    os.symlink('libz.so.1', os.path.join(bind, 'libz.so'))

    with h.mount(packages=['zlib1g', 'libc6-dev'], extra=['--bind', '%s:/usr/local/lib' % bind]) as m:
        t.ok(sorted(os.listdir(m.p('usr/local/lib'))) == ['libz.so', 'libz.so.1'],
             'the bound directory is listed at /usr/local/lib', str(os.listdir(m.p('usr/local/lib'))))
        ent = ldconfig_entries(m.p('etc/ld.so.cache'))
        t.eq(ent.get('libz.so.1'), '/usr/local/lib/libz.so.1',
             'ld.so.cache: /usr/local/lib/libz.so.1 comes before the view\'s zlib1g')
        prog = os.path.join(work, 'prog')
        r = sh([clang] + target + ['--sysroot=' + m.path, '-o', prog, os.path.join(work, 'prog.c'),
                                   '-L' + bind, '-lz'])
        if t.ok(r.returncode == 0, 'a program links against the bound libz with --sysroot=MNT',
                r.stderr[-2000:]):
            r = sh([qemu, '-L', m.path, prog], timeout=120, env=xstest.clean_env(LC_ALL='C'))
            t.eq(r.stdout, 'zlib xs-local\n', 'at run time the /usr/local/lib library wins')
        # a new library in the bound directory: the cache follows
        r = sh([clang] + target + ['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libxsbar.so.3',
                                   '-o', os.path.join(bind, 'libxsbar.so.3'),
                                   os.path.join(work, 'bar.c')])
        t.ok(r.returncode == 0, 'a second library builds into the bound directory', r.stderr[-2000:])
        deadline = time.time() + 10
        while time.time() < deadline:
            ent = ldconfig_entries(m.p('etc/ld.so.cache'))
            if 'libxsbar.so.3' in ent:
                break
            time.sleep(0.5)
        t.eq(ent.get('libxsbar.so.3'), '/usr/local/lib/libxsbar.so.3',
             'ld.so.cache is regenerated when the bound directory changes')
        t.ok(not os.access(m.p('usr/local/lib/libz.so.1'), os.W_OK) or
             sh(['touch', m.p('usr/local/lib/libz.so.1')]).returncode != 0,
             'the bound directory is read-only in the view')


xstest.run(main)
