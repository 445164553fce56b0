#!/usr/bin/python3
"""Every architecture of the fixture (seven bookworm ones in suite xstest,
riscv64 from trixie in xstest-trixie): a --packages hello view runs
`qemu-Q -L MNT MNT/usr/bin/hello`, and its generated /etc/ld.so.cache (once
xsysroot makes one) lists the view's libc.so.6 with the architecture's flags.
An alias (aarch64) mounts the arm64 view; an architecture the mirror does not
carry, or that xsysroot does not know, fails with an error that names it."""

import os
import re
import shutil
import struct
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

HELLO = 'Hello, world!\n'
LIBC_LINE = re.compile(r'^\s*libc\.so\.6 \(([^)]*)\) => (\S+)\s*$')
# glibc sysdeps/generic/ldconfig.h FLAG_* and how elf/cache.c print_entry
# names them (the text of `ldconfig -p`).
FLAG_TYPE = {0: 'libc4', 1: 'ELF', 2: 'libc5', 3: 'libc6'}
FLAG_REQUIRED = {0x0000: '', 0x0100: ',64bit', 0x0200: ',IA-64', 0x0300: ',x86-64',
                 0x0400: ',64bit', 0x0500: ',64bit', 0x0600: ',N32', 0x0700: ',64bit',
                 0x0800: ',x32', 0x0900: ',hard-float', 0x0a00: ',AArch64',
                 0x0b00: ',soft-float', 0x0c00: ',nan2008', 0x0d00: ',N32,nan2008',
                 0x0e00: ',64bit,nan2008', 0x0f00: ',soft-float', 0x1000: ',double-float'}


def flag_name(flags):
    return FLAG_TYPE.get(flags & 0xff, 'unknown') + FLAG_REQUIRED.get(flags & 0xff00,
                                                                      ',unknown')


def parse_ldcache(data):
    """(byte order, [(flags, key, value)]) of a glibc-ld.so.cache1.1 file,
    read in the byte order its header declares (glibc sysdeps/generic/
    dl-cache.h: struct cache_file_new, 48 bytes; struct file_entry_new, 24
    bytes; string offsets from the start of the file)."""
    if data[:20] != b'glibc-ld.so.cache1.1' or len(data) < 48:
        raise ValueError('not a glibc-ld.so.cache1.1 file')
    order = {2: '<', 3: '>'}.get(data[28])
    if order is None:
        raise ValueError('endianness flag %d' % data[28])
    nlibs, _ = struct.unpack_from(order + 'II', data, 20)
    out = []
    for i in range(nlibs):
        flags, key, value = struct.unpack_from(order + 'iII', data, 48 + 24 * i)

        def string(off):
            return data[off:data.index(b'\0', off)].decode()
        out.append((flags, string(key), string(value)))
    return ('little' if order == '<' else 'big'), out


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:], r.stderr[-2000:])


def check_hello(t, h, m, arch, qemu):
    info = xstest.ARCHES[arch]
    head, err = xstest.read_errno(m.p('usr/bin/hello'), 20)
    t.eq(xstest.elf_machine(head or b''), info['elf'],
         '%s: MNT/usr/bin/hello is an ELF file of the architecture (class, data, machine)' % arch)
    path = shutil.which('qemu-' + qemu)
    if not t.ok(path is not None, '%s: qemu-%s is installed (qemu-user)' % (arch, qemu)):
        return
    r = sh([path, '-L', m.path, m.p('usr/bin/hello')], timeout=120,
           env=xstest.clean_env(LC_ALL='C.UTF-8'))
    ok = t.ok(r.returncode == 0 and r.stdout == HELLO,
              '%s: qemu-%s -L MNT MNT/usr/bin/hello prints Hello, world!' % (arch, qemu), show(r))
    if not ok:
        for rel in ('lib', 'lib64', 'usr/lib/' + info['triplet']):
            try:
                st = os.readlink(m.p(rel)) if os.path.islink(m.p(rel)) else \
                    ('dir' if os.path.isdir(m.p(rel)) else 'absent')
            except OSError as e:
                st = str(e)
            t.diag('%s: %s -> %s' % (arch, rel, st))
    return ok


