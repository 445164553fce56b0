"""Shared harness for xsysroot's integration tests (TAP, stdlib only).

Environment:
  XSYSROOT            the xsysroot binary (default: $XSYSROOT_BUILD_DIR/../../xsysroot,
                      else SRC/build/xsysroot)
  XSYSROOT_BUILD_DIR  meson build dir of tests/integration; the fixture repository
                      is built once and cached there (else in /tmp/xsysroot-fixture-UID)
  XSYSROOT_SRC        source tree (default: two levels up from this file)
  XSYSROOT_TEST_DEBS  cache of the real .debs downloaded with apt (see mkrepo.py)
  XSTEST_KEEP=1       keep temporary directories (mounts are always cleaned)
  XSTEST_VERBOSE=1    echo every command run

A test script is:

    import xstest
    def main(t, h):            # t: Tap, h: Harness
        with h.mount(packages=['hello']) as m:
            t.ok(os.path.exists(m.path + '/usr/bin/hello'), 'hello is there')
    xstest.run(main)

The fixture repository carries several suites and architectures (see
mkrepo.SUITES; ARCHES below says how to run each).  h.mount(arch='armhf')
mounts that architecture from the suite that carries it (suite= to choose);
h.index_for('armhf') is its Packages (closure(), extract(), pkgs[...]);
h.index is the default arm64 one.

Every mount made through the harness is unmounted and its daemon killed when
its `with` block ends, when the script ends, on an exception, SIGINT or SIGTERM.
"""

import atexit
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get('XSYSROOT_SRC') or os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, 'tests', 'fixtures'))

import faultserver  # noqa: E402
import mkrepo       # noqa: E402

ARCH = mkrepo.ARCH
# Debian architectures of the fixture: the qemu-user program that runs them
# (qemu-QEMU), the multiarch triplet, and how the host's `ldconfig -p` names
# the flags of their libc6 libraries (any of FLAGS; glibc elf/cache.c
# print_entry), and (ELF class, data, e_machine) of their programs.  armel:
# glibc accepts plain libc6 or libc6 + soft-float.
ARCHES = {
    'arm64': {'qemu': 'aarch64', 'triplet': 'aarch64-linux-gnu', 'elf': (2, 1, 183),
              'flags': ['libc6,AArch64']},
    'armhf': {'qemu': 'arm', 'triplet': 'arm-linux-gnueabihf', 'elf': (1, 1, 40),
              'flags': ['libc6,hard-float']},
    'armel': {'qemu': 'arm', 'triplet': 'arm-linux-gnueabi', 'elf': (1, 1, 40),
              'flags': ['libc6', 'libc6,soft-float']},
    'i386': {'qemu': 'i386', 'triplet': 'i386-linux-gnu', 'elf': (1, 1, 3),
             'flags': ['libc6']},
    'ppc64el': {'qemu': 'ppc64le', 'triplet': 'powerpc64le-linux-gnu', 'elf': (2, 1, 21),
                'flags': ['libc6,64bit']},
    's390x': {'qemu': 's390x', 'triplet': 's390x-linux-gnu', 'elf': (2, 2, 22),
              'flags': ['libc6,64bit']},
    'mips64el': {'qemu': 'mips64el', 'triplet': 'mips64el-linux-gnuabi64', 'elf': (2, 1, 8),
                 'flags': ['libc6,64bit']},
    'riscv64': {'qemu': 'riscv64', 'triplet': 'riscv64-linux-gnu', 'elf': (2, 1, 243),
                'flags': ['libc6,double-float']},
}
# (Debian architecture, fixture suite, qemu-user name) the per-architecture tests run.
ARCH_CASES = [('arm64', 'xstest', 'aarch64'), ('armhf', 'xstest', 'arm'),
              ('armel', 'xstest', 'arm'), ('i386', 'xstest', 'i386'),
              ('ppc64el', 'xstest', 'ppc64le'), ('s390x', 'xstest', 's390x'),
              ('mips64el', 'xstest', 'mips64el'), ('riscv64', 'xstest-trixie', 'riscv64')]
