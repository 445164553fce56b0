#!/usr/bin/python3
"""Crashes and damage: what is left behind must never be served wrong.

  a. single flight: 1, 8 and 64 concurrent first readers of different files
     of one package cause exactly one GET of its .deb (fresh cache each time);
  b. a reader killed (SIGKILL) while it waits on a stalled fetch hurts no
     one: the others get their data once the stall ends, and the daemon
     holds no more fds than the files it serves;
  c. kill -9 of the daemon (and its fusermount3 helper: the mount is left
     dead, "Transport endpoint is not connected") during a fetch and during
     an unpack: `xsysroot mount` on the same mount point clears the dead
     mount by itself, tmp/ is purged, and every file matches the reference;
  d. a cached object overwritten on disk (same size, other bytes) is not
     served: the read fails with EIO, the daemon log names the file, the
     object goes to quarantine/, and the next mount fetches the package again;
  e. a full disk under --cache-dir (a small tmpfs): a clean EIO, the log says
     "no space left" naming the cache directory, the daemon serves on, and the
     same access succeeds once there is room."""

import errno
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402
from xstest import (Ref, check_all, comm, daemon_pid, deb_re, deb_size,  # noqa: E402
                    ename, read_check, spread)
from xstest import sh  # noqa: E402






def fd_targets(pid):
    out = []
    d = '/proc/%d/fd' % pid
    for f in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, f)))
        except OSError:
            pass
    return out


def fd_summary(pid, cache):
    """{'objects': n, 'other': [targets]} of the daemon's open fds."""
    objs = os.path.join(os.path.realpath(cache), 'objects', 'sha256') + '/'
    s = {'objects': 0, 'other': [], 'bad': []}
    for tg in fd_targets(pid):
        if tg.startswith(objs) and not tg.endswith('(deleted)'):
            s['objects'] += 1
        else:
            s['other'].append(re.sub(r'\[\d+\]', '', tg))
        if '/tmp/txn.' in tg or tg.endswith('(deleted)'):
            s['bad'].append(tg)
    return s


def mount_at(h, mnt, cache_dir, packages=None, extra=()):
    """`xsysroot mount` on an existing mount point (whatever is there)."""
    log_file = os.path.join(h.mktemp('log-'), 'daemon.log')
    argv = h.mount_argv(mnt, cache_dir, log_file, packages=packages, extra=extra)
    m = xstest.Mount(mnt, cache_dir, log_file, argv)
    m.arch, m.suite = xstest.ARCH, h.suite_for(xstest.ARCH)
    with xstest._ACTIVE_LOCK:
        xstest._ACTIVE.append(m)
    t0 = time.monotonic()
    r = sh(argv, timeout=180)
    m.seconds = time.monotonic() - t0
    m.rc, m.stdout, m.stderr = r.returncode, r.stdout, r.stderr
    return m


def forget(m):
    """Stop tracking M (another Mount on the same path now owns it)."""
    with xstest._ACTIVE_LOCK:
        if m in xstest._ACTIVE:
            xstest._ACTIVE.remove(m)


def stat_errno(path, fn=os.stat):
    try:
        fn(path)
        return None
    except OSError as e:
        return e.errno


def mount_count(path):
    """How many mounts are stacked at PATH."""
    path = os.path.realpath(path)
    n = 0
    with open('/proc/self/mountinfo') as f:
        for line in f:
            mp = line.split()[4].replace('\\040', ' ').replace('\\011', '\t') \
                .replace('\\012', '\n').replace('\\134', '\\')
            n += mp == path
    return n




def scan_objects(cache):
    """(objects, corrupt) under CACHE/objects: each file's SHA-256 must be its name."""
    n, bad = 0, []
    base = os.path.join(cache, 'objects', 'sha256')
    for d in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        for f in os.listdir(os.path.join(base, d)):
            n += 1
            if xstest.sha256_file(os.path.join(base, d, f)) != d + f:
                bad.append(d + f)
    return n, bad


