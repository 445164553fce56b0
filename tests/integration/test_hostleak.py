#!/usr/bin/python3
"""No host file under `qemu-aarch64 -L MNT`, and no package added.

qemu-user maps a guest's absolute path P to MNT/P only when access(MNT/P)
succeeds, else the guest gets the host's P (util/path.c).  The view
generates what a fresh Debian system has but no package ships, and
stand-ins for configuration a package outside the view ships (the host-file
table, src/core/sysroot.c), so that the guest finds them in the prefix.

On a fixture mount with --packages python3, traced with strace -f (the
statically linked qemu-aarch64-static, so every path is the guest's):
  - `python3 -c 'import json,ssl,sqlite3'` opens no host file (/proc, /dev,
    /sys, and /tmp, where the mount, its cwd and HOME are, aside), and probes no host path except the ones qemu 7.2 does not map
    (faccessat2 of /etc/ld.so.preload) and glibc's C.UTF-8 spelling of the
    view's C.utf8 locale;
  - a second workload (time zone, getpwuid, getgrgid, localhost by name)
    prints "UTC 0 root root 127.0.0.1" and opens no host file but
    /etc/resolv.conf (deliberately the host's: a -L guest shares the host's
    network);
  - the package count of the view (status packages=, and the generated
    dpkg status) is the same before and after, and the daemon log names no
    package added;
  - the generated files carry user.xsysroot.package "generated" and the
    SHA-256 of their content.
--strict (Linux 6.7+): `getent hosts localhost` answers from the view's
/etc/hosts, and /etc/resolv.conf in the namespace is the host's.
"""

import glob
import os
import platform
import posixpath
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

ARCH = 'arm64'
LOCALE = 'C.UTF-8'
IMPORTS = 'import json,ssl,sqlite3; print("imports ok")'
NAMES = ('import time,pwd,grp,socket; print(time.strftime("%Z"), time.localtime().tm_gmtoff, '
         'pwd.getpwuid(0).pw_name, grp.getgrgid(0).gr_name, socket.gethostbyname("localhost"))')
SYSTEM = ('/proc', '/sys', '/dev')
SCRATCH = ('/tmp',)  # where the mount and the workload live: python3 derives paths there
# A view of this test's own: run reuses a live mount of the same view, and
# one made by another build would lack what this one generates.
STRICT_PKGS = ['dash', 'coreutils', 'gzip']
OPENS = {'open', 'openat', 'openat2', 'creat', 'execve', 'execveat'}
# Host paths a guest may still probe, and why.
KNOWN_PROBES = {
    '/etc/ld.so.preload': 'qemu 7.2 passes faccessat2 to the host unmapped; the guest then '
                          'opens the view\'s empty file',
    '/usr/lib/locale/C.UTF-8/LC_CTYPE': 'glibc tries the locale name as given before the '
                                        'view\'s C.utf8',
}
GENERATED = ('etc/nsswitch.conf', 'etc/hosts', 'etc/localtime', 'etc/passwd', 'etc/group',
             'usr/share/locale/locale.alias', 'usr/lib/ssl/openssl.cnf',
             'usr/lib/locale/locale-archive')

LINE_RE = re.compile(r'^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)')
STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def under(p, d):
    return p == d or p.startswith(d.rstrip('/') + '/')


def host_paths(out, mnt, ignore):
    """[(call, path, ok)] of the traced calls that named an absolute host
    path: not in the mount, not /proc /sys /dev, not under IGNORE."""
    res = []
    for f in sorted(glob.glob(os.path.join(out, 'tr.*'))):
        for line in open(f, errors='replace'):
            m = LINE_RE.match(line)
            s = m and STR_RE.search(m.group(2))
            if not s or not s.group(1).startswith('/'):
                continue
            p = posixpath.normpath(s.group(1))
            if under(p, mnt) or any(under(p, d) for d in SYSTEM + tuple(ignore)):
                continue
            ok = m.group(3) != '?' and int(m.group(3)) >= 0
            res.append((m.group(1), p, ok))
    return res


def traced(h, tools, mnt, code):
    """python3 -c CODE under strace + qemu-aarch64-static -L MNT:
    (result, host paths)."""
    strace, qemu = tools
    work = h.mktemp('hostleak-cwd-')
    out = h.mktemp('hostleak-trace-')
    env = {k: v for k, v in xstest.clean_env().items()
           if not (k.startswith('LC_') or k in ('LANG', 'LANGUAGE', 'TZ'))}
    env.update(LC_ALL=LOCALE, HOME=work, PYTHONDONTWRITEBYTECODE='1')
    cmd = [strace, '-f', '-ff', '-qq', '-s', '4096', '-e', 'trace=%file',
           '-o', os.path.join(out, 'tr'), qemu, '-L', mnt,
           os.path.join(mnt, 'usr/bin/python3'), '-c', code]
    r = sh(cmd, timeout=300, env=env, cwd=work)
    # python3 derives prefixes from its own path: the mount's parents are
    # its own business, not host files
    parents = [os.path.dirname(mnt), work, out] + list(SCRATCH)
    ignore = parents + [os.path.realpath(p) for p in parents]
    hp = [(c, p, ok) for c, p, ok in host_paths(out, mnt, ignore)
          if not (c in ('execve', 'execveat') and p == qemu)]
    return r, hp


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-1500:], r.stderr[-1500:])


