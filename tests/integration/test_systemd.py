#!/usr/bin/python3
"""packaging/systemd/xsysroot@.service.in: configured as meson configures it
(with this build's bindir), `systemd-analyze verify` accepts the arm64
instance without a word, and the unit's own command lines, %i expanded and
$XSYSROOT_OPTIONS split as systemd splits an unquoted variable, run as the
service manager would run them: ExecStartPre, then ExecStart, which must
send READY=1 (Type=notify) to $NOTIFY_SOCKET from the main pid once the
mount answers, then ExecStop, after which the main process exits 0.

systemd is not running here, so /sysroot is the one thing changed: the
command lines run with a temporary directory in its place."""

import configparser
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import sh  # noqa: E402

ARCH = 'arm64'


def load_unit(src, bindir):
    with open(os.path.join(src, 'packaging', 'systemd', 'xsysroot@.service.in')) as f:
        text = f.read().replace('@bindir@', bindir)
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=('=',))
    unit.optionxform = str
    # repeated keys (EnvironmentFile=) are allowed in units: keep the last
    unit.read_string(re.sub(r'(?m)^#.*\n', '', text))
    return text, unit


def expand(line, env, root):
    """An Exec line as systemd runs it: %i, then $VAR split on whitespace."""
    line = line.replace('%i', ARCH).replace('/sysroot/', root + '/')
    argv = []
    for w in shlex.split(line):
        m = re.fullmatch(r'\$([A-Za-z_][A-Za-z0-9_]*)', w)
        argv += env.get(m.group(1), '').split() if m else [w]
    return argv


def main(t, h):
    src = xstest.SRC
    bindir = os.path.dirname(xstest.XSYSROOT)
    text, unit = load_unit(src, bindir)
    svc = unit['Service']
    t.eq(svc.get('Type'), 'notify', 'Type=notify')
    t.ok('network-online.target' in unit['Unit'].get('After', ''),
         'After=network-online.target')

    # systemd-analyze verify, on a copy named as the template
    d = h.mktemp('unit-')
    with open(os.path.join(d, 'xsysroot@.service'), 'w') as f:
        f.write(text)
    if shutil.which('systemd-analyze'):
        r = sh(['systemd-analyze', 'verify', '--man=no',
                os.path.join(d, 'xsysroot@%s.service' % ARCH)], timeout=60)
        t.ok(r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(),
             'systemd-analyze verify xsysroot@%s.service: no complaint' % ARCH,
             'exit %s\n%s%s' % (r.returncode, r.stdout, r.stderr))
    else:
        t.skip('systemd-analyze verify', 'systemd-analyze is not installed')

    # the command lines, run as the service manager runs them
    root = h.mktemp('sysroot-')
    cache_dir = h.mktemp('cache-')
    log_file = os.path.join(h.mktemp('log-'), 'daemon.log')
    opts = '--mirror %s --suite %s --keyring %s --cache-dir %s --log-file %s --packages hello' % (
        h.server.url, h.suite_for(ARCH), h.repo.keyring, cache_dir, log_file)
    env = xstest.clean_env(XSYSROOT_OPTIONS=opts)
    mnt = os.path.join(root, ARCH)
    m = xstest.Mount(mnt, cache_dir, log_file, ['unit'])
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)

    pre = expand(svc['ExecStartPre'], env, root)
    r = sh(pre, timeout=30)
    t.ok(r.returncode == 0 and os.path.isdir(mnt), 'ExecStartPre makes /sysroot/%i', pre)

    start = expand(svc['ExecStart'], env, root)
    t.diag('ExecStart: ' + ' '.join(start))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock_path = os.path.join(h.mktemp('notify-'), 'notify')
    sock.bind(sock_path)
    sock.settimeout(1.0)
    env['NOTIFY_SOCKET'] = sock_path
    err = open(os.path.join(h.tmp, 'execstart.err'), 'w+')
    p = subprocess.Popen(start, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    try:
        msg, mounted_at_ready = None, False
        deadline = time.time() + 120
        while msg is None and time.time() < deadline and p.poll() is None:
            try:
                msg = sock.recv(4096).decode()
                mounted_at_ready = xstest.is_mounted(mnt)
            except socket.timeout:
                pass
        t.ok(msg is not None, 'ExecStart sends a notification',
             'exit %s' % p.poll())
        fields = dict(l.split('=', 1) for l in (msg or '').splitlines() if '=' in l)
        t.eq(fields.get('READY'), '1', 'the notification is READY=1')
        t.eq(fields.get('MAINPID'), str(p.pid), 'from the main process (NotifyAccess=main)')
        t.ok(mounted_at_ready, 'the mount is there when READY=1 arrives')
        t.ok(p.poll() is None, 'ExecStart stays in the foreground')
        head, e = xstest.read_errno(os.path.join(mnt, 'usr/bin/hello'), 20)
        t.eq(xstest.elf_machine(head or b''), (2, 1, 183),
             'usr/bin/hello (XSYSROOT_OPTIONS=--packages hello) reads as aarch64 ELF')

        stop = expand(svc['ExecStop'], env, root)
        r = sh(stop, timeout=60)
        t.eq(r.returncode, 0, 'ExecStop exits 0')
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        t.eq(rc, 0, 'after ExecStop the main process exits 0 (a clean stop, no restart)')
        t.ok(not xstest.is_mounted(mnt), 'after ExecStop nothing is mounted')
        err.seek(0)
        journal = err.read()
        t.diag('stderr (the journal):\n' + journal.strip())
        t.ok(not re.search(r'error|warning', journal, re.I),
             'no error or warning in what goes to the journal', journal)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        sock.close()
        err.close()
        xstest.cleanup_mount(m, t)


xstest.run(main)
