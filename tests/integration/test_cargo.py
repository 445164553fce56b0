#!/usr/bin/python3
"""cargo against the mount, with Rust's standard library for the target
from the view: Debian's libstd-rust-dev for arm64 ships
/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib, so with --packages
libstd-rust-dev `xsysroot env --format cargo` adds --sysroot=MNT/usr to
the target's RUSTFLAGS, and the host's Debian rustc (the same version as
the view's libstd-rust-dev) builds for aarch64 with nothing installed for
the target on the host.  A tiny library crate calls zlibVersion() from the
view's libz (#[link(name = "z")]); its #[test] checks that it runs as
aarch64 with the view's zlib.  `cargo test` builds it with the linker
settings and runs it through the runner (qemu-aarch64 -L MNT) that `env`
prints.  Needs Debian's rustc and cargo (/usr/bin), clang, lld, qemu-user.
"""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

RUST_TARGET = 'aarch64-unknown-linux-gnu'
PACKAGES = ['libstd-rust-dev', 'zlib1g-dev', 'libgcc-12-dev']
# Debian's, not a rustup toolchain earlier in PATH.
RUSTC, CARGO = '/usr/bin/rustc', '/usr/bin/cargo'

CARGO_TOML = '''[package]
name = "xsrs"
version = "0.1.0"
edition = "2021"
'''

LIB_RS = '''use std::ffi::CStr;
use std::os::raw::c_char;

#[link(name = "z")]
extern "C" {
    fn zlibVersion() -> *const c_char;
}

/// The version of the zlib loaded at run time.
pub fn zlib_version() -> String {
    unsafe { CStr::from_ptr(zlibVersion()) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn zlib_from_the_view() {
        assert_eq!(std::env::consts::ARCH, "aarch64");
        let want = std::env::var("XS_WANT_ZLIB").unwrap();
        assert_eq!(super::zlib_version(), want);
        println!("xsrs: aarch64 zlib {} ok", want);
    }
}
'''


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-3000:],
                                                r.stderr[-3000:])


def deb_version(pkg):
    r = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', pkg], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def main(t, h):
    xs = xstest.XSYSROOT
    for tool, pkg in ((RUSTC, 'rustc'), (CARGO, 'cargo')):
        if not t.ok(os.access(tool, os.X_OK), '%s is installed (package %s)' % (tool, pkg)):
            return
    missing = [p for p in PACKAGES if p not in h.index.pkgs]
    if not t.ok(not missing, 'the fixture carries %s' % ', '.join(PACKAGES),
                'missing: %s (tests/fixtures/mkrepo.py EXTRA_ROOTS)' % ', '.join(missing)):
        return
    std_ver, rustc_ver = h.index.pkgs['libstd-rust-dev']['Version'], deb_version('rustc')
    if not t.eq(rustc_ver, std_ver, 'the host\'s rustc is the version of the view\'s '
                'libstd-rust-dev (rustc loads only its own version\'s std)'):
        return
    host_sysroot = sh([RUSTC, '--print', 'sysroot']).stdout.strip()
    own = os.path.join(host_sysroot, 'lib', 'rustlib', RUST_TARGET)
    t.ok(not os.path.exists(own), 'the host\'s rustc has no %s std of its own (%s)'
         % (RUST_TARGET, own))
    zlib = re.match(r'^(?:\d+:)?(\d+(?:\.\d+)*)', h.index.pkgs['zlib1g']['Version']).group(1)

    work = os.path.realpath(h.mktemp('cargo-'))
    crate = os.path.join(work, 'xsrs')
    os.makedirs(os.path.join(crate, 'src'))
    for name, text in (('Cargo.toml', CARGO_TOML), ('src/lib.rs', LIB_RS)):
        with open(os.path.join(crate, name), 'w') as f:
            f.write(text)
    env = xstest.clean_env(LC_ALL='C', CARGO_HOME=os.path.join(work, 'cargo-home'),
                           CARGO_TARGET_DIR=os.path.join(work, 'target'), RUSTC=RUSTC,
                           PATH='/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR=work,
                           XS_WANT_ZLIB=zlib)
    for k in ('RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'CARGO_BUILD_RUSTFLAGS', 'RUSTUP_HOME',
              'RUSTUP_TOOLCHAIN', 'RUSTC_WRAPPER', 'CARGO_BUILD_TARGET', 'PKG_CONFIG_PATH'):
        env.pop(k, None)

    with h.mount(packages=PACKAGES) as m:
        mnt = m.path
        r = sh([xs, 'env', '--format', 'cargo', mnt], env=env)
        up = RUST_TARGET.upper().replace('-', '_')
        flags = re.search(r"^export CARGO_TARGET_%s_RUSTFLAGS='([^']*)'$" % up, r.stdout, re.M)
        t.ok(r.returncode == 0 and flags and
             flags.group(1).split()[-1] == '--sysroot=%s/usr' % mnt,
             'env --format cargo: the view\'s std is rustc\'s target sysroot '
             '(--sysroot=MNT/usr in the RUSTFLAGS)', show(r))
        script = ('set -e; eval "$("$XS" env --format cargo "$MNT")"; cd "$CRATE"; '
                  'cargo test --offline -- --nocapture')
        r = sh(['sh', '-c', script], env=dict(env, XS=xs, MNT=mnt, CRATE=crate), timeout=600)
        t.ok(r.returncode == 0 and 'xsrs: aarch64 zlib %s ok' % zlib in r.stdout and
             re.search(r'test result: ok\. 1 passed', r.stdout),
             'cargo test builds for %s with the view\'s std and zlib and runs the test '
             'through the runner' % RUST_TARGET, show(r))
        deps = os.path.join(work, 'target', RUST_TARGET, 'debug', 'deps')
        tests = [f for f in os.listdir(deps) if f.startswith('xsrs-') and '.' not in f] \
            if os.path.isdir(deps) else []
        machines = []
        for f in tests:
            with open(os.path.join(deps, f), 'rb') as fh:
                machines.append(xstest.elf_machine(fh.read(20)))
        t.ok(tests and all(x == (2, 1, 183) for x in machines),
             'the test binary is an aarch64 ELF', '%r %r' % (tests, machines))


xstest.run(main)
