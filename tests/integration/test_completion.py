#!/usr/bin/python3
"""packaging/bash-completion/xsysroot, sourced in bash with bash-completion's
_init_completion: commands, options, choices, architectures, paths and the
mount points of xsysroot mounts.  Every option that `xsysroot COMMAND --help`
lists is completed for that command, and a program whose usage text gains a
command or an option gets them completed with no change to the completion (it
reads the usage text when asked, so it cannot drift)."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'

# Complete the words given as arguments (the last one is the word being
# completed) and print COMPREPLY, one per line.
DRIVER = r'''
source "$BASH_COMPLETION" || exit 3
source "$COMPLETION" || exit 3
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_xsysroot
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(completion, *words, cwd=None):
    r = subprocess.run(['bash', '-c', DRIVER, 'driver'] + list(words), capture_output=True,
                       text=True, cwd=cwd, timeout=60,
                       env=dict(xstest.clean_env(), BASH_COMPLETION=BASH_COMPLETION,
                                COMPLETION=completion))
    if r.returncode != 0:
        raise RuntimeError('bash completion driver exited %s: %s' % (r.returncode, r.stderr))
    return [w for w in r.stdout.split('\n') if w]


def main(t, h):
    completion = os.path.join(xstest.SRC, 'packaging', 'bash-completion', 'xsysroot')
    if not os.path.exists(BASH_COMPLETION):
        t.skip('bash completion', 'the bash-completion package is not installed')
        return
    xs = xstest.XSYSROOT
    usage = subprocess.run([xs, '--help'], capture_output=True, text=True).stdout
    commands = re.findall(r'(?m)^(?:Usage:)? +xsysroot ([a-z][a-z-]*)', usage)
    # the options of the program itself: the synopsis line "xsysroot --help | ..."
    global_opts = re.findall(r'--[a-z][a-z-]+',
                             ''.join(re.findall(r'(?m)^ +xsysroot (--.*)$', usage)))
    t.ok('--help' in global_opts and '--version' in global_opts,
         'the usage has a synopsis line of the program\'s own options', global_opts)
    t.eq(sorted(complete(completion, xs, '--')), sorted(global_opts),
         'xsysroot --<TAB> gives the options of the program itself')
    t.ok({'mount', 'umount', 'env', 'ldd'} <= set(commands), 'the usage lists the commands',
         commands)

    t.eq(complete(completion, xs, 'm'), ['mount'], 'xsysroot m<TAB> gives mount')
    t.eq(sorted(complete(completion, xs, '')), sorted(commands),
         'xsysroot <TAB> gives the commands of the usage text')
    t.eq(complete(completion, xs, 'mount', '--mi'), ['--mirror'],
         'xsysroot mount --mi<TAB> gives --mirror')
    t.eq(complete(completion, xs, 'env', '--format', ''),
         ['sh', 'meson', 'cmake', 'cargo', 'go'],
         'xsysroot env --format <TAB> gives sh meson cmake cargo go')
    t.eq(complete(completion, xs, 'env', '--format=c'), ['cmake', 'cargo'],
         'xsysroot env --format=c<TAB> gives cmake cargo')
    for cmd in commands:
        cmd_usage = subprocess.run([xs, cmd, '--help'], capture_output=True, text=True).stdout
        help_opts = set(re.findall(r'(?m)^ +(?:-[a-z], )?(--[a-z][a-z-]+)', cmd_usage))
        got = set(complete(completion, xs, cmd, '--'))
        t.ok(help_opts or cmd in ('umount', 'status'), 'xsysroot %s --help lists its options'
             % cmd, cmd_usage)
        t.eq(sorted(help_opts - got), [],
             'xsysroot %s --<TAB> knows every option of xsysroot %s --help' % (cmd, cmd))
    got = complete(completion, xs, 'mount', '--')
    t.ok('--jobs' not in got and '--format' not in got,
         'xsysroot mount --<TAB> offers mount\'s options, not fetch\'s or env\'s', got)
    arches = complete(completion, xs, 'mount', '--suite', 'bookworm', '')
    t.ok({'arm64', 'armhf', 'i386', 'riscv64'} <= set(arches),
         'the ARCH of mount completes to the architectures of the usage text', arches)
    t.eq(complete(completion, xs, 'ldd', 'arm6'), ['arm64'], 'xsysroot ldd arm6<TAB> gives arm64')

    d = h.mktemp('paths-')
    os.mkdir(os.path.join(d, 'subdir'))
    open(os.path.join(d, 'somefile'), 'w').close()
    t.eq(complete(completion, xs, 'mount', '--cache-dir', d + '/s'), [d + '/subdir'],
         '--cache-dir DIR completes directories only')
    t.eq(sorted(complete(completion, xs, 'mount', '--keyring', d + '/s')),
         [d + '/somefile', d + '/subdir'], '--keyring FILE completes paths')
    t.eq(complete(completion, xs, 'mount', '-o', 'ro', 'arm64', d + '/s'), [d + '/subdir'],
         'the MOUNTPOINT of mount, after -o VALUE and ARCH, completes directories')
    t.eq(complete(completion, xs, 'mount', '--foreground', 'arm6'), ['arm64'],
         'a flag takes no value: the word after it is ARCH')

    with h.mount() as m:
        got = complete(completion, xs, 'umount', '')
        t.ok(m.path in got, 'xsysroot umount <TAB> offers the xsysroot mount', got)
        t.ok(all(xstest.mountinfo_entry(p) and
                 xstest.mountinfo_entry(p)['fstype'] == 'fuse.xsysroot' for p in got),
             'and only xsysroot mounts', got)
        got = complete(completion, xs, 'env', '--format', 'meson', '')
        t.ok(m.path in got, 'xsysroot env --format meson <TAB> offers the mount', got)

    # a program whose usage text gained a command and options
    fake = os.path.join(h.mktemp('fake-'), 'xsysroot')
    with open(fake, 'w') as f:
        f.write('#!/bin/sh\ncat <<"EOF"\n%s'
                'Usage: xsysroot frob [--zzz-new FILE] [--level low|high] ARCH DIR\n'
                '      --zzz-new FILE        a new option\n'
                '      --level LEVEL         low or high\nEOF\n' % usage)
    os.chmod(fake, 0o755)
    t.ok('frob' in complete(completion, fake, ''), 'a new command in the usage text completes')
    t.eq(complete(completion, fake, 'frob', '--zz'), ['--zzz-new'],
         'a new option in the usage text completes')
    t.eq(complete(completion, fake, 'frob', '--level', ''), ['low', 'high'],
         'a new choice list completes')
    t.eq(complete(completion, fake, 'frob', '--zzz-new', d + '/some'), [d + '/somefile'],
         'a new FILE option completes paths')
    t.eq(complete(completion, fake, 'frob', 'arm64', d + '/s'), [d + '/subdir'],
         'a new command\'s DIR argument completes directories')


xstest.run(main)
