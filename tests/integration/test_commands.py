#!/usr/bin/python3
"""`xsysroot env` and `xsysroot ldd`.

env: the settings it prints for a mount work as printed:
  - sh: eval'ed by sh, $CC ... $LDFLAGS builds a C program against the mount
    (zlib through pkg-config) that runs under qemu-aarch64 with the exported
    QEMU_LD_PREFIX; also for a mount point whose name holds a space and a
    quote;
  - meson: `meson setup` with the cross file builds a C program with a
    zlib dependency (pkg-config in the sysroot) and `meson test` runs it
    through exe_wrapper;
  - cmake: the toolchain file configures, builds (find_package(ZLIB) in the
    sysroot) and ctest runs the program through CMAKE_CROSSCOMPILING_EMULATOR;
  - cargo: the variables (built with cargo only when the Rust target
    aarch64-unknown-linux-gnu is installed);
  - a directory that is no xsysroot mount is refused (exit 1), a bad format
    is a usage error (exit 2).
ldd: the fixture's arm64 hello needs libc.so.6, found in libc6 (exit 0); a
program linked with -lz, in a view without zlib, is reported "not in the
view" with zlib1g named (exit 1), and found with --packages zlib1g; a
library no package ships is "not found"; x86-64 /bin/true for arm64 is a
machine mismatch (exit 1); a file that is not ELF and usage errors.
"""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

TRIPLET = 'aarch64-linux-gnu'
DEV_PACKAGES = ['libssl-dev', 'zlib1g-dev', 'libgcc-12-dev']
RUST_TARGET = 'aarch64-unknown-linux-gnu'

PROG = r'''
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    const char *text = "xsysroot env test, xsysroot env test, xsysroot env test";
    unsigned char packed[256], back[256];
    uLongf np = sizeof packed, nb = sizeof back;
    if (compress(packed, &np, (const Bytef *)text, strlen(text) + 1) != Z_OK ||
        uncompress(back, &nb, packed, np) != Z_OK || strcmp((char *)back, text) != 0)
        return 1;
    printf("zlib %s roundtrip ok\n", zlibVersion());
    return 0;
}
'''

PLAIN = r'''
#include <stdio.h>
int main(void) { printf("plain ok\n"); return 0; }
'''

MESON_BUILD = '''project('xsenv', 'c')
z = dependency('zlib')
e = executable('prog', 'prog.c', dependencies : z)
test('prog runs', e)
'''

CMAKE_LISTS = '''cmake_minimum_required(VERSION 3.13)
project(xsenv C)
find_package(ZLIB REQUIRED)
message(STATUS "xs zlib: ${ZLIB_LIBRARIES} ${ZLIB_INCLUDE_DIRS}")
add_executable(prog prog.c)
target_link_libraries(prog ZLIB::ZLIB)
enable_testing()
add_test(NAME prog_runs COMMAND prog)
'''


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-3000:],
                                                r.stderr[-3000:])