DEFAULT_ROOTS = ['libc6', 'libc-bin', 'libgcc-s1', 'libstdc++6']
VERBOSE = bool(os.environ.get('XSTEST_VERBOSE'))
KEEP = bool(os.environ.get('XSTEST_KEEP'))
FUSERMOUNT = shutil.which('fusermount3') or '/usr/bin/fusermount3'
# Variables that would change how the tools under test behave.
_SCRUB_ENV = ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy',
              'ALL_PROXY', 'no_proxy', 'NO_PROXY', 'QEMU_LD_PREFIX', 'QEMU_CPU',
              'QEMU_STRACE', 'PYTHONHOME', 'PYTHONPATH', 'PYTHONSTARTUP', 'LD_PRELOAD',
              'LD_LIBRARY_PATH', 'GCONV_PATH', 'LOCPATH', 'XSYSROOT_CONTENTS',
              'XSYSROOT_RUN_REUSE')
SANITIZER_RE = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|'
                          r'ThreadSanitizer|runtime error:|==\d+==ERROR')


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
    # no configuration file of this machine or user (an empty name: none)
    env['XSYSROOT_CONFIG'] = ''
    # run makes its own mount: another test's mount of the same view is not
    # used (its accesses would disturb that test); test_run turns it back on
    env['XSYSROOT_RUN_REUSE'] = '0'
    env.update(extra)
    return env


def xsysroot_bin():
    b = os.environ.get('XSYSROOT')
    if b:
        return os.path.abspath(b)
    bd = os.environ.get('XSYSROOT_BUILD_DIR')
    for c in ([os.path.join(bd, '..', '..', 'xsysroot')] if bd else []) + \
            [os.path.join(SRC, 'build', 'xsysroot')]:
        if os.path.exists(c):
            return os.path.abspath(c)
    return None


# --------------------------------------------------------------------------
# TAP

class Tap:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.n = 0
        self.failed = 0
        self.skipped = 0
        self.lock = threading.Lock()

    def _emit(self, line):
        with self.lock:
            self.out.write(line + '\n')
            self.out.flush()

    @staticmethod
    def _clean(desc):
        return ' '.join(str(desc).split()).replace('#', '\\#')

    def diag(self, msg):
        for line in str(msg).splitlines() or ['']:
            self._emit('# ' + line)

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        self._emit('%s %d - %s' % ('ok' if cond else 'not ok', self.n, self._clean(desc)))
        if not cond and diag:
            self.diag(diag)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, 'got:  %r\nwant: %r' % (got, want))

    def skip(self, desc, reason):
        self.n += 1
        self.skipped += 1
        self._emit('ok %d - %s # SKIP %s' % (self.n, self._clean(desc), self._clean(reason)))

    def bail(self, reason):
        self._emit('Bail out! ' + self._clean(reason))

    def done(self):
        self._emit('1..%d' % self.n)
        return 1 if self.failed else 0


# --------------------------------------------------------------------------
# Processes and mounts

def sh(cmd, timeout=300, check=False, env=None, **kw):
    """subprocess.run with text output captured (through files, so a child
    that keeps our stdout open cannot hang us)."""
    if VERBOSE:
        print('# $ ' + ' '.join(cmd), flush=True)
    with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                             env=env if env is not None else clean_env(), **kw)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        except BaseException:                # interrupted: take the child with us
            p.kill()
            p.wait()
            raise
        o.seek(0)
        e.seek(0)
        res = subprocess.CompletedProcess(cmd, rc, o.read().decode(errors='replace'),
                                          e.read().decode(errors='replace'))
    if check and rc != 0:
        raise RuntimeError('%s failed (%s): %s' % (' '.join(cmd), rc, res.stderr.strip()))
    return res


def mountinfo_entry(path):
    """The /proc/self/mountinfo fields for mount point PATH, or None."""
    path = os.path.realpath(path)
    try:
        with open('/proc/self/mountinfo') as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        parts = line.split()
        mp = parts[4].replace('\\040', ' ').replace('\\011', '\t').replace('\\012', '\n') \
                     .replace('\\134', '\\')
        if mp == path:
            sep = parts.index('-')
            found = {'mount_options': parts[5].split(','), 'fstype': parts[sep + 1],
                     'source': parts[sep + 2], 'super_options': parts[sep + 3].split(','),
                     'line': line}
    return found


