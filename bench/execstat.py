#!/usr/bin/python3
"""bench/execstat.py [--native LAYER] TRACE: where a build's time goes, per program.

TRACE is the output of
  strace -f --seccomp-bpf -ttt --decode-pids=pidns \
      -e trace=execve,clone,clone3,fork,vfork -e signal=none -o TRACE \
      xsysroot run ARCH --strict ... -- /bin/sh -c 'BUILD'
(run as root, so strace follows the run into its namespaces; under --strict
every emulated program's execve is the target program's path, the native
tools' their own).  Prints, per program (basename; the build's own
programs, run as ./NAME, as PKG:NAME): the number of execs, the exclusive
time (the wall time a process ran that program less the time its child
processes were alive) and the inclusive time; then the sum by class
(compiler and binutils, shell/make/tools, the package's programs, xsysroot
itself) and the same by phase (the descendants of each configure and make
started by the build command).  Wall times of processes: with make -j2 they
add up to more than the build's wall time.  With --native LAYER (the
native tools' layer, CACHEDIR/hybrid/DIGEST), the programs of its usr/bin
and usr/sbin are told from the emulated ones (an execve's path does not
tell); debhelper's and dpkg-dev's Perl programs (dh_*, dpkg-gencontrol...)
are a class of their own.  Standard library only.
"""
import collections
import os
import re
import sys

PID_T = r'^(\d+) +([\d.]+) '
EXEC_DONE = re.compile(PID_T + r'execve\("([^"]*)".* = 0$')
EXEC_START = re.compile(PID_T + r'execve\("([^"]*)".*<unfinished \.\.\.>$')
EXEC_RESUMED = re.compile(PID_T + r'<\.\.\. execve resumed>.* = 0$')
EXIT = re.compile(PID_T + r'\+\+\+ (exited|killed)')
CLONE = re.compile(PID_T + r'(clone3?|v?fork)\((.*)$')
CLONE_RESUMED = re.compile(PID_T + r'<\.\.\. (clone3?|v?fork) resumed>(.*)$')
CHILD = re.compile(r"/\* (\d+) in strace's PID NS \*/|\) = (\d+)$")
COMPILER = re.compile(r'^(cc|c\+\+|gcc|g\+\+|cpp|as|ld|ld\.bfd|ld\.gold|collect2|cc1|cc1plus|'
                      r'lto-wrapper|lto1|ar|ranlib|nm|strip|objcopy|objdump|'
                      r'[a-z0-9_]+-linux-gnu[a-z]*-.*|(gcc|g\+\+|cpp)-\d+)$')


class Trace:
    def __init__(self, path):
        # processes are keyed (pid, n): pids are reused in a long build
        self.segs = collections.defaultdict(list)  # key -> [(t, path)]
        self.parent, self.born, self.died = {}, {}, {}
        self.gen = collections.Counter()
        pending_exec, pending_clone = {}, {}
        for line in open(path, errors='replace'):
            line = line.rstrip('\n')
            m = EXEC_START.match(line)
            if m:
                pending_exec[self.key(m[1])] = (float(m[2]), m[3])
                continue
            m = EXEC_RESUMED.match(line)
            if m and self.key(m[1]) in pending_exec:
                self.segs[self.key(m[1])].append(pending_exec.pop(self.key(m[1])))
                continue
            m = EXEC_DONE.match(line)
            if m:
                self.segs[self.key(m[1])].append((float(m[2]), m[3]))
                continue
            m = EXIT.match(line)
            if m:
                self.died[self.key(m[1])] = float(m[2])
                self.gen[int(m[1])] += 1
                continue
            m = CLONE.match(line)
            if m:
                if m[4].endswith('<unfinished ...>'):
                    pending_clone[self.key(m[1])] = m[4]
                else:
                    self.child(self.key(m[1]), float(m[2]), m[4], m[4])
                continue
            m = CLONE_RESUMED.match(line)
            if m:
                self.child(self.key(m[1]), float(m[2]), m[4], pending_clone.pop(self.key(m[1]), ''))
        self.kids = collections.defaultdict(list)
        for c, p in self.parent.items():
            if c in self.died:
                self.kids[p].append((self.born[c], self.died[c]))

    def key(self, pid):
        return (int(pid), self.gen[int(pid)])

    def child(self, pid, t, rest, flags):
        if 'CLONE_THREAD' in flags:
            return
        m = CHILD.search(rest)
        if m:
            c = self.key(m[1] or m[2])
            self.parent[c], self.born[c] = pid, t

    def runs(self):
        """(pid, path, exclusive s, inclusive s) of every program a process ran."""
        for pid, ss in self.segs.items():
            end = self.died.get(pid)
            if end is None:
                continue
            for i, (t0, path) in enumerate(ss):
                t1 = ss[i + 1][0] if i + 1 < len(ss) else end
                yield pid, path, t1 - t0 - self.busy(self.kids[pid], t0, t1), t1 - t0

    @staticmethod
    def busy(intervals, a, b):
        tot, cur = 0.0, a
        for s, e in sorted(intervals):
            s, e = max(s, cur), min(e, b)
            if e > s:
                tot, cur = tot + e - s, e
        return tot

    def phase(self, pid):
        chain = []
        while pid is not None:
            chain.append(pid)
            pid = self.parent.get(pid)
        for p in reversed(chain):
            for _, path in self.segs.get(p, []):
                if path.rsplit('/', 1)[-1] in ('configure', 'make'):
                    return '%s[%d]' % (path.rsplit('/', 1)[-1], p[0])
        return 'other'


