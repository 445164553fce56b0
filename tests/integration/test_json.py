#!/usr/bin/python3
"""--json of status, cache list and ldd, through the real binary:
  a. each document is validated against its JSON Schema, written here (no
     field beyond those listed, every listed one present, types and
     nullability as documented), and the field names of each schema are
     exactly those of the man page's JSON OUTPUT section, so the schema, the
     page and the program cannot drift apart;
  b. the values say what the text says: status of a live mount (mount point,
     architecture, source, the view's packages, counters, view digest, the
     daemon's pid and uptime) and of a dead one (exit 1); cache list after a
     fetch (the packages of the closure with their versions, the indexes
     with the suite and architecture they serve); ldd of a program (its
     interpreter and libc found in libc6) and of a library whose needs are
     outside the view (the package to add), and of a file for another
     architecture (matches false, nothing looked up)."""

import json
import os
import re
import sys
import time

import jsonschema

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xstest  # noqa: E402

STR = {'type': 'string'}
NSTR = {'type': ['string', 'null']}
INT = {'type': 'integer', 'minimum': 0}
NINT = {'type': ['integer', 'null'], 'minimum': 0}
BOOL = {'type': 'boolean'}
SHA = {'type': 'string', 'pattern': '^[0-9a-f]{64}$'}


def obj(props, required=None):
    """An object with exactly props (all required unless told)."""
    return {'type': 'object', 'additionalProperties': False, 'properties': props,
            'required': sorted(props) if required is None else required}


def nullable(schema):
    return {'anyOf': [schema, {'type': 'null'}]}


COUNTERS = ['packages', 'packages_fetched', 'debs_fetched', 'bytes_downloaded', 'deb_bytes',
            'index_bytes', 'cache_hits', 'in_flight', 'fetch_failures', 'evicted', 'quota']
LIVE = {
    'sources': {'type': 'array', 'items': obj({'uri': STR, 'suite': NSTR})},
    'cache_dir': NSTR,
    'offline': BOOL,
    'view_digest': nullable(SHA),
    'declared_packages': nullable({'type': 'array', 'items': STR}),
    'base_packages': nullable({'type': 'array', 'items': STR}),
    'packages': nullable({'type': 'array', 'items': obj({'name': STR, 'version': NSTR})}),
    'counters': obj({k: INT for k in COUNTERS}),
    'daemon_pid': NINT,
    'started': NINT,
    'uptime_s': NINT,
    'recent_errors': {'type': 'array',
                      'items': obj({'time': INT, 'time_utc': STR, 'message': STR})},
}
MOUNT_BASE = {'mountpoint': STR, 'arch': STR,
              'state': {'enum': ['live', 'dead', 'unknown']}, 'reason': NSTR}
STATUS = obj({
    'schema_version': {'const': 1},
    'mounts': {'type': 'array', 'items': dict(
        obj(dict(MOUNT_BASE, **LIVE), required=sorted(MOUNT_BASE)),
        **{'if': {'properties': {'state': {'const': 'live'}}},
           'then': {'required': sorted(LIVE)}})},
})
CACHE = obj({
    'schema_version': {'const': 1},
    'cache_dir': STR,
    'packages': {'type': 'array', 'items': obj({
        'name': STR, 'version': STR, 'arch': STR, 'bytes': INT, 'files': INT,
        'missing_files': INT, 'last_use': INT, 'in_use': BOOL, 'deb_sha256': SHA})},
    'indexes': {'type': 'array', 'items': obj({
        'origin': NSTR, 'suite': STR, 'codename': NSTR, 'component': NSTR, 'arch': NSTR,
        'path': STR, 'sha256': SHA, 'bytes': INT, 'last_use': {'type': 'null'}})},
    'objects': obj({'count': INT, 'bytes': INT, 'unreferenced': INT,
                    'unreferenced_bytes': INT}),
    'quarantine': obj({'files': INT, 'bytes': INT}),
    'live_processes': INT,
    'total_bytes': INT,
})
LDD = obj({
    'schema_version': {'const': 1},
    'file': STR, 'arch': STR,
    'class': {'enum': ['ELF32', 'ELF64']},
    'data': {'enum': ['LSB', 'MSB']},
    'type': STR, 'machine': STR, 'matches': BOOL, 'mismatch': NSTR,
    'interpreter': NSTR, 'static': BOOL, 'rpath': NSTR, 'runpath': NSTR,
    'needed': {'type': 'array', 'items': obj({
        'name': STR, 'kind': {'enum': ['interpreter', 'library']}, 'found': BOOL,
        'path': NSTR, 'package': NSTR, 'version': NSTR, 'generated': BOOL,
        'add': nullable(obj({'package': STR, 'version': NSTR, 'path': STR})),
        'reason': NSTR})},
    'missing': INT,
})
SCHEMAS = {'status': STATUS, 'cache list': CACHE, 'ldd': LDD}


