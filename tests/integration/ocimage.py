"""Container images for the OCI tests, made from the fixture's real .debs,
written as an OCI image layout (stdlib only), and the loopback services that
serve them: Debian's docker-registry (run directly, on 127.0.0.1, with our
own config) and a small Bearer token server (tokenserver.py).

Each platform's image has three layers that exercise what unpacking must
get right:
  1. (tar+gzip) the packages below hello (libc6 and its closure), plus
     etc/xs-removed, etc/xs-replaced ("one") and opt/xs-old/{a,b};
  2. (tar+zstd) hello, a whiteout of etc/xs-removed, an opaque whiteout of
     opt/xs-old with opt/xs-old/c in its place, etc/xs-replaced ("two");
  3. (tar) a whiteout of a directory of layer 1 (usr/share/doc/libgcc-s1),
     a hardlink pair and a symlink.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time

import faultserver
import xstest

OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
LAYER_TYPES = {'gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
               'zstd': 'application/vnd.oci.image.layer.v1.tar+zstd',
               'none': 'application/vnd.oci.image.layer.v1.tar'}
# Debian architecture -> (OCI architecture, variant)
PLATFORMS = {'arm64': ('arm64', 'v8'), 'armhf': ('arm', 'v7')}
MTIME = 1700000000


class Layout:
    """An OCI image layout being written at DIR."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(os.path.join(d, 'blobs', 'sha256'), exist_ok=True)
        with open(os.path.join(d, 'oci-layout'), 'w') as f:
            json.dump({'imageLayoutVersion': '1.0.0'}, f)
        self.refs = []

    def blob(self, data, media_type, **extra):
        dg = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.dir, 'blobs', 'sha256', dg), 'wb') as f:
            f.write(data)
        d = {'mediaType': media_type, 'digest': 'sha256:' + dg, 'size': len(data)}
        d.update(extra)
        return d

    def doc(self, obj, media_type, **extra):
        return self.blob(json.dumps(obj, indent=1).encode(), media_type, **extra)

    def tag(self, desc, name):
        d = dict(desc)
        d['annotations'] = {'org.opencontainers.image.ref.name': name}
        self.refs.append(d)

    def write_index(self):
        with open(os.path.join(self.dir, 'index.json'), 'w') as f:
            json.dump({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': self.refs}, f)

    def blob_path(self, desc):
        return os.path.join(self.dir, 'blobs', 'sha256', desc['digest'].split(':', 1)[1])


def _add_tree(tf, root, skip=()):
    """Every path under root (sorted, root-owned, fixed mtime) into tf."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel in skip:
                continue
            ti = tf.gettarinfo(full, arcname=rel)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = 'root'
            ti.mtime = MTIME
            if ti.isreg():
                with open(full, 'rb') as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)


def _entry(tf, name, data=b'', kind=tarfile.REGTYPE, link='', mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = MTIME
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _tar(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tf:
        build(tf)
    return buf.getvalue()


def _compress(data, how):
    if how == 'gzip':
        return gzip.compress(data, mtime=0)
    if how == 'zstd':
        return subprocess.run(['zstd', '-q', '-c', '-3'], input=data, check=True,
                              capture_output=True).stdout
    return data


def platform_image(lay, index, arch, work):
    """The three layers, config and manifest of ARCH; returns the manifest's
    descriptor (with its platform)."""
    below = [n for n in index.closure(['hello'], default_roots=False) if n != 'hello']
    d1 = index.extract(below, os.path.join(work, arch + '-l1'))
    for rel, data in (('etc/xs-removed', b'removed by layer 2\n'), ('etc/xs-replaced', b'one\n'),
                      ('opt/xs-old/a', b'a\n'), ('opt/xs-old/b', b'b\n')):
        os.makedirs(os.path.dirname(os.path.join(d1, rel)), exist_ok=True)
        with open(os.path.join(d1, rel), 'wb') as f:
            f.write(data)
    d2 = index.extract(['hello'], os.path.join(work, arch + '-l2'))

    def l1(tf):
        _add_tree(tf, d1)

    def l2(tf):
        _add_tree(tf, d2)
        _entry(tf, 'etc', kind=tarfile.DIRTYPE, mode=0o755)
        _entry(tf, 'etc/.wh.xs-removed')
        _entry(tf, 'etc/xs-replaced', b'two\n')
        _entry(tf, 'opt', kind=tarfile.DIRTYPE, mode=0o755)
        _entry(tf, 'opt/xs-old', kind=tarfile.DIRTYPE, mode=0o755)
        _entry(tf, 'opt/xs-old/.wh..wh..opq')
        _entry(tf, 'opt/xs-old/c', b'c\n')

    def l3(tf):
        _entry(tf, 'usr/share/doc/.wh.libgcc-s1')
        _entry(tf, 'opt/xs-link/one', b'shared content\n', mode=0o755)
        _entry(tf, 'opt/xs-link/two', kind=tarfile.LNKTYPE, link='opt/xs-link/one')
        _entry(tf, 'opt/xs-link/sym', kind=tarfile.SYMTYPE, link='one', mode=0o777)

    layers, diff_ids, gzipped = [], [], []
    for build, how in ((l1, 'gzip'), (l2, 'zstd'), (l3, 'none')):
        raw = _tar(build)
        diff_ids.append('sha256:' + hashlib.sha256(raw).hexdigest())
        layers.append(lay.blob(_compress(raw, how), LAYER_TYPES[how]))
        gzipped.append(lay.blob(_compress(raw, 'gzip'), LAYER_TYPES['gzip']))
    oarch, variant = PLATFORMS[arch]
    config = {'architecture': oarch, 'variant': variant, 'os': 'linux',
              'config': {'Cmd': ['/usr/bin/hello']},
              'rootfs': {'type': 'layers', 'diff_ids': diff_ids},
              'history': [{'created_by': 'xsysroot test layer %d' % (i + 1)} for i in range(3)]}
    cdesc = lay.doc(config, OCI_CONFIG)
    man = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST, 'config': cdesc, 'layers': layers}
    # the same file system with gzip layers only (umoci 0.4 reads no zstd)
    lay.tag(lay.doc(dict(man, layers=gzipped), OCI_MANIFEST), arch + '-gzip')
    # a config whose last diff_id is wrong
    bad = dict(config, rootfs={'type': 'layers', 'diff_ids': diff_ids[:-1] + ['sha256:' + '0' * 64]})
    lay.tag(lay.doc(dict(man, config=lay.doc(bad, OCI_CONFIG)), OCI_MANIFEST), arch + '-bad-diffid')
    return lay.doc(man, OCI_MANIFEST,
                   platform={'architecture': oarch, 'variant': variant, 'os': 'linux'})


def python_image(lay, index, work):
    """arm64 python3 and its closure, in one tar+gzip layer; returns the
    manifest's descriptor."""
    d = index.extract(index.closure(['python3'], default_roots=False),
                      os.path.join(work, 'python'))
    raw = _tar(lambda tf: _add_tree(tf, d))
    layer = lay.blob(_compress(raw, 'gzip'), LAYER_TYPES['gzip'])
    config = {'architecture': 'arm64', 'os': 'linux', 'config': {},
              'rootfs': {'type': 'layers',
                         'diff_ids': ['sha256:' + hashlib.sha256(raw).hexdigest()]}}
    man = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
           'config': lay.doc(config, OCI_CONFIG), 'layers': [layer]}
    return lay.doc(man, OCI_MANIFEST)


def build(h, out):
    """The layout at OUT: tag 'multi' (an index of arm64 and armhf), tags
    'arm64' and 'armhf' (each manifest alone), ARCH-gzip (gzip layers only),
    ARCH-bad-diffid (a wrong diff_id) and 'python' (arm64 python3, one layer).  Returns {arch: manifest desc, 'multi':
    index desc}."""
    if os.path.exists(out):
        shutil.rmtree(out)
    lay = Layout(out)
    work = os.path.join(out + '.work')
    descs = {}
    for arch in PLATFORMS:
        descs[arch] = platform_image(lay, h.index_for(arch), arch, work)
    lay.tag(python_image(lay, h.index_for('arm64'), work), 'python')
    shutil.rmtree(work, ignore_errors=True)
    idx = {'schemaVersion': 2, 'mediaType': OCI_INDEX,
           'manifests': [descs[a] for a in PLATFORMS]}
    descs['multi'] = lay.doc(idx, OCI_INDEX)
    lay.tag(descs['multi'], 'multi')
    for arch in PLATFORMS:  # each manifest alone, without an index
        single = dict(descs[arch])
        single.pop('platform')
        lay.tag(single, arch)
    lay.write_index()
    descs['layout'] = lay
    return descs


# --------------------------------------------------------------------------
# docker-registry on loopback

def wait_port(port, proc, log=lambda: '', timeout=30):
    """Until something listens on 127.0.0.1:PORT (proc must keep running)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError('server exited (%s): %s' % (proc.returncode, log()[-2000:]))
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('nothing listens on 127.0.0.1:%d after %d s' % (port, timeout))


REGISTRY_BIN = shutil.which('docker-registry') or '/usr/bin/docker-registry'


class Registry:
    """Debian's docker-registry on 127.0.0.1:PORT with a private config and
    storage; token auth when token= (realm, service, issuer, rootcert),
    Basic auth when htpasswd= (a file of USER:BCRYPT lines)."""

    def __init__(self, tmp, token=None, htpasswd=None):
        self.port = xstest.free_port()
        self.dir = tmp
        self.host = '127.0.0.1:%d' % self.port
        cfg = ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:',
               '    rootdirectory: %s' % os.path.join(tmp, 'storage'),
               'http:', '  addr: %s' % self.host]
        if token:
            cfg += ['auth:', '  token:', '    realm: %s' % token['realm'],
                    '    service: %s' % token['service'], '    issuer: %s' % token['issuer'],
                    '    rootcertbundle: %s' % token['rootcert']]
        if htpasswd:
            cfg += ['auth:', '  htpasswd:', '    realm: xsysroot-test', '    path: %s' % htpasswd]
        self.config = os.path.join(tmp, 'config.yml')
        with open(self.config, 'w') as f:
            f.write('\n'.join(cfg) + '\n')
        self.log = open(os.path.join(tmp, 'registry.log'), 'wb')
        self.proc = subprocess.Popen([REGISTRY_BIN, 'serve', self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=xstest.clean_env())
        wait_port(self.port, self.proc, self.log_text)

    def stop(self):
        faultserver.stop_process(self.proc)
        self.log.close()

    def log_text(self):
        with open(os.path.join(self.dir, 'registry.log'), errors='replace') as f:
            return f.read()


def htpasswd(path, user, password):
    """An htpasswd file with one bcrypt entry (glibc's crypt makes $2b$)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import crypt
    with open(path, 'w') as f:
        f.write('%s:%s\n' % (user, crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))))
    return path


def push(layout_dir, tag, dest, creds=None, docker_v2=False):
    """skopeo copy --all of oci:LAYOUT:TAG to docker://DEST (plain http);
    docker_v2: converted to Docker's v2 schema 2 media types."""
    argv = ['skopeo', '--insecure-policy', 'copy', '--all', '-q', '--dest-tls-verify=false']
    argv += ['--format', 'v2s2'] if docker_v2 else ['--preserve-digests']
    if creds:
        argv += ['--dest-creds', creds]
    argv += ['oci:%s:%s' % (layout_dir, tag), 'docker://' + dest]
    return xstest.sh(argv, timeout=300, env=xstest.clean_env(HOME=os.path.dirname(layout_dir)))