def name_of(path):
    base = path.rsplit('/', 1)[-1]
    return 'PKG:' + base if path.startswith('./') else base


PERL = re.compile(r'^(perl|dh|dh_.*|dpkg-(architecture|buildflags|buildpackage|'
                  r'checkbuilddeps|gencontrol|gensymbols|genbuildinfo|genchanges|shlibdeps|'
                  r'source|parsechangelog|vendor|buildapi|distaddfile|mergechangelogs))$')
NATIVE = set()


def native_names(layer):
    names = set()
    for d in ('usr/bin', 'usr/sbin'):
        try:
            names.update(os.listdir(os.path.join(layer, d)))
        except OSError:
            pass
    return names


def class_of(name):
    if name.startswith('PKG:'):
        return 'package programs'
    if name in ('xsysroot', 'fusermount3'):
        return 'xsysroot'
    if COMPILER.match(name):
        return 'compiler, binutils'
    if PERL.match(name):
        return 'perl programs'
    if NATIVE:
        return 'tools (native)' if name in NATIVE else 'shell, make, tools (emulated)'
    return 'shell, make, tools'


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == '--native':
        NATIVE.update(native_names(args[1]))
        args = args[2:]
    if len(args) != 1:
        sys.exit(__doc__)
    tr = Trace(args[0])
    n, excl, incl = collections.Counter(), collections.Counter(), collections.Counter()
    by_phase = collections.defaultdict(collections.Counter)
    n_phase = collections.defaultdict(collections.Counter)
    for pid, path, ex, inc in tr.runs():
        name = name_of(path)
        n[name] += 1
        excl[name] += ex
        incl[name] += inc
        ph = tr.phase(pid)
        by_phase[ph][class_of(name)] += ex
        n_phase[ph][class_of(name)] += 1
        if ph != 'other' and ph.startswith(name.replace('PKG:', '') + '['):
            by_phase[ph]['(wall)'] += inc
    print('%-28s %6s %9s %9s' % ('program', 'execs', 'excl s', 'incl s'))
    for k, _ in excl.most_common():
        print('%-28s %6d %9.2f %9.2f' % (k, n[k], excl[k], incl[k]))
    cls, cls_n = collections.Counter(), collections.Counter()
    for k in n:
        cls[class_of(k)] += excl[k]
        cls_n[class_of(k)] += n[k]
    print()
    for c, v in cls.most_common():
        print('%-30s %6d execs %8.2f s' % (c, cls_n[c], v))
    print()
    for ph in sorted(by_phase):
        wall = by_phase[ph].pop('(wall)', None)
        print('%s%s: %s' % (ph, ' %.1f s wall' % wall if wall else '',
                            ', '.join('%s %d execs %.1f s' % (c, n_phase[ph][c], v)
                                      for c, v in by_phase[ph].most_common())))


if __name__ == '__main__':
    main()
