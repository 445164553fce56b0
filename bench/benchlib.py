#!/usr/bin/python3
"""Helpers for bench/run.sh (stdlib only).

  benchlib.py codename                  host codename from /etc/os-release
  benchlib.py sources                   host's Debian apt sources for that codename,
                                        as one-line "deb [signed-by=K] URI SUITE main"
  benchlib.py timeit N A... --- B...    run A and B alternately N times (after one
                                        untimed warm-up each); prints
                                        "median_a p90_a median_b p90_b cpu_a cpu_b" in
                                        seconds (cpu: median user+sys of the command)
  benchlib.py logstats LOG OFFSET       sum over the "fetched ... [bytes=N]" lines of
                                        LOG after byte OFFSET: "bytes count secs names,..."
  benchlib.py indexbytes LOG OFFSET     "(X of indexes fetched)" figures after OFFSET
  benchlib.py view CACHEDIR PKG         the newest view-* listing PKG:
                                        "total_size count pkg_size path"
  benchlib.py peakrss EXE -- CMD...     run CMD, polling every process whose executable
                                        is EXE (the CLI and the daemon it starts) for its
                                        VmHWM every 20 ms; prints "seconds peak_kib exit"
  benchlib.py needed LISTSDIR ARCH DEB...  the bytes an empty-cache run cannot avoid: every
                                        InRelease in apt's LISTSDIR, the Packages.xz of
                                        ARCH each lists, and the given .debs
  benchlib.py median X...               the median of the numbers
  benchlib.py proxy STATSFILE PORTFILE  a byte-counting HTTP proxy (CONNECT too) on
                                        127.0.0.1; writes its port to PORTFILE and
                                        "down up connections" to STATSFILE
"""
import glob
import math
import os
import re
import resource
import select
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time


# --- host apt sources -------------------------------------------------------

def codename():
    for f in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = open(f).read()
        except OSError:
            continue
        m = re.search(r'^VERSION_CODENAME="?([^"\n]*)"?', text, re.M)
        if m and m.group(1):
            return m.group(1)
        m = re.search(r'^VERSION="?[^"(\n]*\((\w+)\)', text, re.M)
        if m:
            return m.group(1).lower()
    sys.exit("benchlib: no codename in /etc/os-release")


def suite_belongs(suite, code):
    return suite in (code, code + "-updates", code + "-security",
                     code + "-proposed-updates", code + "/updates")


def parse_oneline(path):
    out = []
    for line in open(path, errors="replace"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        opts = {}
        m = re.match(r'^(\S+)\s+\[([^\]]*)\]\s+(.*)$', line)
        if m:
            typ, optstr, rest = m.groups()
            for o in optstr.split():
                if "=" in o:
                    k, v = o.split("=", 1)
                    opts[k] = v
            words = rest.split()
        else:
            words = line.split()
            typ, words = words[0], words[1:]
        if typ != "deb" or len(words) < 3:
            continue
        out.append((words[0], words[1], words[2:], opts.get("signed-by")))
    return out


def parse_deb822(path):
    out = []
    text = open(path, errors="replace").read()
    for stanza in re.split(r'\n\s*\n', text):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
                continue
            if ":" in line:
                key, val = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() in ("no", "false", "off", "disable", "0"):
            continue
        sb = fields.get("signed-by")
        if sb and "\n" in sb:
            sb = None  # inline key: let mmdebstrap use its defaults
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append((uri, suite, fields.get("components", "").split(), sb))
    return out


def sources():
    code = codename()
    entries = []
    if os.path.exists("/etc/apt/sources.list"):
        entries += parse_oneline("/etc/apt/sources.list")
    for f in sorted(glob.glob("/etc/apt/sources.list.d/*")):
        if f.endswith(".list"):
            entries += parse_oneline(f)
        elif f.endswith(".sources"):
            entries += parse_deb822(f)
    seen = set()
    for uri, suite, comps, sb in entries:
        if not suite_belongs(suite, code) or "main" not in comps:
            continue
        if (uri, suite) in seen:
            continue
        seen.add((uri, suite))
        opt = f"[signed-by={sb}] " if sb else ""
        print(f"deb {opt}{uri} {suite} main")
    if not seen:
        sys.exit(f"benchlib: no Debian '{code}' main source in the host apt config")


# --- timing ------------------------------------------------------------------

def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def timeit(argv):
    n = int(argv[0])
    rest = argv[1:]
    i = rest.index("---")
    cmds = [rest[:i], rest[i + 1:]]
    times = [[], []]
    cpu = [[], []]

    def run(c, j=None):
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if j is not None:
            cpu[j].append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode(errors="replace"))
            sys.exit(f"benchlib: command failed (exit {r.returncode}): {' '.join(c)}")
        return dt

    for c in cmds:  # warm-up, untimed
        run(c)
    for k in range(n):
        order = (0, 1) if k % 2 == 0 else (1, 0)  # alternate who goes first
        for j in order:
            times[j].append(run(cmds[j], j))
    print(" ".join(f"{v:.3f}" for j in (0, 1)
                   for v in (statistics.median(times[j]), p90(times[j]))),
          " ".join(f"{statistics.median(cpu[j]):.3f}" for j in (0, 1)))


# --- logs and views -------------------------------------------------------------

def tail_from(path, offset):
    with open(path, "rb") as f:
        f.seek(int(offset))
        return f.read().decode(errors="replace")


