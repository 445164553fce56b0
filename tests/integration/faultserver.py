#!/usr/bin/python3
"""A small HTTP/1.1 file server for tests, with fault injection.

Serves the files under ROOT on 127.0.0.1 (ephemeral port by default), with
keep-alive, HEAD and single byte ranges (206 + Content-Range, 416).  Directories
are not listed (404).  A path /__alias/X serves the same file as /X (a target
for redirects).

Every file is served with Last-Modified (its mtime) and an ETag (its size
and mtime in nanoseconds, so a file rewritten within the same second gets
another).  Conditional requests are answered as a mirror (Apache, nginx)
answers them, RFC 9110 13.2.2: If-None-Match, when sent, decides (304 when
it names the current ETag) and If-Modified-Since is then ignored; else
If-Modified-Since gives 304 when the mtime (whole seconds) is not later.
A 304 has no body.  A request that a fault matches is not evaluated: the
fault says what to answer.

Control, over HTTP on the same port (never logged in the request log):

  POST   /__fault      JSON object (or list of them):
                         match   regex searched in the request path (default '')
                         action  status | tamper | truncate | reset | stall |
                                 throttle | ignore_range | bad_range | redirect
                         arg     depends on the action, see below
                         times   how many requests it applies to; -1 = forever
                                 (default -1)
                         method  only this method (default any)
                       -> {"id": N}
  DELETE /__fault      remove every fault          GET /__fault  list them
  GET    /__log        [{"method","path","status","bytes","range","fault",
                         "ims","inm",...}]  (ims, inm: the request's
                         If-Modified-Since and If-None-Match, or null)
  POST   /__log/clear  (DELETE /__log does the same)
  GET    /__stats      {"inflight": N, "requests": N}

Actions and their arg:
  status        int code, or {"code": C, "retry_after": S}; 503 and 429 carry
                Retry-After (default 1)
  tamper        flip one byte: arg = absolute file offset, default the middle
                of the bytes being sent; sizes and headers stay right
  truncate      send full headers but only arg bytes of body (default half),
                then close the connection
  reset         like truncate, then close with TCP RST
  stall         arg = seconds to wait before the response, or
                {"seconds": S, "after_bytes": N} to stall mid-body
  throttle      send the body steadily at arg bytes per second (default
                250000), a tenth of a second's worth at a time
  ignore_range  answer 200 with the whole file even if Range was asked
  bad_range     arg "mismatch" (default): 206 whose Content-Range is not the
                range asked for (the body matches the header); "lie": 206
                with the asked Content-Range but bytes from offset 0
  redirect      arg = Location (may contain {path}), default "/__alias{path}";
                or {"location": L, "code": C} (default 302)
  not_modified  answer 304 Not Modified whatever the request asked (a
                broken or hostile mirror)

As a module: FaultServer(root).start() runs it in a thread; spawn(root) runs it
as a subprocess; both give a client with add_fault(), clear_faults(), log(),
clear_log(), wait_idle().  Standalone:
  /usr/bin/python3 faultserver.py --root DIR [--port-file F] [--port N] [-v]
"""

import argparse
import email.utils
import json
import os
import posixpath
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = ('status', 'tamper', 'truncate', 'reset', 'stall', 'throttle', 'ignore_range',
           'bad_range', 'redirect', 'not_modified')
CHUNK = 64 * 1024


class _State:
    def __init__(self, root, verbose=False):
        self.root = os.path.realpath(root)
        self.verbose = verbose
        self.lock = threading.Lock()
        self.faults = []
        self.next_id = 1
        self.log = []
        self.inflight = 0
        self.stopping = threading.Event()
        self.conns = set()

    def add_fault(self, spec):
        if not isinstance(spec, dict):
            raise ValueError('fault must be an object')
        action = spec.get('action')
        if action not in ACTIONS:
            raise ValueError('unknown action %r' % (action,))
        f = {'match': spec.get('match', ''), 'action': action, 'arg': spec.get('arg'),
             'times': int(spec.get('times', -1)), 'method': spec.get('method'),
             'hits': 0}
        f['re'] = re.compile(f['match'])
        with self.lock:
            f['id'] = self.next_id
            self.next_id += 1
            self.faults.append(f)
        return f['id']

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f['times'] == 0:
                    continue
                if f['method'] and f['method'] != method:
                    continue
                if not f['re'].search(path):
                    continue
                if f['times'] > 0:
                    f['times'] -= 1
                f['hits'] += 1
                return dict(f)
        return None


