#!/usr/bin/python3
"""`xsysroot run arm64 --strict --native-tools`: the hybrid build root.

Against the host's Debian mirror (its apt sources, read from /etc/apt, as
xsysroot reads them by default), with a cache kept between runs in
/var/tmp/xsysroot-test-hybrid-UID (the first run fetches the arm64 and amd64
indexes and about 60 MB of compilers; later ones about 30 s):
  - the view's gcc is the amd64 cross compiler (its /usr/bin/aarch64-linux-
    gnu-gcc-12 an x86-64 ELF) with --native-tools, the emulated arm64 one
    without;
  - the same source compiled by both, with -fno-ident, gives the same
    object file byte for byte, with -g too, and for C++ (g++, whose
    headers the cross g++ finds through links to the target's); without -fno-ident the objects
    differ by the .comment string naming the package version (the
    arm64 gcc-12 is 12.2.0-14+deb12u1, the cross one 12.2.0-14cross1);
  - a configure-like script compiles a test program and runs it: it is an
    aarch64 ELF, run emulated (through the namespace's binfmt_misc handler),
    and its uname(2) says aarch64;
  - `uname -m` and `dpkg --print-architecture` say aarch64 and arm64, with
    and without --native-tools, and so do `arch` and config.guess
    (aarch64-unknown-linux-gnu);
  - with --native-tools the view's Multi-Arch: foreign tools run natively
    (their Multi-Arch read from the resolved view, not the indexes: the
    run's log says so):
    sed reading /proc/self/exe sees an x86-64 ELF (an emulated sed sees
    its aarch64 one: qemu answers for /proc/self/exe), the shell's
    /proc/PID/exe is dash itself (emulated: the emulator); gzip, which
    Debian 12 does not mark Multi-Arch: foreign, and uname stay aarch64
    ELFs;
  - a view without a compiler package (the fixture's): --native-tools fails
    naming the packages it looks for, and the same run without it works;
  - the dpkg database and loader cache of a --writable hybrid root: one
    ld.so.cache with both architectures' entries (the host's ldconfig -p
    reads it), through which a native tool and an emulated program each
    find their libraries without searching a directory (LD_DEBUG=libs);
    dpkg-shlibdeps on a built arm64 program (libc6's shlibs and symbols
    come from its control.tar); the alternatives' links (awk, cc); the
    toolchain packages the native tools replace held, and apt-get check
    clean.
"""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

ARCH = 'arm64'
PKGS = 'gcc,g++,libc6-dev,dash,coreutils,binutils,sed,grep,gzip,autotools-dev'
SRC = r'''#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct kv { const char *k; int v; };
static int cmp(const void *a, const void *b)
{ return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k); }
int sum(struct kv *t, size_t n)
{ qsort(t, n, sizeof *t, cmp); int s = 0; for (size_t i = 0; i < n; i++) s += t[i].v * (int)i; return s; }
double poly(double x) { double r = 0; for (int i = 0; i < 16; i++) r = r * x + i; return r; }
int main(int argc, char **argv)
{ struct kv t[] = {{"b",2},{"a",1},{"c",3}}; printf("%d %f %d\n", sum(t, 3), poly(argc), argv[0][0]); return 0; }
'''
CXX = r'''#include <iostream>
#include <vector>
int main() { std::vector<int> v{1, 2, 3}; std::cout << "cxx " << v.size() << std::endl; return 0; }
'''
CONFIGURE = r'''#!/bin/sh
# what a configure script does: compile a test program, run it
cat > conftest.c <<'X'
#include <stdio.h>
#include <sys/utsname.h>
int main(void) { struct utsname u; uname(&u); printf("machine=%s\n", u.machine); return 0; }
X
gcc -o conftest conftest.c || { echo "configure: C compiler cannot create executables"; exit 1; }
./conftest || { echo "configure: cannot run C compiled programs"; exit 1; }
'''
COMPILE = ('gcc -O2 -fno-ident -c obj.c -o {p}.o && gcc -O2 -g -fno-ident -c obj.c -o {p}-g.o'
           ' && gcc -O2 -c obj.c -o {p}-id.o && g++ -O2 -fno-ident -c p.cc -o {p}-cxx.o'
           ' && uname -m && dpkg --print-architecture'
           ' && od -An -tx1 -j18 -N2 /usr/bin/aarch64-linux-gnu-gcc-12')


CHECKS = (' && echo "m=$(uname -m) a=$(arch) d=$(dpkg --print-architecture)"'
          ' && echo "guess=$(sh /usr/share/misc/config.guess)"'
          ' && echo "sed=$(sed -n 1p /proc/self/exe | od -An -tx1 -j18 -N1 | tr -d \' \')"'
          ' && echo "sh=$(readlink /proc/$$/exe)"'
          ' && echo "gzip=$(od -An -tx1 -j18 -N1 /usr/bin/gzip | tr -d \' \')'
          ' uname=$(od -An -tx1 -j18 -N1 /usr/bin/uname | tr -d \' \')"')


