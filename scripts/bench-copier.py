#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark's minimal copier: a reference for raw speed, with no sync logic.

    bench-copier.py CONFIG.json      (started and timed by scripts/bench.py)

It CREATEs the folders, then copies them cfg['jobs'] at a time, biggest first: per folder
one ranged `UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])` on the source, each body
streamed as it arrives into the destination folder, which is SELECTed first. cfg['batch']
chooses how it is appended: 1 sends one pipelined APPEND per message (LITERAL+, RFC 7888);
N > 1 sends one MULTIAPPEND (RFC 3502) per N messages. It keeps no state, checks nothing
and exits 1 on any error. Only the standard library and mhtest.imapcheck (folder name
quoting) are used.
"""
import json
import multiprocessing
import re
import select
import socket
import ssl
import sys

from mhtest import imapcheck

class _Conn:
    """A raw IMAP connection over TLS, used from one thread only (an OpenSSL connection must
    not be read and written from two threads at once): just enough to log in, FETCH and
    APPEND, with its own input buffer so that answers can be picked up without waiting."""

    def __init__(self, host, port, mode, cafile, user, password):
        ctx = ssl.create_default_context(cafile=cafile)
        self.buf = bytearray()
        self.out = bytearray()
        self.sock = socket.create_connection((host, port), timeout=120)
        if mode == 'notls':
            self.line()
        elif mode != 'ssl':
            self.line()
            self.send(b'S STARTTLS\r\n')
            while not self.line().startswith(b'S '):
                pass
        if mode != 'notls':
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host)
        if mode == 'ssl':
            self.line()
        self.n = 0
        self.command('LOGIN %s %s' % (self.q(user), self.q(password)))

    @staticmethod
    def q(text):
        return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')

    def _fill(self):
        data = self.sock.recv(1 << 18)
        if not data:
            raise OSError('connection closed')
        self.buf += data

    def line(self):
        start = 0
        while True:
            i = self.buf.find(b'\n', start)
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            start = len(self.buf)
            self._fill()

    def read(self, n):
        """Up to n bytes (at least one)."""
        if not self.buf:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def readable(self):
        """True if the server has sent something not read yet."""
        return bool(self.buf) or getattr(self.sock, 'pending', lambda: 0)() > 0 or \
            bool(select.select([self.sock], [], [], 0)[0])

    def send(self, data):
        self.flush()
        self.sock.sendall(data)

    def queue(self, data):
        """Send data later, together with what follows (fewer writes and TLS records for
        small messages); flush() sends what is queued."""
        self.out += data
        if len(self.out) >= 1 << 16:
            self.flush()

    def flush(self):
        if self.out:
            self.sock.sendall(self.out)
            self.out.clear()

    def tag(self):
        self.n += 1
        return 'c%d' % self.n

    def command(self, text):
        """Send a command and wait for its tagged answer; return the untagged lines."""
        tag = self.tag()
        self.send(('%s %s\r\n' % (tag, text)).encode())
        lines = []
        while True:
            data = self.line()
            if data.startswith(tag.encode() + b' '):
                if not data[len(tag) + 1:].startswith(b'OK'):
                    raise OSError('%s: %s' % (text.split(' ')[0], data.decode(errors='replace')))
                return lines
            lines.append(data)

    def close(self):
        """LOGOUT, and read the answer before closing: a close with unread data would
        reset the connection."""
        try:
            self.send(b'z LOGOUT\r\n')
            while not self.line().startswith(b'z '):
                pass
        except OSError:
            pass
        self.sock.close()


_FETCH = re.compile(rb'^\* \d+ FETCH \((.*)\{(\d+)\}\r\n$', re.S)


def _copy_folder(src, dst, folder, batch):
    """Copy every message of one folder: one UID FETCH 1:* with bodies, each answer streamed
    into the destination as the next message of an APPEND (LITERAL+, never waiting for a
    continuation): a command per message when batch is 1, else a MULTIAPPEND that is ended
    after batch messages or with the folder. The destination's answers are picked up between
    messages. Returns (messages, bytes)."""
    name = imapcheck.quote(folder).encode()
    state = {'sent': 0, 'ok': 0, 'bad': [], 'end': False}
    counts = {}  # APPEND tag -> messages in that command
    open_count = 0  # messages in the APPEND command not ended yet

    def answer(data):
        if data.startswith(b'a'):
            tag, status = data.split(b' ', 2)[:2]
            if status == b'OK':
                state['ok'] += counts[tag]
            else:
                state['bad'].append(data)
        elif data.startswith(b'n '):
            state['end'] = True
    src.command('EXAMINE %s' % name.decode())
    # Dovecot opens and syncs a mailbox that is not selected for every APPEND, at a cost that
    # grows with the folder (53 ms per APPEND at 50,000 messages, 7 ms once selected).
    # Another SELECT later, or LOGOUT, leaves it without expunging anything.
    dst.command('SELECT %s' % name.decode())
    tag = src.tag()
    src.send(('%s UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n' % tag).encode())
    total = 0
    while True:
        data = src.line()
        if data.startswith(tag.encode()):
            break
        m = _FETCH.match(data)
        if not m:
            continue
        head, size = m.group(1), int(m.group(2))
        flags = re.search(rb'FLAGS \(([^)]*)\)', head).group(1).split()
        flags = b' '.join(f for f in flags if f.lower() != b'\\recent')
        date = re.search(rb'INTERNALDATE ("[^"]*")', head).group(1)
        if open_count == 0:
            append_tag = b'a%d' % (len(counts) + 1)
            counts[append_tag] = 0
            dst.queue(b'%s APPEND %s' % (append_tag, name))
        dst.queue(b' (%s) %s {%d+}\r\n' % (flags, date, size))
        left = size
        while left:
            chunk = src.read(min(left, 1 << 18))
            dst.queue(chunk)
            left -= len(chunk)
        state['sent'] += 1
        counts[append_tag] += 1
        open_count += 1
        if open_count == batch:
            dst.queue(b'\r\n')
            open_count = 0
        total += size
        src.line()  # the rest of the FETCH answer: ")\r\n" (Dovecot puts BODY[] last)
        while dst.readable():
            answer(dst.line())
    if open_count:
        dst.send(b'\r\n')
    dst.send(b'n NOOP\r\n')  # answered after every APPEND
    while not state['end'] or state['ok'] + len(state['bad']) < len(counts):
        answer(dst.line())
    if state['bad'] or state['ok'] != state['sent']:
        raise OSError('%s: %d of %d messages appended with OK: %r' % (
            folder, state['ok'], state['sent'], state['bad'][:3]))
    return state['sent'], total


def _copier_worker(cfg, todo, done):
    """One worker: a source and a destination connection, kept for every folder it takes
    from the queue (few logins, as a real tool would do)."""
    try:
        src = _Conn(cfg['host'], cfg['src_port'], cfg['mode'], cfg['cafile'], cfg['user'],
                    cfg['src_password'])
        dst = _Conn(cfg['host'], cfg['dst_port'], cfg['mode'], cfg['cafile'], cfg['user'],
                    cfg['dst_password'])
        while True:
            folder = todo.get()
            if folder is None:
                break
            done.put((folder,) + _copy_folder(src, dst, folder, cfg['batch']))
        src.close()
        dst.close()
    except Exception as e:  # reported by the parent
        done.put(('!', repr(e), 0))


def copier_main(cfg_path):
    """The copier as its own process (timed like the other tools): CREATE the folders,
    then copy them cfg['jobs'] at a time, biggest first. Exit 1 on any error."""
    with open(cfg_path) as f:
        cfg = json.load(f)
    dst = _Conn(cfg['host'], cfg['dst_port'], cfg['mode'], cfg['cafile'], cfg['user'],
                cfg['dst_password'])
    for folder in cfg['create']:
        try:
            dst.command('CREATE %s' % imapcheck.quote(folder))
        except OSError:
            pass  # it exists (INBOX, the special folders)
    dst.close()
    ctx = multiprocessing.get_context('fork')
    todo, done = ctx.Queue(), ctx.Queue()
    for folder in cfg['folders']:
        todo.put(folder)
    jobs = min(cfg['jobs'], len(cfg['folders'])) or 1
    for _ in range(jobs):
        todo.put(None)
    workers = [ctx.Process(target=_copier_worker, args=(cfg, todo, done))
               for _ in range(jobs)]
    for w in workers:
        w.start()
    msgs = size = 0
    errors = []
    for _ in cfg['folders']:
        folder, n, b = done.get()
        if folder == '!':
            errors.append(n)
            break
        msgs += n
        size += b
    for w in workers:
        w.join()
    print('copied %d messages, %d bytes' % (msgs, size))
    for e in errors:
        print('error: %s' % e)
    return 1 if errors else 0



if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: bench-copier.py CONFIG.json')
    sys.exit(copier_main(sys.argv[1]))
