#!/usr/bin/python3
"""Contents is an optional accelerator, chosen per view by cost (issue 13).

Against the signed fixture repository and modified copies of it:
  a. a repository that publishes no Contents at all: the mount fetches the
     view's .debs before it answers (every .deb of the closure requested by
     the time `mount` returns, no Contents requested), and the tree then
     equals dpkg-deb -x of the same .debs (file list, types, modes, sizes,
     digests, link targets) without one more .deb being fetched; `run` of a
     host arm64 program (tar) adds the packages of its libraries (libacl1,
     libselinux1) by Debian's naming of library packages, with no Contents
     requested either (with XSYSROOT_CONTENTS=never on the full fixture,
     python3.11's libz.so.1, which no name gives, comes from Contents,
     downloaded only then);
  b. a stale Contents (listed in the InRelease with another digest than the
     one served): one warning names it, the packages it would list are
     fetched at mount, and the tree equals the reference;
  c. one cache, three views: the base view with XSYSROOT_CONTENTS=never
     (the .debs, no Contents requested); then, by cost with no knob, a view
     adding a 1.5 kB package (its .deb is less than the 48 kB of Contents:
     the .debs again, no Contents requested), and a view adding zlib1g
     (its 83 kB .deb is more: Contents requested, zlib1g fetched on first
     use, not at mount).  Each tree equals its reference."""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
import mkrepo  # noqa: E402

ROOTS = ['hello', 'xs-links', 'xs-needs']
HELLO = 'Hello, world!\n'


def show(m):
    return 'exit %s\nstderr: %s\nlog: %s' % (m.rc, m.stderr[-2000:], m.daemon_log()[-2000:])


def contents_gets(repo, log):
    """The requests of LOG for a Contents file of REPO, by name or by hash."""
    digests = [sha for rel, (_, sha) in repo.release_hashes().items() if '/Contents-' in rel]
    return [e for e in xstest.gets(log)
            if 'Contents' in e['path'] or any(d in e['path'] for d in digests)]


def requested(h, log, names):
    """The packages of NAMES whose .deb LOG shows requested."""
    return [n for n in names if xstest.gets(log, xstest.deb_re(h, n))]


def same_tree(t, h, m, names, what, touch=False):
    """The mounted tree equals dpkg-deb -x of NAMES.  touch: look up one file
    of each package first (a Contents view shows a package's empty
    directories once it is fetched)."""
    ref = h.index.extract(names, h.mktemp('ref-'))
    for n in names if touch else ():
        files = h.index.files_of(n)
        if files:
            os.lstat(m.p(xstest.present(files[0].lstrip('./'))))
    problems = xstest.compare_trees(m.path, ref, [r'etc/ld\.so\.cache'])
    t.ok(not problems, '%s: the tree equals dpkg-deb -x of the %d packages' % (what, len(names)),
         '%d differences:\n' % len(problems) + '\n'.join(problems[:40]))