def schema_fields(s):
    """Every property name of schema s, at any depth."""
    out = set()
    if isinstance(s, dict):
        for k, v in s.get('properties', {}).items():
            out.add(k)
            out |= schema_fields(v)
        for k in ('items', 'then'):
            out |= schema_fields(s.get(k))
        for v in s.get('anyOf', []):
            out |= schema_fields(v)
    return out


def man_fields(man, title):
    """The field names of the .SS TITLE block of JSON OUTPUT: the names that
    begin a line (several separated by commas, then two spaces), and the
    NAME: of the {...} forms."""
    sec = man.split('.SH JSON OUTPUT', 1)[1].split('\n.SH ', 1)[0]
    block = sec.split('.SS %s\n' % title, 1)[1].split('.RE', 1)[0].replace('\\-', '-')
    out = set()
    for line in block.splitlines():
        head = re.split(r'\s{2,}', line.strip(), maxsplit=1)[0]
        words = [w.strip(',') for w in head.split(', ')]
        if all(re.fullmatch(r'[a-z][a-z_0-9]*', w) for w in words):
            out |= set(words)
        out |= set(re.findall(r'(?:^\s*|[{,]\s*)([a-z][a-z_0-9]*):', line))
    return out


def run_json(t, argv, what, schema, rc=0):
    r = xstest.sh(argv, timeout=300)
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        t.ok(False, '%s --json writes one JSON document' % what, '%s\n%s%s' % (e, r.stdout,
                                                                               r.stderr))
        return None
    try:
        jsonschema.validate(doc, schema)
        ok, why = True, ''
    except jsonschema.ValidationError as e:
        ok, why = False, str(e)[:2000]
    t.ok(r.returncode == rc and ok, '%s --json: exit %d, the document matches its schema'
         % (what, rc), why or r.stderr)
    return doc


