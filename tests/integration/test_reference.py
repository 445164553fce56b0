#!/usr/bin/python3
"""The mounted view of --packages hello,xs-links,xs-needs equals dpkg-deb -x of
the same dependency closure (type, permissions without setuid/setgid, size,
sha256, link target), and holds nothing else."""

import os
import stat
import sys

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

ROOTS = ['hello', 'xs-links', 'xs-needs']
# Files xsysroot may synthesise on top of the packages' contents.
ALLOW_EXTRA = [r'etc/ld\.so\.cache'] + [
    x for x in os.environ.get('XSTEST_ALLOW_EXTRA', '').split(',') if x]
L = 'usr/share/xs-links/'


def main(t, h):
    names = h.index.closure(ROOTS)
    t.diag('closure: ' + ' '.join('%s=%s' % (n, h.index.pkgs[n]['Version']) for n in names))
    t.ok({'xs-dep-virtual', 'xs-data-all', 'libc6'} <= set(names) and
         'python3' not in names, 'fixture: reference closure resolved xs-virt and xs-data-all')
    ref = h.index.extract(names, h.mktemp('ref-'))
    nref = len(xstest.snapshot(ref, content=False))

    with h.mount(packages=ROOTS) as m:
        # Contents indexes list files, not directories: a directory that a
        # package ships empty appears once that package is fetched.  Look up
        # one file of each package first, so the whole closure is unpacked.
        for n in names:
            files = h.index.files_of(n)
            if files:
                os.lstat(m.p(xstest.present(files[0].lstrip('./'))))
        problems = xstest.compare_trees(m.path, ref, ALLOW_EXTRA)
        t.ok(not problems, 'mounted tree equals dpkg-deb -x of the %d packages (%d entries)'
             % (len(names), nref),
             '%d differences:\n' % len(problems) + '\n'.join(problems[:60]))

        for rel, bit in (('usr/bin/xs-setuid', stat.S_ISUID), ('usr/bin/xs-setgid', stat.S_ISGID)):
            try:
                mode = os.lstat(m.p(rel)).st_mode
                t.ok(stat.S_ISREG(mode) and not mode & bit,
                     '%s is a regular file without its %s bit' % (rel, 'setuid' if bit == stat.S_ISUID else 'setgid'),
                     'mode %o' % mode)
                t.ok(mode & 0o111 == 0o111, '%s keeps its execute bits' % rel, 'mode %o' % mode)
            except OSError as e:
                t.ok(False, '%s exists' % rel, str(e))

        try:
            target = os.readlink(m.p(L + 'abs-link'))
            t.ok(xstest.link_equivalent(L + 'abs-link', target, '/usr/share/xs-links/target.txt'),
                 'absolute symlink shown as shipped or as its relative equivalent',
                 'target %r' % target)
            t.diag('abs-link -> %s' % target)
        except OSError as e:
            t.ok(False, 'abs-link is a symlink', str(e))
        data, err = xstest.read_errno(m.p(L + 'rel-link'))
        t.eq(data, b'the target of the links\n', 'reading through a relative symlink')
        data, err = xstest.read_errno(m.p(L + 'up-link'))
        t.eq(data, b'the target of the links\n', 'reading through a ../ symlink')

        a, b = m.p(L + 'hard-a'), m.p(L + 'hard-b')
        da, _ = xstest.read_errno(a)
        db, _ = xstest.read_errno(b)
        t.ok(da is not None and da == db and len(da) == 190, 'both names of a hard link read the same bytes')
        try:
            t.diag('hard link pair: same inode %s, nlink %d/%d' % (
                os.stat(a).st_ino == os.stat(b).st_ino, os.stat(a).st_nlink, os.stat(b).st_nlink))
        except OSError:
            pass

        data, err = xstest.read_errno(m.p(L + 'with space.txt'))
        t.eq(data, b'a name with a space\n', 'a file with a space in its name')
        data, err = xstest.read_errno(m.p(L + 'empty-file'))
        t.eq(data, b'', 'an empty file reads as empty')
        try:
            t.eq(os.listdir(m.p(L + 'empty-dir')), [], 'an empty directory lists as empty')
        except OSError as e:
            t.ok(False, 'empty-dir exists', str(e))

        t.ok(os.path.exists(m.p('usr/share/xs-dep-virtual/provider.txt')),
             'the provider of the virtual package is in the view')
        t.ok(os.path.exists(m.p('usr/share/xs-data/sub/dir/deep.bin')),
             'the Architecture: all dependency is in the view')
        for rel in ('usr/bin/python3', 'usr/bin/perl', 'usr/lib/aarch64-linux-gnu/libpython3.11.so.1.0'):
            t.ok(not os.path.lexists(m.p(rel)), 'nothing outside the closure: no %s' % rel)


xstest.run(main)
