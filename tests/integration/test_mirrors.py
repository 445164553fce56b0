#!/usr/bin/python3
"""A mirror list (--mirror repeated) fails over per file, and the
configuration files give the repository options.

  a. two fault servers serve the same signed repository; the first serves a
     corrupt .deb (hello) and a corrupt Packages index, and answers 404 for
     another .deb (libgcc-s1): the mount works, the files read right (SHA-256
     against dpkg-deb -x of the fixture), each server's request log shows
     the failover (the bad answer on the first, then the good one on the
     second), the daemon log names the mirror that failed and why, and no
     object of the cache has bytes other than its name says;
  b. the first mirror down entirely (nothing listens): the second is used
     for the InRelease, the indexes and the .debs;
  c. every mirror corrupt: the read fails with EIO and the log names both;
  e. a first mirror whose InRelease is refused (tampered, expired): the
     second one's is verified and used, the log says why the first was not;
     a first mirror answering 503 to everything is asked once (the
     InRelease), then left behind the second for the rest of the mount;
  d. configuration files (xsysroot ldd, which opens the view as mount does):
     mirror list, suite, keyring and cache-dir from --config FILE (and from
     $XSYSROOT_CONFIG), an [arch arm64] section winning over the global
     values, the command line winning over the file, and errors naming
     file:line."""

import errno
import hashlib
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
import mkrepo  # noqa: E402


def deb_re(h, pkg):
    return re.escape(h.index.pkgs[pkg]['Filename']) + '$'


def ref_sha(ref, rel):
    """SHA-256 of view path REL in the extracted reference (shipped under
    /lib or /usr/lib: the view merges /usr)."""
    for cand in (rel, rel[4:] if rel.startswith('usr/') else rel):
        p = os.path.join(ref, cand)
        if os.path.isfile(p) and not os.path.islink(p):
            return xstest.sha256_file(p)
    return 'not in the reference: %s' % rel


def store_problems(cache):
    """Objects of the cache whose bytes do not match their name."""
    bad = []
    root = os.path.join(cache, 'objects', 'sha256')
    for d, _, files in os.walk(root):
        for f in files:
            name = os.path.basename(d) + f
            if xstest.sha256_file(os.path.join(d, f)) != name:
                bad.append(os.path.join(d, f))
    return bad


def failover_tests(t, h, a, b):
    ref = h.index.extract(h.index.closure(['hello']), h.mktemp('ref-'))
    a.clear_log()
    b.clear_log()
    a.add_fault(match=deb_re(h, 'hello'), action='tamper')
    a.add_fault(match=r'main/binary-%s/' % h.index.arch, action='tamper')
    a.add_fault(match=deb_re(h, 'libgcc-s1'), action='status', arg=404)
    try:
        with h.mount(packages=['hello'], extra=['--mirror', b.url]) as m:
            rels = ['usr/bin/hello', 'usr/lib/aarch64-linux-gnu/libgcc_s.so.1',
                    'usr/lib/aarch64-linux-gnu/libc.so.6']
            for rel in rels:
                data, err = xstest.read_errno(m.p(rel))
                want = ref_sha(ref, rel)
                t.ok(err is None and hashlib.sha256(data).hexdigest() == want,
                     'mirror list: /%s reads right (SHA-256 of the fixture)' % rel,
                     'errno %s' % err)
            la, lb = a.log(), b.log()
            log = m.daemon_log()
            t.ok(any(e['fault'] for e in xstest.gets(la, r'binary-arm64/')) and
                 [e for e in xstest.gets(lb, r'binary-arm64/') if e['status'] == 200],
                 'corrupt Packages on the first mirror: served tampered there, then by the second',
                 repr([(e['path'], e['status'], e['fault']) for e in la + lb][:20]))
            hello = h.index.pkgs['hello']['Filename']
            t.ok([e for e in xstest.gets(la, re.escape(hello)) if e['fault']] and
                 [e for e in xstest.gets(lb, re.escape(hello)) if e['status'] == 200],
                 'corrupt hello .deb on the first mirror: the second serves it',
                 repr([(e['path'], e['status'], e['fault']) for e in la + lb][-20:]))
            gcc = h.index.pkgs['libgcc-s1']['Filename']
            t.ok([e for e in xstest.gets(la, re.escape(gcc)) if e['status'] == 404] and
                 [e for e in xstest.gets(lb, re.escape(gcc)) if e['status'] == 200],
                 'libgcc-s1 .deb missing (404) on the first mirror: the second serves it')
            t.ok(not xstest.gets(lb, r'InRelease$') and xstest.gets(la, r'InRelease$'),
                 'the InRelease comes from the first mirror only (one verified Release)')
            t.ok(re.search(r'mirror %s failed for \'hello [^\']+\': .*SHA256 mismatch.*trying '
                           r'mirror %s' % (re.escape(a.url.rstrip('/')), re.escape(b.url.rstrip('/'))), log),
                 'the daemon log names the mirror that failed for hello and why', log[-3000:])
            # the index is named with its suite, as its progress line names it
            t.ok(re.search(r'mirror %s failed for \'%s main/binary-arm64/Packages[^\']*\': .*'
                           r'SHA256 mismatch' % (re.escape(a.url.rstrip('/')),
                                                 re.escape(h.suite_for('arm64'))), log),
                 'the log names the mirror that served a corrupt Packages index', log[-3000:])
            t.ok(re.search(r'mirror %s failed for \'libgcc-s1 [^\']+\': .*404' % re.escape(a.url.rstrip('/')),
                           log), 'the log names the mirror that lacked libgcc-s1 (404)', log[-3000:])
            t.ok(re.search(r'fetched hello .* from %s/' % re.escape(b.url.rstrip('/')), log),
                 'the log names the mirror that served hello', log[-3000:])
            bad = store_problems(m.cache_dir)
            t.eq(bad, [], 'no object of the cache has bytes other than its name says')
    finally:
        a.clear_faults()

    # c. every mirror corrupt for hello: EIO, both named
    a.add_fault(match=deb_re(h, 'hello'), action='tamper')
    b.add_fault(match=deb_re(h, 'hello'), action='tamper')
    try:
        with h.mount(packages=['hello'], extra=['--mirror', b.url]) as m:
            _, err = xstest.read_errno(m.p('usr/bin/hello'))
            t.eq(err, errno.EIO, 'hello corrupt on every mirror: EIO')
            log = m.daemon_log()
            t.ok(re.search(r'failed to fetch \'hello [^\']+\': .*%s.*SHA256 mismatch.*then .*%s.*'
                           r'SHA256 mismatch' % (re.escape(a.url.rstrip('/')), re.escape(b.url.rstrip('/'))), log),
                 'the error names both mirrors and why', log[-3000:])
            t.eq(store_problems(m.cache_dir), [], 'still no corrupt object in the cache')
    finally:
        a.clear_faults()
        b.clear_faults()


