#!/usr/bin/python3
"""The mount as a cross-compilation sysroot.

With --packages libssl-dev,zlib1g-dev,libgcc-12-dev, a small C program that
calls OpenSSL and zlib is built three ways and each binary is run under
`qemu-aarch64 -L MNT`:

  1. clang --target=aarch64-linux-gnu --sysroot=MNT -fuse-ld=lld ... -lssl -lcrypto -lz
  2. aarch64-linux-gnu-gcc --sysroot=MNT ... -lz   (if the cross gcc is installed:
     package gcc-aarch64-linux-gnu, best with --no-install-recommends, since
     libc6-dev-arm64-cross puts a host libc in front of the sysroot)
  3. clang with the flags `pkg-config --cflags --libs openssl zlib` gives under
     PKG_CONFIG_SYSROOT_DIR=MNT
     PKG_CONFIG_LIBDIR=MNT/usr/lib/TRIPLET/pkgconfig:MNT/usr/share/pkgconfig

Every header (-MD) and every linker input (-Wl,--trace) must come from the
sysroot or from the compiler's own runtime (clang's resource dir; gcc's
crtbegin/crtend/libgcc), so the linker scripts (MNT/usr/lib/TRIPLET/libc.so
names /lib/TRIPLET/libc.so.6) must resolve inside the sysroot.  The versions
the binaries print must be those of the fixture's packages.
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
GCC = TRIPLET + '-gcc'
# The host's cross libc (libc6-dev-arm64-cross) that Debian's cross gcc
# searches before --sysroot.
HOST_CROSS_LIBC = '/usr/%s/include/stdio.h' % TRIPLET

PROG_SSL_ZLIB = r'''
#include <stdio.h>
#include <zlib.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

int main(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    printf("zlib %s\n", zlibVersion());
    printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("header zlib %s openssl %d.%d.%d\n", ZLIB_VERSION, OPENSSL_VERSION_MAJOR,
           OPENSSL_VERSION_MINOR, OPENSSL_VERSION_PATCH);
    printf("ssl ctx %s\n", ctx ? "ok" : "failed");
    SSL_CTX_free(ctx);
    return ctx ? 0 : 1;
}
'''

PROG_ZLIB = r'''
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    const char *text = "xsysroot cross test, xsysroot cross test, xsysroot cross test";
    unsigned char packed[256], back[256];
    uLongf np = sizeof packed, nb = sizeof back;
    if (compress(packed, &np, (const Bytef *)text, strlen(text) + 1) != Z_OK ||
        uncompress(back, &nb, packed, np) != Z_OK || strcmp((char *)back, text) != 0)
        return 1;
    printf("zlib %s\n", zlibVersion());
    printf("header zlib %s\n", ZLIB_VERSION);
    printf("roundtrip ok %lu\n", (unsigned long)np);
    return 0;
}
'''


def upstream(version):
    """'1:1.2.13.dfsg-1' -> '1.2.13'; '3.0.15-1~deb12u1' -> '3.0.15'."""
    m = re.match(r'^(?:\d+:)?(\d+(?:\.\d+)*)', version)
    return m.group(1) if m else version


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-3000:],
                                                r.stderr[-3000:])


def under(p, d):
    return p == d or p.startswith(d.rstrip('/') + '/')


def parse_deps(path):
    """Headers listed in a -MD dependency file."""
    try:
        with open(path) as f:
            text = f.read().replace('\\\n', ' ')
    except OSError:
        return []
    _, _, rest = text.partition(':')
    return [w for w in rest.split() if w.endswith('.h') or '/include/' in w]


def parse_trace(stdout):
    """Input files ld/lld reported with --trace (one path a line)."""
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        m = re.match(r'^(?:ld(?:\.lld)?:\s*(?:mode \S+)?)?\s*(\(?/\S+\)?)$', line)
        if m:
            p = m.group(1).strip('()')
            p = re.sub(r'\(.*$', '', p)          # archive(member)
            out.append(p)
    return out


def foreign(paths, mnt, runtime_dirs, work):
    """Paths neither in the sysroot, the compiler's runtime nor our sources."""
    mnt = os.path.realpath(mnt)
    bad = []
    for p in paths:
        rp = os.path.realpath(p)
        if under(rp, mnt) or under(rp, work):
            continue
        base = os.path.basename(rp)
        if any(under(rp, d) for d in runtime_dirs) or \
                base.startswith(('libgcc', 'crtbegin', 'crtend')):
            continue
        bad.append(p)
    return sorted(set(bad))


