#!/usr/bin/python3
"""Go with cgo against the mount: a tiny module whose package calls zlib
through cgo (`#cgo LDFLAGS: -lz`; zlib.h and libz.so from the view's
zlib1g-dev), and a _test.go that calls it, tested for arm64 with

    GOARCH=arm64 CGO_ENABLED=1 CC="clang --target=aarch64-linux-gnu --sysroot=MNT" \
      CGO_LDFLAGS=-fuse-ld=lld

four ways: `go test -exec 'xsysroot run arm64 --'` when the binary has a
`run` command (else that case is skipped), with every setting from
`eval "$(xsysroot env --format go MNT)"` (none from the test) and its
-exec command, `go test -exec 'qemu-aarch64 -L MNT'`, and with neither, through Debian's binfmt_misc handler (registered
only when no handler takes arm64 programs, and removed at the end) with
QEMU_LD_PREFIX=MNT the only hint.  The test binary checks that it runs as
arm64 and that the zlib it loaded is the view's version.

Go's build cache and GOPATH are in a temporary directory; no network
(GOPROXY=off, GOFLAGS=-mod=mod, a go.mod without requirements).  Needs
golang-go, clang, lld, qemu-user and qemu-user-static.
"""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemubinfmt  # noqa: E402
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

TRIPLET = 'aarch64-linux-gnu'
DEV_PACKAGES = ['zlib1g-dev', 'libgcc-12-dev']

GO_MOD = 'module xsysroot.test/xsz\n\ngo 1.19\n'

ZLIB_GO = '''package xsz

/*
#cgo LDFLAGS: -lz
#include <zlib.h>
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Version is the version of the zlib loaded at run time.
func Version() string { return C.GoString(C.zlibVersion()) }

// RoundTrip compresses b with zlib and uncompresses the result.
func RoundTrip(b []byte) ([]byte, error) {
	packed := make([]byte, C.compressBound(C.uLong(len(b))))
	np := C.uLongf(len(packed))
	if C.compress((*C.Bytef)(unsafe.Pointer(&packed[0])), &np,
		(*C.Bytef)(unsafe.Pointer(&b[0])), C.uLong(len(b))) != C.Z_OK {
		return nil, errors.New("compress failed")
	}
	back := make([]byte, len(b))
	nb := C.uLongf(len(back))
	if C.uncompress((*C.Bytef)(unsafe.Pointer(&back[0])), &nb,
		(*C.Bytef)(unsafe.Pointer(&packed[0])), np) != C.Z_OK {
		return nil, errors.New("uncompress failed")
	}
	return back[:nb], nil
}
'''

ZLIB_TEST_GO = '''package xsz

import (
	"bytes"
	"os"
	"runtime"
	"testing"
)

func TestZlib(t *testing.T) {
	if runtime.GOARCH != "arm64" {
		t.Fatalf("GOARCH %s, want arm64", runtime.GOARCH)
	}
	if want := os.Getenv("XS_WANT_ZLIB"); Version() != want {
		t.Fatalf("zlib %s, want %s", Version(), want)
	}
	in := bytes.Repeat([]byte("xsysroot go test "), 64)
	out, err := RoundTrip(in)
	if err != nil || !bytes.Equal(in, out) {
		t.Fatalf("round trip: %v", err)
	}
	t.Logf("xsz: arm64 zlib %s round trip ok", Version())
}
'''


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-3000:],
                                                r.stderr[-3000:])


def has_run_command(xs):
    """The usage line of `xsysroot run`, or None."""
    r = sh([xs, '--help'])
    for line in r.stdout.splitlines():
        if re.search(r'\bxsysroot run\b', line):
            return line.strip()
    return None


