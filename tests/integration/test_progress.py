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
     on a pipe a mount draws none."""

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


def spawn_tty(argv):
    """Start ARGV with stderr on a new pseudo-terminal; returns (Popen,
    master fd, list of text chunks the terminal received, drain thread)."""
    master, slave = os.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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


def on_tty(argv, timeout=300):
    """(exit status, stdout, what the terminal received) of ARGV run with
    stderr on a pseudo-terminal."""
    p, master, got, th = spawn_tty(argv)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    th.join(10)
    os.close(master)
    return p.returncode, out.decode('utf-8', 'replace'), ''.join(got)


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


xstest.run(main)
