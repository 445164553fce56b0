#!/usr/bin/python3
"""A fleet behind a caching proxy: apt-cacher-ng, run by this test with a
private configuration, cache and log directory on 127.0.0.1, in front of
the fixture repository.

  a. a first mount through --proxy fetches the .debs it reads through
     apt-cacher-ng (its log shows them coming in from the fixture server);
  b. a second mount on another cache directory, also through --proxy,
     reads the same files (right bytes): the fixture server's request log
     shows no GET of a .deb, apt-cacher-ng's log shows them served from its
     cache;
  c. the usual variables: http_proxy alone goes through the proxy; with
     no_proxy=127.0.0.1 the fixture server is asked directly;
  d. --proxy '' ignores http_proxy (a dead proxy there is not used), and
     the configuration key proxy = URL is honoured.

apt-cacher-ng is a Debian package (.ci/run installs it).  It is started in
the foreground (its Debian service is not used) with AllowUserPorts=0 (the
fixture server is not on port 80).  Both its port and the fixture
server's are below 32768: apt-cacher-ng 3.7.4 takes a port number as a
signed 16-bit one (ports from 32768 up, the kernel's ephemeral range, fail
as "Error resolving address for binding" for its own, and as "503
Connection refused" for a mirror's)."""

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
import faultserver  # noqa: E402

ACNG = shutil.which('apt-cacher-ng') or '/usr/sbin/apt-cacher-ng'


def low_free_port():
    """A free loopback port in 20000-32767."""
    for _ in range(200):
        port = random.randint(20000, 32767)
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError('no free port in 20000-32767')


class Acng:
    """apt-cacher-ng in the foreground, private directories, 127.0.0.1."""

    def __init__(self, base):
        self.base = base
        self.port = low_free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        for d in ('conf', 'cache', 'log'):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        open(os.path.join(base, 'conf', 'acng.conf'), 'w').close()
        self.out = open(os.path.join(base, 'stdout'), 'w')
        self.proc = subprocess.Popen(
            [ACNG, '-c', os.path.join(base, 'conf'), 'ForeGround=1',
             'Port=%d' % self.port, 'BindAddress=127.0.0.1',
             'CacheDir=' + os.path.join(base, 'cache'), 'LogDir=' + os.path.join(base, 'log'),
             'PidFile=' + os.path.join(base, 'pid'), 'SocketPath=' + os.path.join(base, 'sock'),
             'AllowUserPorts=0', 'Offlinemode=0'],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=xstest.clean_env())
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('apt-cacher-ng exited %s: %s' % (self.proc.returncode,
                                                                     self.output()))
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError('apt-cacher-ng did not listen on %d: %s' % (self.port, self.output()))

    def output(self):
        with open(os.path.join(self.base, 'stdout'), errors='replace') as f:
            return f.read()[-2000:]

    def log(self):
        """[(kind 'I' (from upstream) or 'O' (to the client), bytes, path)]"""
        try:
            with open(os.path.join(self.base, 'log', 'apt-cacher.log'), errors='replace') as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            p = line.split('|')
            if len(p) >= 5:
                out.append((p[1], int(p[2]) if p[2].isdigit() else 0, p[4]))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def deb_lines(log, filename, kind):
    return [e for e in log if e[0] == kind and e[2].endswith('/' + filename)]


def main(t, h):
    if not os.access(ACNG, os.X_OK):
        t.ok(False, 'apt-cacher-ng is installed (apt-get install apt-cacher-ng)')
        return
    acng = Acng(h.mktemp('acng-'))
    try:
        run(t, h, acng)
    finally:
        acng.stop()
        t.diag('apt-cacher-ng log:\n' + '\n'.join('%s %s %s' % e for e in acng.log()[-12:]))


def read_all(t, m, ref, rels, what):
    for rel in rels:
        data, err = xstest.read_errno(m.p(rel))
        want = None
        for cand in (rel, rel[4:]):
            p = os.path.join(ref, cand)
            if os.path.isfile(p) and not os.path.islink(p):
                want = xstest.sha256_file(p)
                break
        t.ok(err is None and hashlib.sha256(data).hexdigest() == want,
             '%s: /%s reads right' % (what, rel), 'errno %s' % err)