def machine_of(path):
    try:
        with open(path, 'rb') as f:
            return xstest.elf_machine(f.read(20))
    except OSError:
        return None


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def env_tests(t, h, m, work, env):
    xs = xstest.XSYSROOT
    mnt = m.path
    zlib_ver = h.index.pkgs['zlib1g']['Version']
    zlib_up = re.match(r'^(?:\d+:)?(\d+(?:\.\d+)*)', zlib_ver).group(1)

    # ---- sh
    r = sh([xs, 'env', mnt], env=env)
    t.ok(r.returncode == 0 and 'export QEMU_LD_PREFIX=%s\n' % mnt in r.stdout and
         'export PKG_CONFIG_SYSROOT_DIR=%s\n' % mnt in r.stdout and
         'export PKG_CONFIG_LIBDIR=%s/usr/lib/%s/pkgconfig:%s/usr/share/pkgconfig\n'
         % (mnt, TRIPLET, mnt) in r.stdout and
         "export CC='clang --target=%s --sysroot=%s'\n" % (TRIPLET, mnt) in r.stdout,
         'env (sh): QEMU_LD_PREFIX, PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_LIBDIR, CC', show(r))
    t.eq(sh([xs, 'env', '--format', 'sh', mnt], env=env).stdout, r.stdout,
         'env --format sh is the default')
    t.eq(sh([xs, 'env', mnt, '--format=sh'], env=env).stdout, r.stdout,
         'env: the option may follow the mount point')
    d = os.path.join(work, 'sh')
    os.makedirs(d)
    write(os.path.join(d, 'prog.c'), PROG)
    script = ('set -e; eval "$("$XS" env "$MNT")"; cd "$WORK"; '
              'test "$QEMU_LD_PREFIX" = "$MNT"; '
              '$CC $(pkg-config --cflags zlib) prog.c $LDFLAGS $(pkg-config --libs zlib) -o prog; '
              'qemu-aarch64 ./prog')
    r = sh(['sh', '-c', script], env=dict(env, XS=xs, MNT=mnt, WORK=d), timeout=300)
    t.ok(r.returncode == 0 and 'zlib %s roundtrip ok' % zlib_up in r.stdout,
         'env (sh): eval, $CC ... $LDFLAGS builds against the mount with pkg-config\'s zlib, '
         'and qemu-aarch64 runs it under the exported QEMU_LD_PREFIX', show(r))
    t.eq(machine_of(os.path.join(d, 'prog')), (2, 1, 183), 'env (sh): the program is arm64')
    m.zprog = os.path.join(d, 'prog')

    # ---- meson
    d = os.path.join(work, 'meson')
    os.makedirs(d)
    write(os.path.join(d, 'prog.c'), PROG)
    write(os.path.join(d, 'meson.build'), MESON_BUILD)
    r = sh([xs, 'env', '--format', 'meson', mnt], env=env)
    cross = os.path.join(work, 'cross.ini')
    write(cross, r.stdout)
    t.ok(r.returncode == 0 and "exe_wrapper = ['qemu-aarch64', '-L', '%s']" % mnt in r.stdout
         and "sys_root = '%s'" % mnt in r.stdout and "cpu_family = 'aarch64'" in r.stdout
         and "endian = 'little'" in r.stdout,
         'env --format meson: exe_wrapper, sys_root, host_machine', show(r))
    b = os.path.join(work, 'meson-build')
    r = sh(['meson', 'setup', '--cross-file', cross, b, d], env=env, timeout=300)
    ok = t.ok(r.returncode == 0 and re.search(r'Host machine cpu family: aarch64', r.stdout)
              and re.search(r'Run-time dependency zlib found: YES %s' % re.escape(zlib_up),
                            r.stdout),
              'meson setup with the cross file: aarch64, zlib %s found by pkg-config' % zlib_up,
              show(r))
    if ok:
        r = sh(['ninja', '-C', b], env=env, timeout=300)
        t.ok(r.returncode == 0 and machine_of(os.path.join(b, 'prog')) == (2, 1, 183),
             'meson: ninja builds an arm64 program', show(r))
        r = sh(['meson', 'test', '-C', b, '--print-errorlogs'], env=env, timeout=300)
        t.ok(r.returncode == 0 and re.search(r'Ok:\s+1', r.stdout),
             'meson test runs it through exe_wrapper', show(r))
    else:
        t.skip('meson: ninja builds an arm64 program', 'meson setup failed')
        t.skip('meson test runs it through exe_wrapper', 'meson setup failed')

    # ---- cmake
    d = os.path.join(work, 'cmake')
    os.makedirs(d)
    write(os.path.join(d, 'prog.c'), PROG)
    write(os.path.join(d, 'CMakeLists.txt'), CMAKE_LISTS)
    r = sh([xs, 'env', '--format', 'cmake', mnt], env=env)
    tc = os.path.join(work, 'toolchain.cmake')
    write(tc, r.stdout)
    t.ok(r.returncode == 0 and 'set(CMAKE_SYSROOT "%s")' % mnt in r.stdout and
         'set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;%s")' % mnt in r.stdout and
         'set(CMAKE_C_COMPILER_TARGET %s)' % TRIPLET in r.stdout,
         'env --format cmake: sysroot, emulator, compiler target', show(r))
    b = os.path.join(work, 'cmake-build')
    r = sh(['cmake', '-G', 'Ninja', '-S', d, '-B', b, '-DCMAKE_TOOLCHAIN_FILE=' + tc], env=env,
           timeout=300)
    found = re.search(r'xs zlib: (\S+) (\S+)', r.stdout)
    ok = t.ok(r.returncode == 0 and found and found.group(1).startswith(mnt + '/') and
              found.group(2).startswith(mnt + '/'),
              'cmake configures with the toolchain file; find_package(ZLIB) finds the '
              'sysroot\'s', show(r))
    if ok:
        r = sh(['cmake', '--build', b], env=env, timeout=300)
        t.ok(r.returncode == 0 and machine_of(os.path.join(b, 'prog')) == (2, 1, 183),
             'cmake --build builds an arm64 program', show(r))
        r = sh(['ctest', '--test-dir', b, '--output-on-failure'], env=env, timeout=300)
        t.ok(r.returncode == 0 and '100% tests passed' in r.stdout,
             'ctest runs it through CMAKE_CROSSCOMPILING_EMULATOR', show(r))
    else:
        t.skip('cmake --build builds an arm64 program', 'cmake failed')
        t.skip('ctest runs it through CMAKE_CROSSCOMPILING_EMULATOR', 'cmake failed')

    # ---- cargo
    r = sh([xs, 'env', '--format', 'cargo', mnt], env=env)
    up = RUST_TARGET.upper().replace('-', '_')
    t.ok(r.returncode == 0 and
         'export CARGO_TARGET_%s_RUNNER=\'qemu-aarch64 -L %s\'\n' % (up, mnt) in r.stdout and
         'export CARGO_TARGET_%s_LINKER=clang\n' % up in r.stdout and
         'export CARGO_TARGET_%s_RUSTFLAGS=\'-C link-arg=--target=%s -C link-arg=--sysroot=%s '
         '-C link-arg=-fuse-ld=lld\'\n' % (up, TRIPLET, mnt) in r.stdout and
         'export CARGO_BUILD_TARGET=%s\n' % RUST_TARGET in r.stdout,
         'env --format cargo: runner, linker, rustflags, build target', show(r))
    rustc, cargo = shutil.which('rustc'), shutil.which('cargo')
    have = False
    if rustc and cargo:
        sysroot = sh([rustc, '--print', 'sysroot'], env=env).stdout.strip()
        have = os.path.isdir(os.path.join(sysroot, 'lib', 'rustlib', RUST_TARGET, 'lib'))
    if not have:
        t.skip('cargo run builds and runs an arm64 program',
               'the Rust target %s is not installed (rustup target add %s)'
               % (RUST_TARGET, RUST_TARGET))
    else:
        d = os.path.join(work, 'cargo')
        os.makedirs(os.path.join(d, 'src'))
        write(os.path.join(d, 'Cargo.toml'),
              '[package]\nname = "xsenv"\nversion = "0.1.0"\nedition = "2021"\n')
        write(os.path.join(d, 'src', 'main.rs'), 'fn main() { println!("rust ok"); }\n')
        script = 'set -e; eval "$("$XS" env --format cargo "$MNT")"; cd "$D"; cargo run --offline -q'
        r = sh(['sh', '-c', script], env=dict(env, XS=xs, MNT=mnt, D=d,
                                              CARGO_TARGET_DIR=os.path.join(d, 'target')),
               timeout=600)
        t.ok(r.returncode == 0 and 'rust ok' in r.stdout,
             'cargo run builds and runs an arm64 program', show(r))


