#!/usr/bin/python3
"""Real archives degrade; they never fail the mount (issue 11, section 5).

Against modified copies of the signed fixture repository:
  a. a Contents-arm64.gz that does not match its Release (another size, no
     by-hash copy, as a mirror caught mid-sync serves it): the mount
     succeeds, one warning names the file, the mirror and both sizes, and the
     view's files are there (fetched at mount): hello runs under qemu, libc
     reads right; a remount within the hour does not download it again;
  b. a second source (suite xstest-security) that does not carry the
     architecture, next to one that does, from an apt root's sources.list:
     the mount succeeds with one warning naming it; an architecture that no
     source carries still fails; a component that the Release lacks
     (--components main,contrib) is skipped with one warning;
  c. a signed Packages file with one hostile stanza (hello's Filename climbs
     out with ..): a view without hello mounts (one warning names the
     index), asking for hello fails naming it and the index.
Against the host's Debian mirror (read from the apt configuration at run
time, as mkrepo.py does; skipped when unreachable):
  d. trixie arm64 hello and python3, and the riscv64 hello (trixie), run
     under qemu;
  e. s390x with the host's default sources mounts (a -security source
     without s390x is skipped with one warning) and hello runs."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
import mkrepo  # noqa: E402

HELLO = 'Hello, world!\n'


def hostless(text):
    """TEXT without the host names of URLs other than the fixture's."""
    return re.sub(r'//(?!127\.0\.0\.1)[^/\s]+', '//MIRROR', text)


def show(m):
    return hostless('exit %s\nstderr: %s\nlog: %s' % (m.rc, m.stderr[-2000:],
                                                      m.daemon_log()[-2000:]))


def raw_mount(h, opts, arch, cache_dir=None):
    """h.start_mount with the options OPTS instead of the fixture's --mirror,
    --suite and --keyring."""
    def argv(mnt, cache, log_file, *a, **kw):
        return [xstest.XSYSROOT, 'mount'] + list(opts) + ['--cache-dir', cache,
                                                         '--log-file', log_file, arch, mnt]
    h.mount_argv = argv
    try:
        return h.start_mount(arch=arch, cache_dir=cache_dir, timeout=600)
    finally:
        del h.mount_argv


def warnings(m, pattern):
    """Distinct warning lines of the mount (stderr and log) matching PATTERN."""
    seen = set()
    for line in (m.stderr + '\n' + m.daemon_log()).splitlines():
        if 'warning' in line and re.search(pattern, line):
            seen.add(line.split('warning: ', 1)[-1])
    return sorted(seen)