def down_tests(t, h, b):
    dead = 'http://127.0.0.1:%d' % xstest.free_port()
    ref = h.index.extract(['hello'], h.mktemp('ref-'))
    b.clear_log()
    with h.mount(packages=['hello'], mirror=dead, extra=['--mirror', b.url]) as m:
        data, err = xstest.read_errno(m.p('usr/bin/hello'))
        t.ok(err is None and hashlib.sha256(data).hexdigest() ==
             ref_sha(ref, 'usr/bin/hello'),
             'first mirror down: hello reads right from the second', 'errno %s' % err)
        lb = b.log()
        t.ok(xstest.gets(lb, r'InRelease$') and xstest.gets(lb, r'binary-arm64/') and
             xstest.gets(lb, deb_re(h, 'hello')),
             'first mirror down: the second served the InRelease, the index and the .deb')
        log = m.daemon_log()
        t.ok(re.search(r'mirror %s failed for the InRelease of \S+: .*; trying mirror %s'
                       % (re.escape(dead), re.escape(b.url.rstrip('/'))), log),
             'the log names the mirror that is down', log[-2000:])
        t.ok(re.search(r'InRelease from mirror %s' % re.escape(b.url.rstrip('/')), log),
             'the log names the mirror that served the InRelease', log[-2000:])


def inrelease_tests(t, h, b):
    vroot = h.mktemp('variants-')
    for name in ('tampered-inrelease', 'expired'):
        mkrepo.make_variant(h.repo, name, os.path.join(vroot, name))
    vsrv = h.serve(vroot)
    for name, why in (('tampered-inrelease', 'signature refused'), ('expired', 'expired')):
        first = vsrv.url + name
        with h.mount(packages=['hello'], mirror=first, extra=['--mirror', b.url]) as m:
            t.ok(os.path.exists(m.p('usr/bin/hello')),
                 '%s InRelease on the first mirror: the mount works from the second' % name)
            log = m.daemon_log()
            t.ok(re.search(r'mirror %s failed for the InRelease of \S+: .*%s.*; trying mirror %s'
                           % (re.escape(first), why, re.escape(b.url.rstrip('/'))), log, re.I),
                 '%s: the log says why the first mirror\'s InRelease was refused' % name,
                 log[-2000:])

    # 503 for everything: asked once, then tried after the second
    a = h.serve(h.repo.out)
    a.add_fault(action='status', arg=503)
    b.clear_log()
    with h.mount(packages=['hello'], mirror=a.url, extra=['--mirror', b.url]) as m:
        data, err = xstest.read_errno(m.p('usr/bin/hello'))
        t.ok(err is None and data, 'a first mirror answering 503: hello reads from the second')
        a.wait_idle()
        la = a.log()
        t.eq([e['path'] for e in la], ['/dists/%s/InRelease' % h.suite_for('arm64')],
             'the 503 mirror was asked once (no retry while another mirror is behind it), '
             'then left behind the second')
        t.ok(xstest.gets(b.log(), deb_re(h, 'hello')), 'the second mirror served hello')