def wait_log(srv, pattern, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        g = [e for e in xstest.gets(srv.log(), pattern) if cond(e)]
        if g:
            return g[0]
        time.sleep(0.005)
    return None


# --------------------------------------------------------------------------



def test_single_flight(t, h, ref):
    srv = h.server
    files = spread(ref.files('libc6'), 64)
    t.ok(len(files) == 64, 'single flight: libc6 has %d files to read' % len(files))
    for n in (1, 8, 64):
        with h.mount() as m:                      # a fresh cache each time
            srv.wait_idle()
            srv.clear_log()
            # hold the .deb a second so that every reader arrives while it is in flight
            srv.add_fault(match=deb_re(h, 'libc6'), action='stall', arg=1, times=1)
            barrier = threading.Barrier(n)
            res = {}

            def reader(rel):
                try:
                    barrier.wait(30)
                except threading.BrokenBarrierError:
                    pass
                t0 = time.monotonic()
                res[rel] = (read_check(m, ref, rel), time.monotonic() - t0)
            ths = [threading.Thread(target=reader, args=(f,), daemon=True) for f in files[:n]]
            for th in ths:
                th.start()
            for th in ths:
                th.join(120)
            srv.wait_idle(timeout=30)
            srv.clear_faults()
            bad = ['%s: %s' % (f, res.get(f, ((False, 'no result'), 0))[0][1])
                   for f in files[:n] if not res.get(f, ((False,), 0))[0][0]]
            g = xstest.gets(srv.log(), deb_re(h, 'libc6'))
            waited = sum(1 for v in res.values() if v[1] >= 0.9)
            t.diag('single flight, %d readers: %d GET(s) of the libc6 .deb %s; %d readers '
                   'waited >= 0.9 s on the fetch; other .deb GETs: %s'
                   % (n, len(g), [(e['status'], e['bytes']) for e in g], waited,
                      sorted(os.path.basename(e['path']) for e in xstest.deb_gets(srv.log())
                             if 'libc6_' not in e['path'])))
            t.ok(not bad, 'single flight, %d readers: all read the right bytes' % n,
                 '\n'.join(bad[:10]))
            t.eq(len(g), 1, 'single flight, %d concurrent first readers: exactly 1 GET of the '
                 'libc6 .deb' % n)


def test_reader_killed(t, h, ref):
    srv = h.server
    stall_s = 6
    code = ('import hashlib, sys\n'
            'print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())\n')
    with h.mount() as m:
        # warm up: libc6 (and its prefetched dependencies) fetched, the
        # connection to the mirror established
        ok, what = read_check(m, ref, ref.find('libc6', r'/libc\.so\.6$'))
        t.ok(ok, 'reader killed: warm-up read of libc.so.6', what)
        srv.wait_idle(timeout=30)
        pid = daemon_pid(m)
        before = fd_summary(pid, m.cache_dir)
        files = spread(ref.files('libc-bin'), 6)
        dirs = {os.path.dirname(f) for f in files}
        for f in files:
            os.stat(os.path.dirname(m.p(f)))      # directories looked up beforehand
        srv.clear_log()
        srv.add_fault(match=deb_re(h, 'libc-bin'), action='stall', arg=stall_s, times=1)
        t_stall = time.monotonic()
        procs = [subprocess.Popen([sys.executable, '-c', code, m.p(f)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=xstest.clean_env())
                 for f in files]
        try:
            wait_log(srv, deb_re(h, 'libc-bin'), lambda e: not e['done'], 10)
            time.sleep(0.5)
            waiting = []
            for p in procs:
                try:
                    with open('/proc/%d/stack' % p.pid) as f:
                        waiting.append('request_wait_answer' in f.read())
                except OSError:
                    waiting.append(None)
            victims = [i for i, w in enumerate(waiting) if w][:2]
            t.diag('reader killed: %d readers of libc-bin files in %d directories, waiting in '
                   'the daemon: %s; killing %s' % (len(procs), len(dirs), waiting,
                                                   [files[i] for i in victims]))
            t.ok(len(victims) == 2, 'reader killed: two readers wait on the stalled fetch '
                 'in the daemon')
            t_kill = time.monotonic()
            for i in victims:
                procs[i].kill()
            for i in victims:
                procs[i].wait(stall_s + 30)
            gone = time.monotonic() - t_kill
            # A lookup already handed to the daemon is waited out by the
            # kernel even for SIGKILL (fuse request_wait_answer); the daemon
            # does not implement FUSE_INTERRUPT, so the killed reader is
            # reaped when the fetch ends (bounded by --fetch-timeout).
            t.diag('reader killed: the killed readers were reaped %.2f s after SIGKILL (the '
                   'stall had %.2f s left)' % (gone, max(0.0, stall_s - (t_kill - t_stall))))
            t.ok(all(procs[i].returncode == -signal.SIGKILL for i in victims)
                 and gone < stall_s + 10,
                 'reader killed: the killed readers are gone once their lookup is answered '
                 '(%.2f s)' % gone)
            got = {}
            for i, p in enumerate(procs):
                if i in victims:
                    continue
                out, err = p.communicate(timeout=stall_s + 60)
                got[files[i]] = (p.returncode, out.decode().strip(), err.decode()[-300:])
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        srv.clear_faults()
        bad = ['%s: %s' % (f, v) for f, v in got.items()
               if v[0] != 0 or v[1] != ref.sha(f)]
        t.ok(got and not bad, 'reader killed: the %d other readers got the right bytes once '
             'the stall ended' % len(got), '\n'.join(bad))
        for i in victims:
            ok, what = read_check(m, ref, files[i])
            t.ok(ok, 'reader killed: %s reads right afterwards' % files[i], what)
        srv.wait_idle(timeout=30)
        time.sleep(0.3)
        after = fd_summary(pid, m.cache_dir)
        t.diag('reader killed: daemon fds before: %d objects + %d other %s; after: %d objects '
               '+ %d other %s' % (before['objects'], len(before['other']),
                                  sorted(before['other']), after['objects'],
                                  len(after['other']), sorted(after['other'])))
        t.eq(after['objects'] - before['objects'], len(files),
             'reader killed: one kept object fd per file served since (%d)' % len(files))
        t.ok(sorted(after['other']) == sorted(before['other']),
             'reader killed: no other fd was left open (%d before, %d after)'
             % (len(before['other']), len(after['other'])),
             'before %s\nafter %s' % (sorted(before['other']), sorted(after['other'])))
        t.ok(not after['bad'], 'reader killed: no fd on a temp file or a deleted file',
             after['bad'])


def crash_and_remount(t, h, ref, name, packages, pkg, stall, trigger, files):
    """Mount, start a first read of a file of PKG, wait for TRIGGER (a
    server log condition), kill -9 the daemon and its helper, then mount
    again on the same mount point and check the cache.  Returns what was
    seen at the kill."""
    srv = h.server
    target = ref.find(pkg, r'.')
    m1 = h.start_mount(packages=packages)
    seen = {}
    if not t.ok(m1.rc == 0, '%s: first mount' % name, m1.stderr):
        return seen
    try:
        srv.wait_idle()
        srv.clear_log()
        if stall:
            srv.add_fault(match=deb_re(h, pkg), action='stall', arg=stall, times=1)
        res = {}
        th = threading.Thread(target=lambda: res.update(r=xstest.read_errno(m1.p(target))),
                              daemon=True)
        th.start()
        e = wait_log(srv, deb_re(h, pkg), trigger, 60)
        pids = xstest.kill_daemon(m1)
        seen['entry'] = e and {k: e[k] for k in ('status', 'bytes', 'done')}
        tmpd = os.path.join(m1.cache_dir, 'tmp')
        seen['tmp'] = sorted(os.listdir(tmpd))
        seen['tmp_bytes'] = sum(os.path.getsize(os.path.join(tmpd, f)) for f in seen['tmp'])
        debsha = h.index.pkgs[pkg]['SHA256']
        seen['deb_committed'] = os.path.exists(os.path.join(
            m1.cache_dir, 'objects', 'sha256', debsha[:2], debsha[2:]))
        seen['manifest'] = os.path.exists(os.path.join(m1.cache_dir, 'meta',
                                                       'manifest-' + debsha))
        seen['objects'] = sum(len(fs) for _, _, fs in os.walk(
            os.path.join(m1.cache_dir, 'objects')))
        t.ok(e is not None and pids and all(comm(p) is None or xstest._is_zombie(p)
                                            for p in pids),
             '%s: the daemon and its helper were killed (-9) at the trigger' % name)
        th.join(30)
        r = res.get('r')
        seen['reader'] = ename(r[1]) if r and r[1] else ('data' if r else 'no result')
        err = stat_errno(m1.path, os.statvfs)
        serr = stat_errno(m1.path)
        t.diag('%s: at the kill: server %s; tmp/ %d file(s), %d bytes; .deb committed: %s; '
               'manifest: %s; %d objects; the blocked reader got %s; the mount point: statvfs '
               '%s, stat %s' % (name, seen['entry'], len(seen['tmp']), seen['tmp_bytes'],
                                seen['deb_committed'], seen['manifest'], seen['objects'],
                                seen['reader'], ename(err) if err else 'answers',
                                ename(serr) if serr else 'answers (attribute cache)'))
        t.ok(xstest.is_mounted(m1.path) and err == errno.ENOTCONN,
             '%s: the dead mount is left behind (statvfs: ENOTCONN)' % name,
             ename(err) if err else 'statvfs answers')
        srv.clear_faults()
    except BaseException:
        xstest.cleanup_mount(m1, t)
        raise
    # xsysroot mount again, on the same mount point and cache: it clears the
    # dead mount itself (the harness does not)
    forget(m1)
    m2 = mount_at(h, m1.path, m1.cache_dir, packages=packages)
    try:
        t.ok(m2.rc == 0 and xstest.is_mounted(m2.path) and stat_errno(m2.path) is None,
             '%s: xsysroot mount on the dead mount point succeeds by itself' % name,
             'exit %s: %s' % (m2.rc, m2.stderr))
        if m2.rc != 0:
            return seen
        n = mount_count(m2.path)
        t.ok(n == 1, '%s: the dead mount was cleared, not mounted over (%d mount(s) '
             'stacked at the mount point)' % (name, n))
        left = os.listdir(os.path.join(m2.cache_dir, 'tmp'))
        t.ok(not left, '%s: tmp/ has no leftovers after the new mount' % name, left)
        srv.clear_log()
        wrong, problems = check_all(m2, ref, files)
        t.diag('%s: %d files read after the remount, %d problem(s)' % (name, len(files),
                                                                       len(problems)))
        t.ok(not problems, '%s: all %d files of %s read right after the remount (%d corrupt)'
             % (name, len(files), pkg, wrong), '\n'.join(problems[:10]))
        srv.wait_idle(timeout=30)
        n, bad = scan_objects(m2.cache_dir)
        t.ok(not bad, '%s: every one of the %d objects in the cache matches its name' % (name, n),
             bad[:5])
    finally:
        xstest.cleanup_mount(m2, t)
    return seen


def test_kill_daemon(t, h, ref):
    size = deb_size(h, 'libc6')
    crash_and_remount(
        t, h, ref, 'kill -9 during a fetch', None, 'libc6',
        {'seconds': 30, 'after_bytes': size // 2},
        lambda e: e['bytes'] >= size // 2, ref.files('libc6'))
    # during an unpack: right after the GET of a large .deb completed (the
    # .deb is unpacked as it arrives and never stored, so the kill lands
    # while its last bytes are unpacked, or between them and the manifest)
    for attempt in range(3):
        seen = crash_and_remount(
            t, h, ref, 'kill -9 during an unpack (try %d)' % (attempt + 1), ['perl'],
            'libperl5.36', None, lambda e: e['done'], ref.files('libperl5.36'))
        if seen.get('objects') and not seen.get('manifest'):
            break
    t.ok(not seen.get('deb_committed'), 'kill -9 during an unpack: no .deb was stored',
         seen)
    # Where the kill lands is timing; the recovery assertions above hold
    # wherever it landed, so this is reported, not asserted.
    t.diag('kill -9 during an unpack: the last kill landed %s objects were written and '
           'before its manifest was (%s)'
           % ('after' if seen.get('objects') and not seen.get('manifest') else 'not between',
              {k: seen.get(k) for k in ('deb_committed', 'manifest', 'objects')}))


def test_corrupt_object(t, h, ref):
    srv = h.server
    rel = ref.find('hello', r'usr/bin/hello$')
    sha = ref.sha(rel)
    with h.mount(packages=['hello']) as m:
        ok, what = read_check(m, ref, rel)
        t.ok(ok, 'corrupt object: usr/bin/hello fetched and read right', what)
        cache = m.cache_dir
    obj = os.path.join(cache, 'objects', 'sha256', sha[:2], sha[2:])
    t.ok(os.path.isfile(obj), 'corrupt object: its object is in the cache')
    with open(obj, 'rb') as f:
        data = f.read()
    os.chmod(obj, 0o644)
    with open(obj, 'r+b') as f:
        f.write(bytes(b ^ 0x5a for b in data))     # other bytes, same size
    t.eq(os.path.getsize(obj), len(data), 'corrupt object: overwritten in place, same size')
    srv.clear_log()
    with h.mount(packages=['hello'], cache_dir=cache) as m:
        srv.wait_idle()
        t.eq(len(xstest.deb_gets(srv.log())), 0,
             'corrupt object: the remount trusts the manifest (no .deb fetched)')
        data1, err1 = xstest.read_errno(m.p(rel))
        data2, err2 = xstest.read_errno(m.p(rel))
        served = [d for d in (data1, data2) if d is not None]
        t.ok(err1 == errno.EIO, 'corrupt object: the read fails with EIO',
             'got %s' % (ename(err1) if err1 else '%d bytes, sha256 %s' % (
                 len(data1), hashlib.sha256(data1).hexdigest()[:16])))
        t.ok(err2 == errno.EIO, 'corrupt object: a second read fails with EIO too',
             'got %s' % ename(err2))
        t.ok(not served, 'corrupt object: no byte of it was served')
        lines = [ln for ln in m.daemon_log().splitlines() if 'usr/bin/hello' in ln]
        t.diag('corrupt object: daemon log: %s' % (lines[0] if lines else '(nothing)'))
        t.ok(any('SHA-256' in ln and 'error' in ln for ln in lines),
             'corrupt object: the daemon log names the file and the SHA-256 mismatch',
             m.daemon_log()[-1500:])
        q = os.listdir(os.path.join(cache, 'quarantine'))
        t.ok(not os.path.exists(obj) and any(n.endswith(sha) for n in q),
             'corrupt object: moved from objects/ to quarantine/ (%s)' % q)
        ok, what = read_check(m, ref, ref.find('libc6', r'/libc\.so\.6$'))
        t.ok(ok, 'corrupt object: the rest of the view still reads right', what)
    srv.clear_log()
    with h.mount(packages=['hello'], cache_dir=cache) as m:
        ok, what = read_check(m, ref, rel)
        srv.wait_idle()
        g = xstest.gets(srv.log(), deb_re(h, 'hello'))
        t.ok(ok, 'corrupt object: the next mount serves usr/bin/hello right again', what)
        t.eq(len(g), 1, 'corrupt object: ... after fetching the hello .deb again')
        t.ok(os.path.isfile(obj) and xstest.sha256_file(obj) == sha,
             'corrupt object: the object is back, intact')


def test_disk_full(t, h, ref):
    srv = h.server
    hello = ref.find('hello', r'usr/bin/hello$')
    libc = ref.find('libc6', r'/libc\.so\.6$')
    # the indexes, from a mount on a roomy cache (nothing fetched)
    with h.mount(packages=['hello']) as m:
        seed = m.cache_dir
    used = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(seed) for f in fs)
    tmpfs = h.mktemp('tmpfs-')
    r = sh(['mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'xstest-full', tmpfs])
    if r.returncode != 0:
        t.skip('disk full: a 2 MB tmpfs as --cache-dir', 'cannot mount a tmpfs: %s'
               % r.stderr.strip())
        return
    try:
        cache = os.path.join(tmpfs, 'cache')
        sh(['cp', '-a', seed, cache], check=True)
        st = os.statvfs(tmpfs)
        free = st.f_bavail * st.f_frsize
        t.diag('disk full: tmpfs of 2 MB holding the %d bytes of indexes; %d bytes free; '
               'libc6 .deb: %d bytes' % (used, free, deb_size(h, 'libc6')))
        with h.mount(packages=['hello'], cache_dir=cache) as m:
            ok, what = read_check(m, ref, hello)
            t.ok(ok, 'disk full: hello (small) is fetched into the small cache', what)
            srv.wait_idle(timeout=30)
            srv.clear_log()
            t0 = time.monotonic()
            data, err = xstest.read_errno(m.p(libc))
            secs = time.monotonic() - t0
            srv.wait_idle(timeout=30)
            t.diag('disk full: reading libc.so.6: %s after %.2f s; libc6 GETs %s'
                   % (ename(err) if err else 'data', secs,
                      [(e['status'], e['bytes']) for e in xstest.gets(srv.log(),
                                                                     deb_re(h, 'libc6'))]))
            t.ok(err in (errno.EIO, errno.ENOSPC), 'disk full: the access fails cleanly '
                 '(EIO or ENOSPC)', 'got %s' % ename(err))
            lines = [ln for ln in m.daemon_log().splitlines()
                     if 'no space left' in ln.lower()]
            t.diag('disk full: daemon log: %s' % (lines[0] if lines else '(nothing)'))
            t.ok(any(cache in ln for ln in lines),
                 'disk full: the daemon log says "no space left" naming the cache directory',
                 m.daemon_log()[-1500:])
            t.ok(daemon_pid(m) and xstest.is_mounted(m.path), 'disk full: the daemon lives on')
            fd = os.open(m.p(hello), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                got = b''
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    got += b
            finally:
                os.close(fd)
            t.ok(hashlib.sha256(got).hexdigest() == ref.sha(hello),
                 'disk full: a cached file still reads right (from the daemon)')
            left = os.listdir(os.path.join(cache, 'tmp'))
            t.ok(not left, 'disk full: no partial download is left in tmp/', left)
            r = sh(['mount', '-o', 'remount,size=96m', tmpfs])
            t.ok(r.returncode == 0, 'disk full: the tmpfs grows to 96 MB', r.stderr)
            ok, what = read_check(m, ref, libc)
            t.ok(ok, 'disk full, room made: the same access succeeds in the same mount', what)
    finally:
        for d in list(xstest._ACTIVE):
            if d.cache_dir.startswith(tmpfs):
                xstest.cleanup_mount(d, t)
        r = sh(['umount', tmpfs])
        if r.returncode != 0:
            sh(['umount', '-l', tmpfs])


def main(t, h):
    names = sorted(set(h.index.closure(['hello', 'perl'])))
    ref = Ref(h, names)
    test_single_flight(t, h, ref)
    test_reader_killed(t, h, ref)
    test_kill_daemon(t, h, ref)
    test_corrupt_object(t, h, ref)
    test_disk_full(t, h, ref)


xstest.run(main)
