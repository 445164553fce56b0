#!/usr/bin/python3
"""Progress on stderr only when stderr is a terminal, for the downloads of
`fetch`, `run` and a foreground `mount`:
  a. fetch with stderr on a pseudo-terminal draws progress lines (carriage
     returns, the packages counted "[n/N]", bytes of each download), and
     leaves the terminal's line clean at the end; the same fetch with stderr
     on a pipe writes no progress at all;
  b. run on a terminal draws the downloads of the packages it adds; on a
     pipe it is quiet (the program's own output only);
  c. mount -f on a terminal draws the downloads of the indexes; with stderr
     on a pipe a mount draws none;
  d. the rules of the line on a terminal: one line replaced in place (no
     newline until the end), never the same text twice in a row, each index
     named with its suite; no "indexed ..." figures; a mount in the
     background ends with exactly one line, "mounted arm64 view (N packages)
     at MOUNTPOINT in S s"; run with stdout and stderr on one terminal writes
     nothing after the program's output, also when the program's packages
     are fetched while it runs;
  e. -q on a terminal: nothing on stderr; -v on a pipe: the information
     messages ("indexed ...") and the mount's final line."""

import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

CR = '\r'
ERASE = '\033[K'


def repo_args(h, cache):
    return ['--mirror', h.server.url, '--suite', h.suite_for(xstest.ARCH),
            '--keyring', h.repo.keyring, '--cache-dir', cache]


def spawn_tty(argv, both=False):
    """Start ARGV with stderr (both: and stdout) on a new pseudo-terminal;
    returns (Popen, master fd, list of text chunks the terminal received,
    drain thread)."""
    master, slave = os.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=slave if both else subprocess.PIPE,
                         stderr=slave, env=xstest.clean_env(TERM='xterm'))
    os.close(slave)
    got = []

    def drain():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:          # EIO: every writer of the terminal is gone
                break
            if not b:
                break
            got.append(b.decode('utf-8', 'replace'))
    th = threading.Thread(target=drain, daemon=True)
    th.start()
    return p, master, got, th


def on_tty(argv, timeout=300, both=False):
    """(exit status, stdout, what the terminal received) of ARGV run with
    stderr (both: and stdout) on a pseudo-terminal."""
    p, master, got, th = spawn_tty(argv, both)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    th.join(10)
    os.close(master)
    return p.returncode, (out or b'').decode('utf-8', 'replace'), ''.join(got)


def segments(term):
    """The texts the line showed, in order: what each carriage return began,
    erase sequences dropped."""
    return [x.replace(ERASE, '') for x in term.split(CR)]


def line_rules(t, what, term, suite):
    """The rules of the progress line, for what a command drew."""
    seg = [x for x in segments(term) if x.strip()]
    twice = [a for a, b in zip(seg, seg[1:]) if a == b]
    t.ok(seg and not twice, '%s: no line is drawn twice in a row' % what, twice[:3] or term)
    idx = [x for x in seg if re.search(r'(InRelease|Packages\S*|Contents\S*): ', x)]
    t.ok(idx and all(x.startswith(suite + ' ') for x in idx),
         '%s: each index line names the suite and the file ("%s main/...")' % (what, suite),
         idx[:5])
    t.ok('indexed' not in term, '%s: no "indexed ..." figures without -v' % what, show(term))


def mount_on_tty(h, t, extra=(), both=False):
    """xsysroot mount (in the background) with stderr on a terminal: (Mount,
    exit status, what the terminal received); the mount is cleaned up."""
    mnt = h.mktemp('mnt-')
    cache = h.mktemp('cache-')
    log = os.path.join(h.mktemp('log-'), 'daemon.log')
    argv = [xstest.XSYSROOT, 'mount', '--log-file', log] + list(extra) + \
        repo_args(h, cache) + ['arm64', mnt]
    m = xstest.Mount(mnt, cache, log, argv)
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)
    try:
        rc, _, term = on_tty(argv, timeout=120, both=both)
    finally:
        xstest.cleanup_mount(m, t)
    return m, rc, term