def check_ldcache(t, m, arch):
    """`ldconfig -p -C MNT/etc/ld.so.cache` (the host's ldconfig prints any
    little-endian architecture's cache) lists libc.so.6 with ARCH's flags, at
    a path that exists in the view.  The host's ldconfig refuses a big-endian
    cache (s390x): that one is read here by the layout of glibc's dl-cache.h."""
    want = xstest.ARCHES[arch]['flags']
    desc = '%s: ldconfig -p lists the view\'s libc.so.6 with flags %s' % (arch, ' or '.join(want))
    cache = m.p('etc/ld.so.cache')
    if not os.path.exists(cache):
        t.skip(desc, 'no generated ld.so.cache yet')
        return
    big = xstest.ARCHES[arch]['elf'][1] == 2
    r = sh(['ldconfig', '-p', '-C', cache], timeout=60)
    hits = []
    if big:
        t.ok(r.returncode != 0 and 'endianness' in r.stderr,
             '%s: the host ldconfig sees a cache of the other byte order' % arch, show(r))
        desc = '%s: the big-endian ld.so.cache lists the view\'s libc.so.6 with flags %s' % (
            arch, ' or '.join(want))
        try:
            with open(cache, 'rb') as f:
                order, entries = parse_ldcache(f.read())
            t.eq(order, 'big', '%s: ld.so.cache is big-endian' % arch)
            hits = [(flag_name(fl), v) for fl, k, v in entries if k == 'libc.so.6']
        except (OSError, ValueError, struct.error) as e:
            t.ok(False, '%s: ld.so.cache parses' % arch, str(e))
            return
    else:
        for line in r.stdout.splitlines():
            mm = LIBC_LINE.match(line)
            if mm:
                hits.append((mm.group(1).split(', ')[0], mm.group(2)))
        # the reader used for big-endian caches agrees with ldconfig here
        try:
            with open(cache, 'rb') as f:
                _, entries = parse_ldcache(f.read())
            mine = [(flag_name(fl), v) for fl, k, v in entries if k == 'libc.so.6']
        except (OSError, ValueError, struct.error) as e:
            mine = str(e)
        t.eq(mine, hits, '%s: dl-cache.h reading of ld.so.cache agrees with ldconfig -p' % arch)
    good = [(f, p) for f, p in hits if f in want and p.startswith('/')
            and os.path.lexists(m.p(p))]
    t.ok((big or r.returncode == 0) and good, desc,
         'ldconfig exit %s; libc.so.6 entries: %s\n%s' % (r.returncode, hits, r.stderr[-1000:]))
    foreign = [(f, p) for f, p in hits if f not in want]
    t.ok(not foreign, '%s: no libc.so.6 entry of another architecture in the cache' % arch,
         'entries: %s' % foreign)


def main(t, h):
    results = {}
    for arch, suite, qemu in xstest.ARCH_CASES:
        t.eq(h.suite_for(arch), suite, '%s: fixture suite %s carries it' % (arch, suite))
        m = h.start_mount(arch=arch, packages=['hello'])
        try:
            if not t.ok(m.rc == 0 and xstest.is_mounted(m.path),
                        '%s (%s): mount --packages hello' % (arch, suite),
                        'exit %s: %s\ndaemon log tail:\n%s'
                        % (m.rc, m.stderr.strip()[-1500:], m.daemon_log()[-1500:])):
                results[arch] = 'mount failed'
                continue
            ok = check_hello(t, h, m, arch, qemu)
            results[arch] = 'ok' if ok else 'hello failed'
            check_ldcache(t, m, arch)
        finally:
            xstest.cleanup_mount(m, t)
    t.diag('hello per architecture: ' + ', '.join('%s %s' % kv for kv in results.items()))

    # an alias names the same architecture: aarch64 is arm64
    with h.mount(arch='aarch64', packages=['hello']) as m:
        libc = next((m.p(p) for p in ('usr/lib/aarch64-linux-gnu/libc.so.6',
                                       'lib/aarch64-linux-gnu/libc.so.6')
                     if os.path.lexists(m.p(p))), m.p('usr/lib/aarch64-linux-gnu/libc.so.6'))
        head, err = xstest.read_errno(libc, 20)
        t.eq(xstest.elf_machine(head or b''), (2, 1, 183),
             'aarch64 (alias): the view has the arm64 libc.so.6')
        t.ok(not os.path.lexists(m.p('usr/lib/arm-linux-gnueabihf')),
             'aarch64 (alias): no other architecture in the view')
        qemu = shutil.which('qemu-aarch64')
        if qemu:
            r = sh([qemu, '-L', m.path, m.p('usr/bin/hello')], timeout=120,
                   env=xstest.clean_env())
            t.ok(r.returncode == 0 and r.stdout == HELLO,
                 'aarch64 (alias): hello runs under qemu-aarch64 -L MNT', show(r))

    # an architecture xsysroot knows but the fixture's Release does not list
    url = h.server.url
    for arch, known in (('loong64', True), ('sparc64', False)):
        m = h.try_mount(arch=arch, timeout=120)
        t.diag('%s: exit %s, stderr: %s' % (arch, m.rc, m.stderr.strip()[:600]))
        t.ok(m.rc not in (0, None), '%s: mount fails' % arch, 'exit %s' % m.rc)
        t.ok(not m.was_mounted, '%s: nothing is mounted' % arch)
        t.ok(arch in m.stderr, '%s: the error names the architecture' % arch, m.stderr)
        t.ok(m.stderr.strip() != '' and len(m.stderr.strip().splitlines()) <= 5,
             '%s: the error is a short message' % arch, m.stderr)
        if known:
            t.ok(url in m.stderr or url.rstrip('/') in m.stderr,
                 '%s (not in Release Architectures): the error names the mirror' % arch,
                 m.stderr)


xstest.run(main)
