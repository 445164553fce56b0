#!/usr/bin/python3
"""The man page and the README cannot drift from the code: every long option
that `xsysroot --help` lists is documented in man/xsysroot.1 and the other
way round, every command in the synopsis exists, and the README's test
command is .ci/run."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402


def main(t, h):
    src = os.environ.get('XSYSROOT_SRC', os.path.join(os.path.dirname(__file__), '..', '..'))
    xs = xstest.xsysroot_bin()
    r = subprocess.run([xs, '--help'], capture_output=True, text=True)
    t.eq(r.returncode, 0, 'xsysroot --help exits 0')
    help_opts = set(re.findall(r'(--[a-z][a-z-]+)', r.stdout)) - {'--help', '--version'}
    with open(os.path.join(src, 'man', 'xsysroot.1')) as f:
        man = f.read()
    man_opts = set(o.replace('\\-', '-') for o in re.findall(r'\\-\\-[a-z][a-z\\-]+', man))
    man_opts = {o.rstrip('-') for o in man_opts} - {'--help', '--version', '--sysroot', '--target'}
    t.eq(sorted(help_opts - man_opts), [], 'every option of --help is in man/xsysroot.1')
    t.eq(sorted(man_opts - help_opts), [], 'every option in man/xsysroot.1 is in --help')
    for cmd in ('mount', 'umount'):
        t.ok('xsysroot ' + cmd in r.stdout and '.B xsysroot %s' % cmd in man,
             'command %s is in --help and in the man page synopsis' % cmd)
    v = subprocess.run([xs, '--version'], capture_output=True, text=True)
    t.ok(v.returncode == 0 and re.fullmatch(r'xsysroot \d+\.\d+\.\d+\n', v.stdout),
         'xsysroot --version prints a version', v.stdout)
    t.ok(v.stdout.split()[1] in man.split('\n', 1)[0], 'the man page names the same version')
    with open(os.path.join(src, 'README.md')) as f:
        readme = f.read()
    t.ok('\n    bash .ci/run\n' in readme, 'the README\'s test command is `bash .ci/run`')
    bad = subprocess.run([xs, 'mount', '--no-such-option', 'arm64', '/nonexistent'],
                         capture_output=True, text=True)
    t.eq(bad.returncode, 2, 'an unknown option is a usage error (exit 2)')
    unk = subprocess.run([xs, 'mount', 'sparc64', '/'], capture_output=True, text=True)
    t.ok(unk.returncode == 1 and "unknown architecture 'sparc64'" in unk.stderr,
         'an unknown architecture is a clear error', unk.stderr)


xstest.run(main)