def run_hello(t, m, arch, desc):
    qemu = shutil.which('qemu-' + xstest.ARCHES[arch]['qemu'])
    if not qemu:
        t.skip(desc, 'qemu-%s is not installed' % xstest.ARCHES[arch]['qemu'])
        return
    r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/hello')], timeout=120,
                  env=xstest.clean_env(LC_ALL='C.UTF-8'))
    t.ok(r.returncode == 0 and r.stdout == HELLO, desc,
         'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout, r.stderr[-1000:]))


def reads_right(t, h, m, pkg, pattern, what):
    """The file of PKG matching PATTERN reads as in the fixture's .deb."""
    ref = xstest.Ref(h, [pkg])
    rel = ref.find(pkg, pattern)
    ok, how = xstest.read_check(m, ref, rel)
    t.ok(ok, '%s: %s reads right (%s)' % (what, rel, how))


# ---- a. Contents that does not match the Release ---------------------------

def bad_contents(t, h, vroot, srv):
    v = h.repo.variant(os.path.join(vroot, 'contents'))
    rel = '%s/Contents-%s.gz' % (mkrepo.COMPONENT, h.index.arch)
    size, _ = v.release_hashes()[rel]
    plain, byhash = v.tamper_index(rel, 'truncate')
    if os.path.lexists(byhash):
        os.unlink(byhash)                    # the by-hash copy answers 404
    served = os.path.getsize(plain)
    url = srv.url + 'contents/'
    cache = h.mktemp('cache-')
    m = h.start_mount(mirror=url, packages=['hello'], cache_dir=cache)
    try:
        t.ok(m.rc == 0, 'Contents not matching its Release: the mount succeeds', show(m))
        w = warnings(m, re.escape(rel))
        t.eq(len(w), 1, 'Contents not matching its Release: one warning names it')
        t.ok(w and url.rstrip('/') in w[0] and str(size) in w[0] and str(served) in w[0],
             'the warning names the mirror, the size listed (%d) and the size served (%d)'
             % (size, served), '\n'.join(w))
        if m.rc != 0:
            return
        run_hello(t, m, h.index.arch,
                  'Contents not matching: hello (fetched at mount) runs under qemu')
        reads_right(t, h, m, 'libc6', r'/libc\.so\.6$', 'Contents not matching')
    finally:
        xstest.cleanup_mount(m, t)
    # the refusal is remembered for a while: a remount does not fetch it again
    before = len(xstest.gets(srv.log(), re.escape(rel)))
    m = h.start_mount(mirror=url, packages=['hello'], cache_dir=cache)
    try:
        w = warnings(m, re.escape(rel))
        t.ok(m.rc == 0 and len(w) == 1 and 'not tried again' in w[0],
             'a remount: the same warning, saying it is not tried again', '\n'.join(w) or show(m))
        after = len(xstest.gets(srv.log(), re.escape(rel)))
        t.ok(before >= 1 and after == before,
             'a remount does not download the refused Contents again',
             'GETs of %s: %d after the first mount, %d after the second' % (rel, before, after))
    finally:
        xstest.cleanup_mount(m, t)


# ---- b. a source without the architecture, a missing component ------------

def lacking_source(t, h, vroot, srv):
    v = h.repo.variant(os.path.join(vroot, 'split'))
    other = v.for_suite(h.suite_for('riscv64'))      # carries riscv64 only
    other.resign(extra={'Suite': 'xstest-security', 'Codename': 'xstest-security'})
    os.rename(other.dists, os.path.join(v.out, 'dists', 'xstest-security'))
    root = h.mktemp('aptroot-')
    os.makedirs(os.path.join(root, 'etc', 'apt'))
    with open(os.path.join(root, 'etc', 'os-release'), 'w') as f:
        f.write('ID=debian\nVERSION_CODENAME=%s\n' % v.suite)
    url = srv.url + 'split/'
    with open(os.path.join(root, 'etc', 'apt', 'sources.list'), 'w') as f:
        for suite in (v.suite, 'xstest-security'):
            f.write('deb [signed-by=%s] %s %s main\n' % (h.repo.keyring, url, suite))
    arch = h.index.arch
    m = raw_mount(h, ['--apt-root', root, '--packages', 'hello'], arch)
    try:
        t.ok(m.rc == 0, 'a source without %s next to one with it: the mount succeeds' % arch,
             show(m))
        w = warnings(m, 'xstest-security')
        t.ok(len(w) == 1 and arch in w[0] and 'skipped' in w[0],
             'one warning says the source without %s is skipped' % arch, '\n'.join(w) or show(m))
        if m.rc == 0:
            reads_right(t, h, m, 'hello', r'usr/bin/hello$', 'the source that has it')
    finally:
        xstest.cleanup_mount(m, t)
    m = raw_mount(h, ['--apt-root', root], 'amd64')
    t.ok(m.rc != 0 and 'amd64' in m.stderr and not xstest.is_mounted(m.path),
         'an architecture no source carries: the mount fails naming it', show(m))
    xstest.cleanup_mount(m, t)

    m = h.start_mount(extra=['--components', 'main,contrib'])
    try:
        t.ok(m.rc == 0, 'a component the Release lacks (contrib): the mount succeeds', show(m))
        w = warnings(m, 'contrib')
        t.ok(len(w) == 1 and 'skipped' in w[0], 'one warning says contrib is skipped',
             '\n'.join(w) or show(m))
    finally:
        xstest.cleanup_mount(m, t)


# ---- c. one hostile stanza in a signed Packages ---------------------------

def hostile_stanza(t, h, vroot, srv):
    v = h.repo.variant(os.path.join(vroot, 'hostile'))
    arch = h.index.arch
    bdir = os.path.join(v.dists, mkrepo.COMPONENT, 'binary-' + arch)
    stanzas = v.packages(arch)
    for st in stanzas:
        if st['Package'] == 'hello':
            st['Filename'] = '../../../../etc/passwd'
    for name in ('Packages', 'Packages.gz', 'Packages.xz', 'Release'):
        os.unlink(os.path.join(bdir, name))
    mkrepo._write_packages(bdir, v.suite, arch, stanzas)
    v.resign()
    url = srv.url + 'hostile/'
    m = h.start_mount(mirror=url)
    try:
        t.ok(m.rc == 0, 'a Packages with one hostile stanza: a view without it mounts', show(m))
        w = warnings(m, 'unusable')
        t.ok(len(w) == 1 and 'hello' in w[0] and 'binary-%s/Packages' % arch in w[0],
             'one warning names the unusable package and its index', '\n'.join(w) or show(m))
        if m.rc == 0:
            data, err = xstest.read_errno(m.p('usr/lib/%s/libc.so.6'
                                              % xstest.ARCHES[arch]['triplet']), 4)
            t.ok(err is None and data == b'\x7fELF', 'that view reads libc.so.6',
                 xstest.ename(err))
    finally:
        xstest.cleanup_mount(m, t)
    m = h.try_mount(mirror=url, packages=['hello'])
    t.ok(m.rc == 1 and not m.was_mounted, 'asking for the hostile package: the mount fails',
         show(m))
    t.ok('hello' in m.stderr and 'unusable' in m.stderr and
         'binary-%s/Packages' % arch in m.stderr and '../../../../etc/passwd' in m.stderr,
         'the error names the package, its index and its Filename', m.stderr)


# ---- d, e. the host's Debian mirror ---------------------------------------

def host_mirror(t):
    try:
        url = mkrepo.host_debian_mirror()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        return None, str(e)
    try:
        urllib.request.urlopen(url + 'dists/trixie/InRelease', timeout=20).close()
    except OSError as e:
        return None, 'the host Debian mirror is unreachable (%s)' % type(e).__name__
    return url, None


def python3_trixie(t, h, url, cache):
    """The real trixie arm64 python3 (34 packages, fetched at mount when the
    mirror's Contents does not match) runs under qemu."""
    m = raw_mount(h, ['--mirror', url, '--suite', 'trixie', '--keyring', mkrepo.DEBIAN_KEYRING,
                      '--packages', 'python3'], 'arm64', cache)
    try:
        t.ok(m.rc == 0, 'host mirror: trixie arm64 python3 mounts', show(m))
        qemu = shutil.which('qemu-aarch64')
        if m.rc == 0 and qemu:
            r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/python3'), '-c',
                           'import json, sys; print(json.dumps(sys.version_info[0]))'],
                          timeout=180, env=xstest.clean_env(LC_ALL='C.UTF-8'))
            t.ok(r.returncode == 0 and r.stdout == '3\n',
                 'host mirror: the real trixie arm64 python3 runs under qemu',
                 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout, r.stderr[-1000:]))
    finally:
        xstest.cleanup_mount(m, t)


