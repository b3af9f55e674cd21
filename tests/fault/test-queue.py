#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The IMAP client's command queue against a FAKE, scripted IMAP server (defined below): each
test plays one connection step by step and asserts the exact bytes the client sends, which a
real server cannot be asked to show: literals with and without LITERAL+, no pipelining past a
synchronising literal until the server says "+", the pipelining cap, tagged replies out of
order, and replies for tags nobody sent. The client is tests/integration/imap-driver (the
public API of src/imap). Real-server behaviour is tested in tests/integration."""
import contextlib
import json
import os
import re
import shlex
import socket
import subprocess
import threading
import time

from mhtest import cli, tap

USER, PASSWORD = 'alice', 'Queue-fault-pw-3141'
DRIVER = os.environ.get('IMAP_DRIVER') or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build', 'tests', 'integration',
    'imap-driver'))
CAPS_PLUS = 'IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+ UIDPLUS'
CAPS_SYNC = 'IMAP4rev1 AUTH=PLAIN SASL-IR UIDPLUS'
HELLO = b'Hello World!'  # 12 bytes
S = {}


@contextlib.contextmanager
def setup():
    if not os.access(DRIVER, os.X_OK):
        raise RuntimeError('imap-driver not built: %s (set IMAP_DRIVER)' % DRIVER)
    S['dir'] = cli.scratch_dir()
    S['pwfile'] = cli.write_passfile(S['dir'], PASSWORD)
    S['hello'] = os.path.join(S['dir'], 'hello')
    with open(S['hello'], 'wb') as f:
        f.write(HELLO)
    yield


# -- the fake server --------------------------------------------------------------------------

class ScriptError(AssertionError):
    pass


class Peer:
    """The server end of one client connection; the test's script reads and writes on it.
    Every byte the client sends is kept in .raw; .tags lists the tags of the login commands."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.raw = b''
        self.tags = []

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b''
        if not data:
            raise ScriptError('the client closed the connection; it sent after the login:\n%r'
                              % self.after_login())
        self.buf += data
        self.raw += data
        return True

    def line(self, timeout=10):
        """The next line from the client, CRLF included."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            if not self._fill(deadline):
                raise ScriptError('no line from the client within %s s (have %r)'
                                  % (timeout, self.buf))
        line, self.buf = self.buf.split(b'\n', 1)
        return line + b'\n'

    def exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise ScriptError('expected %d bytes within %s s, have %r' % (n, timeout,
                                                                             self.buf))
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def quiet(self, seconds):
        """Whatever the client sends within seconds (b'' when it waits as it should)."""
        deadline = time.monotonic() + seconds
        before = len(self.buf)
        while self._fill(deadline):
            pass
        return self.buf[before:]

    def expect_line(self, pattern, timeout=10):
        """The next line must match the bytes regex pattern (CRLF included); returns the
        match."""
        line = self.line(timeout)
        m = re.fullmatch(pattern, line)
        if m is None:
            raise ScriptError('expected a line matching %r, got %r' % (pattern, line))
        return m

    def login(self, caps):
        """Answers AUTHENTICATE (with or without SASL-IR), LOGIN and CAPABILITY until the
        client is logged in."""
        while True:
            m = self.expect_line(rb'(A\d{4}) (AUTHENTICATE|LOGIN|CAPABILITY)( .*)?\r\n')
            tag, verb, args = m.group(1), m.group(2), m.group(3) or b''
            self.tags.append(tag)
            if verb == b'CAPABILITY':
                self.send(b'* CAPABILITY ' + caps + b'\r\n' + tag + b' OK done\r\n')
                continue
            if verb == b'AUTHENTICATE' and len(args.split()) < 2:
                self.send(b'+ \r\n')
                self.line()
            self.send(tag + b' OK [CAPABILITY ' + caps + b'] Logged in\r\n')
            self.login_end = len(self.raw) - len(self.buf)
            return

    def next_tag(self, k=1):
        """The tag of the k-th command after the login (tags count up from A0001)."""
        return b'A%04d' % (int(self.tags[-1][1:]) + k)

    def after_login(self):
        return self.raw[getattr(self, 'login_end', 0):]


class FakeServer:
    """Serves one connection on a loopback port with script(peer), in a thread. Failures of
    the script are kept and raised by check(); after the script the server waits for the
    client to close, keeping anything it still sends in peer.raw."""

    def __init__(self, caps, script, login=True):
        self.caps = caps.encode()
        self.login = login
        self.script = script
        self.peer = None
        self.error = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        sock = None
        try:
            self.listener.settimeout(20)
            sock, _ = self.listener.accept()
            self.peer = Peer(sock)
            self.peer.send(b'* OK [CAPABILITY ' + self.caps + b'] Fake scripted IMAP ready\r\n')
            if self.login:
                self.peer.login(self.caps)
            self.script(self.peer)
            with contextlib.suppress(ScriptError):
                while self.peer._fill(time.monotonic() + 15):
                    pass
        except Exception as e:  # reported by check() in the test's thread
            self.error = e
        finally:
            if sock is not None:
                sock.close()
            self.listener.close()

    def check(self, run):
        self.thread.join(timeout=30)
        if self.error is not None:
            tap.fail('fake server script: %s\n%s' % (self.error, describe(run)))


# -- the driver -------------------------------------------------------------------------------

class Run:
    def __init__(self, args, code, records, stderr):
        self.args, self.code, self.records, self.stderr = args, code, records, stderr

    def of(self, op):
        return [r for r in self.records if r['op'] == op]


def describe(run):
    return 'command: %s\nexit: %s\nrecords:\n%s\nstderr:\n%s' % (
        ' '.join(run.args), run.code, '\n'.join(json.dumps(r) for r in run.records),
        run.stderr[-2000:])


def drive(fake, *ops, opts=(), user=USER, pwfile=None):
    script = os.path.join(S['dir'], 'ops-%d' % time.monotonic_ns())
    with open(script, 'w') as f:
        for op in ops:
            f.write(' '.join(shlex.quote(str(a)) for a in op) + '\n')
    args = [DRIVER, '--timeout', '10000'] + list(opts) + [
        '--script', script, '127.0.0.1', str(fake.port), 'none', '-', user,
        pwfile or S['pwfile']]
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=40)
    except subprocess.TimeoutExpired:
        tap.fail('imap-driver hung: %s' % ' '.join(args))
    out = p.stdout.decode('utf-8', 'replace')
    run = Run(args, p.returncode, [json.loads(line) for line in out.splitlines()],
              p.stderr.decode('utf-8', 'replace'))
    fake.check(run)
    return run


def one_of(run, op):
    found = run.of(op)
    if len(found) != 1:
        tap.fail('expected one %s record\n%s' % (op, describe(run)))
    return found[0]


def expect_exit(run, code):
    if run.code != code:
        tap.fail('expected exit %d\n%s' % (code, describe(run)))


# -- (a) LITERAL+ ----------------------------------------------------------------------------

@tap.test
def literal_plus_sends_the_literal_without_waiting():
    replies = [b' OK [APPENDUID 38505 3955] APPEND completed\r\n',
               b' OK [APPENDUID 38505 3956] APPEND completed\r\n',
               b' OK [APPENDUID 38505 3957] APPEND completed\r\n']
    want = [b' APPEND INBOX {12+}\r\n' + HELLO + b'\r\n',
            b' APPEND INBOX (\\Seen $Label1) "14-Mar-2009 07:08:09 +0530" {12+}\r\n'
            + HELLO + b'\r\n',
            b' APPEND "Entw&APw-rfe/R&-D x" {12+}\r\n' + HELLO + b'\r\n']

    def script(peer):
        for k, (w, reply) in enumerate(zip(want, replies), 1):
            tag = peer.next_tag(k)
            got = peer.exact(len(tag) + len(w))  # nothing is sent before all of it arrived
            if got != tag + w:
                raise ScriptError('APPEND %d: expected %r, got %r' % (k, tag + w, got))
            peer.send(tag + reply)

    fake = FakeServer(CAPS_PLUS, script)
    run = drive(fake, ('append', 'INBOX', S['hello']),
                ('append', 'INBOX', S['hello'], '\\Seen $Label1', '14-Mar-2009 07:08:09 +0530'),
                ('append', 'Entwürfe/R&D x', S['hello']))
    expect_exit(run, 0)
    tap.eq([(r['uidvalidity'], r['uid']) for r in run.of('append')],
           [(38505, 3955), (38505, 3956), (38505, 3957)], 'APPENDUID values')
    tap.eq(fake.peer.after_login(), b''.join(fake.peer.next_tag(k) + w
                                             for k, w in enumerate(want, 1)),
           'every byte the client sent after logging in')


# -- (b) synchronising literals --------------------------------------------------------------

@tap.test
def synchronising_literal_holds_the_pipeline_until_continuation():
    seen = {}

    def script(peer):
        t1, t2, t3 = peer.next_tag(1), peer.next_tag(2), peer.next_tag(3)
        peer.expect_line(re.escape(t1 + b' APPEND INBOX {12}\r\n'))
        seen['while_waiting'] = peer.quiet(1.0)
        peer.send(b'* 5 EXISTS\r\n+ go\r\n')
        tail = peer.exact(len(HELLO) + 2)
        if tail != HELLO + b'\r\n':
            raise ScriptError('literal after "+": %r' % tail)
        peer.expect_line(re.escape(t2 + b' NOOP\r\n'))
        peer.expect_line(re.escape(t3 + b' CHECK\r\n'))
        peer.send(t1 + b' OK [APPENDUID 7 42] APPEND done\r\n' + t2 + b' OK NOOP done\r\n'
                  + t3 + b' OK CHECK done\r\n')

    fake = FakeServer(CAPS_SYNC, script)
    run = drive(fake, ('submit-append', 'INBOX', S['hello']), ('submit', 'NOOP'),
                ('submit', 'CHECK'), ('drain',))
    expect_exit(run, 0)
    tap.eq(seen.get('while_waiting'), b'',
           'bytes the client sent while the server withheld "+"')
    dones = run.of('done')
    tap.eq([(d['id'], d['status']) for d in dones], [(1, 'OK'), (2, 'OK'), (3, 'OK')],
           'completions')
    tap.eq(dones[0]['code_args'], ['7', '42'], 'APPENDUID of the synchronised APPEND')


@tap.test
def continuation_after_another_commands_reply():
    seen = {}

    def script(peer):
        t1, t2, t3 = peer.next_tag(1), peer.next_tag(2), peer.next_tag(3)
        peer.expect_line(re.escape(t1 + b' NOOP\r\n'))
        peer.expect_line(re.escape(t2 + b' APPEND INBOX {12}\r\n'))
        seen['while_waiting'] = peer.quiet(0.7)
        peer.send(t1 + b' OK NOOP done\r\n* 1 RECENT\r\n')
        seen['after_noop'] = peer.quiet(0.5)
        peer.send(b'+ Ready for literal data\r\n')
        peer.expect_line(re.escape(HELLO + b'\r\n'))
        peer.expect_line(re.escape(t3 + b' CHECK\r\n'))
        peer.send(t2 + b' OK APPEND done\r\n' + t3 + b' OK CHECK done\r\n')

    fake = FakeServer(CAPS_SYNC, script)
    run = drive(fake, ('submit', 'NOOP'), ('submit-append', 'INBOX', S['hello']),
                ('submit', 'CHECK'), ('drain',))
    expect_exit(run, 0)
    tap.eq(seen.get('while_waiting'), b'', 'sent while waiting for "+"')
    tap.eq(seen.get('after_noop'), b'', 'sent after the other command completed, before "+"')
    tap.eq([(d['id'], d['status']) for d in run.of('done')], [(1, 'OK'), (2, 'OK'), (3, 'OK')],
           'completions')


@tap.test
def withheld_continuation_times_out():
    def script(peer):
        peer.expect_line(re.escape(peer.next_tag(1) + b' APPEND INBOX {12}\r\n'))
        with contextlib.suppress(ScriptError):  # the client gives up and closes
            peer.quiet(5)

    fake = FakeServer(CAPS_SYNC, script)
    t0 = time.monotonic()
    run = drive(fake, ('append', 'INBOX', S['hello']), opts=('--timeout', '1000'))
    took = time.monotonic() - t0
    expect_exit(run, 1)
    tap.eq(run.of('error')[0]['code_name'], 'TIMEOUT', 'error kind\n' + describe(run))
    tap.check(took < 4, 'the 1 s read timeout took %.1f s' % took)


@tap.test
def login_command_sends_each_literal_after_its_continuation():
    pwfile = cli.write_passfile(S['dir'], 'pässwörd', name='pw-8bit')
    user = 'jörg'
    seen = {}

    def script(peer):
        u, pw = user.encode(), 'pässwörd'.encode()
        peer.expect_line(re.escape(b'A0001 LOGIN {%d}\r\n' % len(u)))
        seen['before_first'] = peer.quiet(0.5)
        peer.send(b'+ go\r\n')
        peer.expect_line(re.escape(u + b' {%d}\r\n' % len(pw)))
        seen['before_second'] = peer.quiet(0.5)
        peer.send(b'+ go\r\n')
        peer.expect_line(re.escape(pw + b'\r\n'))
        peer.send(b'A0001 OK [CAPABILITY IMAP4rev1] Logged in\r\n')
        peer.login_end = len(peer.raw)

    fake = FakeServer('IMAP4rev1', script, login=False)
    run = drive(fake, user=user, pwfile=pwfile, opts=('--debug', 'all'))
    expect_exit(run, 0)
    tap.eq(seen, {'before_first': b'', 'before_second': b''}, 'sent before each "+"')
    tap.eq(one_of(run, 'login')['mechanism'], 'LOGIN command', 'mechanism')
    tap.contains('LOGIN {', run.stderr, 'wire log')
    tap.contains('redacted', run.stderr, 'wire log')
    tap.not_contains('pässwörd', run.stderr, 'wire log')


@tap.test
def streamed_append_waits_for_continuation_and_stops_at_a_refusal():
    seen = {}
    date = b' 5-Jan-2020 10:00:00 +0100'

    def script(peer):
        t1, t2, t3 = peer.next_tag(1), peer.next_tag(2), peer.next_tag(3)
        peer.expect_line(re.escape(t1 + b' APPEND INBOX (\\Seen) "' + date + b'" {12}\r\n'))
        seen['while_waiting'] = peer.quiet(0.7)
        peer.send(b'+ go\r\n')
        peer.expect_line(re.escape(HELLO + b'\r\n'))
        peer.expect_line(re.escape(t2 + b' APPEND INBOX {12}\r\n'))
        peer.send(t2 + b' NO [OVERQUOTA] Quota exceeded\r\n')
        peer.expect_line(re.escape(t3 + b' NOOP\r\n'))
        peer.send(t1 + b' OK [APPENDUID 1 5] done\r\n' + t3 + b' OK NOOP done\r\n')

    fake = FakeServer(CAPS_SYNC, script)
    run = drive(fake, ('stream-append', 'INBOX', S['hello'], '\\Seen', date.decode(), '5'),
                ('try', 'stream-append', 'INBOX', S['hello']), ('submit', 'NOOP'), ('drain',))
    expect_exit(run, 0)
    tap.eq(seen.get('while_waiting'), b'', 'sent before "+"')
    got = [(r['op'], r.get('id'), r.get('code') if r['op'] == 'done' else r.get('code_name'))
           for r in run.records if r['op'] in ('done', 'error')]
    tap.eq(got, [('done', 2, 'OVERQUOTA'), ('error', None, 'NO'), ('done', 1, 'APPENDUID'),
                 ('done', 3, None)], '(record, id, code) in order')
    tap.eq(fake.peer.after_login().count(HELLO), 1, 'literal bytes sent for the refused one')


@tap.test
def refused_synchronising_literal_is_not_sent():
    def script(peer):
        t1, t2, t3 = peer.next_tag(1), peer.next_tag(2), peer.next_tag(3)
        peer.expect_line(re.escape(t1 + b' APPEND INBOX {12}\r\n'))
        peer.send(t1 + b' NO [TOOBIG] no room for that\r\n')
        # The literal must not follow: the next bytes are the queued commands.
        peer.expect_line(re.escape(t2 + b' NOOP\r\n'))
        peer.expect_line(re.escape(t3 + b' CHECK\r\n'))
        peer.send(t3 + b' OK CHECK done\r\n' + t2 + b' OK NOOP done\r\n')

    fake = FakeServer(CAPS_SYNC, script)
    run = drive(fake, ('submit-append', 'INBOX', S['hello']), ('submit', 'NOOP'),
                ('submit', 'CHECK'), ('drain',))
    expect_exit(run, 0)
    tap.eq([(d['id'], d['status'], d['code']) for d in run.of('done')],
           [(1, 'NO', 'TOOBIG'), (3, 'OK', None), (2, 'OK', None)], 'completions')
    tap.not_contains(HELLO.decode(), fake.peer.after_login().decode('latin-1'),
                     'bytes sent after the refusal')


@tap.test
def pipelining_stops_at_the_cap():
    seen = {}

    def script(peer):
        tags = [peer.next_tag(k) for k in range(1, 6)]
        for t in tags[:2]:
            peer.expect_line(re.escape(t + b' NOOP\r\n'))
        seen['third_early'] = peer.quiet(0.7)
        peer.send(tags[0] + b' OK first\r\n')
        peer.expect_line(re.escape(tags[2] + b' NOOP\r\n'))
        seen['fourth_early'] = peer.quiet(0.5)
        peer.send(tags[1] + b' OK second\r\n' + tags[2] + b' OK third\r\n')
        for t in tags[3:]:
            peer.expect_line(re.escape(t + b' NOOP\r\n'))
        peer.send(tags[3] + b' OK fourth\r\n' + tags[4] + b' OK fifth\r\n')

    fake = FakeServer(CAPS_PLUS, script)
    run = drive(fake, *([('submit', 'NOOP')] * 5 + [('drain',)]), opts=('--max-pipeline', '2'))
    expect_exit(run, 0)
    tap.eq(seen.get('third_early'), b'', 'sent beyond 2 commands in flight')
    tap.eq(seen.get('fourth_early'), b'', 'sent beyond 2 in flight after one answer')
    tap.eq([d['text'] for d in run.of('done')], ['first', 'second', 'third', 'fourth', 'fifth'],
           'completions')


# -- (c) tagged replies out of order --------------------------------------------------------

@tap.test
def out_of_order_tagged_replies_complete_their_own_commands():
    tags = {}

    def script(peer):
        t = [peer.next_tag(k) for k in (1, 2, 3)]
        tags.update({1: t[0], 2: t[1], 3: t[2]})
        peer.expect_line(re.escape(t[0] + b' NOOP\r\n'))
        peer.expect_line(re.escape(t[1] + b' CHECK\r\n'))
        peer.expect_line(re.escape(t[2] + b' APPEND INBOX {12+}\r\n'))
        peer.exact(len(HELLO) + 2)
        peer.send(t[2] + b' OK [APPENDUID 9 99] third done\r\n'
                  b'* 4 EXISTS\r\n'
                  + t[0] + b' NO [ALERT] first refused\r\n'
                  b'* OK [UNSEEN 2] untagged in between\r\n'
                  + t[1] + b' BAD second bad\r\n')

    fake = FakeServer(CAPS_PLUS, script)
    run = drive(fake, ('submit', 'NOOP'), ('submit', 'CHECK'),
                ('submit-append', 'INBOX', S['hello']), ('drain',))
    expect_exit(run, 0)
    got = [(d['id'], d['tag'], d['status'], d['text'], d['code_args']) for d in run.of('done')]
    tap.eq(got, [(3, tags[3].decode(), 'OK', 'third done', ['9', '99']),
                 (1, tags[1].decode(), 'NO', 'first refused', []),
                 (2, tags[2].decode(), 'BAD', 'second bad', [])],
           '(id, tag, status, text, code args) in completion order')


# -- (d) replies nobody asked for -------------------------------------------------------------

def unexpected_reply(reply_for):
    """Two NOOPs in flight, then the server sends reply_for(tag1, tag2)."""
    def script(peer):
        t1, t2 = peer.next_tag(1), peer.next_tag(2)
        peer.expect_line(re.escape(t1 + b' NOOP\r\n'))
        peer.expect_line(re.escape(t2 + b' NOOP\r\n'))
        peer.send(reply_for(t1, t2))
    fake = FakeServer(CAPS_PLUS, script)
    run = drive(fake, ('submit', 'NOOP'), ('submit', 'NOOP'), ('drain',))
    return fake, run


@tap.test
def tagged_reply_for_an_unknown_tag_is_a_protocol_error():
    fake, run = unexpected_reply(lambda t1, t2: b'Z999 OK who asked?\r\n')
    expect_exit(run, 1)
    err = run.of('error')
    tap.eq(len(err), 1, 'error records\n' + describe(run))
    tap.eq(err[0]['code_name'], 'PROTOCOL', 'error kind: %s' % err[0]['message'])
    tap.contains('Z999', err[0]['message'], 'error message')
    tap.eq([(d['id'], d['status'], d.get('code_name')) for d in run.of('done')],
           [(1, None, 'PROTOCOL'), (2, None, 'PROTOCOL')], 'both commands fail with it')


@tap.test
def second_reply_for_a_completed_tag_is_a_protocol_error():
    fake, run = unexpected_reply(lambda t1, t2: t1 + b' OK one\r\n' + t1 + b' OK again\r\n')
    expect_exit(run, 1)
    tap.eq([(d['id'], d['status'], d.get('code_name')) for d in run.of('done')],
           [(1, 'OK', None), (2, None, 'PROTOCOL')], 'completions')
    tap.eq(run.of('error')[0]['code_name'], 'PROTOCOL', 'error kind')


@tap.test
def continuation_nobody_waits_for_is_a_protocol_error():
    fake, run = unexpected_reply(lambda t1, t2: b'+ send more\r\n')
    expect_exit(run, 1)
    err = run.of('error')
    tap.eq([e['code_name'] for e in err], ['PROTOCOL'], 'error kind\n' + describe(run))
    tap.contains('continuation', err[0]['message'], 'error message')


@tap.test
def imap_error_domain_is_named_without_spaces():
    fake, run = unexpected_reply(lambda t1, t2: b'Z999 OK who asked?\r\n')
    tap.eq(one_of(run, 'error')['domain'], 'mh-imap-error-quark',
           'g_quark_to_string(MH_IMAP_ERROR)')


if __name__ == '__main__':
    tap.main(setup=setup)