def is_mounted(path):
    return mountinfo_entry(path) is not None


def pids_using(path):
    """Pids (not ours) whose command line has PATH as an argument."""
    me = os.getpid()
    want = {path.encode(), os.path.realpath(path).encode()}
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                args = f.read().split(b'\0')
        except OSError:
            continue
        if any(a in want for a in args):
            out.append(int(d))
    return out


def kill_pids(pids, grace=5.0):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = []
        for p in pids:
            try:
                os.kill(p, sig)
                live.append(p)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace
        while live and time.time() < deadline:
            live = [p for p in live if os.path.exists('/proc/%d' % p)
                    and not _is_zombie(p)]
            time.sleep(0.05)
        if not live:
            return
        pids = live


def _is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True


def kill_daemon(m, timeout=10):
    """SIGKILL the daemon of mount M and its fusermount3 auto_unmount helper
    (the helper first, so that nothing unmounts: the mount stays, dead).
    Returns the pids killed."""
    pids = sorted(m.daemon_pids(), key=lambda p: comm(p) == 'xsysroot')
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + timeout
    while any(os.path.exists('/proc/%d' % p) and not _is_zombie(p) for p in pids) \
            and time.time() < deadline:
        time.sleep(0.05)
    return pids


class MountFailed(Exception):
    def __init__(self, m):
        super().__init__('xsysroot mount exited %s: %s' % (m.rc, m.stderr.strip()[:2000]))
        self.m = m