def main(t, h):
    clang = shutil.which('clang')
    lld = shutil.which('ld.lld')
    pkgconf = shutil.which('pkg-config')
    qemu = shutil.which('qemu-aarch64')
    gcc = shutil.which(GCC)
    for tool, pkg in ((clang, 'clang'), (lld, 'lld'), (pkgconf, 'pkg-config'),
                      (qemu, 'qemu-user')):
        if not t.ok(tool is not None, '%s is installed (package %s; a required tool)'
                    % (tool or pkg, pkg)):
            return

    checks = ['clang build', 'clang binary runs', 'clang build uses only the sysroot',
              'gcc build', 'gcc binary runs', 'gcc build uses only the sysroot',
              'pkg-config flags', 'pkg-config build', 'pkg-config binary runs']
    missing = [p for p in DEV_PACKAGES if p not in h.index.pkgs]
    if missing:
        for c in checks:
            t.skip(c, 'the fixture repository does not carry %s yet '
                      '(tests/fixtures/mkrepo.py ROOTS)' % ', '.join(missing))
        return
    want_zlib = upstream(h.index.pkgs['zlib1g-dev']['Version'])
    want_ssl = upstream(h.index.pkgs['libssl-dev']['Version'])
    t.diag('fixture: zlib1g-dev %s, libssl-dev %s, libgcc-12-dev %s'
           % (h.index.pkgs['zlib1g-dev']['Version'], h.index.pkgs['libssl-dev']['Version'],
              h.index.pkgs['libgcc-12-dev']['Version']))

    work = os.path.realpath(h.mktemp('cross-'))
    for name, text in (('prog.c', PROG_SSL_ZLIB), ('prog2.c', PROG_ZLIB)):
        with open(os.path.join(work, name), 'w') as f:
            f.write(text)
    env = xstest.clean_env(LC_ALL='C.UTF-8', TMPDIR=work)    # compilers' temporaries
    for k in ('PKG_CONFIG_PATH', 'CPATH', 'C_INCLUDE_PATH', 'LIBRARY_PATH', 'CFLAGS',
              'LDFLAGS', 'COMPILER_PATH', 'GCC_EXEC_PREFIX'):
        env.pop(k, None)
    res_dir = sh([clang, '-print-resource-dir'], env=env).stdout.strip()

    def expect_ssl(r):
        lines = r.stdout.splitlines()
        return (r.returncode == 0 and 'zlib %s' % want_zlib in lines and
                any(x.startswith('openssl OpenSSL %s ' % want_ssl) for x in lines) and
                'ssl ctx ok' in lines)

    with h.mount(packages=DEV_PACKAGES) as m:
        mnt = m.path
        libc_so = m.p('usr/lib/%s/libc.so' % TRIPLET)
        try:
            with open(libc_so) as f:
                group = [x for x in f.read().splitlines() if 'GROUP' in x]
            t.diag('MNT/usr/lib/%s/libc.so: %s' % (TRIPLET, ' '.join(group)))
        except OSError as e:
            t.diag('cannot read MNT/usr/lib/%s/libc.so: %s' % (TRIPLET, e))

        def build(label, cc, extra, src, out, runtime_dirs, libs, provenance=True):
            deps = os.path.join(work, out + '.d')
            argv = cc + ['--sysroot=' + mnt, '-MD', '-MF', deps, '-Wl,--trace'] + extra + \
                [os.path.join(work, src)] + libs + ['-o', os.path.join(work, out)]
            t.diag('$ ' + ' '.join(argv))
            r = sh(argv, timeout=300, env=env, cwd=work)
            built = t.ok(r.returncode == 0 and os.path.exists(os.path.join(work, out)),
                         '%s: %s links against the mount' % (label, out), show(r))
            if not built:
                t.skip('%s binary runs' % label, 'the build failed')
                t.skip('%s build uses only the sysroot' % label, 'the build failed')
                return None
            headers = parse_deps(deps)
            inputs = parse_trace(r.stdout + '\n' + r.stderr)
            used = headers + inputs
            bad = foreign(used, mnt, runtime_dirs, work)
            t.diag('%s: %d headers, %d linker inputs, %d from outside the sysroot and the '
                   'compiler runtime' % (label, len(headers), len(inputs), len(bad)))
            if provenance is True:
                t.ok(not bad and headers and inputs,
                     '%s: every header and linker input comes from the sysroot '
                     '(or the compiler runtime)' % label,
                     'from the host: %s\n(%d inputs seen)' % (' '.join(bad[:30]), len(used)))
            else:
                t.skip('%s build uses only the sysroot' % label, provenance)
                if bad:
                    t.diag('%s: from the host: %s' % (label, ' '.join(bad[:30])))
            return r

        def run(label, out, check, what):
            r = sh([qemu, '-L', mnt, './' + out], timeout=120, env=env, cwd=work)
            t.ok(check(r), '%s: qemu-aarch64 -L MNT ./%s prints %s' % (label, out, what),
                 show(r))

        both = 'zlib %s and OpenSSL %s' % (want_zlib, want_ssl)

        # 1. clang + lld
        if build('clang', [clang, '--target=' + TRIPLET, '-fuse-ld=lld'], [], 'prog.c',
                 'prog', [res_dir], ['-lssl', '-lcrypto', '-lz']):
            run('clang', 'prog', expect_ssl, both)

        # 2. the Debian cross gcc
        if gcc is None:
            for c in ('gcc build', 'gcc binary runs', 'gcc build uses only the sysroot'):
                t.skip(c, '%s is not installed (package gcc-aarch64-linux-gnu)' % GCC)
        else:
            gcc_dir = os.path.dirname(sh([gcc, '-print-libgcc-file-name'],
                                         env=env).stdout.strip())
            prov = True
            if os.path.exists(HOST_CROSS_LIBC):
                prov = ('%s exists (libc6-dev-arm64-cross): Debian\'s cross gcc searches '
                        '/usr/%s before --sysroot; install gcc-aarch64-linux-gnu with '
                        '--no-install-recommends' % (HOST_CROSS_LIBC, TRIPLET))
            if build('gcc', [gcc], [], 'prog2.c', 'prog2', [gcc_dir], ['-lz'], prov):
                run('gcc', 'prog2', lambda r: r.returncode == 0 and
                    'zlib %s' % want_zlib in r.stdout.splitlines() and
                    'roundtrip ok' in r.stdout, 'zlib %s and a compress round trip' % want_zlib)

        # 3. pkg-config's flags
        pc_env = dict(env, PKG_CONFIG_SYSROOT_DIR=mnt,
                      PKG_CONFIG_LIBDIR='%s/usr/lib/%s/pkgconfig:%s/usr/share/pkgconfig'
                      % (mnt, TRIPLET, mnt))
        r = sh([pkgconf, '--cflags', '--libs', 'openssl', 'zlib'], env=pc_env)
        flags = r.stdout.split()
        rv = sh([pkgconf, '--modversion', 'openssl', 'zlib'], env=pc_env)
        t.diag('pkg-config --cflags --libs openssl zlib: %s' % r.stdout.strip())
        paths = [f[2:] for f in flags if f.startswith(('-I', '-L'))]
        ok = (r.returncode == 0 and all(x in flags for x in ('-lssl', '-lcrypto', '-lz'))
              and all(under(os.path.realpath(p), os.path.realpath(mnt)) for p in paths)
              and rv.stdout.split() == [want_ssl, want_zlib])
        t.ok(ok, 'pkg-config flags: -I/-L inside MNT, -lssl -lcrypto -lz, versions %s %s'
             % (want_ssl, want_zlib),
             show(r) + '\nmodversion: ' + show(rv))
        if r.returncode != 0:
            t.skip('pkg-config build', 'pkg-config failed')
            t.skip('pkg-config binary runs', 'pkg-config failed')
        else:
            cflags = [f for f in flags if not f.startswith(('-l', '-L'))]
            libs = [f for f in flags if f.startswith(('-l', '-L'))]
            if build('pkg-config', [clang, '--target=' + TRIPLET, '-fuse-ld=lld'], cflags,
                     'prog.c', 'prog3', [res_dir], libs):
                run('pkg-config', 'prog3', expect_ssl, both)


xstest.run(main)
