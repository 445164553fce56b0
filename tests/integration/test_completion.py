#!/usr/bin/python3
"""packaging/bash-completion/xsysroot, sourced in a plain bash without
bash-completion (and again with it: both give the same): commands, options,
choices, architectures, paths and the mount points of xsysroot mounts; the
actions of cache and the MOUNTPOINT of status; each command's own options
only; package names for --packages from the indexes already in the cache
(xsysroot cache names, which downloads nothing).  Every option that `xsysroot COMMAND --help`
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
if [[ $BASH_COMPLETION ]]; then source "$BASH_COMPLETION" || exit 3; fi
source "$COMPLETION" || exit 3
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_xsysroot
printf '%s\n' "${COMPREPLY[@]}"
'''


WITH_HELPERS = [False]  # source bash-completion first


def complete(completion, *words, cwd=None):
    bc = BASH_COMPLETION if WITH_HELPERS[0] else ''
    r = subprocess.run(['bash', '--norc', '--noprofile', '-c', DRIVER, 'driver'] + list(words),
                       capture_output=True, text=True, cwd=cwd, timeout=60,
                       env=dict(xstest.clean_env(), BASH_COMPLETION=bc,
                                COMPLETION=completion))
    if r.returncode != 0:
        raise RuntimeError('bash completion driver exited %s: %s' % (r.returncode, r.stderr))
    return [w for w in r.stdout.split('\n') if w]


def main(t, h):
    completion = os.path.join(xstest.SRC, 'packaging', 'bash-completion', 'xsysroot')
    with open(completion) as f:
        code = ''.join(x for x in f if not x.lstrip().startswith('#'))
    used = sorted(set(re.findall(r'\b(_init_completion|_filedir|_get_comp_words_by_ref|'
                                 r'__ltrim_colon_completions|_split_longopt)\b', code)))
    t.eq(used, [], 'the completion uses none of bash-completion\'s helpers')
    t.ok(complete(completion, xstest.XSYSROOT, 'm') == ['mount'],
         'it completes in a bash without bash-completion')
    without = cases(t, h, completion, True)
    if not os.path.exists(BASH_COMPLETION):
        t.skip('bash completion with bash-completion', 'the package is not installed')
        return
    WITH_HELPERS[0] = True
    t.eq(cases(None, h, completion, False), without[:len(without) - HEAVY[0]],
         'with bash-completion loaded, every case completes the same (those without a '
         'mount or a fetch)')


class Record:
    """A Tap stand-in that records the outcomes of the cases (compared with
    the first run's)."""
    def __init__(self):
        self.got = []

    def ok(self, cond, desc, diag=None):
        self.got.append((desc, bool(cond)))

    def eq(self, got, want, desc):
        self.got.append((desc, got == want))

    def skip(self, desc, reason):
        pass


HEAVY = [0]  # how many of the outcomes come from the cases with a mount or a fetch


def cases(t, h, completion, heavy):
    """The cases, reported to t (None: recorded), with a mount and a fetch
    when heavy; returns their outcomes."""
    rec = Record()
    if t is None:
        t = rec
    else:
        real = t

        class Both:
            def ok(self, cond, desc, diag=None):
                rec.ok(cond, desc)
                real.ok(cond, desc, diag)

            def eq(self, got, want, desc):
                rec.eq(got, want, desc)
                real.eq(got, want, desc)

            def skip(self, desc, reason):
                real.skip(desc, reason)
        t = Both()
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
    t.eq(complete(completion, xs, 'env', '--format', ''), ['sh', 'meson', 'cmake', 'cargo'],
         'xsysroot env --format <TAB> gives sh meson cmake cargo')
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

    # cache and status arguments, each command's options only
    t.eq(complete(completion, xs, 'cache', ''), ['list', 'verify', 'gc', 'names'],
         'xsysroot cache <TAB> gives its actions')
    t.eq(complete(completion, xs, 'cache', '--json', 've'), ['verify'],
         'xsysroot cache --json ve<TAB> gives verify')
    t.eq(complete(completion, xs, 'cache', 'list', ''), [],
         'after the action, cache takes no other argument')
    got = complete(completion, xs, 'status', '--')
    t.eq(sorted(got), ['--help', '--json', '--quiet', '--verbose'],
         'xsysroot status --<TAB> gives status\'s options, each once')
    got = complete(completion, xs, 'cache', '--')
    t.ok('--json' in got and '--max-size' in got and '--mirror' not in got and
         len(got) == len(set(got)), 'xsysroot cache --<TAB>: its options, not mount\'s', got)
    t.eq(complete(completion, xs, 'env', '--format', '=', 'c'), ['cmake', 'cargo'],
         'the value after "=" as bash splits --format=c into three words')
    if heavy:
        n0 = len(rec.got)
        mount_cases(t, h, completion)
        HEAVY[0] = len(rec.got) - n0
    return rec.got


def mount_cases(t, h, completion):
    """The cases with a mount and a fetch."""
    xs = xstest.XSYSROOT
    with h.mount() as m:
        got = complete(completion, xs, 'umount', '')
        t.ok(m.path in got, 'xsysroot umount <TAB> offers the xsysroot mount', got)
        t.ok(all(xstest.mountinfo_entry(p) and
                 xstest.mountinfo_entry(p)['fstype'] == 'fuse.xsysroot' for p in got),
             'and only xsysroot mounts', got)
        got = complete(completion, xs, 'env', '--format', 'meson', '')
        t.ok(m.path in got, 'xsysroot env --format meson <TAB> offers the mount', got)

    # package names from the cached indexes, nothing downloaded
    cache = h.mktemp('names-cache-')
    fetch = [xs, 'fetch', '--mirror', h.server.url, '--suite', h.suite_for('arm64'),
             '--keyring', h.repo.keyring, '--cache-dir', cache, 'arm64']
    t.eq(xstest.sh(fetch).returncode, 0, 'fetch the base view into a fresh cache')
    before = h.server.stats()['requests']
    want = sorted(n for n in h.index.pkgs if n.startswith('libc'))
    got = complete(completion, xs, 'mount', '--cache-dir', cache, '--packages', 'libc')
    t.eq(got, want, 'xsysroot mount --packages libc<TAB> gives the cached index\'s names')
    got = complete(completion, xs, 'run', '--cache-dir=' + cache, '--packages=hello,zlib')
    t.eq(got, ['hello,' + n for n in sorted(h.index.pkgs) if n.startswith('zlib')],
         'the last item of a comma list completes, the others kept')
    t.eq(h.server.stats()['requests'], before, 'completing names downloads nothing')
    kept = os.path.join(cache, 'completion-names')
    with open(kept) as f:
        lines = f.read().splitlines()
    t.ok(re.fullmatch(r'[0-9a-f]{64}', lines[0]) and lines[1:] == sorted(h.index.pkgs),
         'cache names keeps the list under the digest of its indexes', lines[:3])
    with open(kept, 'w') as f:
        f.write('0' * 64 + '\nstale-name\n')
    got = xstest.sh([xs, 'cache', 'names', '--cache-dir', cache]).stdout.split()
    t.eq(got, sorted(h.index.pkgs), 'a kept list of other indexes is made again, not used')
    t.eq(complete(completion, xs, 'mount', '--cache-dir', h.mktemp('empty-'), '--packages',
                  'libc'), [], 'an empty cache gives no names (and no download)')


xstest.run(main)