class Mount:
    """One `xsysroot mount` invocation and what came of it."""

    def __init__(self, path, cache_dir, log_file, argv):
        self.path = path
        self.cache_dir = cache_dir
        self.log_file = log_file
        self.argv = argv
        self.rc = None
        self.stdout = ''
        self.stderr = ''
        self.seconds = None
        self.cleanup_report = None
        self.t_start = None          # epoch seconds around the mount command
        self.t_end = None
        self.arch = self.suite = None  # as asked for (set by Harness.start_mount)

    def p(self, rel):
        return os.path.join(self.path, rel.lstrip('/'))

    def daemon_log(self):
        try:
            with open(self.log_file, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def daemon_pids(self):
        """Processes serving this mount: those with the mount point as an
        argument (the daemon, and fusermount3's auto_unmount helper)."""
        return pids_using(self.path)


_ACTIVE = []              # mounts not yet cleaned up, for atexit / signals
_ACTIVE_LOCK = threading.Lock()


def cleanup_mount(m, tap=None):
    """Unmount M however it takes and kill its daemon.  Returns a dict saying
    what was needed: umount_rc, lazy (fusermount3 -u -z used), killed pids."""
    rep = {'umount_rc': None, 'umount_stderr': '', 'lazy': False, 'forced': False,
           'killed': [], 'still_mounted': False}
    if is_mounted(m.path):
        r = sh([XSYSROOT or 'false', 'umount', m.path], timeout=30)
        rep['umount_rc'], rep['umount_stderr'] = r.returncode, r.stderr
        deadline = time.time() + 5
        while is_mounted(m.path) and time.time() < deadline:
            time.sleep(0.05)
    if is_mounted(m.path):
        rep['lazy'] = True
        sh([FUSERMOUNT, '-u', '-z', m.path], timeout=30)
    if is_mounted(m.path):
        rep['forced'] = True                            # not a FUSE mount?
        sh(['umount', '-l', m.path], timeout=30)
    pids = m.daemon_pids()
    if pids:
        rep['killed'] = pids
        kill_pids(pids)
    rep['still_mounted'] = is_mounted(m.path)
    with _ACTIVE_LOCK:
        if m in _ACTIVE:
            _ACTIVE.remove(m)
    m.cleanup_report = rep
    if tap is not None and not getattr(m, 'sanitizer_checked', False):
        m.sanitizer_checked = True
        text = m.stderr + '\n' + m.daemon_log()
        hit = SANITIZER_RE.search(text)
        if hit:
            i = hit.start()
            tap.ok(False, 'no sanitizer report from xsysroot (%s)' % os.path.basename(m.path),
                   text[max(0, i - 200): i + 2000])
    return rep


def _cleanup_all(*_):
    with _ACTIVE_LOCK:
        ms = list(_ACTIVE)
    for m in ms:
        try:
            cleanup_mount(m)
        except Exception:                               # keep cleaning the others
            traceback.print_exc()


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    # Turn SIGTERM/SIGHUP into an exception so every finally: runs.
    raise KeyboardInterrupt('signal %d' % signum)


XSYSROOT = xsysroot_bin()


# --------------------------------------------------------------------------
# The fixture repository

def fixture_dir():
    bd = os.environ.get('XSYSROOT_BUILD_DIR')
    if bd:
        return os.path.join(os.path.abspath(bd), 'fixture')
    return os.path.join(tempfile.gettempdir(), 'xsysroot-fixture-%d' % os.getuid())


def _fixture_key():
    with open(mkrepo.__file__, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def fixture(log=None):
    """Build the fixture repository once per fixture dir (locked, cached).
    Returns a mkrepo.Repo."""
    d = fixture_dir()
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, 'repo')
    stamp = os.path.join(d, 'stamp.json')
    with open(os.path.join(d, '.lock'), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        key = _fixture_key()
        try:
            with open(stamp) as f:
                good = json.load(f).get('key') == key and os.path.exists(
                    os.path.join(out, 'meta.json'))
        except (OSError, ValueError):
            good = False
        if not good:
            t0 = time.time()
            mkrepo.build(out)
            with open(stamp, 'w') as f:
                json.dump({'key': key, 'built': time.time(), 'seconds': time.time() - t0}, f)
            if log:
                log('fixture repository built in %.1f s: %s' % (time.time() - t0, out))
        elif log:
            log('fixture repository (cached): %s' % out)
    return mkrepo.Repo(out)


# --------------------------------------------------------------------------
# Version comparison and dependency closure (what apt would pick)

def _order(c):
    if c == '~':
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a, b):
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == '0':
            i += 1
        while j < len(b) and b[j] == '0':
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def version_compare(a, b):
    """<0, 0, >0 as dpkg --compare-versions."""
    def split(v):
        e, _, rest = v.partition(':') if ':' in v else ('0', '', v)
        up, _, rev = rest.rpartition('-') if '-' in rest else (rest, '', '0')
        return int(e), up, rev
    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


def version_satisfies(have, op, want):
    c = version_compare(have, want)
    return {'<<': c < 0, '<=': c <= 0, '=': c == 0, '>=': c >= 0, '>>': c > 0,
            '<': c <= 0, '>': c >= 0}[op]


def parse_relation(text):
    """'a (>= 1) | b:any, c' -> [[('a','>=','1'), ('b',None,None)], [('c',None,None)]]"""
    groups = []
    for grp in text.split(','):
        alts = []
        for alt in grp.split('|'):
            alt = re.sub(r'\[.*?\]|<.*?>', '', alt).strip()
            if not alt:
                continue
            m = re.match(r'^([^\s(:]+)(?::\S+)?\s*(?:\(\s*([<>=]+)\s*([^)\s]+)\s*\))?$', alt)
            if not m:
                raise ValueError('cannot parse relation %r' % alt)
            alts.append((m.group(1), m.group(2), m.group(3)))
        if alts:
            groups.append(alts)
    return groups


class Index:
    """One binary-ARCH/Packages of the fixture repository (REPO's suite; ARCH
    default: the repository's default architecture), as a test sees it."""

    def __init__(self, repo, arch=None):
        self.repo = repo
        self.arch = arch or repo.arch
        self.suite = repo.suite
        self.pkgs = {}
        self.provides = {}
        for st in repo.packages(self.arch):
            self.pkgs[st['Package']] = st
            for grp in parse_relation(st.get('Provides', '')):
                for name, op, ver in grp:
                    self.provides.setdefault(name, []).append((st['Package'], ver))

    def candidates(self, name, op, ver):
        out = []
        st = self.pkgs.get(name)
        if st and (op is None or version_satisfies(st['Version'], op, ver)):
            out.append(name)
        for prov, pver in self.provides.get(name, []):
            if op is None or (pver is not None and op == '=' and pver == ver) or \
                    (pver is not None and op != '=' and version_satisfies(pver, op, ver)):
                out.append(prov)
        return out

    def closure(self, roots, default_roots=True):
        """Names of the packages apt would pick: Depends and Pre-Depends, the
        first satisfiable alternative of each group."""
        want = list(roots) + (DEFAULT_ROOTS if default_roots else [])
        seen, queue = set(), []
        for r in want:
            if r not in self.pkgs:
                raise KeyError('root package %s not in %s/%s' % (r, self.suite, self.arch))
            if r not in seen:
                seen.add(r)
                queue.append(r)
        while queue:
            st = self.pkgs[queue.pop(0)]
            rel = ', '.join(x for x in (st.get('Pre-Depends'), st.get('Depends')) if x)
            for grp in parse_relation(rel):
                if any(n in seen for alt in grp for n in self.candidates(*alt)):
                    continue
                pick = None
                for alt in grp:
                    c = self.candidates(*alt)
                    if c:
                        pick = c[0]
                        break
                if pick is None:
                    raise KeyError('%s: unsatisfiable %r' % (st['Package'], grp))
                seen.add(pick)
                queue.append(pick)
        return sorted(seen)

    def deb(self, name):
        return os.path.join(self.repo.out, self.pkgs[name]['Filename'])

    def extract(self, names, dest):
        os.makedirs(dest, exist_ok=True)
        for n in names:
            sh(['dpkg-deb', '-x', self.deb(n), dest], check=True)
        return dest

    def files_of(self, name):
        """Regular files (paths without ./) shipped by package NAME."""
        return [p for p, ti in mkrepo.deb_members(self.deb(name)) if ti.isfile()]


# --------------------------------------------------------------------------
# Tree comparison

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def perm(mode):
    """Permission bits as compared: setuid/setgid stripped (xsysroot strips them)."""
    return stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID)