def run_hello(t, m, what):
    qemu = shutil.which('qemu-aarch64')
    if not qemu:
        t.skip(what, 'qemu-aarch64 is not installed')
        return
    r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/hello')], timeout=120,
                  env=xstest.clean_env(LC_ALL='C.UTF-8'))
    t.ok(r.returncode == 0 and r.stdout == HELLO, what,
         'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout, r.stderr[-1000:]))


def mount_way(t, h, srv, url, cache, roots, env, what):
    """Mount ROOTS from URL (served by SRV) on CACHE (None: a new one);
    returns (Mount, server log of the mount)."""
    srv.clear_log()
    m = h.start_mount(packages=roots, cache_dir=cache, mirror=url,
                      env=xstest.clean_env(**env))
    t.ok(m.rc == 0, '%s: the mount succeeds' % what, show(m))
    return m, srv.log()


# ---- a. no Contents at all --------------------------------------------------

def no_contents(t, h, vroot, srv):
    v = h.repo.variant(os.path.join(vroot, 'none'))
    v.drop_contents()
    v.resign()
    t.ok(not any('Contents' in rel for rel in v.release_hashes()),
         'fixture: the variant\'s Release lists no Contents')
    names = h.index.closure(ROOTS)
    m, log = mount_way(t, h, srv, srv.url + 'none/', None, ROOTS, {}, 'no Contents published')
    try:
        if m.rc != 0:
            return
        missing = sorted(set(names) - set(requested(h, log, names)))
        t.ok(not missing, 'no Contents: every .deb of the %d packages is fetched before the '
             'mount answers' % len(names), 'not fetched: %s' % missing)
        t.eq(len(contents_gets(h.repo, log)), 0, 'no Contents: none is requested')
        same_tree(t, h, m, names, 'no Contents')
        t.eq(len(xstest.deb_gets(srv.log())), len(xstest.deb_gets(log)),
             'no Contents: walking and reading the tree fetches no .deb')
        run_hello(t, m, 'no Contents: hello runs under qemu')
    finally:
        xstest.cleanup_mount(m, t)
    run_without_contents(t, h, srv, srv.url + 'none/')


def run_prog(h, url, pkg, path, args, env):
    """xsysroot run of PATH, extracted from PKG's .deb (a host arm64
    program), against URL: (result, run's log)."""
    work = h.mktemp('prog-')
    h.index.extract([pkg], work)
    log = os.path.join(h.mktemp('run-log-'), 'run.log')
    r = xstest.sh([xstest.XSYSROOT, 'run', h.index.arch, '--mirror', url, '--suite',
                   h.suite_for(h.index.arch), '--keyring', h.repo.keyring, '--cache-dir',
                   h.mktemp('cache-'), '--log-file', log, '--', os.path.join(work, path)] + args,
                  timeout=300, env=xstest.clean_env(LC_ALL='C', TMPDIR=h.mktemp('run-tmp-'),
                                                    **env))
    text = open(log, errors='replace').read() if os.path.exists(log) else ''
    return r, text


def ran(r, text):
    return 'exit %s\nstdout: %s\nstderr: %s\nlog: %s' % (r.returncode, r.stdout[-500:],
                                                      r.stderr[-1500:], text[-1500:])


def run_without_contents(t, h, srv, url):
    """xsysroot run of tar (libacl.so.1, libselinux.so.1 outside the base
    view) against URL, a repository without Contents."""
    if not shutil.which('qemu-aarch64'):
        t.skip('run without Contents', 'qemu-aarch64 is not installed')
        return
    srv.clear_log()
    r, text = run_prog(h, url, 'tar', 'bin/tar', ['--version'], {})
    t.ok(r.returncode == 0 and 'GNU tar' in r.stdout,
         'no Contents: run of a host arm64 tar works, its libraries\' packages added',
         ran(r, text))
    for pkg in ('libacl1', 'libselinux1'):
        t.ok(re.search(r'needs lib\S+: adding %s .*Debian\'s name' % pkg, text),
             'no Contents: run adds %s by Debian\'s naming of library packages' % pkg, text)
    t.eq(len(contents_gets(h.repo, srv.log())), 0, 'no Contents: run requests none')


def run_guess_then_contents(t, h, srv):
    """With the .debs forced, run of python3.11 (libexpat.so.1: libexpat1 by
    its name; libz.so.1: zlib1g, which no name gives) asks Contents only for
    the second."""
    if not shutil.which('qemu-aarch64'):
        t.skip('run: a guess, then Contents', 'qemu-aarch64 is not installed')
        return
    srv.clear_log()
    r, text = run_prog(h, srv.url, 'python3.11-minimal', 'usr/bin/python3.11', ['--version'],
                       {'XSYSROOT_CONTENTS': 'never'})
    t.ok(r.returncode == 0 and r.stdout.startswith('Python 3.'),
         'run of a host arm64 python3.11 --version works', ran(r, text))
    t.ok(re.search(r'needs libexpat\.so\.1: adding libexpat1 .*Debian\'s name', text) and
         re.search(r'needs libz\.so\.1: adding zlib1g [^(]*$', text, re.M),
         'run: libexpat1 by its name, zlib1g (no name gives it) from Contents', text)
    t.ok(contents_gets(h.repo, srv.log()), 'run: Contents is requested for libz.so.1 only then')


# ---- b. a stale Contents ------------------------------------------------------

def stale_contents(t, h, vroot, srv):
    v = h.repo.variant(os.path.join(vroot, 'stale'))
    rel = '%s/Contents-%s.gz' % (mkrepo.COMPONENT, h.index.arch)
    v.tamper_index(rel, 'flip')           # listed, but another digest is served
    names = h.index.closure(ROOTS)
    arch_names = [n for n in names if h.index.pkgs[n]['Architecture'] != 'all']
    m, _ = mount_way(t, h, srv, srv.url + 'stale/', None, ROOTS, {}, 'a stale Contents')
    try:
        if m.rc != 0:
            return
        w = sorted({line.split('warning: ', 1)[-1]
                    for line in (m.stderr + '\n' + m.daemon_log()).splitlines()
                    if 'warning' in line and rel in line})
        t.eq(len(w), 1, 'a stale Contents: one warning names it')
        missing = sorted(set(arch_names) - set(requested(h, srv.log(), arch_names)))
        t.ok(not missing, 'a stale Contents: the %d packages it would list are fetched at mount'
             % len(arch_names), 'not fetched: %s' % missing)
        same_tree(t, h, m, names, 'a stale Contents', touch=True)
    finally:
        xstest.cleanup_mount(m, t)


# ---- c. one cache, both ways ------------------------------------------------------

def both_ways(t, h):
    srv = h.serve(h.repo.out)
    run_guess_then_contents(t, h, srv)
    cache = h.mktemp('cache-')
    base = h.index.closure([])
    m, log = mount_way(t, h, srv, srv.url, cache, None, {'XSYSROOT_CONTENTS': 'never'},
                       'XSYSROOT_CONTENTS=never')
    try:
        if m.rc == 0:
            t.eq(len(contents_gets(h.repo, log)), 0,
                 'XSYSROOT_CONTENTS=never: no Contents is requested')
            t.eq(sorted(requested(h, log, base)), sorted(base),
                 'XSYSROOT_CONTENTS=never: the base view\'s .debs are fetched at mount')
            same_tree(t, h, m, base, 'XSYSROOT_CONTENTS=never')
    finally:
        xstest.cleanup_mount(m, t)

    small = xstest.deb_size(h, 'xs-links')
    contents_size = sum(size for rel, (size, _) in h.repo.release_hashes().items()
                        if re.search(r'Contents-(all|%s)\.gz$' % h.index.arch, rel))
    t.ok(small < contents_size < xstest.deb_size(h, 'zlib1g'),
         'fixture: xs-links\'s .deb is smaller than the Contents, zlib1g\'s bigger')
    m, log = mount_way(t, h, srv, srv.url, cache, ['xs-links'], {}, 'by cost, a small addition')
    try:
        if m.rc == 0:
            t.ok(not contents_gets(h.repo, log) and requested(h, log, ['xs-links']),
                 'by cost: %d B of .debs to fetch against %d B of Contents: the .deb, no '
                 'Contents' % (small, contents_size),
                 'GETs: %s' % [e['path'] for e in xstest.gets(log)])
            same_tree(t, h, m, h.index.closure(['xs-links']), 'by cost, a small addition')
    finally:
        xstest.cleanup_mount(m, t)

    big = xstest.deb_size(h, 'zlib1g')
    m, log = mount_way(t, h, srv, srv.url, cache, ['zlib1g'], {}, 'by cost, a bigger addition')
    try:
        if m.rc == 0:
            t.ok(contents_gets(h.repo, log) and not requested(h, log, ['zlib1g']),
                 'by cost: %d B of .debs to fetch against %d B of Contents: Contents, zlib1g '
                 'fetched on first use' % (big, contents_size),
                 'GETs: %s' % [e['path'] for e in xstest.gets(log)])
            same_tree(t, h, m, h.index.closure(['zlib1g']), 'by cost, a bigger addition',
                      touch=True)
    finally:
        xstest.cleanup_mount(m, t)


def main(t, h):
    vroot = h.mktemp('variants-')
    srv = h.serve(vroot)
    no_contents(t, h, vroot, srv)
    stale_contents(t, h, vroot, srv)
    both_ways(t, h)


if __name__ == '__main__':
    xstest.run(main)