def config_tests(t, h, a):
    xs = xstest.XSYSROOT
    dead = 'http://127.0.0.1:%d' % xstest.free_port()
    work = h.mktemp('conf-')
    hello_dir = h.mktemp('hello-')
    h.index.extract(['hello'], hello_dir)
    hello = os.path.join(hello_dir, 'usr', 'bin', 'hello')
    cache = os.path.join(work, 'cache')
    conf = os.path.join(work, 'xsysroot.conf')
    with open(conf, 'w') as f:
        f.write('# test configuration\n'
                'mirror = %s\n'
                'suite = no-such-suite\n'
                'keyring = %s\n'
                'cache-dir = %s\n'
                'fetch-timeout = 30\n'
                'quota = 2G\n'
                '[arch aarch64]\n'
                'mirror = %s, %s\n'
                'suite = %s\n' % (dead, h.repo.keyring, cache, dead, a.url, h.suite_for('arm64')))
    env = xstest.clean_env()
    r = xstest.sh([xs, 'ldd', '--config', conf, 'arm64', hello], env=env, timeout=300)
    t.ok(r.returncode == 0 and 'libc.so.6 => ' in r.stdout,
         'ldd with --config: mirror list, suite, keyring from the file ([arch aarch64] '
         'wins over the global values)', r.stdout + r.stderr)
    t.ok(os.path.isdir(os.path.join(cache, 'objects')), 'cache-dir from the file is used')
    r = xstest.sh([xs, 'ldd', 'arm64', hello], env=xstest.clean_env(XSYSROOT_CONFIG=conf),
                  timeout=300)
    t.ok(r.returncode == 0 and 'libc.so.6 => ' in r.stdout, '$XSYSROOT_CONFIG names the file',
         r.stdout + r.stderr)
    r = xstest.sh([xs, 'ldd', '--config', conf, '--mirror', dead, 'arm64', hello], env=env,
                  timeout=300)
    t.ok(r.returncode == 1 and dead in r.stderr,
         'the command line wins over the file (--mirror of a dead mirror alone fails)',
         r.stderr)
    r = xstest.sh([xs, 'ldd', '--config', conf, '--suite', 'no-such-suite', 'arm64', hello],
                  env=env, timeout=300)
    t.ok(r.returncode == 1 and 'no-such-suite' in r.stderr, '--suite wins over the file',
         r.stderr)
    many = ' '.join('http://127.0.0.1:%d' % (1000 + i) for i in range(17))
    r = xstest.sh([xs, 'ldd', '--mirror', many, '--cache-dir', cache, 'arm64', hello], env=env)
    t.ok(r.returncode == 1 and 'has 17 mirrors: give 1 to 16' in r.stderr,
         'a list of 17 mirrors is refused, saying how many it may have', r.stderr)
    with open(conf, 'a') as f:
        f.write('[arch arm64]\nbogus = 1\n')
    r = xstest.sh([xs, 'ldd', '--config', conf, 'arm64', hello], env=env)
    t.ok(r.returncode == 1 and "%s:12: unknown key 'bogus'" % conf in r.stderr,
         'an unknown key is an error naming file:line', r.stderr)
    with open(conf, 'w') as f:
        f.write('[arm64]\n')
    r = xstest.sh([xs, 'mount', '--config', conf, 'arm64', work], env=env)
    t.ok(r.returncode == 1 and '%s:1: [arm64]: the only sections are [arch NAME]' % conf
         in r.stderr, 'mount: a malformed section is an error naming file:line', r.stderr)
    r = xstest.sh([xs, 'ldd', '--config', os.path.join(work, 'missing'), 'arm64', hello],
                  env=env)
    t.ok(r.returncode == 1 and 'missing' in r.stderr, 'a named file that is missing is an error',
         r.stderr)
    # the user's file: $XDG_CONFIG_HOME/xsysroot/config, read when no file is named
    xdg = os.path.join(work, 'xdg')
    os.makedirs(os.path.join(xdg, 'xsysroot'))
    with open(os.path.join(xdg, 'xsysroot', 'config'), 'w') as f:
        f.write('mirror = %s\nfetch-timeout = nope\n' % a.url)
    env2 = {k: v for k, v in xstest.clean_env(XDG_CONFIG_HOME=xdg).items()
            if k != 'XSYSROOT_CONFIG'}
    r = xstest.sh([xs, 'ldd', 'arm64', hello], env=env2)
    t.ok(r.returncode == 1 and '%s/xsysroot/config:2: fetch-timeout = nope' % xdg in r.stderr,
         'the user\'s file under $XDG_CONFIG_HOME is read (its error is named)', r.stderr)


def main(t, h):
    a = h.server
    b = h.serve(h.repo.out)
    failover_tests(t, h, a, b)
    down_tests(t, h, b)
    inrelease_tests(t, h, b)
    config_tests(t, h, a)


xstest.run(main)