def counts(m):
    """(status packages=, Package: stanzas of the generated dpkg status)."""
    st = os.getxattr(m.path, 'user.xsysroot.status').decode()
    n = next((ln.partition('=')[2] for ln in st.splitlines() if ln.startswith('packages=')),
             None)
    with open(m.p('var/lib/dpkg/status')) as f:
        dpkg = sum(1 for ln in f if ln.startswith('Package: '))
    return n, dpkg


def leak_checks(t, h, tools):
    with h.mount(packages=['python3']) as m:
        before = counts(m)
        t.ok(before[0] and int(before[0]) == before[1],
             'the view\'s status and its dpkg status count the same packages (%s)'
             % before[0], repr(before))
        r, hp = traced(h, tools, m.path, IMPORTS)
        t.ok(r.returncode == 0 and r.stdout == 'imports ok\n',
             'python3 import json,ssl,sqlite3 runs under strace + qemu-aarch64-static -L',
             show(r))
        opened = sorted({p for c, p, ok in hp if ok and c in OPENS})
        t.ok(not opened, 'import json,ssl,sqlite3 opens no host file', '\n'.join(opened))
        probes = sorted({p for c, p, ok in hp})
        t.diag('host paths probed: %s' % (' '.join(probes) or 'none'))
        other = [p for p in probes if p not in KNOWN_PROBES]
        t.ok(not other, 'and probes no host path but the known ones (%s)'
             % ', '.join(sorted(KNOWN_PROBES)), '\n'.join(other))

        r, hp = traced(h, tools, m.path, NAMES)
        t.eq(r.stdout, 'UTC 0 root root 127.0.0.1\n',
             'time zone UTC, root by uid and gid, localhost by name: from the view')
        opened = sorted({p for c, p, ok in hp if ok and c in OPENS})
        t.ok(set(opened) <= {'/etc/resolv.conf'},
             'names and time open no host file but /etc/resolv.conf', '\n'.join(opened))

        after = counts(m)
        t.eq(after, before, 'the package count is unchanged after both workloads')
        with open(m.log_file, errors='replace') as f:
            added = [ln.strip() for ln in f if 'to the view' in ln and 'added' in ln]
        t.ok(not added, 'the daemon log names no package added', '\n'.join(added))
        bad = []
        for rel in GENERATED:
            p = m.p(rel)
            if not os.path.isfile(p):
                bad.append('%s: missing' % rel)
                continue
            pkg = os.getxattr(p, 'user.xsysroot.package')
            sha = os.getxattr(p, 'user.xsysroot.sha256').decode()
            if pkg != b'generated' or sha != xstest.sha256_file(p):
                bad.append('%s: package %r, sha256 %s' % (rel, pkg, sha))
        t.ok(not bad, 'the %d generated files say package "generated" and carry their '
             'SHA-256' % len(GENERATED), '\n'.join(bad))
        with open(m.p('etc/localtime'), 'rb') as f:
            tz = f.read()
        t.ok(tz.startswith(b'TZif2') and tz.endswith(b'\nUTC0\n'),
             '/etc/localtime is TZif for UTC', repr(tz[:8]))


def strict_checks(t, h):
    rel = platform.release().split('.')
    if (int(rel[0]), int(re.match(r'\d+', rel[1]).group())) < (6, 7):
        t.skip('--strict getent', 'Linux before 6.7 has no binfmt_misc per user namespace')
        return
    cache = h.mktemp('hostleak-run-cache-')
    tmp = h.mktemp('hostleak-run-tmp-')
    log = os.path.join(h.mktemp('hostleak-run-log-'), 'run.log')

    def run(packages, prog):
        a = [xstest.XSYSROOT, 'run', ARCH, '--mirror', h.server.url,
             '--suite', h.suite_for(ARCH), '--keyring', h.repo.keyring,
             '--cache-dir', cache, '--log-file', log, '--packages', ','.join(packages),
             '--strict', '--'] + prog
        return sh(a, timeout=300, env=xstest.clean_env(LC_ALL=LOCALE, TMPDIR=tmp),
                  cwd=h.mktemp('hostleak-run-cwd-'))

    r = run(STRICT_PKGS, ['/usr/bin/getent', 'hosts', 'localhost'])
    t.ok(r.returncode == 0 and re.search(r'^(::1|127\.0\.0\.1)\s+localhost\b', r.stdout, re.M),
         '--strict: getent hosts localhost answers from the view\'s /etc/hosts', show(r))
    if os.path.isfile('/etc/resolv.conf'):
        with open('/etc/resolv.conf') as f:
            want = f.read()
        r = run(STRICT_PKGS, ['/bin/cat', '/etc/resolv.conf'])
        t.ok(r.returncode == 0 and r.stdout == want,
             '--strict: /etc/resolv.conf is the host\'s', show(r))
        r = run(STRICT_PKGS, ['/bin/sh', '-c', 'echo x >> /etc/resolv.conf'])
        t.ok(r.returncode != 0, '--strict: and read-only', show(r))
    else:
        t.skip('--strict resolv.conf', 'this machine has no /etc/resolv.conf')


def main(t, h):
    tools = []
    for prog, pkg in (('strace', 'strace'), ('qemu-aarch64-static', 'qemu-user-static')):
        tools.append(shutil.which(prog))
        if not t.ok(tools[-1], '%s is installed (package %s; required)' % (prog, pkg)):
            return
    leak_checks(t, h, tools)
    strict_checks(t, h)


xstest.run(main)
