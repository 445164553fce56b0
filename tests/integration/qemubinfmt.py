"""Debian's qemu binfmt_misc handler for the tests that run foreign programs
directly (test_binfmt.py, test_go.py).

Registration is machine-wide, so `debian_handler()` registers Debian's
handler for a qemu architecture only when no enabled handler already
matches the architecture's programs, and undoes exactly what it did (its
registration, the enabling of a disabled entry, the binfmt_misc mount) when
its `with` block ends, also on failure.  The handler comes from
qemu-user-static's /usr/lib/binfmt.d/qemu-ARCH.conf (the line
systemd-binfmt writes to the register file), else from the update-binfmts
format file /usr/share/binfmts/qemu-ARCH (qemu-user-static or
qemu-user-binfmt).  Its interpreter is Debian's qemu, whose default library
prefix is /etc/qemu-binfmt/ARCH (`qemu-ARCH -h` prints it as the default of
QEMU_LD_PREFIX).
"""

import contextlib
import os
import re

from xstest import sh

BINFMT_MISC = '/proc/sys/fs/binfmt_misc'


def _unescape(s):
    """binfmt_misc's \\xHH escapes -> bytes."""
    return re.sub(rb'\\x([0-9a-fA-F]{2})', lambda m: bytes([int(m.group(1), 16)]),
                  s.encode('latin-1'))


def handlers():
    """{name: {'enabled', 'interpreter', 'flags', 'offset', 'magic', 'mask'}} of
    the registered handlers (magic/mask as bytes; extension handlers left out)."""
    out = {}
    try:
        names = os.listdir(BINFMT_MISC)
    except OSError:
        return out
    for name in names:
        if name in ('register', 'status'):
            continue
        try:
            with open(os.path.join(BINFMT_MISC, name)) as f:
                text = f.read()
        except OSError:
            continue
        h = {'enabled': text.startswith('enabled')}
        for line in text.splitlines()[1:]:
            k, _, v = line.partition(' ')
            h[k] = v.strip()
        if 'magic' not in h:
            continue
        h['offset'] = int(h.get('offset', '0'))
        h['magic'] = bytes.fromhex(h['magic'])
        h['mask'] = bytes.fromhex(h['mask']) if 'mask' in h else b'\xff' * len(h['magic'])
        out[name] = h
    return out


def matches(h, head):
    """Whether handler H takes a program whose first bytes are HEAD."""
    o, magic, mask = h['offset'], h['magic'], h['mask']
    seg = head[o:o + len(magic)]
    return len(seg) == len(magic) and \
        all((a & m) == (b & m) for a, b, m in zip(seg, magic, mask))


def is_debian_qemu(h, qemu_arch):
    """H's interpreter is Debian's qemu for QEMU_ARCH (static or not)."""
    real = os.path.basename(os.path.realpath(h.get('interpreter', '')))
    return real in ('qemu-%s' % qemu_arch, 'qemu-%s-static' % qemu_arch)


def debian_rule(qemu_arch):
    """(name, register line) of Debian's handler for QEMU_ARCH, or None."""
    conf = '/usr/lib/binfmt.d/qemu-%s.conf' % qemu_arch
    if os.path.exists(conf):
        with open(conf) as f:
            for line in f:
                line = line.strip()
                if line.startswith(':'):
                    return line.split(':')[1], line
    fmt = '/usr/share/binfmts/qemu-%s' % qemu_arch
    if os.path.exists(fmt):
        with open(fmt) as f:
            kv = dict(ln.strip().split(' ', 1) for ln in f if ' ' in ln.strip())
        flags = ''.join(c for c, k in (('O', 'open_binary'), ('C', 'credentials'),
                                       ('P', 'preserve'), ('F', 'fix_binary'))
                        if kv.get(k) == 'yes')
        name = 'qemu-' + qemu_arch
        return name, ':%s:M:%s:%s:%s:%s:%s' % (name, kv.get('offset', '0'), kv['magic'],
                                                kv.get('mask', ''), kv['interpreter'], flags)
    return None


@contextlib.contextmanager
def debian_handler(qemu_arch, head, diag):
    """Make sure an enabled handler runs programs starting with HEAD; yields
    (name, handler dict, what was done) or raises RuntimeError saying why it
    cannot."""
    done = []
    try:
        if not os.path.exists(os.path.join(BINFMT_MISC, 'register')):
            r = sh(['mount', '-t', 'binfmt_misc', 'binfmt_misc', BINFMT_MISC])
            if r.returncode != 0:
                raise RuntimeError('cannot mount binfmt_misc: %s' % r.stderr.strip())
            done.append('mounted')
        live = {n: h for n, h in handlers().items() if h['enabled'] and matches(h, head)}
        if live:
            name = sorted(live)[0]
            diag('binfmt: using the registered handler %s (%s)'
                 % (name, live[name].get('interpreter')))
            yield name, live[name], done
            return
        rule = debian_rule(qemu_arch)
        if rule is None:
            raise RuntimeError('no Debian binfmt rule for qemu-%s (install qemu-user-static)'
                               % qemu_arch)
        name, line = rule
        entry = os.path.join(BINFMT_MISC, name)
        if os.path.exists(entry):
            with open(entry, 'w') as f:
                f.write('1')
            done.append('enabled')
        else:
            with open(os.path.join(BINFMT_MISC, 'register'), 'w') as f:
                f.write(line)
            done.append('registered')
        h = handlers().get(name)
        if not h or not h['enabled'] or not matches(h, head):
            raise RuntimeError('the handler %s did not take: %r' % (name, h))
        diag('binfmt: %s handler %s (%s)' % (done[-1], name, h.get('interpreter')))
        yield name, h, done
    finally:
        for what in reversed(done):
            try:
                if what in ('enabled', 'registered'):
                    with open(os.path.join(BINFMT_MISC, name), 'w') as f:
                        f.write('0' if what == 'enabled' else '-1')
                elif what == 'mounted':
                    sh(['umount', BINFMT_MISC])
            except OSError as e:
                diag('binfmt: cannot undo %s: %s' % (what, e))