def odd_path_tests(t, h, cache_dir, work, env):
    """A mount point with a space and a quote in its name: the sh output
    still works when eval'ed; cargo's (split on spaces) is refused."""
    xs = xstest.XSYSROOT
    orig = h.mktemp
    h.mktemp = lambda prefix: orig("it's a " + prefix)
    try:
        ctx = h.mount(packages=['libc6-dev', 'libgcc-12-dev'], cache_dir=cache_dir)
        m = ctx.__enter__()
    finally:
        h.mktemp = orig
    try:
        t.diag('odd mount point: %r' % m.path)
        d = os.path.join(work, 'odd')
        os.makedirs(d)
        write(os.path.join(d, 'plain.c'), PLAIN)
        script = ('set -e; eval "$("$XS" env "$MNT")"; cd "$WORK"; '
                  'test "$QEMU_LD_PREFIX" = "$MNT"; test "$PKG_CONFIG_SYSROOT_DIR" = "$MNT"; '
                  'eval "$CC plain.c $LDFLAGS -o plain"; qemu-aarch64 ./plain')
        r = sh(['sh', '-c', script], env=dict(env, XS=xs, MNT=m.path, WORK=d), timeout=300)
        t.ok(r.returncode == 0 and 'plain ok' in r.stdout,
             'env (sh) for a mount point with a space and a quote: eval\'ed values work',
             show(r))
        b = os.path.join(work, 'odd-meson')
        src = os.path.join(work, 'odd-meson-src')
        os.makedirs(src)
        write(os.path.join(src, 'plain.c'), PLAIN)
        write(os.path.join(src, 'meson.build'),
              "project('odd', 'c')\ntest('plain', executable('plain', 'plain.c'))\n")
        cross = os.path.join(work, 'odd.ini')
        write(cross, sh([xs, 'env', '--format', 'meson', m.path], env=env).stdout)
        r = sh(['meson', 'setup', '--cross-file', cross, b, src], env=env, timeout=300)
        if r.returncode == 0:
            r = sh(['meson', 'test', '-C', b], env=env, timeout=300)
        t.ok(r.returncode == 0 and re.search(r'Ok:\s+1', r.stdout),
             'env (meson) for that mount point: meson builds and tests', show(r))
        src = os.path.join(work, 'odd-cmake-src')
        b = os.path.join(work, 'odd-cmake')
        os.makedirs(src)
        write(os.path.join(src, 'plain.c'), PLAIN)
        write(os.path.join(src, 'CMakeLists.txt'),
              'cmake_minimum_required(VERSION 3.13)\nproject(odd C)\nenable_testing()\n'
              'add_executable(plain plain.c)\nadd_test(NAME plain COMMAND plain)\n')
        tc = os.path.join(work, 'odd.cmake')
        write(tc, sh([xs, 'env', '--format', 'cmake', m.path], env=env).stdout)
        r = sh(['cmake', '-G', 'Ninja', '-S', src, '-B', b, '-DCMAKE_TOOLCHAIN_FILE=' + tc],
               env=env, timeout=300)
        if r.returncode == 0:
            r = sh(['cmake', '--build', b], env=env, timeout=300)
        if r.returncode == 0:
            r = sh(['ctest', '--test-dir', b, '--output-on-failure'], env=env, timeout=300)
        t.ok(r.returncode == 0 and '100% tests passed' in r.stdout,
             'env (cmake) for that mount point: cmake builds, ctest runs', show(r))
        r = sh([xs, 'env', '--format', 'cargo', m.path], env=env)
        t.ok(r.returncode == 1 and 'cannot be written in the cargo format' in r.stderr
             and not r.stdout, 'env (cargo) refuses a mount point with a space', show(r))
    finally:
        ctx.__exit__(None, None, None)


