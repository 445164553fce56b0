#!/usr/bin/python3
"""Container images as the source of a view (--image), all on loopback.

A multi-platform image (arm64 and armhf) made of the fixture's real .debs in
three layers with whiteouts (ocimage.py) is mounted from its OCI layout
(oci:DIR:TAG), and, pushed with skopeo, from Debian's docker-registry run on
127.0.0.1 with its own config: anonymously, then behind token auth served by
tokenserver.py.  The mounted tree is compared file by file with `umoci
unpack` of the same image, the real hello runs under qemu-user, and the
errors (a tampered blob, a wrong diff_id, a missing platform, an expired
token, missing credentials) are checked by their messages."""

import base64
import errno
import json
import os
import re
import shutil
import sys
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocimage  # noqa: E402
import tokenserver  # noqa: E402
import xstest  # noqa: E402

TOOLS = ('docker-registry', 'skopeo', 'umoci', 'zstd', 'openssl', 'qemu-aarch64', 'qemu-arm')


def hello(t, m, qemu, what):
    r = xstest.sh([qemu, '-L', m.path, m.p('usr/bin/hello')], timeout=120)
    t.ok(r.returncode == 0 and r.stdout == 'Hello, world!\n', '%s: the real hello runs under %s'
         % (what, qemu), r.stdout + r.stderr)


def check_layers(t, m, what):
    """What the three layers and their whiteouts must give."""
    p = m.p
    t.ok(not os.path.lexists(p('etc/xs-removed')), '%s: a whiteout removes a file of a lower '
         'layer' % what)
    with open(p('etc/xs-replaced')) as f:
        t.eq(f.read(), 'two\n', '%s: an upper layer replaces a file' % what)
    t.eq(sorted(os.listdir(p('opt/xs-old'))), ['c'], '%s: an opaque whiteout empties the '
         'directory below, the layer\'s own entries stay' % what)
    t.ok(not os.path.lexists(p('usr/share/doc/libgcc-s1')) and
         os.path.isdir(p('usr/share/doc/libc6')), '%s: a whiteout removes a directory of a lower '
         'layer, its neighbours stay' % what)
    a, b = os.lstat(p('opt/xs-link/one')), os.lstat(p('opt/xs-link/two'))
    t.ok(a.st_ino == b.st_ino and a.st_nlink == 2, '%s: a hardlink shares its target\'s inode'
         % what, '%s %s' % (a, b))
    t.eq(os.readlink(p('opt/xs-link/sym')), 'one', '%s: a symlink' % what)
    t.ok(os.path.islink(p('lib')) and not any(os.path.lexists(p(d)) for d in
                                               ('proc', 'sys', 'dev')) and
         os.path.getsize(p('etc/ld.so.cache')) > 0,
         '%s: presented as a sysroot (merged /usr, no proc/sys/dev, ld.so.cache)' % what)


def layer_error(t, h, image, arch, wants, desc):
    """A mount whose layers cannot be used: the mount succeeds (only the
    documents are fetched then), the first access fails with EIO and the
    daemon log says why; the next access tries again.  Returns the log."""
    with h.mount(image=image, arch=arch) as m:
        errs = []
        for _ in range(2):
            try:
                os.listdir(m.path)
                errs.append(0)
            except OSError as e:
                errs.append(e.errno)
        log = m.daemon_log()
        t.ok(errs == [errno.EIO, errno.EIO] and all(w in log for w in wants),
             desc + ': the mount succeeds, each access fails with EIO and the log says why',
             '%s\n%s' % (errs, log[-3000:]))
        return log


def registry_gets(reg, since=0):
    """The GET paths the registry answered, after SINCE characters of its log."""
    return re.findall(r'"GET (\S+) HTTP/[0-9.]+" (\d+)', reg.log_text()[since:])


