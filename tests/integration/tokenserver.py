"""A small Bearer token server for docker-registry's token auth, on
127.0.0.1 (stdlib + the openssl command).

It makes an RSA key and a self-signed certificate (the registry's
rootcertbundle), and answers GET /token?service=S&scope=repository:NAME:ACTIONS
with {"token": JWT, "expires_in": N}: a JWT signed RS256 whose header carries
the certificate (x5c), granting the actions asked for.  Modes (set .mode):
  'ok'       tokens valid for .lifetime seconds;
  'expired'  tokens that expired a minute ago (the registry refuses them);
  'creds'    as 'ok', but only for Basic credentials .user:.password.
Every request is recorded in .log (path, whether Basic credentials came).
"""

import base64
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse

ISSUER = 'xsysroot-test-issuer'
SERVICE = 'xsysroot-test-registry'


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


class TokenServer:
    def __init__(self, tmp):
        self.key = os.path.join(tmp, 'token.key')
        self.cert = os.path.join(tmp, 'token.crt')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                        '-subj', '/CN=' + ISSUER, '-keyout', self.key, '-out', self.cert],
                       check=True, capture_output=True)
        der = subprocess.run(['openssl', 'x509', '-in', self.cert, '-outform', 'DER'],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.mode = 'ok'
        self.lifetime = 300
        self.user, self.password = 'xs', 'secret'
        self.log = []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = 'http://127.0.0.1:%d/token' % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def registry_config(self):
        return {'realm': self.realm, 'service': SERVICE, 'issuer': ISSUER,
                'rootcert': self.cert}

    def sign(self, claims):
        header = {'typ': 'JWT', 'alg': 'RS256', 'x5c': [self.x5c]}
        signing = (b64url(json.dumps(header).encode()) + '.' +
                   b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', self.key], input=signing,
                             check=True, capture_output=True).stdout
        return signing.decode() + '.' + b64url(sig)

    def handle(self, req):
        u = urllib.parse.urlparse(req.path)
        q = urllib.parse.parse_qs(u.query)
        auth = req.headers.get('Authorization', '')
        basic = None
        if auth.startswith('Basic '):
            try:
                basic = base64.b64decode(auth[6:]).decode()
            except ValueError:
                basic = '?'
        self.log.append({'path': req.path, 'basic': basic, 'mode': self.mode})
        if u.path != '/token':
            req.send_error(404)
            return
        if self.mode == 'creds' and basic != '%s:%s' % (self.user, self.password):
            req.send_response(401)
            req.send_header('WWW-Authenticate', 'Basic realm="xsysroot test"')
            req.send_header('Content-Length', '0')
            req.end_headers()
            return
        access = []
        for scope in q.get('scope', []):
            for one in scope.split(' '):
                parts = one.split(':')
                if len(parts) == 3:
                    access.append({'type': parts[0], 'name': parts[1],
                                   'actions': parts[2].split(',')})
        now = int(time.time())
        exp = now - 60 if self.mode == 'expired' else now + self.lifetime
        claims = {'iss': ISSUER, 'sub': basic.split(':')[0] if basic else '',
                  'aud': q.get('service', [''])[0], 'exp': exp, 'nbf': now - 120,
                  'iat': now - 120, 'jti': '%d-%d' % (now, len(self.log)), 'access': access}
        body = json.dumps({'token': self.sign(claims), 'expires_in': self.lifetime,
                           'issued_at': time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                                      time.gmtime(now))}).encode()
        req.send_response(200)
        req.send_header('Content-Type', 'application/json')
        req.send_header('Content-Length', str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
