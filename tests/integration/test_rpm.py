#!/usr/bin/python3
"""packaging/rpm/xsysroot.spec, checked with rpm's own parser (no rpmbuild:
Debian's rpm has no %meson macros): it parses, its Version is meson.build's,
it names the build and run dependencies, and its %files list is exactly what
`meson install --destdir` installs when configured with the options of the
spec's %meson line and Fedora's directories (every installed file is listed,
every %files entry matches something installed)."""

import fnmatch
import os
import re
import shlex
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

# Fedora's values of the macros Debian's rpm does not define
DEFINES = ['--define', '_unitdir /usr/lib/systemd/system']


def installed(destdir):
    out = set()
    for dirpath, dirnames, filenames in os.walk(destdir):
        for name in filenames + [d for d in dirnames
                                 if os.path.islink(os.path.join(dirpath, d))]:
            out.add('/' + os.path.relpath(os.path.join(dirpath, name), destdir))
    return out


def main(t, h):
    src = xstest.SRC
    spec = os.path.join(src, 'packaging', 'rpm', 'xsysroot.spec')
    if not shutil.which('rpmspec'):
        t.skip('RPM spec', 'rpmspec is not installed (rpm)')
        return
    with open(os.path.join(src, 'meson.build')) as f:
        version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)

    v = sh(['rpmspec', '-q', '--srpm', '--qf', '%{VERSION}\n'] + DEFINES + [spec])
    t.eq((v.returncode, v.stdout.strip()), (0, version), 'the spec\'s Version is meson.build\'s')
    p = sh(['rpmspec', '-P'] + DEFINES + [spec])
    t.ok(p.returncode == 0 and not p.stderr.strip(), 'rpmspec -P parses the spec quietly',
         p.stderr)
    br = sh(['rpmspec', '-q', '--buildrequires'] + DEFINES + [spec]).stdout.split()
    for d in ('fuse3-devel', 'libarchive-devel', 'libcurl-devel', 'libzstd-devel',
              'openssl-devel', 'meson'):
        t.ok(d in br, 'BuildRequires %s' % d, br)
    rq = sh(['rpmspec', '-q', '--requires'] + DEFINES + [spec]).stdout.split()
    for d in ('fuse3', 'gnupg2'):
        t.ok(d in rq, 'Requires %s' % d, rq)

    text = p.stdout
    mline = next((l for l in text.splitlines() if '-Dsystemdsystemunitdir=' in l), '')
    dopts = [w for w in shlex.split(mline) if w.startswith('-D')]
    t.ok(dopts, 'the %meson line configures the unit and completion directories', mline)
    files = text.split('\n%files', 1)[1].split('\n%changelog', 1)[0] if '\n%files' in text else ''
    patterns = [l.strip() for l in files.splitlines()[1:]
                if l.strip() and not l.strip().startswith(('%doc', '%license', '#'))]
    t.ok(patterns, '%files lists files', files)

    build = h.mktemp('rpm-build-')
    dest = h.mktemp('rpm-dest-')
    r = sh(['meson', 'setup', build, src, '--prefix=/usr', '--sysconfdir=/etc'] + dopts,
           timeout=300)
    t.ok(r.returncode == 0, 'meson setup with the spec\'s options', r.stdout[-2000:] + r.stderr)
    if r.returncode != 0:
        return
    # only what is installed is built (not the tests)
    r = sh(['ninja', '-C', build, 'xsysroot'], timeout=900)
    t.ok(r.returncode == 0, 'the program builds', r.stdout[-2000:] + r.stderr)
    r = sh(['meson', 'install', '-C', build, '--no-rebuild', '--destdir', dest, '--quiet'],
           timeout=300)
    t.ok(r.returncode == 0, 'meson install --destdir', r.stdout[-2000:] + r.stderr)
    got = installed(dest)
    t.diag('installed: %s' % sorted(got))
    unlisted = sorted(f for f in got if not any(fnmatch.fnmatchcase(f, p) for p in patterns))
    t.eq(unlisted, [], 'every installed file is in %files')
    unused = [p for p in patterns if not any(fnmatch.fnmatchcase(f, p) for f in got)]
    t.eq(unused, [], 'every %files entry matches an installed file')


xstest.run(main)
