#!/usr/bin/python3
"""Trust: xsysroot refuses what apt refuses (bad, missing, foreign, weak or
stale InRelease signatures, text outside the signed part, indexes that do not
match Release), and never serves a .deb that does not match Packages: the
file access fails with EIO, the rest keeps working, and the same access
succeeds once the mirror serves good bytes again."""

import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
import mkrepo  # noqa: E402

# variant -> what the mount must fail on (all of them are refused by apt too;
# mkrepo.py --check-apt shows it)
INRELEASE_VARIANTS = ['tampered-inrelease', 'unsigned', 'wrong-key', 'expired', 'future-date',
                      'text-before', 'text-after', 'sha1-digest']


def ename(e):
    return errno.errorcode.get(e, str(e)) if e is not None else 'no error'


class Ref:
    """Reference bytes of package files, by dpkg-deb -x."""

    def __init__(self, h, names):
        self.root = h.index.extract(names, h.mktemp('ref-'))
        self.index = h.index

    def sha(self, rel):
        return xstest.sha256_file(os.path.join(self.root, rel))

    def find(self, pkg, pattern):
        for p in self.index.files_of(pkg):
            if re.search(pattern, p) and not os.path.islink(os.path.join(self.root, p)):
                return p
        raise KeyError('%s: no file matching %s' % (pkg, pattern))


def deb_re(h, pkg):
    return re.escape(h.index.pkgs[pkg]['Filename']) + '$'


def check_read(t, m, ref, rel, desc):
    data, err = xstest.read_errno(m.p(rel))
    ok = err is None and hashlib.sha256(data).hexdigest() == ref.sha(rel)
    t.ok(ok, desc, '%s: %s' % (rel, ename(err) if err else 'wrong bytes'))
    return ok


def race_inrelease(t, h, vsrv, vroot):
    """Two processes verify the InRelease of one source on one cache at once:
    one is given a forged InRelease (the wrong-key variant) and the other the
    genuine one, at the same URL (the first request is redirected).  A real
    gpgv slowed down (a script bind-mounted over the configured gpgv in a
    private mount namespace) lets both fetch their bytes before either is
    checked.  The forged one is refused, the genuine one accepted, and the
    cache keeps the genuine InRelease (with one shared temporary file, gpgv
    checked the other process's bytes)."""
    gpgv = os.environ.get('XSYSROOT_GPGV', '/usr/bin/gpgv')
    if os.geteuid() != 0 or not shutil.which('unshare') or not os.path.exists(gpgv):
        t.skip('two processes, one cache, a forged and a genuine InRelease',
               'needs root, unshare and %s' % gpgv)
        return
    tmp = h.mktemp('race-')
    real = os.path.join(tmp, 'gpgv.real')
    shutil.copy2(gpgv, real)
    slow = os.path.join(tmp, 'gpgv.slow')
    with open(slow, 'w') as f:
        f.write('#!/bin/sh\nsleep 2\nexec %s "$@"\n' % real)
    os.chmod(slow, 0o755)
    suite = h.suite_for(xstest.ARCH)
    cache = h.mktemp('cache-race-')
    vsrv.add_fault(match=r'^/good-copy/dists/[^/]+/InRelease$', action='redirect',
                   arg='/wrong-key/dists/%s/InRelease' % suite, times=1)
    argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
            'mount --bind "$1" "$2" || exit 99; shift 2; exec "$@"', 'sh', slow, gpgv,
            xstest.XSYSROOT, 'fetch', '--mirror', vsrv.url + 'good-copy/', '--suite', suite,
            '--keyring', h.repo.keyring, '--cache-dir', cache, xstest.ARCH]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, env=xstest.clean_env())
             for _ in range(2)]
    res = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        res.append((p.returncode, err))
        t.diag('race: exit %s, stderr: %s' % (p.returncode, err.strip()[:400]))
    vsrv.clear_faults()
    refused = [r for r in res if r[0] != 0 and 'signature refused' in r[1]]
    accepted = [r for r in res if r[0] == 0]
    t.ok(len(refused) == 1 and len(accepted) == 1,
         'one cache, at once: the forged InRelease is refused, the genuine one accepted',
         '%s' % [r[0] for r in res])
    inrel = [n for n in os.listdir(os.path.join(cache, 'meta'))
             if n.startswith('inrelease-') and '.' not in n]
    with open(os.path.join(vroot, 'good-copy', 'dists', suite, 'InRelease'), 'rb') as f:
        want = f.read()
    got = b''
    if len(inrel) == 1:
        with open(os.path.join(cache, 'meta', inrel[0]), 'rb') as f:
            got = f.read()
    t.ok(got == want, 'the cache keeps the genuine InRelease', '%s' % inrel)