def run(t, h, acng):
    srv = faultserver.FaultServer(h.repo.out, port=low_free_port()).start()
    h._servers.append(srv)              # stopped by the harness
    names = h.index.closure(['hello'])
    ref = h.index.extract(names, h.mktemp('ref-'))
    rels = ['usr/bin/hello', 'usr/lib/aarch64-linux-gnu/libc.so.6']
    debs = {n: h.index.pkgs[n]['Filename'] for n in ('hello', 'libc6')}
    proxy = ['--proxy', acng.url]

    # a. first mount: the .debs come in through the proxy
    srv.clear_log()
    with h.mount(packages=['hello'], mirror=srv.url, extra=proxy) as m:
        read_all(t, m, ref, rels, 'first mount through apt-cacher-ng')
    srv.wait_idle()
    first = xstest.deb_gets(srv.log())
    log1 = acng.log()
    t.ok(all(xstest.gets(srv.log(), re.escape(f) + '$') for f in debs.values()),
         'first mount: the fixture server served hello and libc6 (to the proxy)',
         repr([e['path'] for e in first]))
    t.ok(all(deb_lines(log1, f, 'I') for f in debs.values()),
         'first mount: apt-cacher-ng fetched hello and libc6 from the fixture server',
         repr(log1[-10:]))

    # b. second mount, another cache: served by the proxy alone
    srv.clear_log()
    n_in = {n: len(deb_lines(log1, f, 'I')) for n, f in debs.items()}
    n_out = {n: len(deb_lines(log1, f, 'O')) for n, f in debs.items()}
    with h.mount(packages=['hello'], mirror=srv.url, extra=proxy) as m:
        read_all(t, m, ref, rels, 'second mount, other cache, through apt-cacher-ng')
        log = m.daemon_log()
    srv.wait_idle()
    t.eq([e['path'] for e in xstest.deb_gets(srv.log())], [],
         'second mount: the fixture server saw no GET of a .deb')
    log2 = acng.log()
    t.ok(all(len(deb_lines(log2, f, 'I')) == n_in[n] and
             len(deb_lines(log2, f, 'O')) > n_out[n] for n, f in debs.items()),
         'second mount: apt-cacher-ng served hello and libc6 from its cache (hits, no fetch)',
         repr(log2[-10:]))
    t.ok(re.search(r'fetched hello .* from %s' % re.escape(srv.url.rstrip('/')), log),
         'the daemon log names the mirror (the proxy is transparent)', log[-1500:])

    # c. http_proxy from the environment; no_proxy=127.0.0.1 bypasses it
    srv.clear_log()
    env = xstest.clean_env(http_proxy=acng.url)
    with h.mount(packages=['hello'], mirror=srv.url, env=env) as m:
        read_all(t, m, ref, rels[:1], 'http_proxy from the environment')
    srv.wait_idle()
    t.eq([e['path'] for e in xstest.deb_gets(srv.log())], [],
         'http_proxy: libcurl goes through the proxy (the fixture server saw no .deb GET)')
    srv.clear_log()
    before = len(deb_lines(acng.log(), debs['hello'], 'O'))
    env = xstest.clean_env(http_proxy=acng.url, no_proxy='127.0.0.1')
    with h.mount(packages=['hello'], mirror=srv.url, env=env) as m:
        read_all(t, m, ref, rels[:1], 'http_proxy with no_proxy=127.0.0.1')
    srv.wait_idle()
    t.ok(xstest.gets(srv.log(), re.escape(debs['hello']) + '$') and
         len(deb_lines(acng.log(), debs['hello'], 'O')) == before,
         'no_proxy=127.0.0.1: the fixture server is asked directly, not the proxy')

    # d. --proxy '' overrides a (dead) http_proxy; the configuration key
    dead = 'http://127.0.0.1:%d' % xstest.free_port()
    srv.clear_log()
    env = xstest.clean_env(http_proxy=dead)
    with h.mount(packages=['hello'], mirror=srv.url, env=env, extra=['--proxy', '']) as m:
        read_all(t, m, ref, rels[:1], "--proxy '' with a dead http_proxy")
    conf = os.path.join(h.mktemp('conf-'), 'xsysroot.conf')
    with open(conf, 'w') as f:
        f.write('proxy = %s\n' % acng.url)
    srv.clear_log()
    with h.mount(packages=['hello'], mirror=srv.url,
                 env=xstest.clean_env(XSYSROOT_CONFIG=conf)) as m:
        read_all(t, m, ref, rels[:1], 'proxy from the configuration file')
    srv.wait_idle()
    t.eq([e['path'] for e in xstest.deb_gets(srv.log())], [],
         'proxy = URL in the configuration file: the .deb came from the proxy')


xstest.run(main)