def snapshot(root, content=True):
    """{relpath: (kind, perm, size, sha256 or link target)} of a tree, root excluded."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ('link', None, None, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ('dir', perm(st.st_mode), None, None)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ('file', perm(st.st_mode), st.st_size,
                            sha256_file(full) if content else None)
            else:
                out[rel] = ('other', perm(st.st_mode), None, None)
    return out


MERGED_TOP = ('bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libo32')
HIDDEN_TOP = ('proc', 'sys', 'dev', 'run', 'tmp')
# What the view adds to the packages' files: merged-/usr links and the
# loader configuration it generates.
VIEW_EXTRA = (r'(bin|sbin|lib|lib32|lib64|libx32|libo32)', r'etc', r'etc/ld\.so\.cache',
              r'etc/ld\.so\.conf', r'etc/ld\.so\.conf\.d', r'etc/ld\.so\.conf\.d/00-xsysroot\.conf',
              r'etc/ld\.so\.preload', r'var', r'var/lib', r'var/lib/dpkg', r'var/lib/dpkg/.*',
              r'etc/passwd', r'etc/group')
# The host-file table (src/core/sysroot.c): generated only where no package of
# the view has the path, so a package's copy is still compared.
HOST_FILES = (r'etc/(nsswitch\.conf|hosts|localtime|host\.conf|services|protocols)',
              r'usr/share/locale(/locale\.alias)?', r'usr/lib/ssl(/openssl\.cnf)?',
              r'usr/lib/locale(/locale-archive)?')


def present(rel):
    """The path at which the view shows a package path (merged /usr), or
    None for a hidden top-level directory."""
    top = rel.split('/', 1)[0]
    if top in HIDDEN_TOP:
        return None
    return 'usr/' + rel if top in MERGED_TOP else rel


def link_equivalent(rel, got, want):
    """A symlink target as shipped, or its relative equivalent in the view
    (absolute targets are made relative; both sides resolve to the same
    merged-/usr path)."""
    if got == want:
        return True
    here = posixpath.dirname('/' + rel)

    def resolve(t):
        p = posixpath.normpath(posixpath.join(here, t)).lstrip('/')
        return present(p) or p
    return not got.startswith('/') and resolve(got) == resolve(want)


def compare_trees(mnt, ref, allow_extra=()):
    """Problems (strings) between the tree at MNT and the reference REF, as
    the view presents REF (merged /usr, hidden /proc & co, relative links)."""
    problems = []
    a = {}
    for rel, v in snapshot(ref).items():
        p = present(rel)
        if p is not None and rel not in MERGED_TOP:
            a.setdefault(p, v)
    try:
        b = snapshot(mnt)
    except OSError as e:
        return ['walking %s failed: %s' % (mnt, e)]
    for rel in sorted(a):
        if rel not in b:
            problems.append('missing: %s' % rel)
            continue
        if any(re.fullmatch(p, rel) for p in VIEW_EXTRA[2:]):
            continue  # generated by the view (e.g. libc-bin's etc/ld.so.conf replaced)
        (ka, pa, sa, xa), (kb, pb, sb, xb) = a[rel], b[rel]
        if ka != kb:
            problems.append('%s: type %s, reference %s' % (rel, kb, ka))
        elif ka == 'link':
            if not link_equivalent(rel, xb, xa):
                problems.append('%s: link -> %s, reference -> %s' % (rel, xb, xa))
        else:
            if pa != pb:
                problems.append('%s: mode %o, reference %o' % (rel, pb, pa))
            if ka == 'file' and (sa, xa) != (sb, xb):
                problems.append('%s: size %s sha256 %s, reference size %s sha256 %s'
                                % (rel, sb, xb[:16], sa, xa[:16]))
    for rel in sorted(set(b) - set(a)):
        if not any(re.fullmatch(p, rel) for p in tuple(allow_extra) + VIEW_EXTRA + HOST_FILES):
            problems.append('extra: %s' % rel)
    return problems


def elf_machine(head):
    """(class, data, e_machine) from the first 20 bytes of a file, or None."""
    if len(head) < 20 or head[:4] != b'\x7fELF':
        return None
    order = 'little' if head[5] == 1 else 'big'
    return head[4], head[5], int.from_bytes(head[18:20], order)


def mount_hello(t, h, mirror, cache, desc):
    """Mount hello's view from MIRROR on CACHE, check that usr/bin/hello
    reads as an ELF (one check, DESC), unmount: the daemon log."""
    with h.mount(packages=['hello'], cache_dir=cache, mirror=mirror) as m:
        data, _ = read_errno(m.p('usr/bin/hello'), 4)
        t.eq(data, b'\x7fELF', desc)
        return m.daemon_log()


def read_errno(path, size=-1):
    """(bytes, None) or (None, errno) from reading PATH."""
    try:
        with open(path, 'rb') as f:
            return f.read(size), None
    except OSError as e:
        return None, e.errno


def free_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# Helpers of the fault, crash and soak tests

def ename(e):
    """An errno as its name ('EIO'); None as 'no error'."""
    if e is None:
        return 'no error'
    return errno.errorcode.get(e, str(e)) if isinstance(e, int) else str(e)


def todo(t, cond, desc, reason, diag=None):
    """'not ok N - desc # TODO reason' (an expected failure) unless COND."""
    if cond:
        return t.ok(True, desc)
    t.n += 1
    t._emit('not ok %d - %s # TODO %s' % (t.n, t._clean(desc), t._clean(reason)))
    if diag:
        t.diag(diag)
    return False


class Ref:
    """Reference bytes of package files, from dpkg-deb -x of the fixture .debs."""

    def __init__(self, h, names):
        self.index = h.index
        self.root = h.index.extract(names, h.mktemp('ref-'))
        self._sha = {}

    def sha(self, rel):
        if rel not in self._sha:
            self._sha[rel] = sha256_file(os.path.join(self.root, rel))
        return self._sha[rel]

    def files(self, pkg):
        """Regular files of PKG as the view shows them (no generated ones)."""
        return [p for p in self.index.files_of(pkg) if present(p)
                and not p.startswith('etc/ld.so')
                and os.path.isfile(os.path.join(self.root, p))
                and not os.path.islink(os.path.join(self.root, p))]

    def find(self, pkg, pattern):
        for p in self.files(pkg):
            if re.search(pattern, p):
                return p
        raise KeyError('%s: no file matching %s' % (pkg, pattern))


def deb_path(h, pkg):
    return '/' + h.index.pkgs[pkg]['Filename']


def deb_re(h, pkg):
    return re.escape(h.index.pkgs[pkg]['Filename']) + '$'


def deb_size(h, pkg):
    return int(h.index.pkgs[pkg]['Size'])


def read_check(m, ref, rel):
    """(ok, what): read REL through the mount and compare with the reference."""
    data, err = read_errno(m.p(rel))
    if err is not None:
        return False, ename(err)
    if hashlib.sha256(data).hexdigest() != ref.sha(rel):
        return False, 'WRONG BYTES (%d)' % len(data)
    return True, 'right bytes (%d)' % len(data)


def check_all(m, ref, files):
    """(number of wrong-byte files, list of problems) over FILES."""
    wrong, problems = 0, []
    for rel in files:
        ok, what = read_check(m, ref, rel)
        if not ok:
            problems.append('%s: %s' % (rel, what))
            wrong += what.startswith('WRONG BYTES')
    return wrong, problems


def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def daemon_pid(m):
    """The pid of mount M's xsysroot daemon, or None."""
    for p in m.daemon_pids():
        if comm(p) == 'xsysroot':
            return p
    return None