def unverified_flood(t, h, vsrv, vroot, url):
    """A .deb is unpacked while it downloads, before its digest can be
    checked.  A mirror serving, in place of libc6's 2.3 MB .deb, a 0.5 MB
    one of 150 highly compressible 1 MiB files (then incompressible bytes,
    slowly, so that the unpacker keeps up) could make us write 150 MiB
    before the size and digest refuse it.  What is written is bounded by
    libc6's Installed-Size (verified, from Packages): x2 + 16 MiB."""
    tmp = h.mktemp('flood-')
    root = os.path.join(tmp, 'pkg')
    os.makedirs(os.path.join(root, 'DEBIAN'))
    os.makedirs(os.path.join(root, 'usr', 'share', 'flood'))
    shas = set()
    for k in range(150):
        data = bytes((k * 7 + i) % 256 for i in range(64)) * 16384
        shas.add(hashlib.sha256(data).hexdigest())
        with open(os.path.join(root, 'usr', 'share', 'flood', 'f%03d' % k), 'wb') as f:
            f.write(data)
    with open(os.path.join(root, 'usr', 'share', 'flood', 'zz'), 'wb') as f:
        f.write(os.urandom(400000))
    with open(os.path.join(root, 'DEBIAN', 'control'), 'w') as f:
        f.write('Package: libc6\nVersion: 9\nArchitecture: %s\nMaintainer: x <x@example.org>\n'
                'Description: x\n' % xstest.ARCH)
    os.makedirs(os.path.join(vroot, 'flood'), exist_ok=True)
    deb = os.path.join(vroot, 'flood', 'libc6.deb')
    r = xstest.sh(['dpkg-deb', '-Zxz', '--root-owner-group', '--build', root, deb])
    pkg = h.index.pkgs['libc6']
    isize = int(pkg['Installed-Size'])
    bound = isize * 2048 + (16 << 20)
    if r.returncode != 0 or os.path.getsize(deb) >= int(pkg['Size']) or 150 << 20 <= bound:
        t.ok(False, 'flood: a .deb smaller than libc6\'s that unpacks to more than the bound',
             r.stderr)
        return
    vsrv.add_fault(match=deb_re(h, 'libc6'), action='redirect', arg='/flood/libc6.deb')
    vsrv.add_fault(match=r'^/flood/libc6\.deb$', action='throttle', arg=150000)
    cache = h.mktemp('cache-flood-')
    m = h.try_mount(mirror=url('good-copy'), packages=['hello'], cache_dir=cache,
                    env=xstest.clean_env(XSYSROOT_CONTENTS='never'))
    vsrv.clear_faults()
    t.ok(m.rc != 0 and re.search(r"'libc6 [^']+'.*(size|SHA256) mismatch", m.stderr),
         'flood: the mount fails naming libc6, its URL and the mismatch', m.stderr[-1500:])
    written = [x for x in shas
               if os.path.exists(os.path.join(cache, 'objects', 'sha256', x[:2], x[2:]))]
    t.ok(len(written) << 20 <= bound + (1 << 20),
         'flood: %d of its 150 MiB were written before the bytes were refused (libc6 installs '
         '%d KiB: at most %.1f MiB)' % (len(written), isize, bound / 1048576.0))