def main(t, h):
    xs = xstest.XSYSROOT
    go, clang, lld, qemu = (shutil.which(p) for p in ('go', 'clang', 'ld.lld', 'qemu-aarch64'))
    for tool, pkg in ((go, 'golang-go'), (clang, 'clang'), (lld, 'lld'), (qemu, 'qemu-user')):
        if not t.ok(tool is not None, '%s is installed (package %s)' % (tool or pkg, pkg)):
            return
    missing = [p for p in DEV_PACKAGES if p not in h.index.pkgs]
    if not t.ok(not missing, 'the fixture carries %s' % ', '.join(DEV_PACKAGES),
                'missing: %s' % ', '.join(missing)):
        return
    zlib = re.match(r'^(?:\d+:)?(\d+(?:\.\d+)*)', h.index.pkgs['zlib1g']['Version']).group(1)

    work = os.path.realpath(h.mktemp('go-'))
    mod = os.path.join(work, 'xsz')
    os.makedirs(mod)
    for name, text in (('go.mod', GO_MOD), ('zlib.go', ZLIB_GO),
                       ('zlib_test.go', ZLIB_TEST_GO)):
        with open(os.path.join(mod, name), 'w') as f:
            f.write(text)
    gohome = os.path.join(work, 'gohome')
    os.makedirs(gohome)
    base = xstest.clean_env(
        LC_ALL='C', HOME=gohome, GOPATH=os.path.join(work, 'gopath'),
        GOCACHE=os.path.join(work, 'gocache'), GOENV='off', GOFLAGS='-mod=mod',
        GO111MODULE='on', GOPROXY='off', GOSUMDB='off', GOTOOLCHAIN='local',
        GOARCH='arm64', CGO_ENABLED='1', TMPDIR=work, XS_WANT_ZLIB=zlib)
    for k in ('CGO_CFLAGS', 'CGO_CPPFLAGS', 'GOROOT', 'GOOS', 'GOBIN',
              'PKG_CONFIG_PATH', 'CPATH', 'LIBRARY_PATH', 'GOPRIVATE', 'GONOPROXY'):
        base.pop(k, None)
    t.diag(sh([go, 'version'], env=base).stdout.strip())

    with h.mount(packages=DEV_PACKAGES) as m:
        mnt = m.path
        # -fuse-ld=lld in CC would fail: Go builds runtime/cgo with -Werror, and
        # clang warns that a linker flag is unused when it only compiles.
        env = dict(base, CC='clang --target=%s --sysroot=%s' % (TRIPLET, mnt),
                   CGO_LDFLAGS='-fuse-ld=lld')

        def go_test(label, argv, extra_env=None, timeout=600):
            cmd = [go, 'test', '-count=1', '-v'] + argv + ['./...']
            t.diag('$ ' + ' '.join(cmd))
            r = sh(cmd, env=dict(env, **(extra_env or {})), cwd=mod, timeout=timeout)
            t.ok(r.returncode == 0 and 'xsz: arm64 zlib %s round trip ok' % zlib in r.stdout
                 and re.search(r'^ok\s+xsysroot.test/xsz', r.stdout, re.M),
                 '%s: go test passes (arm64, the view\'s zlib %s)' % (label, zlib), show(r))
            return r

        # The test binary alone, first: linked against the view, arm64.
        r = sh([go, 'test', '-c', '-o', os.path.join(work, 'xsz.test'), '.'], env=env, cwd=mod,
               timeout=900)
        built = os.path.join(work, 'xsz.test')
        head = b''
        if os.path.exists(built):
            with open(built, 'rb') as f:
                head = f.read(64)
        if not t.ok(r.returncode == 0 and xstest.elf_machine(head) == (2, 1, 183),
                    'go test -c: a cgo test binary for arm64 links against the mount',
                    show(r)):
            return
        interp = sh(['file', built]).stdout
        t.ok('dynamically linked' in interp and '/lib/ld-linux-aarch64.so.1' in interp,
             'the test binary is dynamically linked (ld-linux-aarch64.so.1)', interp)

        # 1. -exec 'xsysroot run arm64 --'
        run_line = has_run_command(xs)
        if run_line is None:
            t.skip('-exec xsysroot run: go test passes', 'this xsysroot has no run command')
        else:
            t.diag('xsysroot --help: ' + run_line)
            opts = []
            if 'OPTIONS' in run_line:
                opts = ['--mirror', h.server.url, '--suite', h.suite_for('arm64'),
                        '--keyring', h.repo.keyring, '--cache-dir', m.cache_dir,
                        '--packages', ','.join(DEV_PACKAGES)]
            go_test('-exec xsysroot run', ['-exec', ' '.join([xs, 'run'] + opts + ['arm64',
                                                                                  '--'])])

        # 2. everything from `xsysroot env --format go MNT`, eval'd: GOARCH,
        #    CGO_ENABLED, CC, CGO_LDFLAGS (-fuse-ld=lld) and the -exec command
        #    (qemu -L MNT) come from it, none from the test
        plain = {k: v for k, v in base.items() if k not in ('GOARCH', 'CGO_ENABLED', 'CC',
                                                          'CGO_LDFLAGS')}
        r = sh([xs, 'env', '--format', 'go', mnt], env=plain)
        t.diag('xsysroot env --format go:\n' + r.stdout)
        t.ok(r.returncode == 0 and "export GOARCH=arm64" in r.stdout and
             "export CGO_ENABLED=1" in r.stdout and '-fuse-ld=lld' in r.stdout and
             'unset GOARM' in r.stdout, 'env --format go: GOARCH, CGO_ENABLED, CGO_LDFLAGS '
             'with -fuse-ld=lld', show(r))
        cmd = ('eval "$("$1" env --format go "$2")" && exec "$3" test -count=1 -v '
               '-exec "$XSYSROOT_GO_EXEC" ./...')
        r = sh(['sh', '-c', cmd, 'sh', xs, mnt, go], env=plain, cwd=mod, timeout=600)
        t.ok(r.returncode == 0 and 'xsz: arm64 zlib %s round trip ok' % zlib in r.stdout
             and re.search(r'^ok\s+xsysroot.test/xsz', r.stdout, re.M),
             'eval "$(xsysroot env --format go MNT)": go test -exec qemu -L passes (arm64, '
             'the view\'s zlib %s)' % zlib, show(r))

        # 3. -exec 'qemu-aarch64 -L MNT'
        go_test('-exec qemu-aarch64 -L MNT', ['-exec', '%s -L %s' % (qemu, mnt)])

        # 4. binfmt_misc, QEMU_LD_PREFIX only
        with qemubinfmt.debian_handler('aarch64', head, t.diag) as (name, handler, done):
            if not qemubinfmt.is_debian_qemu(handler, 'aarch64'):
                t.skip('binfmt_misc with QEMU_LD_PREFIX=MNT: go test passes',
                       'another handler (%s, %s) takes arm64 programs'
                       % (name, handler.get('interpreter')))
            else:
                go_test('binfmt_misc with QEMU_LD_PREFIX=MNT', [],
                        extra_env={'QEMU_LD_PREFIX': mnt})
        t.diag('binfmt handler work undone: %s' % (', '.join(done) or 'nothing to undo'))

    # GOARM where it applies: armhf is GOARCH=arm GOARM=7, armel GOARM=5
    for arch, goarm in (('armhf', '7'), ('armel', '5')):
        with h.mount(arch=arch) as m:
            r = sh([xs, 'env', '--format', 'go', m.path], env=base)
            t.ok(r.returncode == 0 and 'export GOARCH=arm\n' in r.stdout and
                 'export GOARM=%s\n' % goarm in r.stdout,
                 'env --format go of an %s mount: GOARCH=arm GOARM=%s' % (arch, goarm), show(r))


xstest.run(main)