def proc_figures(pid):
    """{'fds', 'threads', 'rss_kb'} of process PID."""
    with open('/proc/%d/status' % pid) as f:
        st = f.read()
    return {'fds': len(os.listdir('/proc/%d/fd' % pid)),
            'threads': int(re.search(r'^Threads:\s+(\d+)', st, re.M).group(1)),
            'rss_kb': int(re.search(r'^VmRSS:\s+(\d+)', st, re.M).group(1)),
            'anon_kb': int(re.search(r'^RssAnon:\s+(\d+)', st, re.M).group(1))}


def spread(files, n):
    """N files taken round-robin over their directories (first lookups in
    one directory are serialised by the kernel; spreading them makes more
    of them reach the daemon at once)."""
    by_dir = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(f), []).append(f)
    out, lists = [], [by_dir[d] for d in sorted(by_dir)]
    while len(out) < n and any(lists):
        for lst in lists:
            if lst and len(out) < n:
                out.append(lst.pop(0))
    return out


# --------------------------------------------------------------------------
# Server log helpers

def gets(log, pattern=''):
    return [e for e in log if e['method'] == 'GET' and re.search(pattern, e['path'])]


def deb_gets(log):
    return gets(log, r'\.deb$')


def deb_bytes(log):
    return sum(e['bytes'] for e in deb_gets(log))


