#!/usr/bin/python3
"""Cache: concurrent first readers of one package share one download; a warm
remount on the same --cache-dir fetches only InRelease and serves cached files
without downloading; a daemon killed with SIGKILL leaves a dead mount that the
harness cleans up."""

import errno
import hashlib
import os
import re
import sys
import threading

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

READERS = 8


def main(t, h):
    srv = h.server
    libc_re = re.escape(h.index.pkgs['libc6']['Filename']) + '$'
    ref = h.index.extract(['libc6'], h.mktemp('ref-'))
    files = sorted(p for p in h.index.files_of('libc6')
                   if re.match(r'(usr/)?lib/aarch64-linux-gnu/[^/]+\.so[.0-9]*$', p)
                   and not os.path.islink(os.path.join(ref, p)))[:READERS]
    t.ok(len(files) == READERS, 'fixture: libc6 ships %d distinct libraries to read' % READERS,
         files)

    # ---- single flight
    srv.clear_log()
    with h.mount() as m:
        t.diag('cold mount took %.3f s' % m.seconds)
        srv.wait_idle()
        srv.clear_log()
        barrier = threading.Barrier(len(files))
        results = {}

        def reader(rel):
            try:
                barrier.wait(30)
            except threading.BrokenBarrierError:
                pass
            results[rel] = xstest.read_errno(m.p(rel))
        threads = [threading.Thread(target=reader, args=(f,), daemon=True) for f in files]
        for th in threads:
            th.start()
        for th in threads:
            th.join(180)
        t.ok(not any(th.is_alive() for th in threads), 'all %d readers returned' % len(files))
        bad = []
        for rel in files:
            data, err = results.get(rel, (None, 'no result'))
            if err is not None:
                bad.append('%s: %s' % (rel, errno.errorcode.get(err, err)))
            elif hashlib.sha256(data).hexdigest() != xstest.sha256_file(os.path.join(ref, rel)):
                bad.append('%s: wrong bytes' % rel)
        t.ok(not bad, '%d concurrent first readers of libc6 files read the right bytes'
             % len(files), '\n'.join(bad))
        srv.wait_idle()
        g = xstest.gets(srv.log(), libc_re)
        t.diag('libc6 GETs: %s' % [(e['status'], e['bytes'], e['range']) for e in g])
        t.eq(len(g), 1, 'exactly one GET of the libc6 .deb for %d concurrent readers' % len(files))
        cache = m.cache_dir
        cold = m.seconds

    # ---- warm remount
    srv.clear_log()
    with h.mount(cache_dir=cache) as m:
        srv.wait_idle()
        log = srv.log()
        paths = [e['path'] for e in log]
        t.diag('warm mount took %.3f s (cold %.3f s); fetched %d bytes: %s'
               % (m.seconds, cold, xstest.total_bytes(log), paths))
        t.ok(paths and all(p.endswith('/InRelease') for p in paths),
             'warm remount fetches InRelease and nothing else', paths)
        t.ok(xstest.total_bytes(log) <= 512 * 1024,
             'warm remount transfers <= 512 KiB (%d bytes)' % xstest.total_bytes(log))
        srv.clear_log()
        data, err = xstest.read_errno(m.p(files[0]))
        t.ok(err is None and hashlib.sha256(data).hexdigest() ==
             xstest.sha256_file(os.path.join(ref, files[0])),
             'a file cached by the first mount reads right after remount')
        srv.wait_idle()
        t.eq(len(xstest.deb_gets(srv.log())), 0, '... without downloading any .deb')

    # ---- the daemon dies
    with h.mount() as m:
        pids = xstest.kill_daemon(m)
        t.ok(pids, 'the daemon process is found', 'no process for %s' % m.path)
        try:
            os.stat(m.p('lib'))
            state = 'still answering'
        except OSError as e:
            state = '%s (%s)' % (errno.errorcode.get(e.errno, e.errno), e.strerror)
        t.diag('after kill -9: %s; still mounted: %s' % (state, xstest.is_mounted(m.path)))
    rep = m.cleanup_report or {}
    t.diag('cleanup: %s' % {k: v for k, v in rep.items() if k != 'umount_stderr'})
    t.ok(not xstest.is_mounted(m.path), 'the harness removed the dead mount')
    try:
        t.eq(os.listdir(m.path), [], 'the mount point is an empty, usable directory again')
    except OSError as e:
        t.ok(False, 'the mount point is usable again', str(e))
    t.ok(not m.daemon_pids(), 'no daemon process is left')


xstest.run(main)
