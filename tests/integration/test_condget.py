#!/usr/bin/python3
"""The InRelease is fetched with a conditional GET, as apt fetches it, and a
304 never makes an InRelease acceptable that would not be acceptable anyway:
  a. a first mount asks unconditionally (200) and keeps the validators the
     mirror served (meta/inrelease-SRC.http);
  b. a second mount on that cache sends If-Modified-Since and If-None-Match,
     gets 304 Not Modified with no body, and mounts from the copy verified
     before; its log says 0 B of indexes fetched;
  c. an InRelease changed on the mirror (signed again) answers the condition
     with 200, and the new one is verified and kept;
  d. a mirror answering 304 when nothing was asked about (an empty cache) is
     refused, the error naming the mirror's URL;
  e. a 304 while the cached copy's Valid-Until has passed is refused as an
     expired InRelease served afresh would be;
  f. a corrupted cached InRelease is never asked about: the request is
     unconditional, a mirror answering it 304 is refused, and a mirror
     answering 200 gets its InRelease verified again."""

import glob
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

INREL = r'/InRelease$'


def inrel_gets(srv):
    srv.wait_idle()
    return xstest.gets(srv.log(), INREL)


def meta_one(cache, suffix):
    names = [n for n in glob.glob(os.path.join(cache, 'meta', 'inrelease-*' + suffix))
             if suffix or '.' not in os.path.basename(n)]
    return names[0] if len(names) == 1 else None


def read(path):
    with open(path, 'rb') as f:
        return f.read()



def first_and_second(t, h, srv, v, cache):
    """a, b and c on one cache."""
    xstest.mount_hello(t, h, srv.url, cache, 'a. a first mount works')
    g = inrel_gets(srv)
    t.ok(len(g) == 1 and g[0]['status'] == 200 and not g[0]['ims'] and not g[0]['inm'],
         'a. the first request for the InRelease is unconditional and gets 200',
         [(e['status'], e['ims'], e['inm']) for e in g])
    http = meta_one(cache, '.http')
    st = os.stat(v.inrelease)
    want_etag = '"%x-%x"' % (st.st_size, st.st_mtime_ns)
    lines = read(http).decode().split('\n') if http else []
    t.ok(len(lines) == 4 and lines[2] == want_etag and int(lines[1]) == int(st.st_mtime),
         'a. the validators the mirror served are kept beside the InRelease', lines)

    srv.clear_log()
    log = xstest.mount_hello(t, h, srv.url, cache, 'b. a second mount on that cache works')
    g = inrel_gets(srv)
    t.ok(len(g) == 1 and g[0]['status'] == 304 and g[0]['bytes'] == 0 and
         g[0]['inm'] == want_etag and g[0]['ims'],
         'b. the second mount asks with If-Modified-Since and If-None-Match and gets 304',
         [(e['status'], e['bytes'], e['ims'], e['inm']) for e in g])
    t.ok('(0 B of indexes fetched)' in log, 'b. the log says no index bytes were fetched',
         log[-1500:])

    time.sleep(0.05)
    v.resign(date=time.time())
    srv.clear_log()
    xstest.mount_hello(t, h, srv.url, cache,
                       'c. a mount after the InRelease changed on the mirror works')
    g = inrel_gets(srv)
    t.ok(len(g) == 1 and g[0]['status'] == 200 and g[0]['inm'] == want_etag,
         'c. the condition names the old copy, the mirror answers 200 with the new one',
         [(e['status'], e['inm']) for e in g])
    inrel = meta_one(cache, '')
    t.ok(inrel and read(inrel) == read(v.inrelease), 'c. the new InRelease is kept')


def hostile_304(t, h, srv, v):
    """d: a 304 to a request that asked about nothing."""
    srv.add_fault(match=INREL, action='not_modified')
    m = h.try_mount(packages=['hello'], mirror=srv.url)
    srv.clear_faults()
    t.diag('d: %s' % m.stderr.strip())
    t.ok(m.rc != 0 and not m.was_mounted and '304' in m.stderr and
         srv.url.rstrip('/') in m.stderr and 'InRelease' in m.stderr,
         'd. a 304 with nothing in the cache is refused, naming the mirror', m.stderr)


def expired_304(t, h):
    """e: the cached copy expired; the mirror still has it (304)."""
    v = h.repo.variant(os.path.join(h.mktemp('variant-'), 'repo'))
    until = time.time() + 10
    v.resign(date=time.time() - 60, valid_until=until)
    srv = h.serve(v.out)
    cache = h.mktemp('cache-')
    xstest.mount_hello(t, h, srv.url, cache, 'e. a mount while the InRelease is valid works')
    time.sleep(max(0, until - time.time()) + 1.5)
    srv.clear_log()
    m = h.try_mount(packages=['hello'], cache_dir=cache, mirror=srv.url)
    g = inrel_gets(srv)
    t.diag('e: %s' % m.stderr.strip())
    t.ok([e['status'] for e in g] == [304],
         'e. the mirror answers the condition with 304', [e['status'] for e in g])
    t.ok(m.rc != 0 and not m.was_mounted and 'Valid-Until' in m.stderr and
         '304 Not Modified' in m.stderr and srv.url.rstrip('/') in m.stderr,
         'e. the expired copy is refused after the 304, naming the mirror', m.stderr)


def corrupt_304(t, h, srv, v, cache):
    """f: a corrupt cached copy is not asked about, and a 304 is refused."""
    inrel = meta_one(cache, '')
    data = bytearray(read(inrel))
    at = data.index(b'Label: ')
    data[at + 7] ^= 0x20
    with open(inrel, 'wb') as f:
        f.write(data)
    srv.clear_log()
    srv.add_fault(match=INREL, action='not_modified')
    m = h.try_mount(packages=['hello'], cache_dir=cache, mirror=srv.url)
    srv.clear_faults()
    g = inrel_gets(srv)
    t.diag('f: %s' % m.stderr.strip())
    t.ok(g and all(not e['ims'] and not e['inm'] for e in g),
         'f. a corrupt cached InRelease is not asked about', [(e['ims'], e['inm']) for e in g])
    t.ok(m.rc != 0 and not m.was_mounted and '304' in m.stderr and
         srv.url.rstrip('/') in m.stderr,
         'f. ... and a 304 then is refused, naming the mirror', m.stderr)
    srv.clear_log()
    xstest.mount_hello(t, h, srv.url, cache, 'f. with a mirror that answers 200 the mount works')
    g = inrel_gets(srv)
    t.ok([e['status'] for e in g] == [200] and read(inrel) == read(v.inrelease),
         'f. ... the InRelease fetched whole and verified again replaces the corrupt copy',
         [e['status'] for e in g])


def main(t, h):
    v = h.repo.variant(os.path.join(h.mktemp('variant-'), 'repo'))
    srv = h.serve(v.out)
    cache = h.mktemp('cache-')
    first_and_second(t, h, srv, v, cache)
    hostile_304(t, h, srv, v)
    corrupt_304(t, h, srv, v, cache)
    expired_304(t, h)


xstest.run(main)