def ldd_tests(t, h, work, env, zprog):
    xs = xstest.XSYSROOT
    cache = h.mktemp('ldd-cache-')
    repo = ['--mirror', h.server.url, '--suite', h.suite_for('arm64'),
            '--keyring', h.repo.keyring, '--cache-dir', cache]
    libc_ver = h.index.pkgs['libc6']['Version']
    zlib_ver = h.index.pkgs['zlib1g']['Version']

    hello_dir = h.mktemp('hello-')
    h.index.extract(['hello'], hello_dir)
    hello = os.path.join(hello_dir, 'usr', 'bin', 'hello')
    r = sh([xs, 'ldd'] + repo + ['arm64', hello], env=env, timeout=300)
    t.ok(r.returncode == 0 and
         re.search(r'^%s: ELF 64-bit LSB (pie )?executable, AArch64: matches arm64$'
                   % re.escape(hello), r.stdout, re.M) and
         '\tlibc.so.6 => /usr/lib/%s/libc.so.6 (libc6 %s)\n' % (TRIPLET, libc_ver) in r.stdout
         and '\tinterpreter /lib/ld-linux-aarch64.so.1 => /usr/lib/ld-linux-aarch64.so.1 '
         '(libc6 %s)\n' % libc_ver in r.stdout,
         'ldd arm64 hello: the interpreter and libc.so.6 are found in libc6 %s (exit 0)'
         % libc_ver, show(r))

    if zprog and os.path.exists(zprog):
        r = sh([xs, 'ldd'] + repo + ['arm64', zprog], env=env, timeout=300)
        t.ok(r.returncode == 1 and
             '\tlibz.so.1 => not in the view; provided by zlib1g %s '
             '(/usr/lib/%s/libz.so.1): add --packages zlib1g\n' % (zlib_ver, TRIPLET) in r.stdout
             and '\tlibc.so.6 => /usr/lib/%s/libc.so.6 (libc6 ' % TRIPLET in r.stdout
             and 'not in the arm64 view' in r.stderr,
             'ldd of a -lz program, zlib not in the view: "not in the view", zlib1g named '
             '(exit 1)', show(r))
        r = sh([xs, 'ldd'] + repo + ['--packages', 'zlib1g', 'arm64', zprog], env=env,
               timeout=300)
        t.ok(r.returncode == 0 and '\tlibz.so.1 => /usr/lib/%s/libz.so.1 (zlib1g %s)\n'
             % (TRIPLET, zlib_ver) in r.stdout,
             'ldd --packages zlib1g: libz.so.1 found in zlib1g (exit 0)', show(r))
    else:
        t.skip('ldd of a -lz program', 'the program was not built (env sh failed)')
        t.skip('ldd --packages zlib1g', 'the program was not built (env sh failed)')

    # a library no package ships, and DT_RUNPATH
    d = os.path.join(work, 'ghost')
    os.makedirs(d)
    write(os.path.join(d, 'ghost.c'), 'int ghost(void) { return 0; }\n')
    write(os.path.join(d, 'main.c'), 'int ghost(void);\nint main(void) { return ghost(); }\n')
    cc = ['clang', '--target=' + TRIPLET, '-fuse-ld=lld', '-nostdlib']
    r1 = sh(cc + ['-shared', '-fPIC', '-Wl,-soname,libxsghost.so.7', 'ghost.c', '-o',
                  'libxsghost.so'], env=env, cwd=d)
    r2 = sh(cc + ['-Wl,--dynamic-linker=/lib/ld-linux-aarch64.so.1', '-Wl,-e,main',
                  '-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/ghost:$ORIGIN', 'main.c',
                  'libxsghost.so', '-o', 'ghost'], env=env, cwd=d)
    if r1.returncode or r2.returncode:
        t.ok(False, 'building the ghost program', show(r1) + show(r2))
    else:
        r = sh([xs, 'ldd'] + repo + ['arm64', os.path.join(d, 'ghost')], env=env, timeout=300)
        t.ok(r.returncode == 1 and '\tlibxsghost.so.7 => not found\n' in r.stdout and
             '\tDT_RUNPATH /opt/ghost:$ORIGIN\n' in r.stdout,
             'ldd: a library no package ships is "not found"; DT_RUNPATH shown (exit 1)',
             show(r))

    true = os.path.realpath('/bin/true')
    r = sh([xs, 'ldd'] + repo + ['arm64', true], env=env, timeout=300)
    t.ok(r.returncode == 1 and 'x86-64: does not match arm64' in r.stdout and
         'wrong machine' in r.stdout and 'libc.so.6 (not looked up)' in r.stdout and
         'is not a program for arm64' in r.stderr,
         'ldd arm64 /bin/true (x86-64): machine mismatch (exit 1)', show(r))
    r = sh([xs, 'ldd'] + repo + ['amd64', true], env=env, timeout=60)
    t.ok('matches amd64' in r.stdout, 'ldd amd64 /bin/true: the machine matches amd64',
         show(r))

    text = os.path.join(work, 'text')
    write(text, 'hello\n')
    r = sh([xs, 'ldd'] + repo + ['arm64', text], env=env)
    t.ok(r.returncode == 1 and 'not an ELF file' in r.stderr, 'ldd of a text file: not ELF',
         show(r))
    r = sh([xs, 'ldd'] + repo + ['arm64', os.path.join(work, 'nonexistent')], env=env)
    t.ok(r.returncode == 1 and 'No such file' in r.stderr, 'ldd of a missing file: exit 1',
         show(r))
    r = sh([xs, 'ldd', 'arm64'], env=env)
    t.eq(r.returncode, 2, 'ldd without FILE: usage error (exit 2)')
    r = sh([xs, 'ldd', '--bind', '/x:/y', 'arm64', true], env=env)
    t.eq(r.returncode, 2, 'ldd with a mount-only option: usage error (exit 2)')
    r = sh([xs, 'ldd', 'sparc64', true], env=env)
    t.ok(r.returncode == 1 and "unknown architecture 'sparc64'" in r.stderr,
         'ldd with an unknown architecture: a clear error', show(r))


