#!/usr/bin/python3
"""The Debian package: packaging/build-deb.sh builds xsysroot_VERSION_ARCH.deb
from this tree (dpkg-buildpackage, debhelper's meson build system, the unit
suite included); the .deb holds the program, the man pages, the systemd
unit, the bash completion and the mount helper, with the dependencies the
program needs; lintian's findings are reported (only errors fail); and the
package unpacked into a throw-away root runs: `xsysroot --version` and
`--help`, the helper link and the unit's ExecStart resolve inside that root.

XSYSROOT_DEB_OPTIONS overrides DEB_BUILD_OPTIONS (default: parallel=2)."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

WANT = {
    'usr/bin/xsysroot': 'the program',
    'usr/sbin/mount.fuse.xsysroot': 'the mount helper (a link to the program)',
    'usr/share/man/man1/xsysroot.1.gz': 'the man page',
    'usr/share/man/man8/mount.fuse.xsysroot.8.gz': 'the mount helper\'s man page',
    'lib/systemd/system/xsysroot@.service': 'the systemd unit template',
    'usr/share/bash-completion/completions/xsysroot': 'the bash completion',
}


def meson_version(src):
    with open(os.path.join(src, 'meson.build')) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def main(t, h):
    src = xstest.SRC
    version = meson_version(src)
    if not (shutil.which('dpkg-buildpackage') and shutil.which('dh')):
        t.skip('Debian package', 'dpkg-dev and debhelper are not installed')
        return
    out = h.mktemp('deb-')
    env = xstest.clean_env(DEB_BUILD_OPTIONS=os.environ.get('XSYSROOT_DEB_OPTIONS',
                                                            'parallel=2'))
    t0 = time.monotonic()
    r = sh([os.path.join(src, 'packaging', 'build-deb.sh'), out], timeout=900, env=env)
    t.diag('build-deb.sh took %.0f s' % (time.monotonic() - t0))
    deb = os.path.join(out, 'xsysroot_%s_%s.deb' % (
        version, sh(['dpkg', '--print-architecture']).stdout.strip()))
    t.ok(r.returncode == 0 and os.path.exists(deb),
         'packaging/build-deb.sh builds %s' % os.path.basename(deb),
         'exit %s\n%s' % (r.returncode, (r.stdout + r.stderr)[-4000:]))
    if not os.path.exists(deb):
        return
    ran = re.search(r'(?m)^Ok:\s+(\d+)', r.stdout)
    t.ok(ran and int(ran.group(1)) > 0 or 'nocheck' in env['DEB_BUILD_OPTIONS'],
         'the package build ran the unit suite', r.stdout[-2000:])

    listing = sh(['dpkg-deb', '-c', deb], check=True).stdout
    members = {}
    for line in listing.splitlines():
        parts = line.split(None, 5)
        name = parts[5].split(' -> ')[0]
        members[os.path.normpath(name)] = line
    for path, what in WANT.items():
        t.ok(path in members, 'the package holds %s (%s)' % (what, path))
    t.ok(members.get('usr/sbin/mount.fuse.xsysroot', '').endswith('-> ../bin/xsysroot'),
         'the mount helper is a relative link to the program',
         members.get('usr/sbin/mount.fuse.xsysroot'))

    fields = {k: sh(['dpkg-deb', '-f', deb, k]).stdout.strip()
              for k in ('Package', 'Version', 'Depends', 'Recommends')}
    t.diag('Depends: %s\nRecommends: %s' % (fields['Depends'], fields['Recommends']))
    t.eq(fields['Version'], version, 'the package version is meson.build\'s')
    deps = [d.strip().split()[0] for d in fields['Depends'].split(',')]
    for d in ('fuse3', 'gpgv', 'debian-archive-keyring', 'libfuse3-3', 'libcurl4',
              'libarchive13', 'libzstd1', 'libssl3'):
        t.ok(d in deps, 'Depends names %s' % d, fields['Depends'])
    t.ok('qemu-user' in fields['Recommends'], 'Recommends qemu-user', fields['Recommends'])

    if shutil.which('lintian'):
        changes = os.path.join(out, os.path.basename(deb)[:-4] + '.changes')
        lt = sh(['lintian', '--tag-display-limit', '0', changes], timeout=300)
        tags = [l for l in lt.stdout.splitlines() if re.match(r'[EWIPX]: ', l)]
        t.diag('lintian: %s' % ('\n'.join(tags) or 'no tags'))
        errors = [l for l in tags if l.startswith('E: ')]
        t.eq(errors, [], 'lintian reports no error (warnings are only reported)')
    else:
        t.skip('lintian', 'lintian is not installed')

    root = h.mktemp('root-')
    sh(['dpkg-deb', '-x', deb, root], check=True)
    prog = os.path.join(root, 'usr/bin/xsysroot')
    v = sh([prog, '--version'])
    t.eq((v.returncode, v.stdout), (0, 'xsysroot %s\n' % version),
         'the installed xsysroot --version prints the version')
    hl = sh([prog, '--help'])
    t.ok(hl.returncode == 0 and 'xsysroot mount' in hl.stdout,
         'the installed xsysroot --help prints the usage', hl.stderr)
    link = os.path.join(root, 'usr/sbin/mount.fuse.xsysroot')
    t.ok(os.path.realpath(link) == os.path.realpath(prog),
         'the mount helper resolves to the installed program inside the root')
    hv = sh([link, 'arm64'])
    t.ok(hv.returncode == 2 and 'MOUNTPOINT' in hv.stderr,
         'run as mount.fuse.xsysroot, it is the mount helper (usage without a mount point)',
         hv.stderr)
    with open(os.path.join(root, 'lib/systemd/system/xsysroot@.service')) as f:
        unit = f.read()
    exe = re.findall(r'(?m)^Exec(?:Start|Stop)=(\S+)', unit)
    t.ok(exe and all(e == '/usr/bin/xsysroot' for e in exe),
         'the unit runs /usr/bin/xsysroot, which the package installs', exe)
    comp = subprocess.run(['bash', '-c', 'source "$1" && complete -p xsysroot', 'x',
                           os.path.join(root, 'usr/share/bash-completion/completions/xsysroot')],
                          capture_output=True, text=True)
    t.ok(comp.returncode == 0 and '_xsysroot' in comp.stdout,
         'the installed completion loads in bash', comp.stderr)


xstest.run(main)