def logstats(path, offset):
    total, secs, names = 0, 0.0, []
    for line in tail_from(path, offset).splitlines():
        m = re.search(r'\bfetched (\S+) \S+ \S+ \(.*\[bytes=(\d+)\]', line)
        if m:
            names.append(m.group(1))
            total += int(m.group(2))
            t = re.search(r' in ([\d.]+) s \[bytes=', line)
            secs += float(t.group(1)) if t else 0.0
    print(total, len(names), f"{secs:.2f}", ",".join(names) or "-")


def indexbytes(path, offset):
    figs = re.findall(r'\(([\d.]+ \w+) of indexes fetched\)', tail_from(path, offset))
    print(" ".join(f.replace(" ", "") for f in figs) or "-")


def view(cachedir, pkg):
    best = None
    for f in glob.glob(os.path.join(cachedir, "meta", "view-*")):
        rows = []  # (package, size of its .deb)
        with open(f, errors="replace") as fh:
            head = fh.readline().split()
            if len(head) != 2 or head[0] != "xsysroot-view" or not head[1].isdigit():
                continue
            # the .deb's size: field 5 (0-based 4); format 4 put Multi-Arch before it
            at = 5 if int(head[1]) >= 4 else 4
            for line in fh:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 7:
                    rows.append((p[0], int(p[at])))
        hit = [size for name, size in rows if name == pkg]
        if hit and (best is None or os.path.getmtime(f) > best[0]):
            best = (os.path.getmtime(f), f, rows, hit[0])
    if best is None:
        sys.exit(f"benchlib: no view in {cachedir}/meta lists {pkg}")
    _, f, rows, size = best
    print(sum(s for _, s in rows), len(rows), size, f)


# --- peak memory of a program's processes -------------------------------------------

def hwm_of(exe):
    """{pid: VmHWM KiB} of the live processes running exe."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{d}/exe") != exe:
                continue
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        out[int(d)] = int(line.split()[1])
        except OSError:
            continue
    return out


def peakrss(argv):
    exe = os.path.realpath(argv[0])
    cmd = argv[2:] if argv[1:2] == ["--"] else argv[1:]
    peak = 0
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=sys.stderr)  # our stdout is the figures
    while p.poll() is None:
        peak = max([peak] + list(hwm_of(exe).values()))
        time.sleep(0.02)
    dt = time.perf_counter() - t
    peak = max([peak] + list(hwm_of(exe).values()))  # a daemon left running
    print(f"{dt:.3f} {peak} {p.returncode}")


# --- the bytes an empty-cache run needs ------------------------------------------

def needed(argv):
    lists, arch, debs = argv[0], argv[1], argv[2:]
    total = 0
    for f in sorted(glob.glob(os.path.join(lists, "*_InRelease"))):
        total += os.path.getsize(f)
        text = open(f, errors="replace").read()
        m = re.search(r'^SHA256:\n((?: .*\n)+)', text, re.M)
        for line in (m.group(1).splitlines() if m else []):
            p = line.split()
            if len(p) == 3 and p[2] == f"main/binary-{arch}/Packages.xz":
                total += int(p[1])
    total += sum(os.path.getsize(d) for d in debs)
    print(total)


def median(argv):
    print(f"{statistics.median(float(x) for x in argv):.2f}")


# --- byte-counting proxy ---------------------------------------------------------

class Stats:
    lock = threading.Lock()
    down = up = conns = 0
    path = None

    @classmethod
    def add(cls, down, up):
        with cls.lock:
            cls.down += down
            cls.up += up
            cls.conns += 1
            tmp = cls.path + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{cls.down} {cls.up} {cls.conns}\n")
            os.replace(tmp, cls.path)


def relay(a, b):
    """Copy both ways until one side closes; returns (bytes b->a, bytes a->b)."""
    down = up = 0
    socks = [a, b]
    while True:
        r, _, _ = select.select(socks, [], [], 300)
        if not r:
            break
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                return down, up
            (a if s is b else b).sendall(data)
            if s is b:
                down += len(data)
            else:
                up += len(data)
    return down, up


class ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(65536)
            if not d:
                return
            head += d
        head, body = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, ver = lines[0].split(" ", 2)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            u = socket.create_connection((host, int(port)), timeout=60)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            u.sendall(body)
            down, up = relay(c, u)
            Stats.add(down, up + len(body))
            u.close()
            return
        m = re.match(r'http://([^/:]+)(?::(\d+))?(/.*)?$', target)
        if not m:
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        host, port, path = m.group(1), int(m.group(2) or 80), m.group(3) or "/"
        hdrs = [l for l in lines[1:]
                if not l.lower().startswith(("proxy-connection:", "connection:", "keep-alive:"))]
        req = "\r\n".join([f"{method} {path} {ver}"] + hdrs + ["Connection: close", "", ""])
        u = socket.create_connection((host, port), timeout=60)
        u.sendall(req.encode("latin-1") + body)
        down, up = relay(c, u)  # one request per connection: upstream closes after it
        Stats.add(down, up + len(req) + len(body))
        u.close()


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def proxy(statsfile, portfile):
    Stats.path = statsfile
    with open(statsfile, "w") as f:
        f.write("0 0 0\n")
    srv = ProxyServer(("127.0.0.1", 0), ProxyHandler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(portfile + ".tmp", portfile)
    srv.serve_forever()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "codename":
        print(codename())
    elif cmd == "sources":
        sources()
    elif cmd == "timeit":
        timeit(args)
    elif cmd == "logstats":
        logstats(*args)
    elif cmd == "indexbytes":
        indexbytes(*args)
    elif cmd == "view":
        view(*args)
    elif cmd == "needed":
        needed(args)
    elif cmd == "median":
        median(args)
    elif cmd == "peakrss":
        peakrss(args)
    elif cmd == "proxy":
        proxy(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