def _parse_range(header, size):
    """(start, end) inclusive, 'unsatisfiable', or None (serve everything)."""
    if not header:
        return None
    m = re.fullmatch(r'\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*', header)
    if not m or (m.group(1) == '' and m.group(2) == ''):
        return None                      # multiple or malformed ranges: ignore
    a, b = m.group(1), m.group(2)
    if a == '':
        n = int(b)
        if n == 0:
            return 'unsatisfiable'
        return (max(0, size - n), size - 1) if size else 'unsatisfiable'
    start = int(a)
    end = int(b) if b else size - 1
    if start >= size or end < start:
        return 'unsatisfiable'
    return (start, min(end, size - 1))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'xs-faultserver/1'
    timeout = 120                        # idle keep-alive connections go away

    # ---- plumbing
    @property
    def st(self):
        return self.server.xs_state

    def setup(self):
        super().setup()
        with self.st.lock:
            self.st.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.st.lock:
                self.st.conns.discard(self.connection)

    def log_message(self, fmt, *args):
        if self.st.verbose:
            sys.stderr.write('faultserver: %s %s\n' % (self.address_string(), fmt % args))

    def _json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def _path(self):
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)

    # ---- control
    def _control(self, method, path):
        st = self.st
        try:
            if path == '/__fault' and method == 'POST':
                spec = json.loads(self._body() or b'{}')
                ids = [st.add_fault(s) for s in (spec if isinstance(spec, list) else [spec])]
                return self._json(200, {'id': ids[0] if len(ids) == 1 else ids})
            if path == '/__fault' and method == 'DELETE':
                with st.lock:
                    st.faults.clear()
                return self._json(200, {'ok': True})
            if path == '/__fault' and method == 'GET':
                with st.lock:
                    out = [{k: v for k, v in f.items() if k != 're'} for f in st.faults]
                return self._json(200, out)
            if path == '/__log' and method == 'GET':
                with st.lock:
                    out = [dict(e) for e in st.log]
                return self._json(200, out)
            if (path == '/__log/clear' and method == 'POST') or (path == '/__log' and method == 'DELETE'):
                self._body()
                with st.lock:
                    st.log.clear()
                return self._json(200, {'ok': True})
            if path == '/__stats' and method == 'GET':
                with st.lock:
                    out = {'inflight': st.inflight, 'requests': len(st.log)}
                return self._json(200, out)
        except (ValueError, re.error) as e:
            return self._json(400, {'error': str(e)})
        return self._json(404, {'error': 'no such control endpoint'})

    def do_POST(self):
        self._control('POST', self._path())

    def do_DELETE(self):
        self._control('DELETE', self._path())

    def do_GET(self):
        path = self._path()
        if path.startswith('/__') and not path.startswith('/__alias/'):
            return self._control('GET', path)
        self._serve(head=False)

    def do_HEAD(self):
        self._serve(head=True)

    # ---- files
    def _resolve(self, path):
        if path.startswith('/__alias/'):
            path = path[len('/__alias'):]
        norm = posixpath.normpath('/' + path.lstrip('/'))
        if '\0' in norm or any(p == '..' for p in norm.split('/')):
            return None
        full = os.path.join(self.st.root, norm.lstrip('/'))
        return full if os.path.isfile(full) else None

    def _wait(self, seconds):
        self.st.stopping.wait(float(seconds))

    def _send_simple(self, code, body=b'', headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command == 'HEAD':
            return 0
        self.wfile.write(body)
        return len(body)

    @staticmethod
    def _etag(st):
        return '"%x-%x"' % (st.st_size, st.st_mtime_ns)

    def _validators(self, st):
        self.send_header('Last-Modified', email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header('ETag', self._etag(st))

    def _not_modified(self, st):
        """RFC 9110 13.2.2: If-None-Match first, If-Modified-Since only
        without it (GET and HEAD)."""
        if self.command not in ('GET', 'HEAD'):
            return False
        inm = self.headers.get('If-None-Match')
        if inm is not None:
            tags = [t.strip() for t in inm.split(',')]
            weak = lambda t: t[2:] if t.startswith('W/') else t  # noqa: E731
            return '*' in tags or weak(self._etag(st)) in [weak(t) for t in tags]
        ims = self.headers.get('If-Modified-Since')
        if ims is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False                 # an invalid date is ignored
        return int(st.st_mtime) <= when

    def _serve(self, head):
        st = self.st
        path = self._path()
        entry = {'method': self.command, 'path': path, 'status': None, 'bytes': 0,
                 'range': self.headers.get('Range'), 'fault': None,
                 'ims': self.headers.get('If-Modified-Since'),
                 'inm': self.headers.get('If-None-Match'),
                 'client': '%s:%d' % self.client_address[:2], 'time': time.time(),
                 'done': False}
        with st.lock:
            st.log.append(entry)
            st.inflight += 1
        try:
            self._serve_inner(entry, head)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                socket.timeout, TimeoutError) as e:
            entry['error'] = type(e).__name__
            self.close_connection = True
        finally:
            entry['duration'] = round(time.time() - entry['time'], 4)
            entry['done'] = True
            with st.lock:
                st.inflight -= 1

    def _serve_inner(self, entry, head):
        fault = self.st.take_fault(self.command, entry['path'])
        action = fault['action'] if fault else None
        arg = fault['arg'] if fault else None
        if fault:
            entry['fault'] = action

        if action == 'stall' and not isinstance(arg, dict):
            self._wait(arg if arg is not None else 30)
            if self.st.stopping.is_set():
                self.close_connection = True
                return
        if action == 'status':
            code = arg.get('code', 503) if isinstance(arg, dict) else int(arg or 503)
            hdrs = []
            if code in (503, 429):
                ra = arg.get('retry_after', 1) if isinstance(arg, dict) else 1
                hdrs.append(('Retry-After', str(ra)))
            entry['status'] = code
            entry['bytes'] = self._send_simple(code, b'injected status %d\n' % code, hdrs)
            return
        if action == 'redirect':
            if isinstance(arg, dict):
                loc, code = arg.get('location', '/__alias{path}'), int(arg.get('code', 302))
            else:
                loc, code = arg or '/__alias{path}', 302
            loc = loc.replace('{path}', urllib.parse.quote(entry['path']))
            entry['status'] = code
            entry['bytes'] = self._send_simple(code, b'moved\n', [('Location', loc)])
            return

        full = self._resolve(entry['path'])
        if action == 'not_modified' or (full is not None and action is None and
                                         self._not_modified(os.stat(full))):
            entry['status'] = 304
            self.send_response(304)
            if full is not None:
                self._validators(os.stat(full))
            self.end_headers()
            return
        if full is None:
            entry['status'] = 404
            entry['bytes'] = self._send_simple(404, b'not found\n')
            return
        size = os.path.getsize(full)
        rng = None if action == 'ignore_range' else _parse_range(self.headers.get('Range'), size)
        if rng == 'unsatisfiable':
            entry['status'] = 416
            entry['bytes'] = self._send_simple(416, b'', [('Content-Range', 'bytes */%d' % size)])
            return

        # What we claim (status, Content-Range) and what we send (body offsets).
        if rng is None:
            code, start, end = 200, 0, size - 1
            crange = None
        else:
            code, (start, end) = 206, rng
            crange = 'bytes %d-%d/%d' % (start, end, size)
        body_start = start
        if action == 'bad_range':
            mode = arg or 'mismatch'
            if mode == 'lie':
                code, body_start = 206, 0
                crange = 'bytes %d-%d/%d' % (start, end, size)
            else:
                # a 206 whose range is not the one asked for (or not asked at all)
                code = 206
                start = 0 if start > 0 else min(1, max(size - 1, 0))
                body_start = start
                crange = 'bytes %d-%d/%d' % (start, end, size)
        length = max(0, end - start + 1)

        send_limit = length
        if action in ('truncate', 'reset'):
            send_limit = int(arg) if arg is not None else length // 2
            send_limit = max(0, min(send_limit, length))
        flip_at = None
        if action == 'tamper':
            flip_at = int(arg) if arg is not None else body_start + length // 2
        stall_after = None
        if action == 'stall' and isinstance(arg, dict):
            stall_after = int(arg.get('after_bytes', 0))
            if stall_after == 0:
                self._wait(arg.get('seconds', 30))

        st = os.stat(full)
        self.send_response(code)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(length))
        self.send_header('Accept-Ranges', 'bytes')
        self._validators(st)
        if crange:
            self.send_header('Content-Range', crange)
        self.end_headers()
        entry['status'] = code
        if head:
            return

        rate = int(arg or 250000) if action == 'throttle' else None
        t_body = time.monotonic()
        sent = 0
        with open(full, 'rb') as f:
            f.seek(body_start)
            while sent < send_limit:
                want = min(CHUNK, send_limit - sent)
                if rate:
                    # steady: never ahead of rate bytes per second
                    self._wait(max(0.0, t_body + sent / rate - time.monotonic()))
                    if self.st.stopping.is_set():
                        break
                    want = min(want, max(1, rate // 10))
                if stall_after is not None and sent < stall_after:
                    want = min(want, stall_after - sent)
                buf = f.read(want)
                if not buf:
                    break
                if flip_at is not None and body_start + sent <= flip_at < body_start + sent + len(buf):
                    b = bytearray(buf)
                    b[flip_at - body_start - sent] ^= 0xff
                    buf = bytes(b)
                self.wfile.write(buf)
                sent += len(buf)
                entry['bytes'] = sent
                if stall_after is not None and sent == stall_after:
                    self.wfile.flush()
                    self._wait(arg.get('seconds', 30))
                    stall_after = None
                    if self.st.stopping.is_set():
                        break
        self.wfile.flush()
        if sent < length:
            self.close_connection = True
            if action == 'reset':
                # Let what was written reach the peer, then close with RST.  The
                # fd is closed here (detach: rfile/wfile still hold the socket).
                self._wait(0.05)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack('ii', 1, 0))
                with self.st.lock:
                    self.st.conns.discard(self.connection)
                os.close(self.connection.detach())
            else:
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


# --------------------------------------------------------------------------
# Clients

class FaultClient:
    """Talks to a running fault server over HTTP (never through a proxy)."""

    def __init__(self, url):
        self.url = url if url.endswith('/') else url + '/'
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _req(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path.lstrip('/'), data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        with self._opener.open(req, timeout=30) as r:
            return json.loads(r.read() or b'null')

    def add_fault(self, match='', action='status', arg=None, times=-1, method=None):
        spec = {'match': match, 'action': action, 'times': times}
        if arg is not None:
            spec['arg'] = arg
        if method:
            spec['method'] = method
        return self._req('POST', '__fault', spec)['id']

    def faults(self):
        return self._req('GET', '__fault')

    def clear_faults(self):
        self._req('DELETE', '__fault')

    def log(self):
        return self._req('GET', '__log')

    def clear_log(self):
        self._req('POST', '__log/clear', {})

    def stats(self):
        return self._req('GET', '__stats')

    def wait_idle(self, timeout=10.0, settle=0.2):
        """Wait until no request has been in flight for SETTLE seconds."""
        deadline = time.time() + timeout
        quiet_since = None
        while time.time() < deadline:
            if self.stats()['inflight'] == 0:
                quiet_since = quiet_since or time.time()
                if time.time() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.05)
        return False


class FaultServer(FaultClient):
    """The server in a thread of this process."""

    def __init__(self, root, host='127.0.0.1', port=0, verbose=False):
        self.state = _State(root, verbose)
        self.httpd = _Server((host, port), _Handler)
        self.httpd.xs_state = self.state
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = None
        super().__init__('http://%s:%d/' % (self.host, self.port))

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={'poll_interval': 0.1},
                                       name='faultserver', daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.state.stopping.set()
        if self.thread:
            self.httpd.shutdown()
            self.thread.join(10)
            self.thread = None
        self.httpd.server_close()
        with self.state.lock:
            conns = list(self.state.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start() if self.thread is None else self

    def __exit__(self, *exc):
        self.stop()


def stop_process(proc, grace=10):
    """SIGTERM a child process, then SIGKILL after GRACE seconds; reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SpawnedServer(FaultClient):
    """The server as a child process (see spawn())."""

    def __init__(self, proc, url):
        self.proc = proc
        super().__init__(url)

    def stop(self):
        stop_process(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def spawn(root, verbose=False, timeout=20):
    import tempfile
    d = tempfile.mkdtemp(prefix='xs-fs-')
    pf = os.path.join(d, 'port')
    cmd = [sys.executable if os.path.basename(sys.executable).startswith('python') else '/usr/bin/python3',
           os.path.abspath(__file__), '--root', root, '--port-file', pf] + (['-v'] if verbose else [])
    proc = subprocess.Popen(cmd)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if os.path.exists(pf):
                with open(pf) as f:
                    port = int(f.read().strip())
                return SpawnedServer(proc, 'http://127.0.0.1:%d/' % port)
            if proc.poll() is not None:
                raise RuntimeError('faultserver exited with %d' % proc.returncode)
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        raise RuntimeError('faultserver did not start')
    finally:
        try:
            os.unlink(pf)
        except OSError:
            pass
        os.rmdir(d)


def main():
    ap = argparse.ArgumentParser(description='HTTP file server with fault injection')
    ap.add_argument('--root', required=True)
    ap.add_argument('--bind', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    ap.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args()
    srv = FaultServer(a.root, a.bind, a.port, a.verbose)
    if a.port_file:
        tmp = a.port_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % srv.port)
        os.replace(tmp, a.port_file)
    else:
        print(srv.url, flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        srv.httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.state.stopping.set()
        srv.httpd.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