def on_pipe(argv, timeout=300):
    r = xstest.sh(argv, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def show(text):
    return repr(text[-1500:])


def main(t, h):
    xs = xstest.XSYSROOT

    # a. fetch
    rc, out, term = on_tty([xs, 'fetch'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello', 'arm64'])
    t.eq(rc, 0, 'fetch on a terminal: exit 0')
    t.ok(CR in term and ERASE in term, 'fetch on a terminal redraws a progress line '
         '(carriage return, erase to the end of the line)', show(term))
    t.ok(re.search(r'\[\d+/\d+\] ', term), 'it counts the packages ([n/N])', show(term))
    t.ok(re.search(r'\.deb: [\d.]+ [kM]?B / [\d.]+ [kM]?B +\d+%', term) or
         re.search(r': [\d.]+ [kM]?B / [\d.]+ [kM]?B +\d+%', term),
         'it shows the bytes of a download against its size', show(term))
    last = term.rsplit(CR, 1)[-1]
    t.ok(last.strip() in ('', ERASE.strip()) or last.startswith(ERASE),
         'the progress line is erased at the end', show(term))
    t.ok('view of' in out, 'the summary goes to stdout', out)
    rc, out, err = on_pipe([xs, 'fetch'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello', 'arm64'])
    t.ok(rc == 0 and CR not in err and ERASE not in err and not re.search(r'\[\d+/\d+\]', err),
         'fetch with stderr on a pipe: no progress at all', show(err))

    # b. run (a fresh cache: it downloads)
    prog = ['--', '/usr/bin/hello']
    rc, out, term = on_tty([xs, 'run', 'arm64'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello'] + prog)
    t.ok(rc == 0 and out == 'Hello, world!\n', 'run on a terminal runs hello', show(out + term))
    t.ok(CR in term and re.search(r'\d+%', term), 'run on a terminal draws its downloads',
         show(term))
    rc, out, err = on_pipe([xs, 'run', 'arm64'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello'] + prog)
    t.ok(rc == 0 and out == 'Hello, world!\n' and CR not in err and ERASE not in err,
         'run with stderr on a pipe: the program\'s output, no progress', show(out + err))

    # c. mount -f on a terminal, then in the background
    mnt = h.mktemp('mnt-')
    cache = h.mktemp('cache-')
    log = os.path.join(h.mktemp('log-'), 'daemon.log')
    argv = [xs, 'mount', '-f', '--log-file', log] + repo_args(h, cache) + ['arm64', mnt]
    m = xstest.Mount(mnt, cache, log, argv)
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)
    p, master, got, th = spawn_tty(argv)
    try:
        deadline = time.monotonic() + 120
        while not xstest.is_mounted(mnt) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        term = ''.join(got)
        t.ok(xstest.is_mounted(mnt), 'mount -f on a terminal mounts', show(term))
        t.ok(CR in term and re.search(r'(InRelease|Packages|Contents)\S*: ', term),
             'mount -f on a terminal draws the downloads of the indexes', show(term))
    finally:
        xstest.cleanup_mount(m, t)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        th.join(10)
        os.close(master)
    with h.mount(cache_dir=h.mktemp('cache-')) as m2:
        t.ok(m2.rc == 0 and CR not in m2.stderr and ERASE not in m2.stderr,
             'a mount with stderr on a pipe draws no progress', show(m2.stderr))
        t.eq(m2.stderr, '', 'a mount with stderr on a pipe writes nothing there (no warning, '
             'no error)')
    rules(t, h)
    quiet_verbose(t, h)


def rules(t, h):
    """d. the rules of the line."""
    xs = xstest.XSYSROOT
    suite = h.suite_for('arm64')
    rc, out, term = on_tty([xs, 'fetch'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello', 'arm64'])
    t.ok(rc == 0 and '\n' not in term, 'fetch on a terminal: one line replaced in place, no '
         'newline on stderr', show(term))
    line_rules(t, 'fetch', term, suite)

    m, rc, term = mount_on_tty(h, t)
    n = len(h.index.closure([]))
    want = 'mounted arm64 view (%d packages) at %s in ' % (n, m.path)
    t.ok(rc == 0 and term.count('\n') == 1 and term.endswith('\r\n') and
         re.search(r'(^|%s)%s[\d.]+ s\r\n$' % (re.escape(ERASE), re.escape(want)), term),
         'mount on a terminal ends with exactly one line "%s<S> s"' % want, show(term))
    line_rules(t, 'mount', term, suite)

    # run with the program's output on the same terminal: nothing after it,
    # also when the private mount's daemon fetches a package for the program
    # once it has written (a fresh cache: hello's .deb comes when the
    # program reads its copyright file, after "one")
    prog = ['/bin/dash', '-c', 'echo one; read x < /usr/share/doc/hello/copyright; '
            'test -n "$x"']
    rc, out, term = on_tty([xs, 'run', 'arm64'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello,dash', '--'] + prog, both=True)
    t.ok(rc == 0 and term.endswith('one\r\n') and term.count('one\r\n') == 1,
         'run on a terminal: nothing is written after the program\'s output, also when a '
         'package is fetched for it after it wrote', show(term))
    before = term.rsplit('one\r\n', 1)[0]
    t.ok(before == '' or before.endswith(CR + ERASE),
         'run on a terminal: the progress line is erased before the program writes',
         show(term))


def quiet_verbose(t, h):
    """e. -q silences, -v adds."""
    xs = xstest.XSYSROOT
    rc, out, term = on_tty([xs, 'fetch', '-q'] + repo_args(h, h.mktemp('cache-')) +
                           ['--packages', 'hello', 'arm64'])
    t.ok(rc == 0 and term == '' and 'view of' in out,
         'fetch -q on a terminal: nothing on stderr, the result on stdout', show(term))
    m, rc, term = mount_on_tty(h, t, extra=['--quiet'])
    t.ok(rc == 0 and term == '', 'mount --quiet on a terminal: nothing on stderr', show(term))
    m, rc, term = mount_on_tty(h, t, extra=['-v'])
    t.ok(rc == 0 and 'mounted arm64 view' in term and 'indexed' in term,
         'mount -v on a terminal: the final line and the information messages', show(term))
    with h.mount(extra=['-v']) as m:
        t.ok(re.search(r'^xsysroot: indexed .*Contents', m.stderr, re.M) and
             re.search(r'^mounted arm64 view \(\d+ packages\) at %s in [\d.]+ s$'
                       % re.escape(m.path), m.stderr, re.M) and CR not in m.stderr,
             'mount -v with stderr on a pipe: the information messages and the final line, '
             'no progress', m.stderr)
    with h.mount(extra=['-q']) as m:
        t.eq(m.stderr, '', 'mount -q with stderr on a pipe: nothing')


xstest.run(main)