def facts(out):
    """The key=value words of the CHECKS' output."""
    return dict(w.split('=', 1) for w in out.split() if '=' in w and not w.startswith('machine='))


def tools(t, out, native):
    f = facts(out)
    how = '--native-tools' if native else 'emulated'
    t.eq((f.get('m'), f.get('a'), f.get('d')), ('aarch64', 'aarch64', 'arm64'),
         '%s: uname -m, arch, dpkg --print-architecture report the target' % how)
    t.eq(f.get('guess'), 'aarch64-unknown-linux-gnu', '%s: config.guess reports the target' % how)
    t.eq(f.get('sed'), '3e' if native else 'b7',
         '%s: sed runs as an %s program (its /proc/self/exe)' % (how, 'x86-64' if native else 'aarch64'))
    t.ok(f.get('sh', '').endswith('/dash') == native,
         '%s: the shell %s' % (how, 'is dash itself, native' if native else 'runs under the emulator'),
         'its /proc/PID/exe: %s' % f.get('sh'))
    t.eq((f.get('gzip'), f.get('uname')), ('b7', 'b7'),
         '%s: gzip (not Multi-Arch: foreign) and uname stay aarch64' % how)


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-1500:], r.stderr[-2500:])


def run(cache, work, cmd, native, extra=(), timeout=600):
    a = [xstest.XSYSROOT, 'run', ARCH, '--strict', '--cache-dir', cache]
    a += list(extra) or ['--packages', PKGS]
    if native:
        a.append('--native-tools')
    return sh(a + ['--', '/bin/sh', '-c', cmd], cwd=work, timeout=timeout,
              env=xstest.clean_env(TMPDIR=work))


def compare(t, work):
    for suffix, what in (('.o', '-O2'), ('-g.o', '-O2 -g'), ('-cxx.o', 'g++ -O2')):
        a = open(os.path.join(work, 'emu' + suffix), 'rb').read()
        b = open(os.path.join(work, 'nat' + suffix), 'rb').read()
        t.ok(a == b, 'emulated and native gcc-12 %s -fno-ident: the same object, byte for byte'
             % what, '%d and %d bytes' % (len(a), len(b)))
    a = open(os.path.join(work, 'emu-id.o'), 'rb').read()
    b = open(os.path.join(work, 'nat-id.o'), 'rb').read()
    ia, ib = b'GCC: (Debian 12.2.0-14+deb12u1) 12.2.0', b'GCC: (Debian 12.2.0-14) 12.2.0'
    t.ok(ia in a and ib in b and a != b,
         'without -fno-ident the objects differ by .comment (the package versions)',
         'emulated has %s: %s, native has %s: %s' % (ia, ia in a, ib, ib in b))


def real_mirror(t, h):
    cache = '/var/tmp/xsysroot-test-hybrid-%d' % os.getuid()
    os.makedirs(cache, exist_ok=True)
    work = h.mktemp('hybrid-')
    with open(os.path.join(work, 'obj.c'), 'w') as f:
        f.write(SRC)
    with open(os.path.join(work, 'p.cc'), 'w') as f:
        f.write(CXX)
    with open(os.path.join(work, 'configure'), 'w') as f:
        f.write(CONFIGURE)
    os.chmod(os.path.join(work, 'configure'), 0o755)
    r = run(cache, work, COMPILE.format(p='emu') + CHECKS, False)
    if not t.ok(r.returncode == 0, 'emulated: gcc -c in the arm64 root', show(r)):
        return
    tools(t, r.stdout, False)
    lines = [w for w in r.stdout.split() if '=' not in w]
    t.eq(lines[:2], ['aarch64', 'arm64'], 'emulated: uname -m, dpkg --print-architecture')
    t.eq(lines[2:4], ['b7', '00'], 'emulated: the compiler driver is an aarch64 ELF')
    # the answer kept per view from an earlier run removed: the view itself says
    for name in os.listdir(os.path.join(cache, 'hybrid')) if os.path.isdir(
            os.path.join(cache, 'hybrid')) else ():
        if name.startswith('foreign-'):
            os.unlink(os.path.join(cache, 'hybrid', name))
    log = os.path.join(cache, 'daemon.log')
    start = os.path.getsize(log) if os.path.exists(log) else 0
    r = run(cache, work, COMPILE.format(p='nat') + CHECKS +
            ' && ./configure && g++ -o p p.cc && ./p', True)
    if not t.ok(r.returncode == 0, '--native-tools: gcc -c and a configure script', show(r)):
        return
    tools(t, r.stdout, True)
    with open(log, errors='replace') as f:
        f.seek(start)
        said = [ln for ln in f.read().splitlines() if 'the Multi-Arch of' in ln]
    t.ok(len(said) == 1 and said[0].endswith('tools from the view'),
         '--native-tools: the tools\' Multi-Arch from the resolved view, no index read',
         '\n'.join(said))
    lines = [w for w in r.stdout.split() if '=' not in w or w.startswith('machine=')]
    t.eq(lines[:2], ['aarch64', 'arm64'], '--native-tools: uname -m, dpkg --print-architecture')
    t.eq(lines[2:4], ['3e', '00'], '--native-tools: the compiler driver is an x86-64 ELF')
    t.eq(lines[4:5], ['machine=aarch64'], '--native-tools: the test program runs emulated')
    t.eq(lines[5:], ['cxx', '3'], '--native-tools: a C++ program built and run')
    with open(os.path.join(work, 'conftest'), 'rb') as f:
        t.eq(xstest.elf_machine(f.read(64)), (2, 1, 183), 'the test program is an aarch64 ELF')
    compare(t, work)