def main(t, h):
    missing = [x for x in TOOLS if not shutil.which(x)]
    if missing:
        t.ok(False, 'the tools of this test are installed', 'missing: %s (apt-get install '
             'docker-registry skopeo umoci zstd openssl qemu-user)' % ' '.join(missing))
        return
    lay_dir = os.path.join(h.tmp, 'layout')
    d = ocimage.build(h, lay_dir)
    services = []
    try:
        run(t, h, lay_dir, d, services)
    finally:
        for s in services:
            s.stop()


def run(t, h, lay_dir, d, services):
    # ---- the OCI layout, no registry ------------------------------------------
    bundle = os.path.join(h.tmp, 'umoci')
    r = xstest.sh(['umoci', 'unpack', '--rootless', '--image', lay_dir + ':arm64-gzip', bundle])
    t.ok(r.returncode == 0, 'umoci unpacks the reference', r.stderr)
    with h.mount(image='oci:%s:multi' % lay_dir, arch='arm64') as m:
        check_layers(t, m, 'layout arm64')
        hello(t, m, 'qemu-aarch64', 'layout arm64')
        r = xstest.sh([xstest.XSYSROOT, 'ldd', '--image', 'oci:%s:multi' % lay_dir,
                       '--cache-dir', h.mktemp('cache-'), 'arm64', m.p('usr/bin/hello')])
        t.ok(r.returncode == 0 and re.search(r'libc\.so\.6 => /usr/lib/aarch64-linux-gnu/libc'
                                             r'\.so\.6 \(oci:', r.stdout),
             'ldd --image finds hello\'s libraries in the image', r.stdout + r.stderr)
        problems = xstest.compare_trees(m.path, os.path.join(bundle, 'rootfs'))
        t.eq(problems, [], 'layout arm64: the view matches umoci unpack file by file '
             '(type, mode, size, SHA-256, link target)')
    with h.mount(image='oci:%s:python' % lay_dir, arch='arm64') as m:
        r = xstest.sh(['qemu-aarch64', '-L', m.path, m.p('usr/bin/python3'), '-c',
                       'import json, ssl, sqlite3; print("python3 ok")'], timeout=300)
        t.ok(r.returncode == 0 and r.stdout == 'python3 ok\n',
             'the real arm64 python3 of an image runs under qemu-aarch64 (json, ssl, sqlite3)',
             r.stdout + r.stderr)
    with h.mount(image='oci:%s:multi' % lay_dir, arch='armhf') as m:
        check_layers(t, m, 'layout armhf')
        hello(t, m, 'qemu-arm', 'layout armhf (linux/arm/v7 from the index)')
    log = layer_error(t, h, 'oci:%s:arm64-bad-diffid' % lay_dir, 'arm64',
                      ('diff_id mismatch', 'layer 3/3', '0' * 64), 'a wrong diff_id')
    t.eq(log.count('diff_id mismatch'), 2, 'a wrong diff_id: named in the log at each access')
    with h.mount(image='oci:%s:arm64' % lay_dir, arch='arm64') as m:
        hello(t, m, 'qemu-aarch64', 'layout arm64, tag of the manifest itself')
        warm = m.cache_dir
        # the cache knows the layers: listed, and kept by gc while a mount uses them
        r = xstest.sh([xstest.XSYSROOT, 'cache', 'list', '--cache-dir', warm])
        nlayers = len(re.findall(r'^  oci-layer +sha256:\w+ .* in use$', r.stdout, re.M))
        t.eq(nlayers, 3, 'cache list shows the 3 layers of the live image mount, in use')
        before = xstest.sha256_file(m.p('usr/bin/hello'))
        r = xstest.sh([xstest.XSYSROOT, 'cache', 'gc', '--max-size', '1', '--cache-dir', warm])
        t.ok(not re.search(r'^evicted oci-layer', r.stdout, re.M),
             'gc --max-size 1 evicts no layer of the live image mount', r.stdout + r.stderr)
        os.system('sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null')
        t.eq(xstest.sha256_file(m.p('usr/bin/hello')), before,
             'and the image\'s files read the same bytes after gc')
        hello(t, m, 'qemu-aarch64', 'layout arm64 after cache gc')
    r = xstest.sh([xstest.XSYSROOT, 'cache', 'gc', '--max-size', '1', '--cache-dir', warm])
    t.eq(len(re.findall(r'^evicted oci-layer', r.stdout, re.M)), 3,
         'after the unmount gc evicts the 3 layers (least recently used first)')
    r = xstest.sh([xstest.XSYSROOT, 'cache', 'verify', '--cache-dir', warm])
    t.ok(r.returncode == 0, 'and the cache verifies clean afterwards', r.stdout + r.stderr)
    with h.mount(image='oci:%s:arm64' % lay_dir, arch='arm64', cache_dir=warm) as m:
        hello(t, m, 'qemu-aarch64', 'layout arm64 again on the collected cache')
    with h.mount(image='oci:%s:arm64-bad-diffid' % lay_dir, arch='arm64', cache_dir=warm) as m:
        try:
            os.listdir(m.path)
            e = 0
        except OSError as x:
            e = x.errno
        t.ok(e == errno.EIO and 'diff_id mismatch' in m.daemon_log(),
             'a wrong diff_id is refused even when the same layer blobs are in the cache',
             m.daemon_log()[-2000:])
    with h.mount(image='oci:%s@%s' % (lay_dir, d['armhf']['digest']), arch='armhf') as m:
        hello(t, m, 'qemu-arm', 'layout, by the digest of the armhf manifest')
    var = h.try_mount(image='oci:%s:armhf' % lay_dir, arch='armel')
    t.ok(var.rc == 1 and 'the image is for linux/arm/v7, not linux/arm/v5' in var.stderr,
         'a manifest without an index is checked against its config: arm/v7 is no armel',
         var.stderr)
    nop = h.try_mount(image='oci:%s:multi' % lay_dir, arch='s390x')
    t.ok(nop.rc == 1 and 'no manifest for linux/s390x' in nop.stderr and
         'linux/arm64/v8, linux/arm/v7' in nop.stderr,
         'a missing platform is refused, listing the platforms offered', nop.stderr)

    # ---- docker-registry on 127.0.0.1, anonymous -----------------------------
    with open(os.path.join(lay_dir, 'blobs', 'sha256', d['arm64']['digest'][7:])) as f:
        arm64 = json.load(f)
    reg = ocimage.Registry(h.mktemp('registry-'))
    services.append(reg)
    r = ocimage.push(lay_dir, 'multi', reg.host + '/xs/hello:multi')
    t.ok(r.returncode == 0, 'skopeo pushes the image to the registry', r.stderr)
    cache = h.mktemp('cache-')
    mark = len(reg.log_text())
    with h.mount(image=reg.host + '/xs/hello:multi', arch='arm64', cache_dir=cache) as m:
        gets = registry_gets(reg, mark)
        t.ok(len(gets) == 3 and [p for p, _ in gets if '/blobs/' in p] ==
             ['/v2/xs/hello/blobs/' + arm64['config']['digest']],
             'at mount, only the index, the manifest and the config are fetched', gets)
        hello(t, m, 'qemu-aarch64', 'registry, by tag')
        check_layers(t, m, 'registry, by tag')
        t.eq(xstest.compare_trees(m.path, os.path.join(bundle, 'rootfs')), [],
             'registry, by tag: the view matches umoci unpack file by file')
    gets = registry_gets(reg, mark)
    man = [g for g in gets if '/manifests/' in g[0]]
    blobs = [g for g in gets if '/blobs/' in g[0]]
    t.ok(len(man) == 2 and len(blobs) == 4 and all(s == '200' for _, s in gets),
         'by tag: the index, the arm64 manifest, the config and 3 layers, each once', gets)
    mark = len(reg.log_text())
    with h.mount(image=reg.host + '/xs/hello@' + d['arm64']['digest'], arch='arm64',
                 cache_dir=cache) as m:
        hello(t, m, 'qemu-aarch64', 'registry, by manifest digest')
    gets = registry_gets(reg, mark)
    t.ok(not any(ly['digest'] in p for p, _ in gets for ly in arm64['layers']) and
         [p for p, _ in gets if '/blobs/' in p] == ['/v2/xs/hello/blobs/' +
                                                    arm64['config']['digest']],
         'a warm remount fetches no layer again (only the config; layers are cached by digest)',
         gets)
    with h.mount(image=reg.host + '/xs/hello@' + d['multi']['digest'], arch='armhf') as m:
        hello(t, m, 'qemu-arm', 'registry, by index digest, armhf')

    # a registry that is not loopback by name is reached over https, unless
    # --plain-http (0.0.0.0 reaches the same local registry)
    other = '0.0.0.0:%d/xs/hello:multi' % reg.port
    tls = h.try_mount(image=other, arch='arm64')
    t.ok(tls.rc == 1 and 'GET https://0.0.0.0:%d/v2/xs/hello/manifests/multi' % reg.port
         in tls.stderr, 'a registry not named as loopback is reached over https only',
         tls.stderr)
    plain = h.try_mount(image=other, arch='arm64', extra=['--plain-http'])
    t.ok(plain.rc == 0 and plain.was_mounted, '--plain-http reaches it over http', plain.stderr)

    # Docker's v2 schema 2 media types (skopeo converts the gzip-only image)
    r = ocimage.push(lay_dir, 'arm64-gzip', reg.host + '/xs/hello:v2s2', docker_v2=True)
    req = urllib.request.Request('http://%s/v2/xs/hello/manifests/v2s2' % reg.host, headers={
        'Accept': 'application/vnd.docker.distribution.manifest.v2+json'})
    with urllib.request.urlopen(req, timeout=30) as f:
        v2 = json.load(f)
    t.ok(r.returncode == 0 and v2.get('mediaType') ==
         'application/vnd.docker.distribution.manifest.v2+json' and
         v2['layers'][0]['mediaType'] == 'application/vnd.docker.image.rootfs.diff.tar.gzip',
         'skopeo pushes the image with Docker v2 media types', r.stderr + json.dumps(v2)[:500])
    with h.mount(image=reg.host + '/xs/hello:v2s2', arch='arm64') as m:
        hello(t, m, 'qemu-aarch64', 'Docker v2 media types')
        t.eq(xstest.compare_trees(m.path, os.path.join(bundle, 'rootfs')), [],
             'Docker v2 media types: the view matches umoci unpack file by file')

    # a blob tampered with in the registry's storage: same size, other bytes
    storage = os.path.join(reg.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256')
    layer = arm64['layers'][2]
    hexd = layer['digest'][7:]
    data = os.path.join(storage, hexd[:2], hexd, 'data')
    with open(data, 'r+b') as f:
        f.seek(100)
        c = f.read(1)
        f.seek(100)
        f.write(bytes([c[0] ^ 0xff]))
    mark = len(reg.log_text())
    layer_error(t, h, reg.host + '/xs/hello:multi', 'arm64',
                ('digest mismatch', layer['digest'], 'layer 3/3'),
                'a tampered layer (digest mismatch, naming the layer and the expected digest)')
    t.eq(len([p for p, _ in registry_gets(reg, mark) if hexd in p]), 2,
         'a tampered layer is fetched again at the next access, not remembered')
    warm = h.try_mount(image=reg.host + '/xs/hello:multi', arch='arm64', cache_dir=cache)
    t.ok(warm.rc == 0, 'the cache, verified when it was filled, still serves the image',
         warm.stderr)
    unk = h.try_mount(image=reg.host + '/xs/hello@sha256:' + '1' * 64, arch='arm64')
    t.ok(unk.rc == 1 and 'sha256:' + '1' * 64 in unk.stderr and '404' in unk.stderr,
         'an unknown digest is a clear error', unk.stderr)

    # ---- Basic auth (htpasswd) -------------------------------------------------
    bdir = h.mktemp('registry-')
    breg = ocimage.Registry(bdir, htpasswd=ocimage.htpasswd(os.path.join(bdir, 'htpasswd'),
                                                             'xs', 'secret'))
    services.append(breg)
    r = ocimage.push(lay_dir, 'multi', breg.host + '/xs/hello:multi', creds='xs:secret')
    t.ok(r.returncode == 0, 'skopeo pushes to the registry behind Basic auth', r.stderr)
    bref = breg.host + '/xs/hello:multi'
    bad = h.try_mount(image=bref, arch='arm64')
    t.ok(bad.rc == 1 and 'asks for credentials' in bad.stderr,
         'Basic auth without credentials is a clear error', bad.stderr)
    bad = h.try_mount(image=bref, arch='arm64', extra=['--creds', 'xs:wrong'])
    t.ok(bad.rc == 1 and 'refused the credentials' in bad.stderr,
         'wrong credentials are a clear error', bad.stderr)
    mark = len(breg.log_text())
    with h.mount(image=bref, arch='arm64', extra=['--creds', 'xs:secret']) as m:
        hello(t, m, 'qemu-aarch64', 'Basic auth with --creds')
    gets = registry_gets(breg, mark)
    t.ok([s for _, s in gets].count('401') == 1 and len(gets) == 7,
         'Basic auth: one 401, then the credentials go with every request', gets)

    # ---- token auth ------------------------------------------------------------
    ts = tokenserver.TokenServer(h.mktemp('token-'))
    services.append(ts)
    treg = ocimage.Registry(h.mktemp('registry-'), token=ts.registry_config())
    services.append(treg)
    r = ocimage.push(lay_dir, 'multi', treg.host + '/xs/hello:multi')
    t.ok(r.returncode == 0, 'skopeo pushes to the registry behind token auth', r.stderr)
    ref = treg.host + '/xs/hello:multi'
    n0, mark = len(ts.log), len(treg.log_text())
    with h.mount(image=ref, arch='arm64') as m:
        hello(t, m, 'qemu-aarch64', 'token auth')
    toks = ts.log[n0:]
    gets = registry_gets(treg, mark)
    t.ok(len(toks) == 1 and 'scope=repository%3Axs%2Fhello%3Apull' in toks[0]['path'] and
         gets[0][1] == '401' and all(s == '200' for _, s in gets[1:]),
         'one anonymous token, from the realm the 401 named, serves every request', (toks, gets))
    # a token close to its expiry is not reused: each request gets a fresh one
    ts.lifetime = 5
    n0 = len(ts.log)
    with h.mount(image=ref, arch='arm64') as m:
        hello(t, m, 'qemu-aarch64', 'short-lived tokens')
    t.ok(len(ts.log) - n0 >= 4, 'tokens about to expire are renewed from the realm '
         '(%d token requests)' % (len(ts.log) - n0))
    ts.lifetime = 300
    ts.mode = 'expired'
    bad = h.try_mount(image=ref, arch='arm64')
    t.ok(bad.rc == 1 and 'refused the token' in bad.stderr and '401' in bad.stderr,
         'an expired token is a clear error', bad.stderr)
    ts.mode = 'creds'
    bad = h.try_mount(image=ref, arch='arm64')
    t.ok(bad.rc == 1 and 'cannot get a token from ' + ts.realm in bad.stderr,
         'without credentials, a token server that wants them is a clear error', bad.stderr)
    n0 = len(ts.log)
    ok = h.try_mount(image=ref, arch='arm64', extra=['--creds', 'xs:secret'])
    t.ok(ok.rc == 0 and ok.was_mounted and ts.log[n0]['basic'] == 'xs:secret',
         '--creds: Basic credentials go to the token server', ok.stderr)
    auth = os.path.join(h.mktemp('docker-'), 'config.json')
    with open(auth, 'w') as f:
        json.dump({'auths': {treg.host: {'auth': base64.b64encode(b'xs:secret').decode()}}}, f)
    n0 = len(ts.log)
    ok = h.try_mount(image=ref, arch='arm64', extra=['--auth-file', auth])
    t.ok(ok.rc == 0 and ok.was_mounted and ts.log[n0]['basic'] == 'xs:secret',
         '--auth-file: the registry\'s entry of a Docker config.json is used', ok.stderr)


xstest.run(main)