def main(t, h):
    vroot = h.mktemp('variants-')
    for name in mkrepo.TRUST_VARIANTS:
        mkrepo.make_variant(h.repo, name, os.path.join(vroot, name))
    vsrv = h.serve(vroot)

    def url(name):
        return vsrv.url + name + '/'

    def names_mirror(stderr, name):
        u = url(name)
        return u in stderr or u.rstrip('/') in stderr

    # the copy itself is good: failures below come from the spoiling only
    m = h.try_mount(mirror=url('good-copy'))
    t.ok(m.rc == 0 and m.was_mounted, 'control: an unspoiled copy of the repository mounts',
         m.stderr)

    for name in INRELEASE_VARIANTS:
        m = h.try_mount(mirror=url(name))
        t.diag('%s: exit %s, stderr: %s' % (name, m.rc, m.stderr.strip()[:400]))
        t.eq(m.rc, 1, '%s: mount fails' % name)
        t.ok('InRelease' in m.stderr, '%s: the error names InRelease' % name, m.stderr)
        t.ok(names_mirror(m.stderr, name), '%s: the error names the mirror URL' % name, m.stderr)
        t.ok(not m.was_mounted, '%s: nothing is mounted' % name)

    race_inrelease(t, h, vsrv, vroot)

    m = h.try_mount(keyring=h.repo.other_keyring)
    t.eq(m.rc, 1, 'a keyring without the signing key: mount fails')
    t.ok('InRelease' in m.stderr, 'wrong keyring: the error names InRelease', m.stderr)

    m = h.try_mount(mirror=url('expired'), extra=['--allow-expired'])
    t.ok(m.rc == 0 and m.was_mounted, 'expired: mounts with --allow-expired', m.stderr)
    m = h.try_mount(mirror=url('future-date'), extra=['--allow-expired'])
    t.eq(m.rc, 1, 'future-date: --allow-expired does not excuse a Date in the future')

    # indexes that do not match Release
    flipped = mkrepo.Repo(os.path.join(vroot, 'tampered-packages'))
    want = h.repo.release_hashes()
    m = h.try_mount(mirror=url('tampered-packages'))
    t.diag('tampered-packages: exit %s, stderr: %s' % (m.rc, m.stderr.strip()[:400]))
    t.eq(m.rc, 1, 'tampered Packages index: mount fails')
    t.ok('Packages' in m.stderr, 'tampered Packages index: the error names the index', m.stderr)
    pairs = []
    for rel in mkrepo.PACKAGES_INDEXES:
        got = mkrepo.file_hashes(os.path.join(flipped.dists, rel))[1]['SHA256']
        pairs.append((want[rel][1], got))
    t.ok(any(a in m.stderr and b in m.stderr for a, b in pairs),
         'tampered Packages index: the error gives expected and received sha256',
         m.stderr + '\ncandidates (expected, received): %s' % pairs)

    m = h.try_mount(mirror=url('resized-packages'))
    t.eq(m.rc, 1, 'Packages index of the wrong size: mount fails')
    t.ok('Packages' in m.stderr and any(
        str(want[r][0]) in m.stderr or want[r][1] in m.stderr for r in mkrepo.PACKAGES_INDEXES),
        'Packages index of the wrong size: the error names the index and the expected size or sha256',
        m.stderr)

    # Contents is only an accelerator: a tampered one is not used, and the
    # files come from the .debs (fetched at mount), checked against Packages
    m = h.start_mount(mirror=url('tampered-contents'))
    try:
        t.eq(m.rc, 0, 'tampered Contents-arm64.gz: the mount succeeds without it')
        said = m.stderr + m.daemon_log()
        t.ok('Contents-arm64.gz' in said and 'not used' in said,
             'tampered Contents-arm64.gz: a warning says it is not used', said[-2000:])
        if m.rc == 0:
            cref = Ref(h, ['libc6'])
            check_read(t, m, cref, cref.find('libc6', r'/libc\.so\.6$'),
                       'tampered Contents-arm64.gz: not used (libc.so.6 reads right from '
                       'the .deb)')
    finally:
        xstest.cleanup_mount(m, t)

    # .debs that do not match Packages
    srv = h.server
    ref = Ref(h, ['libc6', 'libgcc-s1', 'libstdc++6', 'hello'])
    libc = ref.find('libc6', r'/libc\.so\.6$')
    libc_other = ref.find('libc6', r'/libm\.so\.6$')
    libgcc = ref.find('libgcc-s1', r'/libgcc_s\.so\.1$')
    libstdcxx = ref.find('libstdc++6', r'/libstdc\+\+\.so\.6\.')
    hello = ref.find('hello', r'usr/bin/hello$')

    with h.mount(packages=['hello']) as m:
        srv.add_fault(match=deb_re(h, 'libc6'), action='tamper')
        data, err = xstest.read_errno(m.p(libc))
        t.ok(err == errno.EIO, 'tampered libc6 .deb: reading libc.so.6 fails with EIO',
             'got %s' % (ename(err) if err else '%d bytes' % len(data)))
        data, err = xstest.read_errno(m.p(libc_other))
        t.ok(err == errno.EIO, 'tampered libc6 .deb: another of its files fails with EIO too',
             'got %s' % (ename(err) if err else '%d bytes' % len(data)))
        check_read(t, m, ref, libgcc, 'tampered libc6 .deb: libgcc_s.so.1 still reads right')
        check_read(t, m, ref, libstdcxx, 'tampered libc6 .deb: libstdc++ still reads right')
        srv.clear_faults()
        check_read(t, m, ref, libc, 'fault cleared: libc.so.6 reads right in the same mount')
        check_read(t, m, ref, libc_other, 'fault cleared: libm.so.6 reads right')
        srv.wait_idle()
        t.diag('libc6 GETs: %d' % len(xstest.gets(srv.log(), deb_re(h, 'libc6'))))

    # a flipped byte in the date of the first ar member header, which the
    # unpacker reads past without a complaint: only the digest of the whole
    # .deb (it is unpacked while it downloads) can refuse it, and the log
    # names the package, the URL and the reason
    with h.mount(packages=['hello']) as m:
        srv.add_fault(match=deb_re(h, 'libc6'), action='tamper', arg=24)
        data, err = xstest.read_errno(m.p(libc))
        t.ok(err == errno.EIO, 'libc6 .deb tampered in an ar header: reading libc.so.6 fails '
             'with EIO', 'got %s' % (ename(err) if err else '%d bytes' % len(data)))
        log = m.daemon_log()
        t.ok(re.search(r"failed to fetch 'libc6 [^']+': '[^']+' from http://\S+/libc6_\S+\.deb: "
                       r'SHA256 mismatch', log),
             'libc6 .deb tampered in an ar header: the log names the package, the URL and the '
             'mismatch', log[-2000:])
        srv.clear_faults()
        check_read(t, m, ref, libc, 'fault cleared: libc.so.6 reads right in the same mount')

    unverified_flood(t, h, vsrv, vroot, url)

    for action, pkg, rel in (('truncate', 'libc6', libc), ('reset', 'libstdc++6', libstdcxx),
                             ('status', 'hello', hello)):
        with h.mount(packages=['hello']) as m:
            srv.clear_log()
            srv.add_fault(match=deb_re(h, pkg), action=action, arg=503 if action == 'status' else None)
            data, err = xstest.read_errno(m.p(rel))
            if err is None:
                good = hashlib.sha256(data).hexdigest() == ref.sha(rel)
                t.ok(good, '%s %s .deb: the read succeeded with the right bytes' % (action, pkg))
            else:
                t.ok(err == errno.EIO, '%s %s .deb: the read fails with EIO' % (action, pkg),
                     'got %s' % ename(err))
            srv.clear_faults()
            check_read(t, m, ref, rel, '%s %s .deb, fault cleared: reads right' % (action, pkg))

    # a stalled download is bounded by --fetch-timeout and blocks nothing else
    with h.mount(packages=['hello'], extra=['--fetch-timeout', '3']) as m:
        srv.add_fault(match=deb_re(h, 'libstdc++6'), action='stall',
                      arg={'seconds': 60, 'after_bytes': 4096})
        res = {}

        def stalled():
            t0 = time.monotonic()
            res['r'] = xstest.read_errno(m.p(libstdcxx))
            res['s'] = time.monotonic() - t0
        th = threading.Thread(target=stalled, daemon=True)
        th.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        check_read(t, m, ref, libgcc, 'during a stalled download another package still downloads')
        t.diag('that took %.2f s' % (time.monotonic() - t0))
        th.join(60)
        t.ok(not th.is_alive(), 'the stalled read returns')
        if 'r' in res:
            (data, err), secs = res['r'], res['s']
            t.diag('stalled read: %s after %.1f s' % (ename(err) if err else 'data', secs))
            t.ok(err == errno.EIO, 'the stalled read fails with EIO', 'got %s' % ename(err))
            t.ok(secs < 3 + 15, 'within --fetch-timeout 3 plus slack (%.1f s)' % secs)
        srv.clear_faults()
        check_read(t, m, ref, libstdcxx, 'stall cleared: the same file reads right')


xstest.run(main)
