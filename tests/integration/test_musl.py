#!/usr/bin/python3
"""ldd and run of a real arm64 musl program.

The program is built here in a second: clang --target=aarch64-linux-musl and
lld link it against libc.so of Debian's arm64 `musl` package (extracted from
the fixture's .deb; musl-dev is not needed: the program has its own _start,
as musl's crt1 does it), so it has the interpreter /lib/ld-musl-aarch64.so.1
and DT_NEEDED libc.so.  Then:
  - `xsysroot ldd arm64 PROG` names the package musl for both (not glibc's
    libc6-dev, whose libc.so is a linker script), and exits 1;
  - with --packages musl, ldd finds both in musl's loader, and exits 0;
  - `xsysroot run arm64 -- PROG` adds musl to the view, runs it under qemu,
    and passes its output and exit status back."""

import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

PROG_C = r'''
int printf(const char *, ...);
int __libc_start_main(int (*)(int, char **, char **), int, char **, void (*)(void),
		      void (*)(void), void (*)(void));
static int prog_main(int argc, char **argv, char **envp)
{
	(void)envp;
	printf("musl hello: %s, %d arguments\n", argv[argc - 1], argc);
	return 7;
}
__attribute__((used)) void prog_start_c(long *p)
{
	__libc_start_main(prog_main, (int)p[0], (char **)(p + 1), 0, 0, 0);
}
__asm__(".text\n.global _start\n.type _start,%function\n_start:\n"
	"\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tand sp, x0, #-16\n\tb prog_start_c\n");
'''


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-2000:],
                                                r.stderr[-2000:])


def main(t, h):
    xs = xstest.XSYSROOT
    if not t.ok(shutil.which('clang') and shutil.which('ld.lld'), 'clang and lld are installed'):
        return
    if not t.ok('musl' in h.index.pkgs, 'the fixture carries arm64 musl'):
        return
    work = h.mktemp('musl-')
    root = h.index.extract(['musl'], os.path.join(work, 'root'))
    libdir = os.path.join(root, 'lib/aarch64-linux-musl')
    src = os.path.join(work, 'prog.c')
    with open(src, 'w') as f:
        f.write(PROG_C)
    prog = os.path.join(work, 'prog')
    r = sh(['clang', '--target=aarch64-linux-musl', '-nostdlib', '-fuse-ld=lld',
            '-Wl,--dynamic-linker=/lib/ld-musl-aarch64.so.1', src, '-L' + libdir, '-lc',
            '-o', prog])
    if not t.ok(r.returncode == 0, 'a musl program for arm64 links', show(r)):
        return
    d = sh(['readelf', '-ld', prog]).stdout
    t.ok('/lib/ld-musl-aarch64.so.1' in d and '[libc.so]' in d,
         'its interpreter is /lib/ld-musl-aarch64.so.1 and it needs libc.so', d)

    cache = h.mktemp('cache-')
    repo = ['--mirror', h.server.url, '--suite', h.suite_for('arm64'), '--keyring',
            h.repo.keyring, '--cache-dir', cache]
    r = sh([xs, 'ldd'] + repo + ['arm64', prog])
    t.diag(r.stdout)
    lines = {ln.split('=>')[0].strip(): ln for ln in r.stdout.splitlines() if '=>' in ln}
    for name in ('interpreter /lib/ld-musl-aarch64.so.1', 'libc.so'):
        line = lines.get(name, '')
        t.ok('not in the view' in line and 'provided by musl ' in line and
             '--packages musl' in line,
             'ldd: %s is the package musl\'s, to add' % name, r.stdout)
    t.ok(r.returncode == 1 and 'libc6-dev' not in r.stdout,
         'ldd: libc.so is not glibc\'s (libc6-dev); exit 1 while musl is missing', show(r))
    r = sh([xs, 'ldd', '--packages', 'musl'] + repo + ['arm64', prog])
    t.ok(r.returncode == 0 and r.stdout.count('(musl ') == 2,
         'ldd --packages musl: the interpreter and libc.so are found in musl', show(r))
    log = os.path.join(h.mktemp('log-'), 'run.log')
    r = sh([xs, 'run'] + repo + ['--log-file', log, 'arm64', '--', prog, 'one', 'two'],
           env=xstest.clean_env(TMPDIR=h.mktemp('tmp-')), timeout=300)
    t.ok(r.returncode == 7 and r.stdout == 'musl hello: two, 3 arguments\n',
         'run adds musl and runs the musl program (its output and exit status 7)', show(r))
    with open(log) as f:
        said = f.read()
    t.ok('adding musl ' in said, 'run says it added musl', said[-2000:])


xstest.run(main)