def missing(t, h):
    cache = h.mktemp('hybrid-fixture-')
    work = h.mktemp('hybrid-fx-')
    fx = ['--mirror', h.server.url, '--suite', h.suite_for(ARCH), '--keyring',
          h.repo.keyring, '--packages', 'dash,coreutils']
    r = run(cache, work, 'echo ok', True, fx)
    t.ok(r.returncode != 0 and 'gcc-N' in r.stderr and 'binutils-aarch64-linux-gnu' in r.stderr
         and 'compiler package' in r.stderr,
         'a view without a compiler: --native-tools fails naming the packages looked for',
         show(r))
    r = run(cache, work, 'echo ok', False, fx)
    t.ok(r.returncode == 0 and r.stdout.strip() == 'ok', 'the same run without it works', show(r))


DPKG_PKGS = 'gcc,libc6-dev,dash,coreutils,binutils,dpkg-dev,mawk,apt'
DPKG_CMD = (
    'cat /etc/ld.so.cache > ld.cache'
    ' && LD_DEBUG=libs /usr/bin/aarch64-linux-gnu-as --version 2> as.libs > /dev/null'
    ' && LD_DEBUG=libs /usr/bin/ls / 2> ls.libs > /dev/null'
    ' && gcc -O2 -o prog obj.c && dpkg-shlibdeps -O prog'
    ' && awk "BEGIN { print \\"awk ok\\" }" && readlink /usr/bin/cc /etc/alternatives/cc'
    ' && apt-mark showhold && apt-get check > /dev/null && echo check ok')


def searched(path):
    """(libraries found through the cache, lines searching a directory) of
    an LD_DEBUG=libs log."""
    with open(path, errors='replace') as f:
        log = f.read()
    return log.count('search cache=/etc/ld.so.cache'), log.count('search path=')


def dpkg_db(t, h, cache):
    work = h.mktemp('hybrid-dpkg-')
    with open(os.path.join(work, 'obj.c'), 'w') as f:
        f.write(SRC)
    os.makedirs(os.path.join(work, 'debian'))
    with open(os.path.join(work, 'debian', 'control'), 'w') as f:
        f.write('Source: t\nMaintainer: t <t@example.org>\n\n'
                'Package: t\nArchitecture: any\nDescription: t\n t\n')
    wr = h.mktemp('hybrid-w-')
    r = run(cache, work, DPKG_CMD, True, ['--writable', wr, '--packages', DPKG_PKGS])
    if not t.ok(r.returncode == 0, '--writable --native-tools: the dpkg database and cache '
                'commands', show(r)):
        return
    out = r.stdout.splitlines()
    ldc = sh(['ldconfig', '-p', '-C', os.path.join(work, 'ld.cache')]).stdout
    t.ok('\tlibc.so.6 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libc.so.6' in ldc and
         '\tlibc.so.6 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libc.so.6' in ldc,
         'one ld.so.cache lists libc.so.6 of both architectures, each with its flags',
         ldc[:2000])
    for log, what in (('as.libs', 'the native as'), ('ls.libs', 'the emulated ls')):
        found, dirs = searched(os.path.join(work, log))
        t.ok(found >= 2 and dirs == 0, '%s finds its libraries through the cache, '
             'searching no directory' % what, '%d through the cache, %d searches' % (found, dirs))
    deps = [ln for ln in out if ln.startswith('shlibs:Depends=')]
    t.ok(deps and deps[0].startswith('shlibs:Depends=libc6 (>= 2.'),
         'dpkg-shlibdeps on an arm64 program: libc6 from its shlibs and symbols', '\n'.join(out))
    t.ok('awk ok' in out and '../../etc/alternatives/cc' in out and '../../usr/bin/gcc' in out,
         'the alternatives: awk runs, cc -> /etc/alternatives/cc -> gcc', '\n'.join(out))
    t.ok('gcc-12' in out and 'binutils-aarch64-linux-gnu' in out and 'check ok' in out,
         'the replaced toolchain packages held, apt-get check clean', '\n'.join(out))


def main(t, h):
    if not shutil.which('qemu-aarch64-static') and not shutil.which('qemu-aarch64'):
        t.skip('hybrid', 'no qemu-user for aarch64')
        return
    missing(t, h)
    real_mirror(t, h)
    dpkg_db(t, h, '/var/tmp/xsysroot-test-hybrid-%d' % os.getuid())


xstest.run(main)