def main(t, h):
    tools = [('clang', 'clang'), ('ld.lld', 'lld'), ('qemu-aarch64', 'qemu-user'),
             ('pkg-config', 'pkg-config'), ('meson', 'meson'), ('ninja', 'ninja-build'),
             ('cmake', 'cmake'), ('ctest', 'cmake')]
    for tool, pkg in tools:
        if not t.ok(shutil.which(tool) is not None,
                    '%s is installed (package %s; a required tool)' % (tool, pkg)):
            return
    xs = xstest.XSYSROOT
    work = os.path.realpath(h.mktemp('commands-'))
    env = xstest.clean_env(LC_ALL='C.UTF-8', TMPDIR=work)
    for k in ('PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR', 'PKG_CONFIG_SYSROOT_DIR', 'CPATH',
              'C_INCLUDE_PATH', 'LIBRARY_PATH', 'CFLAGS', 'LDFLAGS', 'CC', 'CXX'):
        env.pop(k, None)

    # ---- env: refusals and usage
    r = sh([xs, 'env'], env=env)
    t.eq(r.returncode, 2, 'env without MOUNTPOINT: usage error (exit 2)')
    r = sh([xs, 'env', '--format', 'bogus', '/'], env=env)
    t.ok(r.returncode == 2 and "'bogus'" in r.stderr, 'env --format bogus: usage error (exit 2)',
         show(r))
    r = sh([xs, 'env', work], env=env)
    t.ok(r.returncode == 1 and 'is not an xsysroot mount (not a mount point)' in r.stderr
         and not r.stdout, 'env on a plain directory: refused (exit 1)', show(r))
    r = sh([xs, 'env', '/proc'], env=env)
    t.ok(r.returncode == 1 and 'is not an xsysroot mount (it is a proc mount' in r.stderr,
         'env on another file system: refused, naming it (exit 1)', show(r))
    r = sh([xs, 'env', os.path.join(work, 'nonexistent')], env=env)
    t.ok(r.returncode == 1 and 'No such file' in r.stderr, 'env on a missing path: exit 1',
         show(r))

    zprog = None
    missing = [p for p in DEV_PACKAGES if p not in h.index.pkgs]
    if missing:
        t.skip('env tests', 'the fixture repository does not carry %s' % ', '.join(missing))
    else:
        with h.mount(packages=DEV_PACKAGES) as m:
            env_tests(t, h, m, work, env)
            zprog = getattr(m, 'zprog', None)
            cache_dir = m.cache_dir
        r = sh([xs, 'env', m.path], env=env)
        t.ok(r.returncode == 1 and 'not an xsysroot mount' in r.stderr,
             'env after umount: refused (exit 1)', show(r))
        odd_path_tests(t, h, cache_dir, work, env)
    ldd_tests(t, h, work, env, zprog)


xstest.run(main)