def total_bytes(log):
    return sum(e['bytes'] for e in log)


# --------------------------------------------------------------------------
# The harness

class Harness:
    def __init__(self, tap):
        self.t = tap
        self.repo = fixture(log=tap.diag)
        self._indexes = {}
        self.index = self.index_for(ARCH)
        self.tmp = tempfile.mkdtemp(prefix='xstest-')
        self._servers = []
        self.server = self.serve(self.repo.out)

    # ---- suites and architectures
    def suite_for(self, arch):
        """The fixture suite carrying Debian architecture ARCH (an unknown
        name or an alias: the default suite)."""
        return self.repo.suite_of(arch) or self.repo.suite

    def index_for(self, arch=ARCH, suite=None):
        """The Index of ARCH in SUITE (default: the suite that carries ARCH)."""
        suite = suite or self.suite_for(arch)
        key = (suite, arch)
        if key not in self._indexes:
            self._indexes[key] = Index(self.repo.for_suite(suite), arch)
        return self._indexes[key]

    # ---- servers
    def serve(self, root):
        srv = faultserver.FaultServer(root).start()
        self._servers.append(srv)
        return srv

    def mktemp(self, prefix):
        return tempfile.mkdtemp(prefix=prefix, dir=self.tmp)

    # ---- mounts
    def mount_argv(self, mnt, cache_dir, log_file, packages=None, mirror=None, suite=None,
                   keyring=None, arch=ARCH, extra=(), image=None):
        if image:  # a container image (--image) instead of the fixture repository
            return [XSYSROOT, 'mount', '--image', image, '--cache-dir', cache_dir,
                    '--log-file', log_file] + list(extra) + [arch, mnt]
        argv = [XSYSROOT, 'mount', '--mirror', mirror or self.server.url,
                '--suite', suite or self.suite_for(arch),
                '--keyring', keyring or self.repo.keyring,
                '--cache-dir', cache_dir, '--log-file', log_file]
        if packages:
            argv += ['--packages', ','.join(packages)]
        return argv + list(extra) + [arch, mnt]

    def start_mount(self, packages=None, cache_dir=None, mirror=None, suite=None,
                    keyring=None, arch=ARCH, extra=(), timeout=180, env=None, image=None):
        """Run `xsysroot mount` for Debian architecture ARCH (default suite: the
        fixture suite that carries it); returns the Mount whatever happened
        (m.rc).  A mount that succeeded stays registered for cleanup.  env:
        the environment of xsysroot (default clean_env())."""
        if XSYSROOT is None or not os.access(XSYSROOT, os.X_OK):
            raise RuntimeError('xsysroot binary not found (set XSYSROOT): %r' % XSYSROOT)
        mnt = self.mktemp('mnt-')
        cache_dir = cache_dir or self.mktemp('cache-')
        log_file = os.path.join(self.mktemp('log-'), 'daemon.log')
        argv = self.mount_argv(mnt, cache_dir, log_file, packages, mirror, suite, keyring,
                               arch, extra, image)
        m = Mount(mnt, cache_dir, log_file, argv)
        m.arch, m.suite = arch, suite or self.suite_for(arch)
        with _ACTIVE_LOCK:
            _ACTIVE.append(m)
        t0 = time.monotonic()
        m.t_start = time.time()
        r = sh(argv, timeout=timeout, env=env)
        m.t_end = time.time()
        m.seconds = time.monotonic() - t0
        m.rc, m.stdout, m.stderr = r.returncode, r.stdout, r.stderr
        if m.rc != 0 or not is_mounted(mnt):
            # nothing should be left, but make sure
            cleanup_mount(m, self.t)
        return m

    @contextlib.contextmanager
    def mount(self, **kw):
        """Mount, yield the Mount, and always clean up.  Raises MountFailed."""
        m = self.start_mount(**kw)
        try:
            if m.rc != 0:
                raise MountFailed(m)
            if not is_mounted(m.path):
                m.rc = 'exit 0 but not mounted'
                raise MountFailed(m)
            yield m
        finally:
            cleanup_mount(m, self.t)

    def try_mount(self, **kw):
        """Mount expected to fail (or to be checked and dropped): returns the
        Mount with rc/stderr/seconds, already cleaned up."""
        m = self.start_mount(**kw)
        m.was_mounted = is_mounted(m.path)
        cleanup_mount(m, self.t)
        return m

    def close(self):
        _cleanup_all()
        for s in self._servers:
            s.stop()
        self._servers = []
        if not KEEP:
            # never rm -rf through a mount that is somehow still there
            for dirpath, dirnames, _ in os.walk(self.tmp):
                for d in list(dirnames):
                    if os.path.ismount(os.path.join(dirpath, d)):
                        self.t.diag('still mounted, not removed: %s' % os.path.join(dirpath, d))
                        dirnames.remove(d)
            if not any(os.path.ismount(os.path.join(dp, d))
                       for dp, dn, _ in os.walk(self.tmp) for d in dn):
                shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.t.diag('kept %s' % self.tmp)


def run(main, needs_binary=True):
    """Run main(tap, harness) as a TAP test script; exits."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    t = Tap()
    h = None
    try:
        if needs_binary and (XSYSROOT is None or not os.access(XSYSROOT, os.X_OK)):
            t.ok(False, 'xsysroot binary available', 'XSYSROOT=%r' % XSYSROOT)
        else:
            h = Harness(t)
            main(t, h)
    except KeyboardInterrupt as e:
        t.ok(False, 'interrupted', str(e))
    except Exception as e:
        t.ok(False, 'unexpected exception: %s' % type(e).__name__, traceback.format_exc())
        if isinstance(e, MountFailed):
            t.diag('daemon log tail:\n' + e.m.daemon_log()[-3000:])
    finally:
        try:
            if h is not None:
                h.close()
            else:
                _cleanup_all()
        except Exception:
            t.ok(False, 'cleanup', traceback.format_exc())
    sys.exit(t.done())