def main(t, h):
    xs = xstest.XSYSROOT
    with open(os.path.join(xstest.SRC, 'man', 'xsysroot.1')) as f:
        man = f.read()
    # a. the schemas and the man page name the same fields
    for title, schema in SCHEMAS.items():
        t.eq(sorted(man_fields(man, title)), sorted(schema_fields(schema)),
             'JSON OUTPUT of %s in xsysroot.1 lists the fields of the schema' % title)
    # a field that changes meaning raises schema_version: the one constant
    t.ok('schema_version' in man and '(integer, now 1)' in man,
         'the man page says the schema version', None)

    idx = h.index
    closure = idx.closure(['hello'])
    repo = ['--mirror', h.server.url, '--suite', h.suite_for('arm64'),
            '--keyring', h.repo.keyring]

    # b. status
    with h.mount(packages=['hello']) as m:
        time.sleep(1.1)  # an uptime of at least one second
        doc = run_json(t, [xs, 'status', '--json', m.path], 'status', STATUS)
        raw = os.getxattr(m.path, 'user.xsysroot.status').decode()
        digest = re.search(r'^view_digest=(\w+)$', raw, re.M).group(1)
        if doc:
            ms = doc['mounts']
            t.eq(len(ms), 1, 'status --json MOUNTPOINT: that mount alone')
            s = ms[0]
            pids = [p for p in m.daemon_pids() if xstest.comm(p) == 'xsysroot']
            t.ok(s['mountpoint'] == m.path and s['arch'] == 'arm64' and s['state'] == 'live'
                 and s['sources'] == [{'uri': h.server.url.rstrip('/'), 'suite': h.suite_for('arm64')}]
                 and s['cache_dir'] == os.path.realpath(m.cache_dir) and not s['offline'],
                 'status --json: mount point, architecture, live, source and cache',
                 (s, h.server.url, h.suite_for('arm64'), os.path.realpath(m.cache_dir)))
            t.eq(sorted((p['name'], p['version']) for p in s['packages']),
                 sorted((n, idx.pkgs[n]['Version']) for n in closure),
                 'status --json: the view\'s packages with their versions')
            t.ok(s['declared_packages'] == ['hello'] and
                 set(s['base_packages']) == set(xstest.DEFAULT_ROOTS),
                 'status --json: the declared packages and the base', s)
            t.ok(s['counters']['packages'] == len(closure) and
                 s['counters']['index_bytes'] > 0 and s['view_digest'] == digest,
                 'status --json: the counters and the view digest of the daemon\'s status',
                 s['counters'])
            t.ok(s['daemon_pid'] in pids and s['uptime_s'] >= 1 and
                 s['started'] <= time.time(),
                 'status --json: the daemon\'s pid and its uptime', (s['daemon_pid'], pids,
                                                                   s['uptime_s']))
        r = xstest.sh([xs, 'status', m.path])
        t.ok(re.search(r'^  daemon: +pid \d+, up \d+ s$', r.stdout, re.M),
             'status (text) names the daemon\'s pid and uptime', r.stdout)
        xstest.kill_daemon(m)
        doc = run_json(t, [xs, 'status', '--json', m.path], 'status of a dead mount', STATUS,
                       rc=1)
        if doc:
            t.ok(doc['mounts'][0]['state'] == 'dead' and doc['mounts'][0]['reason'],
                 'status --json: a mount whose daemon was killed is dead, saying why', doc)

    # b. cache list
    cache = h.mktemp('cache-')
    r = xstest.sh([xs, 'fetch'] + repo + ['--cache-dir', cache, '--packages', 'hello', 'arm64'])
    t.eq(r.returncode, 0, 'fetch hello into a fresh cache')
    doc = run_json(t, [xs, 'cache', 'list', '--json', '--cache-dir', cache], 'cache list', CACHE)
    if doc:
        t.eq(sorted((p['name'], p['version'], p['arch']) for p in doc['packages']),
             sorted((n, idx.pkgs[n]['Version'], idx.pkgs[n]['Architecture']) for n in closure),
             'cache list --json: the packages fetched, with versions and architectures')
        by_path = {x['path']: x for x in doc['indexes']}
        pk = [x for p, x in by_path.items() if re.match(r'main/binary-arm64/Packages', p)]
        t.ok(pk and pk[0]['suite'] == h.suite_for('arm64') and pk[0]['arch'] == 'arm64' and
             pk[0]['component'] == 'main' and pk[0]['bytes'] > 0 and
             by_path['InRelease']['arch'] is None,
             'cache list --json: each index with the suite and architecture it serves '
             '(the InRelease: every architecture)', doc['indexes'])
        t.ok(doc['total_bytes'] >= doc['objects']['bytes'] > 0 and
             doc['cache_dir'] == os.path.realpath(cache),
             'cache list --json: objects and total', doc)

    # b. ldd
    d = h.mktemp('ldd-')
    idx.extract(['hello', 'libxml2'], d)
    hello = os.path.join(d, 'usr', 'bin', 'hello')
    lib = sorted(p for p in idx.files_of('libxml2')
                 if re.search(r'/libxml2\.so\.2\.[\d.]+$', p))
    cache = h.mktemp('cache-')
    doc = run_json(t, [xs, 'ldd', '--json'] + repo + ['--cache-dir', cache, 'arm64', hello],
                   'ldd', LDD)
    libc_ver = idx.pkgs['libc6']['Version']
    if doc:
        n = {x['name']: x for x in doc['needed']}
        t.ok(doc['class'] == 'ELF64' and doc['machine'] == 'AArch64' and doc['matches'] and
             doc['interpreter'] == '/lib/ld-linux-aarch64.so.1' and
             doc['needed'][0]['kind'] == 'interpreter' and
             n['libc.so.6']['package'] == 'libc6' and n['libc.so.6']['version'] == libc_ver and
             n['libc.so.6']['path'].endswith('/libc.so.6') and doc['missing'] == 0,
             'ldd --json of hello: class, machine, interpreter, libc.so.6 in libc6 %s'
             % libc_ver, doc)
    if lib:
        doc = run_json(t, [xs, 'ldd', '--json'] + repo + ['--cache-dir', cache, 'arm64',
                                                          os.path.join(d, lib[0])],
                       'ldd of a library that needs more', LDD, rc=1)
        if doc:
            adds = {x['name']: x['add'] for x in doc['needed'] if x['add']}
            t.ok(adds.get('libz.so.1', {}).get('package') == 'zlib1g' and
                 doc['missing'] == sum(not x['found'] for x in doc['needed']) >= 1,
                 'ldd --json of libxml2: libz.so.1 not in the view, add zlib1g', doc)
    else:
        t.ok(False, 'fixture: libxml2 ships libxml2.so.2', idx.files_of('libxml2'))
    doc = run_json(t, [xs, 'ldd', '--json'] + repo + ['--cache-dir', cache, 'armhf', hello],
                   'ldd for another architecture', LDD, rc=1)
    if doc:
        t.ok(not doc['matches'] and doc['mismatch'] and doc['missing'] == 0 and
             all(x['reason'] == 'not looked up' for x in doc['needed']),
             'ldd --json armhf of an arm64 program: matches false, nothing looked up', doc)


xstest.run(main)
