#!/usr/bin/python3
"""The view's ld.so.cache against glibc's own ldconfig: the fixture's base
view (libc6, libc-bin, libgcc-s1, libstdc++6) is copied out of the mount, and
the view's arm64 ldconfig (under qemu-user: the host's refuses foreign
libraries) builds a cache of the copy (-r COPY -X, no links made).  Both
caches, as the host's `ldconfig -p -C` prints them, list the same keys with
the same flags and paths, in the same order, but for two things the
generator does on purpose: it names the directory usr/lib/TRIPLET where
ldconfig names the first configured path, lib/TRIPLET (one directory in a
merged-/usr view), and it drops an entry whose key and flags an earlier
entry already has (ld.so never reaches it; ldconfig keeps the loader of
/lib).  libmemusage.so, whose SONAME is its unversioned file name, is
listed; libstdc++.so.6.0.30, whose SONAME is libstdc++.so.6, is not."""

import os
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

TRIPLET = 'aarch64-linux-gnu'


def listing(path):
    """[(key, flags, value)] from the host's `ldconfig -p -C path`."""
    r = sh(['ldconfig', '-p', '-C', path], timeout=60)
    out = []
    for line in r.stdout.splitlines()[1:]:
        if '=>' in line:
            left, value = line.rsplit('=>', 1)
            key, _, flags = left.strip().partition(' ')
            out.append((key, flags.strip(), value.strip()))
    return r, out


def first_of_each(entries, merged):
    """Paths under /lib/ as /usr/lib/ (merged /usr), later (key, flags)
    repeats dropped."""
    seen, out = set(), []
    for key, flags, value in entries:
        if merged and value.startswith('/lib/'):
            value = '/usr' + value
        if (key, flags) not in seen:
            seen.add((key, flags))
            out.append((key, flags, value))
    return out


def main(t, h):
    qemu = shutil.which('qemu-aarch64')
    if not t.ok(qemu is not None, 'qemu-aarch64 is installed (package qemu-user)'):
        return
    copy = h.mktemp('ldconfig-')
    with h.mount() as m:
        r = sh(['cp', '-a', m.path + '/.', copy], timeout=300)
        if not t.ok(r.returncode == 0, 'the view copies out (cp -a)', r.stderr[-2000:]):
            return
    ldc = os.path.join(copy, 'sbin', 'ldconfig')
    if not t.ok(os.path.isfile(ldc), 'the view has libc-bin\'s /sbin/ldconfig'):
        return
    r = sh([qemu, ldc, '-X', '-r', copy, '-C', '/out.cache'], timeout=300,
           env=xstest.clean_env(LC_ALL='C'))
    theirs = os.path.join(copy, 'out.cache')
    if not t.ok(os.path.isfile(theirs), 'the view\'s ldconfig builds a cache of the copy',
                r.stdout[-1000:] + r.stderr[-2000:]):
        return
    r1, want = listing(theirs)
    r2, got = listing(os.path.join(copy, 'etc', 'ld.so.cache'))
    t.ok(r1.returncode == 0 and r2.returncode == 0 and len(want) > 10,
         'the host\'s ldconfig -p prints both caches (%d and %d entries)' % (len(want), len(got)),
         r1.stderr + r2.stderr)
    merged = os.path.islink(os.path.join(copy, 'lib'))
    want = first_of_each(want, merged)
    t.eq(got, want, 'the view\'s ld.so.cache has ldconfig\'s entries, in its order')
    keys = [k for k, _, _ in got]
    t.ok('libmemusage.so' in keys, 'libmemusage.so (unversioned soname) is listed', keys)
    t.ok(not [k for k in keys if k.startswith('libstdc++.so.6.')],
         'libstdc++.so.6.0.N (a real file beside its soname link) is not', keys)


xstest.run(main)