def real_mirror(t, h):
    url, why = host_mirror(t)
    cases = [('arm64', 'trixie'), ('riscv64', 'trixie')]
    if url is None:
        for arch, suite in cases:
            t.skip('host mirror: %s %s hello runs under qemu' % (suite, arch), why)
        t.skip('host mirror: trixie arm64 python3 and s390x with the default sources', why)
        return
    cache = h.mktemp('cache-real-')
    for arch, suite in cases:
        m = raw_mount(h, ['--mirror', url, '--suite', suite, '--keyring',
                          mkrepo.DEBIAN_KEYRING, '--packages', 'hello'], arch, cache)
        try:
            t.ok(m.rc == 0, 'host mirror: %s %s mounts' % (suite, arch), show(m))
            for line in warnings(m, '.'):
                t.diag('%s %s: warning: %s' % (suite, arch, hostless(line)))
            if m.rc == 0:
                run_hello(t, m, arch, 'host mirror: the real %s %s hello runs under qemu'
                          % (suite, arch))
        finally:
            xstest.cleanup_mount(m, t)
    python3_trixie(t, h, url, cache)
    m = raw_mount(h, ['--packages', 'hello'], 's390x', cache)
    try:
        t.ok(m.rc == 0, 'host mirror: s390x with the default sources mounts', show(m))
        w = warnings(m, 'does not carry architecture s390x')
        for line in w:
            t.diag('s390x: warning: %s' % hostless(line))
        t.ok(len(w) <= len(mkrepo.host_sources()),
             'host mirror: at most one warning per source without s390x',
             hostless('\n'.join(w)))
        if m.rc == 0:
            run_hello(t, m, 's390x', 'host mirror: the real s390x hello runs under qemu')
    finally:
        xstest.cleanup_mount(m, t)


def main(t, h):
    vroot = h.mktemp('degrade-')
    srv = h.serve(vroot)
    bad_contents(t, h, vroot, srv)
    lacking_source(t, h, vroot, srv)
    hostile_stanza(t, h, vroot, srv)
    real_mirror(t, h)


xstest.run(main)
