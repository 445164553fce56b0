#!/usr/bin/python3
"""`xsysroot run ARCH -- PROGRAM`: a foreign program with no set-up.

Against the fixture repository (arm64), with TMPDIR pointing at a scratch
directory so that run's private mounts are seen (and their removal checked):
  - the exit status passes through (3), a guest killed by SIGTERM gives 143,
    stdin is piped through, the environment passes (a variable the guest
    prints), SIGTERM sent to `xsysroot run` reaches the guest (its trap
    runs and sets the status);
  - a host arm64 program (tar, copied out of its .deb) whose libraries are
    not in the base view runs: the log says run added libacl1 and
    libselinux1 to the view before the mount, not the view lazily later;
  - nothing is left after a run: no mount, no temporary directory, no
    process naming the run's cache directory, no xsysroot-* binfmt_misc
    handler;
  - a mount of the same view (the same packages, versions and .deb
    digests; here served by another server) is reused: no private mount
    appears while the guest runs; with a different package set a private
    one does;
  - a private mount of another run, of the same view, is not reused (that
    run removes it when it ends): a run that overlaps one has its own and
    works on after the other ended;
  - --strict: nested foreign shells (`sh -c 'sh -c "exit 7"'`) and a
    pipeline of the view's coreutils/sed work; a marker file on the host
    outside the binds is invisible (and visible without --strict, where
    qemu falls back to host paths);
  - --strict under strace -f: after pivot_root, every file python3
    (`import json,ssl,sqlite3`) opened successfully is in the view or under
    the binds (/proc, /dev, /sys, /tmp, the current directory, $HOME);
  - --strict --writable DIR as root: the same confinement as a user gets,
    a pid namespace (/proc/1 is the sandbox's init, /proc/1/root does not
    reach the host), /proc/sys, /proc/sysrq-trigger and /sys read-only, a
    /dev with only null, zero, full, random, urandom, tty, pts, shm, the
    handler in the namespace's own binfmt_misc (none on the machine's,
    during or after), working with the machine's binfmt_misc unmounted (in
    a private mount namespace); SIGKILL of run takes the sandbox along; a
    kernel before 6.7 (setarch --uname-2.6) is refused with the reason;
  - --strict --writable DIR: apt-get (from the view) installs `hello` from
    the fixture server (a sources.list with trusted=yes placed in
    DIR/upper): its files land in DIR/upper only, not in the mount; tcc,
    installed the same way, builds a C program against the view's libc6-dev
    and it runs (an arm64 ELF in DIR/upper).
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

ARCH = 'arm64'
SHELL = ['dash', 'coreutils']
LOCALE = 'C.UTF-8'


class Runner:
    def __init__(self, h):
        self.h = h
        self.cache = h.mktemp('run-cache-')
        self.tmpdir = h.mktemp('run-tmp-')
        self.log = os.path.join(h.mktemp('run-log-'), 'run.log')

    def argv(self, packages, prog, extra=()):
        a = [xstest.XSYSROOT, 'run', ARCH, '--mirror', self.h.server.url,
             '--suite', self.h.suite_for(ARCH), '--keyring', self.h.repo.keyring,
             '--cache-dir', self.cache, '--log-file', self.log]
        if packages:
            a += ['--packages', ','.join(packages)]
        return a + list(extra) + ['--'] + prog

    def env(self, **kw):
        kw.setdefault('TMPDIR', self.tmpdir)
        kw.setdefault('XSYSROOT_RUN_REUSE', '1')  # the reuse of mounts is tested here
        return xstest.clean_env(LC_ALL=LOCALE, **kw)

    def run(self, packages, prog, extra=(), timeout=300, env=None, **kw):
        return sh(self.argv(packages, prog, extra), timeout=timeout,
                  env=env or self.env(), **kw)

    def leftovers(self):
        """What a finished run must not leave: mounts and directories under
        its TMPDIR, processes naming its cache directory."""
        left = []
        for line in open('/proc/self/mountinfo'):
            if self.tmpdir in line:
                left.append('mount: ' + line.split()[4])
        left += ['dir: ' + p for p in glob.glob(os.path.join(self.tmpdir, '*'))]
        left += ['binfmt_misc: ' + p for p in glob.glob('/proc/sys/fs/binfmt_misc/xsysroot-*')]
        left += ['pid: %d' % p for p in xstest.pids_using(self.cache)]
        me = os.getpid()
        for d in os.listdir('/proc'):
            if d.isdigit() and int(d) != me:
                try:
                    with open('/proc/%s/cmdline' % d, 'rb') as f:
                        if self.cache.encode() in f.read():
                            left.append('pid %s: cmdline names the cache' % d)
                except OSError:
                    pass
        return sorted(set(left))

    def private_mounts(self):
        return [line.split()[4] for line in open('/proc/self/mountinfo')
                if self.tmpdir in line.split()[4] and 'fuse.xsysroot' in line]


def show(r):
    return 'exit %s\nstdout: %s\nstderr: %s' % (r.returncode, r.stdout[-3000:], r.stderr[-3000:])


def while_running(rn, pkgs, script, action, extra=()):
    """Run `/bin/sh -c SCRIPT` through xsysroot run; once the guest printed
    'ready', call ACTION(popen); (exit status, stdout, stderr)."""
    with open(os.path.join(rn.tmpdir, '..', 'guest.out'), 'wb+') as out, \
            open(os.path.join(rn.tmpdir, '..', 'guest.err'), 'wb+') as err:
        p = subprocess.Popen(rn.argv(pkgs, ['/bin/sh', '-c', script], extra), stdout=out,
                             stderr=err, stdin=subprocess.DEVNULL, env=rn.env())
        try:
            deadline = time.time() + 120
            while time.time() < deadline and p.poll() is None:
                out.seek(0)
                if b'ready' in out.read():
                    break
                time.sleep(0.05)
            action(p)
            rc = p.wait(60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out.seek(0)
        err.seek(0)
        return (rc, out.read().decode(errors='replace'),
                err.read().decode(errors='replace')[-2000:])


def wait_leftovers(rn, seconds=5):
    deadline = time.time() + seconds
    left = rn.leftovers()
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = rn.leftovers()
    return left


def basic(t, h, rn):
    r = rn.run(SHELL, ['/bin/sh', '-c', 'exit 3'])
    t.eq(r.returncode, 3, 'the exit status of the guest passes through (3)')
    t.eq(wait_leftovers(rn), [], 'no mount, temporary directory or process left after a run')
    r = rn.run(SHELL, ['/bin/sh', '-c', 'kill -TERM $$'])
    t.eq(r.returncode, 128 + signal.SIGTERM, 'a guest killed by SIGTERM: exit 143, as a shell says')

    p = subprocess.run(rn.argv(SHELL, ['cat']), input=b'line one\nline two\n',
                       capture_output=True, env=rn.env(), timeout=300)
    t.ok(p.returncode == 0 and p.stdout == b'line one\nline two\n',
         'stdin is piped through to the guest (cat)', p.stderr.decode(errors='replace'))
    r = rn.run(SHELL, ['/bin/sh', '-c', 'printf %s "$XS_RUN_TEST"'],
               env=rn.env(XS_RUN_TEST='passed along'))
    t.ok(r.returncode == 0 and r.stdout == 'passed along',
         'the environment passes to the guest', show(r))

    # SIGTERM to xsysroot run reaches the guest: its trap runs
    script = ('trap "echo guest got TERM; exit 42" TERM; echo ready; '
              'while :; do sleep 0.1; done')
    rc, text, err = while_running(rn, SHELL, script, lambda p: p.send_signal(signal.SIGTERM))
    t.ok(rc == 42 and 'guest got TERM' in text,
         'SIGTERM sent to xsysroot run reaches the guest (its trap sets exit 42)',
         'exit %s, stdout %r, stderr %r' % (rc, text, err))
    t.eq(wait_leftovers(rn), [], 'nothing left after a run ended by a signal')

    # SIGKILL leaves run no chance to clean up: its private mount's daemon
    # follows it (parent-death signal), and auto_unmount removes the mount
    rc, text, err = while_running(rn, SHELL, 'echo ready; sleep 3',
                                  lambda p: p.send_signal(signal.SIGKILL))
    left = [x for x in wait_leftovers(rn, 10) if not x.startswith('dir: ')]
    t.ok(rc == -signal.SIGKILL and not left,
         'after SIGKILL of xsysroot run its daemon and mount are gone (only the empty '
         'temporary directory stays)', 'exit %s; left: %r' % (rc, left))
    for d in glob.glob(os.path.join(rn.tmpdir, 'xsysroot-run-*')):
        for sub in ('view', 'skel', 'root', ''):
            try:
                os.rmdir(os.path.join(d, sub))
            except OSError:
                pass


def dt_needed(t, h, rn):
    """A host arm64 program needing libraries outside the base view: its
    packages added, the indexes read once for both opens of the view."""
    work = h.mktemp('run-tar-')
    h.index.extract(['tar'], work)
    progs = [p for p in (os.path.join(work, 'usr', 'bin', 'tar'), os.path.join(work, 'bin', 'tar'))
             if os.path.isfile(p)]
    if not t.ok(progs, 'tar\'s program extracted from its .deb'):
        return
    prog = progs[0]
    base = h.index.closure([])
    t.ok('libacl1' not in base and 'libselinux1' not in base,
         'tar\'s libraries (libacl1, libselinux1) are not in the base view')
    with open(rn.log, 'a'):
        pass
    before = os.path.getsize(rn.log)
    # no view cached: the base view and the one with tar's libraries are
    # both resolved, over the indexes this process read once
    for v in glob.glob(os.path.join(rn.cache, 'meta', 'view-*')):
        os.unlink(v)
    r = rn.run([], [prog, '--version'])
    t.ok(r.returncode == 0 and 'GNU tar' in r.stdout,
         'a host arm64 program (tar) runs, its libraries\' packages added', show(r))
    with open(rn.log, errors='replace') as f:
        f.seek(before)
        log = f.read()
    for pkg in ('libacl1', 'libselinux1'):
        t.ok(re.search(r'run: .*needs lib\S+: adding %s ' % pkg, log) and
             not re.search(r' %s .*to the view: it provides' % pkg, log),
             'run added %s to the view for tar\'s DT_NEEDED (not a lazy addition)' % pkg, log)
    t.ok('run: the Packages indexes read 1 time for 2 resolutions' in log,
         'the second open resolved over the indexes the first one read', log)
    t.eq(wait_leftovers(rn), [], 'nothing left after the DT_NEEDED run')


def reuse(t, h, rn):
    # the mount comes from another server of the same repository: the view
    # is told by its packages' digests, not by the mirror URL
    other = h.serve(h.repo.out).url
    with h.mount(packages=SHELL, mirror=other) as m:
        # a guest that runs while we look at the mounts
        flag = os.path.join(h.mktemp('run-flag-'), 'go')
        script = 'echo ready; while [ ! -e %s ]; do sleep 0.1; done; echo done' % flag
        for pkgs, want_private, what in ((SHELL, False, 'the same view'),
                                         (SHELL + ['sed'], True, 'another package set')):
            seen = {}

            def look(p):
                seen['private'] = rn.private_mounts()
                seen['daemons'] = xstest.pids_using(rn.cache)
                open(flag, 'w').close()
            rc, text, err = while_running(rn, pkgs, script, look)
            if os.path.exists(flag):
                os.unlink(flag)
            private, daemons = seen.get('private'), seen.get('daemons', [])
            t.ok(rc == 0 and 'done' in text, 'run with %s finished' % what,
                 'exit %s: %s %s' % (rc, text, err))
            if want_private:
                t.ok(len(private) == 1, 'with %s run made a private mount' % what,
                     'private mounts: %r' % private)
            else:
                t.ok(not private and m.path, 'a mount of %s (%s) is reused: no private mount '
                     'while the guest runs' % (what, m.path), 'private mounts: %r' % private)
            t.diag('processes naming the run cache while the guest ran: %d' % len(daemons))
        t.eq(wait_leftovers(rn), [], 'nothing left after the reuse runs')


def private_not_reused(t, h, rn):
    """Another run's private mount of the same view is not reused: its run
    removes it when its own program ends, under a guest that still uses it
    (the files gone, or "Transport endpoint is not connected" in --strict's
    namespace)."""
    other = Runner(h)
    pk = SHELL + ['sed']
    d = h.mktemp('run-flag-')
    fa, fb = os.path.join(d, 'a'), os.path.join(d, 'b')
    wait = 'until [ -e %s ]; do sleep 0.1; done'
    a = subprocess.Popen(other.argv(pk, ['/bin/sh', '-c', wait % fa]), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=other.env())
    seen = {}

    def look(p):
        seen['private'] = rn.private_mounts()
        open(fa, 'w').close()
        seen['a'] = a.wait(60)
        open(fb, 'w').close()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and a.poll() is None and not other.private_mounts():
            time.sleep(0.05)
        t.ok(len(other.private_mounts()) == 1, 'a first run has a private mount',
             other.private_mounts())
        try:
            status = os.getxattr(other.private_mounts()[0], 'user.xsysroot.status').decode()
        except (OSError, IndexError) as e:
            status = str(e)
        t.ok(re.search(r'^private=1$', status, re.M), 'its status says private=1', status[:600])
        # --strict: its namespace holds the mount; qemu -L alone would fall
        # back to the host's files once the mount is gone
        rc, text, err = while_running(rn, pk, 'echo ready; %s; ls /usr/bin | wc -l; '
                                      'sed --version | head -1' % (wait % fb), look,
                                      ['--strict'] if kernel_at_least(6, 7) else [])
    finally:
        open(fa, 'w').close()
        if a.poll() is None:
            a.kill()
        a.wait()
    t.ok(seen.get('private') and seen.get('private') != other.private_mounts() and
         seen.get('a') == 0, 'a second run of the same view makes a private mount of its own '
         '(the first one\'s is not reused)', seen)
    t.ok(rc == 0 and 'GNU sed' in text, 'the second run works on after the first one ended',
         'exit %s: %s %s' % (rc, text, err))
    t.eq(wait_leftovers(rn) + wait_leftovers(other), [], 'nothing left after the two runs')


def strict(t, h, rn):
    pk = SHELL + ['sed']
    r = rn.run(pk, ['/bin/sh', '-c', 'sh -c \'sh -c "exit 7"\''], extra=['--strict'])
    t.eq(r.returncode, 7, '--strict: nested foreign shells, the innermost status (7) passes')
    r = rn.run(pk, ['/bin/sh', '-c', 'echo hello world | tr a-z A-Z | sed s/WORLD/view/; '
                    'ls /usr/bin/sed | wc -l'], extra=['--strict'])
    t.ok(r.returncode == 0 and r.stdout == 'HELLO view\n1\n',
         '--strict: a pipeline of the view\'s coreutils and sed', show(r))
    # a host script (#!/bin/sh, interpreted by the view's dash) whose children
    # are the view's programs: uname -m under qemu-aarch64 says aarch64
    sdir = h.mktemp('run-script-')
    script = os.path.join(sdir, 'build.sh')
    with open(script, 'w') as f:
        f.write('#!/bin/sh\nsh -c "uname -m"\necho "$0 $*" | sed "s|.*/||"\n'
                'sh -c \'sh -c "exit 7"\'\n')
    os.chmod(script, 0o755)
    r = rn.run(pk, [script, 'one', 'two'], extra=['--strict'], cwd=sdir)
    t.ok(r.returncode == 7 and r.stdout == 'aarch64\nbuild.sh one two\n',
         '--strict: a host #!/bin/sh script runs with the view\'s sh; its child programs '
         'are emulated (uname -m says aarch64), the nested status (7) passes', show(r))
    r = rn.run(pk, [script, 'one', 'two'], cwd=sdir)
    t.ok(r.returncode == 7 and r.stdout.startswith(os.uname().machine + '\n'),
         'without --strict the script\'s children are host programs (uname -m says %s)'
         % os.uname().machine, show(r))
    marker_dir = '/var/tmp'
    marker = os.path.join(marker_dir, 'xsysroot-run-marker-%d' % os.getpid())
    with open(marker, 'w') as f:
        f.write('host only\n')
    try:
        test = ['/bin/sh', '-c', 'if [ -e %s ]; then echo seen; else echo unseen; fi' % marker]
        rs = rn.run(pk, test, extra=['--strict'])
        rl = rn.run(pk, test)
    finally:
        os.unlink(marker)
    t.ok(rs.returncode == 0 and rs.stdout == 'unseen\n',
         '--strict: a host file outside the binds is not visible', show(rs))
    t.ok(rl.returncode == 0 and rl.stdout == 'seen\n',
         'without --strict qemu -L falls back to the host file (the check can tell)', show(rl))
    t.eq(wait_leftovers(rn), [], 'nothing left after the --strict runs')


def strict_path(t, h, rn):
    """--strict is a root of its own: PATH is Debian's standard PATH whatever
    the host's (a poisoned host PATH with a fake python3 first is not used),
    a bare name is the view's program, and /bin/sh -c works without naming
    dash or coreutils."""
    fake = h.mktemp('run-poison-')
    for name in ('python3', 'sh', 'ls'):
        with open(os.path.join(fake, name), 'w') as f:
            f.write('#!/bin/sh\necho POISON-%s\n' % name)
        os.chmod(os.path.join(fake, name), 0o755)
    env = rn.env(PATH=fake + ':' + os.environ.get('PATH', '/usr/bin:/bin'))
    want_path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    r = rn.run(['python3'], ['/bin/sh', '-c', 'echo "PATH=$PATH"; ls -d /usr/bin; '
                'python3 -c "print(6 * 7)"'], extra=['--strict'], env=env)
    t.ok(r.returncode == 0 and r.stdout == 'PATH=%s\n/usr/bin\n42\n' % want_path and
         'POISON' not in r.stdout,
         '--strict with a poisoned host PATH: PATH is Debian\'s, ls and python3 are the '
         'view\'s, and the view has dash and coreutils without --packages naming them',
         show(r))
    r = rn.run(['python3'], ['python3', '-c', 'import os, platform; '
                'print(platform.machine(), os.environ["PATH"])'], extra=['--strict'], env=env)
    t.ok(r.returncode == 0 and r.stdout == 'aarch64 %s\n' % want_path,
         '--strict: a bare name (python3) is the view\'s program, looked up in its PATH',
         show(r))
    t.eq(wait_leftovers(rn), [], 'nothing left after the --strict PATH runs')


STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
CALL_RE = re.compile(r'^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)')
DIRFD_RE = re.compile(r'^(\d+)<([^>]*)>,')


PIDNS_RE = re.compile(r"/\* (\d+) in strace's PID NS \*/")


def forked_after_pivot(files):
    """The pids (strace's) of the processes forked, in an strace -ff
    --pidns-translation trace, after a successful pivot_root of their parent
    or by a process itself forked after one."""
    forks = {}  # pid -> [(child pid, after its pivot_root)]
    for f in files:
        pid, after, kids = int(f.rsplit('.', 1)[1]), False, []
        for line in open(f, errors='replace'):
            c = CALL_RE.match(line)
            if not c or c.group(3) == '?':
                continue
            if c.group(1) == 'pivot_root' and c.group(3) == '0':
                after = True
            elif c.group(1) in ('clone', 'clone3', 'fork', 'vfork') and int(c.group(3)) > 0:
                ns = PIDNS_RE.search(line[c.end(3):])
                kids.append((int(ns.group(1)) if ns else int(c.group(3)), after))
        forks[pid] = kids
    inside = set()
    todo = [k for kids in forks.values() for k, after in kids if after]
    while todo:
        k = todo.pop()
        if k not in inside:
            inside.add(k)
            todo += [kk for kk, _ in forks.get(k, [])]
    return inside


def strict_trace(t, h, rn):
    strace = shutil.which('strace')
    if not t.ok(strace is not None, 'strace is installed (package strace)'):
        return
    pk = ['python3']
    work = h.mktemp('run-cwd-')
    home = h.mktemp('run-home-')
    out = h.mktemp('run-trace-')
    with h.mount(packages=pk) as m:
        argv = [strace, '-f', '-ff', '-qq', '-y', '-s', '4096', '--pidns-translation',
                '-e', 'trace=%file,pivot_root,clone,clone3,fork,vfork',
                '-o', os.path.join(out, 'tr')] + \
            rn.argv(pk, ['/usr/bin/python3', '-c',
                         'import json,ssl,sqlite3; print("imports ok")'], ['--strict'])
        env = rn.env(HOME=home, PYTHONDONTWRITEBYTECODE='1')
        if 'ASAN_OPTIONS' in env:
            # LeakSanitizer cannot run under ptrace (a fatal error at exit)
            env['ASAN_OPTIONS'] += ':detect_leaks=0'
        r = sh(argv, timeout=300, env=env, cwd=work)
        t.ok(r.returncode == 0 and r.stdout == 'imports ok\n',
             '--strict python3 (json, ssl, sqlite3) runs under strace -f', show(r))
        binds = ['/proc', '/dev', '/sys', '/tmp', os.path.realpath(work),
                 os.path.realpath(home)]
        inside, host, pivots = 0, [], 0
        files = sorted(glob.glob(os.path.join(out, 'tr.*')))
        # the program is started by the sandbox's init after its
        # pivot_root: a process forked after a pivot_root is inside from
        # its start
        born_inside = forked_after_pivot(files)
        for f in files:
            after = int(f.rsplit('.', 1)[1]) in born_inside
            for line in open(f, errors='replace'):
                c = CALL_RE.match(line)
                if not c:
                    continue
                call, args, ret = c.group(1), c.group(2), c.group(3)
                if call == 'pivot_root' and ret == '0':
                    after = True
                    pivots += 1
                    continue
                if not after or ret == '?' or int(ret) < 0:
                    continue
                s = STR_RE.search(args)
                if not s or not s.group(1):
                    continue
                p = s.group(1)
                if not p.startswith('/'):
                    d = DIRFD_RE.match(args)
                    p = os.path.join(d.group(2) if d else work, p)
                p = os.path.normpath(p)
                if any(p == b or p.startswith(b + '/') for b in binds) or p == '/':
                    continue
                if os.path.lexists(m.p(p)):
                    inside += 1
                else:
                    host.append('%s %s' % (call, p))
        t.ok(pivots >= 1, '--strict: the trace shows pivot_root into the view', '%d' % pivots)
        t.ok(inside > 50, '--strict: python3 read its files from the view (%d successful '
             'file calls on view paths)' % inside)
        t.ok(not host, '--strict: no successful file call on a path outside the view and the '
             'binds', '\n'.join(sorted(set(host))[:40]))


def writable(t, h, rn):
    d = h.mktemp('run-writable-')
    url = h.server.url
    lst = os.path.join(d, 'upper', 'etc', 'apt', 'sources.list.d')
    os.makedirs(lst)
    with open(os.path.join(lst, 'fixture.list'), 'w') as f:
        f.write('deb [trusted=yes] %s %s main\n' % (url, h.suite_for(ARCH)))
    pk = ['apt', 'base-passwd', 'dash', 'coreutils', 'sed', 'gzip', 'diffutils', 'libc6-dev']
    # a package install, then a small C build with the compiler it installed
    # (tcc, against the view's libc6-dev) and a run of what it built
    script = ('set -e; apt-get -q update >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }; '
              'apt-get -q install -y --no-install-recommends hello tcc; hello; '
              'mkdir -p /build && cd /build && '
              'printf "#include <stdio.h>\\nint main(void) { puts(\\"MSG\\"); return 0; }\\n"'
              ' > prog.c && sed "s/MSG/built in the arm64 chroot/" prog.c > prog2.c && '
              'tcc -o prog prog2.c && ./prog && gzip -9 -n prog2.c && '
              'gzip -t prog2.c.gz && ls -l prog2.c.gz')
    t0 = time.time()
    r = rn.run(pk, ['/bin/sh', '-c', script], extra=['--strict', '--writable', d], timeout=400)
    t.diag('--strict --writable run: %.1f s' % (time.time() - t0))
    t.ok(r.returncode == 0 and 'Hello, world!' in r.stdout,
         '--strict --writable: apt-get installs hello from the fixture server and it runs',
         show(r))
    t.ok(r.returncode == 0 and 'built in the arm64 chroot\n' in r.stdout,
         '--strict --writable: tcc, installed by apt-get, builds a C program against the '
         'view\'s libc6-dev, and it runs', show(r))
    built = os.path.join(d, 'upper', 'build', 'prog')
    head = open(built, 'rb').read(20) if os.path.isfile(built) else b''
    t.eq(xstest.elf_machine(head), (2, 1, 183), 'what it built is an arm64 ELF, in DIR/upper')
    up = os.path.join(d, 'upper')
    t.ok(os.path.isfile(os.path.join(up, 'usr', 'bin', 'hello')),
         'hello\'s program is in DIR/upper')
    status = ''
    try:
        with open(os.path.join(up, 'var', 'lib', 'dpkg', 'status')) as f:
            status = f.read()
    except OSError:
        pass
    t.ok(re.search(r'Package: hello\nStatus: install ok installed', status),
         'the dpkg status in DIR/upper lists hello installed')
    t.ok(os.path.isfile(os.path.join(up, 'build', 'prog2.c.gz')),
         'the scripted build (the view\'s sed and gzip) wrote its result into DIR/upper')
    # as root too the handler is the user namespace's own: none is
    # registered on the machine, and one the machine has is not used
    probe = ['/bin/sh', '-c', 'ls /proc/sys/fs/binfmt_misc; sh -c "uname -m"']
    qemu = shutil.which('qemu-aarch64-static')
    reg = '/proc/sys/fs/binfmt_misc/register'
    mine = '/proc/sys/fs/binfmt_misc/xsysroot-test-%d' % os.getpid()
    if qemu and os.path.exists(reg):
        line = (':%s:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00'
                '\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff'
                '\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff'
                ':%s:F' % (os.path.basename(mine), qemu))
        try:
            with open(reg, 'w') as f:
                f.write(line)
            r = rn.run(pk, probe, extra=['--strict', '--writable', d])
        finally:
            if os.path.exists(mine):
                with open(mine, 'w') as f:
                    f.write('-1')
        t.ok(r.returncode == 0 and 'xsysroot-aarch64\n' in r.stdout and
             os.path.basename(mine) + '\n' not in r.stdout and r.stdout.endswith('aarch64\n'),
             'with an enabled F handler for arm64 on the machine, run as root still uses '
             'its namespace\'s own binfmt_misc (the machine\'s handler is not seen)', show(r))
    else:
        t.skip('the machine\'s F handler is not used', 'no binfmt_misc or qemu-aarch64-static')
    with h.mount(packages=pk) as m:
        t.ok(not os.path.lexists(m.p('/usr/bin/hello')),
             'the view itself did not change (no usr/bin/hello in a mount of it)')
    t.eq(wait_leftovers(rn), [], 'nothing left after the --writable run')


def unprivileged(t, h, rn):
    """--strict as nobody, on a root mount of the same view (this machine's
    /dev/fuse is root's): user namespace, the namespace's own binfmt_misc."""
    if not kernel_at_least(6, 7):
        t.skip('--strict without root', 'Linux before 6.7 has no binfmt_misc per user namespace')
        return
    base = tempfile.mkdtemp(prefix='xsysroot-run-nobody-')
    try:
        os.chmod(base, 0o755)
        for d in ('tmp', 'home', 'cache', 'w'):
            os.mkdir(os.path.join(base, d))
            os.chown(os.path.join(base, d), 65534, 65534)
        os.chmod(h.tmp, 0o711)         # nobody reaches the harness mount
        with h.mount(packages=SHELL):
            mine = {rn.cache: os.path.join(base, 'cache'),
                    rn.log: os.path.join(base, 'cache', 'run.log')}
            argv = [mine.get(a, a)
                    for a in rn.argv(SHELL, ['/bin/sh', '-c',
                                             'id -u; cd /proc/sys/fs/binfmt_misc && ls -d '
                                             'xsysroot-*; cd /; sh -c "uname -m"; '
                                             'echo written > /new; '
                                             'sh -c "sh -c \\"exit 7\\""'],
                                     ['--strict', '--writable', os.path.join(base, 'w')])]
            argv = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'] + argv
            env = rn.env(HOME=os.path.join(base, 'home'), TMPDIR=os.path.join(base, 'tmp'))
            r = sh(argv, env=env, cwd=os.path.join(base, 'home'))
            t.ok(r.returncode == 7 and r.stdout == '0\nxsysroot-aarch64\naarch64\n',
                 '--strict --writable as nobody: root in the namespace, its own binfmt_misc '
                 'handler, emulated children, the status (7) passes', show(r))
            new = os.path.join(base, 'w', 'upper', 'new')
            t.ok(os.path.isfile(new) and os.stat(new).st_uid == 65534,
                 'as nobody the written file is in DIR/upper, owned by nobody')
            t.ok(not glob.glob('/proc/sys/fs/binfmt_misc/xsysroot-*'),
                 'no machine-wide binfmt_misc handler was registered')
            t.ok(not glob.glob(os.path.join(base, 'tmp', '*')),
                 'nothing left in the unprivileged run\'s TMPDIR')
    finally:
        os.chmod(h.tmp, 0o700)
        shutil.rmtree(base, ignore_errors=True)


def host_handlers():
    return glob.glob('/proc/sys/fs/binfmt_misc/xsysroot-*')


def root_confined(t, h, rn):
    """--strict --writable as root: user and pid namespaces, a fresh /proc,
    /proc/sys and /sys read-only, a /dev of its own, the namespace's own
    binfmt_misc; nothing of the machine's binfmt_misc, even unmounted."""
    if not kernel_at_least(6, 7):
        t.skip('root confinement', 'Linux before 6.7 has no binfmt_misc per user namespace')
        return
    d = h.mktemp('run-confined-')
    work = h.mktemp('run-confined-cwd-')
    marker = tempfile.mkdtemp(prefix='xsysroot-marker-', dir='/var/tmp')
    with open(os.path.join(marker, 'host'), 'w') as f:
        f.write('host file\n')
    ready, go = os.path.join(work, 'ready'), os.path.join(work, 'go')
    script = ('echo "init: $(tr "\\0" "\\n" < /proc/1/cmdline | head -n 2 | tr "\\n" " ")"; echo "me: $$"; '
              'cat %s/host 2>/dev/null || echo "no marker"; '
              'cat /proc/1/root%s/host 2>/dev/null || echo "no marker via /proc/1/root"; '
              '{ cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname; } 2>/dev/null '
              '&& echo "proc/sys writable" || echo "proc/sys read-only"; '
              '{ true > /proc/sysrq-trigger; } 2>/dev/null && echo "sysrq writable" || '
              'echo "sysrq read-only"; '
              'touch /sys/kernel/xsysroot-probe 2>/dev/null && echo "sys writable" || '
              'echo "sys read-only"; '
              'ls /dev | tr "\\n" " "; echo; '
              'ls /proc/sys/fs/binfmt_misc; sh -c "uname -m"; '
              'echo ready > %s; while ! test -e %s; do sleep 0.1; done; echo done'
              % (marker, marker, ready, go))
    pk = SHELL
    p = None
    try:
        p = subprocess.Popen(rn.argv(pk, ['/bin/sh', '-c', script], ['--strict', '--writable', d]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=rn.env(), cwd=work)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None and not os.path.exists(ready):
            time.sleep(0.05)
        during = host_handlers()
        open(go, 'w').close()
        out, err = p.communicate(timeout=60)
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(marker, ignore_errors=True)
    r = subprocess.CompletedProcess(p.args, p.returncode, out.decode(errors='replace'),
                                    err.decode(errors='replace'))
    t.ok(r.returncode == 0 and r.stdout.endswith('done\n'), '--strict --writable as root runs',
         show(r))
    t.ok(re.search(r'^init: \S*xsysroot run ', r.stdout, re.M) and
         re.search(r'^me: [0-9]$', r.stdout, re.M),
         'as root: a pid namespace of its own, whose /proc/1 is the sandbox\'s init', show(r))
    t.ok('no marker\n' in r.stdout and 'no marker via /proc/1/root\n' in r.stdout,
         'as root: a host file outside the binds is not reachable, nor through /proc/1/root',
         show(r))
    t.ok('proc/sys read-only\n' in r.stdout and 'sysrq read-only\n' in r.stdout and
         'sys read-only\n' in r.stdout,
         'as root: writing /proc/sys, /proc/sysrq-trigger or /sys fails', show(r))
    devs = next((ln for ln in r.stdout.splitlines() if ln.startswith('fd ')), '').split()
    t.eq(sorted(devs), sorted(['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm',
                               'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']),
         'as root: /dev has only null, zero, full, random, urandom, tty, pts, shm (and links)')
    t.ok('\nxsysroot-aarch64\naarch64\n' in r.stdout,
         'as root: the namespace\'s own binfmt_misc has the handler; children are emulated',
         show(r))
    t.eq(during + host_handlers(), [],
         'no xsysroot-* handler on the machine\'s binfmt_misc, during the run or after')
    t.eq(wait_leftovers(rn), [], 'nothing left after the confined run')

    # with the machine's binfmt_misc unmounted (a private mount namespace,
    # the machine's mount stays)
    inner = ('umount /proc/sys/fs/binfmt_misc 2>/dev/null; '
             'if grep -q " /proc/sys/fs/binfmt_misc " /proc/self/mounts; then '
             'echo "still mounted"; exit 99; fi; exec "$@"')
    argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', inner, 'sh'] + \
        rn.argv(SHELL, ['/bin/sh', '-c', 'sh -c "uname -m"; echo written > /new'],
                ['--strict', '--writable', d])
    r = sh(argv, env=rn.env(), cwd=work)
    t.ok(r.returncode == 0 and r.stdout == 'aarch64\n' and
         os.path.isfile(os.path.join(d, 'upper', 'new')),
         '--strict --writable as root works with the machine\'s binfmt_misc unmounted',
         show(r))
    t.eq(host_handlers(), [], '... and registers no handler on the machine')
    t.eq(wait_leftovers(rn), [], 'nothing left after the run without binfmt_misc')

    # run killed outright: the sandbox's init (whose command line names the
    # cache) and all in its pid namespace go too
    p = subprocess.Popen(rn.argv(SHELL, ['/bin/sh', '-c', 'echo ready; sleep 60; echo late'],
                                 ['--strict', '--writable', d]),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, env=rn.env(), cwd=work)
    try:
        first = p.stdout.readline()
        p.kill()
        p.wait(60)
        left = [x for x in wait_leftovers(rn, 10) if not x.startswith('dir: ')]
        t.ok(first == b'ready\n' and not left,
             'after SIGKILL of a --strict run its sandbox is gone too', 'left: %r' % left)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    for x in glob.glob(os.path.join(rn.tmpdir, 'xsysroot-run-*')):
        shutil.rmtree(x, ignore_errors=True)

    # a kernel before 6.7 (uname as setarch --uname-2.6 reports it): refused,
    # saying why, rather than unconfined or with a machine-wide handler
    if shutil.which('setarch'):
        r = sh(['setarch', os.uname().machine, '--uname-2.6'] +
               rn.argv(SHELL, ['/bin/sh', '-c', 'echo ran'], ['--strict', '--writable', d]),
               env=rn.env(), cwd=work)
        t.ok(r.returncode == 125 and 'ran' not in r.stdout and
             'Linux 6.7' in r.stderr and 'without --strict' in r.stderr,
             '--strict on a kernel before 6.7: refused with the reason (exit 125)', show(r))
        t.eq(host_handlers(), [], '... and no handler registered on the machine')
        t.eq(wait_leftovers(rn), [], 'nothing left after the refused run')
    else:
        t.skip('--strict before Linux 6.7 is refused', 'no setarch')


def kernel_at_least(major, minor):
    m = re.match(r'(\d+)\.(\d+)', os.uname().release)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (major, minor)


def main(t, h):
    qemu = shutil.which('qemu-aarch64-static') or shutil.which('qemu-aarch64')
    if not t.ok(qemu is not None, 'qemu-user for aarch64 is installed'):
        return
    rn = Runner(h)
    basic(t, h, rn)
    dt_needed(t, h, rn)
    reuse(t, h, rn)
    private_not_reused(t, h, rn)
    strict(t, h, rn)
    strict_path(t, h, rn)
    strict_trace(t, h, rn)
    unprivileged(t, h, rn)
    root_confined(t, h, rn)
    writable(t, h, rn)


xstest.run(main)
