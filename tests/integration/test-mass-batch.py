#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul batch` on many mailboxes between two real Dovecots.

The source Dovecot has MH_BATCH_USERS users (default 200) in one passwd-file, each with 0 to
6 small messages in INBOX (written as maildir files, indexed by Dovecot on first access);
the destination has the same users. Both are reached through a small COUNTING PROXY defined
below (plain TCP relay, TLS passes through): it counts the connections open at once across
both servers, so the test sees whether --max-connections-per-host holds. The batch file
adds a row with a wrong password and one whose source is a closed loopback port.

Order: the usage errors (a duplicate pair, imapsync's format from a readable file), then the
big batch killed with SIGKILL halfway, then `--pending` (only the unfinished rows run, every
row ends complete), checked mailbox by mailbox by the independent checker (imapcheck), then
imapsync's format, --shard 1/3, 2/3, 3/3 with batch-report, and a search for the passwords in
every file the batches wrote and in their output.
"""
import contextlib
import os
import selectors
import signal
import socket
import subprocess
import threading
import time

from mhtest import batchtest, certs, cli, dovecot, imapcheck, ports, tap
from mhtest.batchtest import HEADER, password, summary, user, write_csv, write_inbox

USERS = int(os.environ.get('MH_BATCH_USERS', '200'))
# --max-connections-per-host: both servers are 127.0.0.1. A row (its mail all in INBOX)
# opens one pair of connections and, with --folder-jobs 1, reserves that pair: --jobs 8
# would open 16 at once, the cap lets 6 rows run.
CAP = 12
SHARD_USERS = 30  # rows of the sharded file
S = {}


class CountingProxy:
    """A TCP relay from free loopback ports to the given ports, counting the client
    connections open at once over all of them (max_open). One thread and a selector: on
    each wake-up, what the open connections sent (and their ends) is handled before new
    connections are accepted, so a client that closed one connection and then opened
    another is never counted twice."""

    def __init__(self, targets):
        self.sel = selectors.DefaultSelector()
        self.ports = []
        self.open = 0
        self.max_open = 0
        self.total = 0
        self.stop = False
        for target in targets:
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(('127.0.0.1', 0))
            ls.listen(256)
            ls.setblocking(False)
            self.sel.register(ls, selectors.EVENT_READ, ('listen', target))
            self.ports.append(ls.getsockname()[1])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def reset(self):
        self.max_open = self.open

    def close(self):
        self.stop = True
        self.thread.join(5)

    def _close_pair(self, pair):
        for s in pair['socks']:
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        if not pair['closed']:
            pair['closed'] = True
            self.open -= 1

    def _pump(self, sock, pair):
        other = pair['socks'][1] if sock is pair['socks'][0] else pair['socks'][0]
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b''
            if not data:
                self._close_pair(pair)
                return
            try:
                other.setblocking(True)
                other.sendall(data)
                other.setblocking(False)
            except OSError:
                self._close_pair(pair)
                return

    def _accept(self, ls, target):
        while True:
            try:
                client, _ = ls.accept()
            except BlockingIOError:
                return
            server = socket.create_connection(('127.0.0.1', target))
            client.setblocking(False)
            server.setblocking(False)
            pair = {'socks': (client, server), 'closed': False}
            self.open += 1
            self.total += 1
            self.max_open = max(self.max_open, self.open)
            self.sel.register(client, selectors.EVENT_READ, ('conn', pair))
            self.sel.register(server, selectors.EVENT_READ, ('conn', pair))

    def _run(self):
        while not self.stop:
            events = self.sel.select(timeout=0.2)
            for key, _ in events:
                kind, what = key.data
                if kind == 'conn' and not what['closed']:
                    self._pump(key.fileobj, what)
            for key, _ in events:
                kind, what = key.data
                if kind == 'listen':
                    self._accept(key.fileobj, what)


def row(i, pf1, pf2, port1=None, port2=None):
    return batchtest.row(i, '127.0.0.1', pf1, port1 or S['proxy'].ports[0], pf2,
                         port2 or S['proxy'].ports[1])


def common_args():
    return ['--ssl1', '--ssl2', '--cafile1', S['pki'].ca, '--cafile2', S['pki'].ca]


def batch(args, timeout=240):
    r = cli.run(['batch'] + [str(a) for a in args] + common_args(), timeout=timeout)
    S.setdefault('outputs', []).append(r.stdout + r.stderr)
    return r


def check_identical(indices):
    batchtest.check_identical(S['src'], S['dst'], indices)


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={user(i): password(i, 1) for i in range(USERS)})
        dst = dovecot.Dovecot(pki, users={user(i): password(i, 2) for i in range(USERS)},
                              separator='.')
        with dovecot.running(src, dst):
            for i in range(USERS):
                write_inbox(src, user(i), [imapcheck.make_message(100 * i + n, size=300 + 37 * n)
                                           for n in range(i % 7)])
            proxy = CountingProxy([src.imaps_port, dst.imaps_port])
            d = cli.scratch_dir()
            pf = {}
            for i in range(USERS):
                for side in (1, 2):
                    pf[i, side] = cli.write_passfile(d, password(i, side),
                                                     name='pf%d-%03d' % (side, i))
            S.update(pki=pki, src=src, dst=dst, proxy=proxy, dir=d, pf=pf)
            try:
                yield
            finally:
                proxy.close()


def big_file():
    d, pf = S['dir'], S['pf']
    if 'big' in S:
        return S['big']
    wrong = cli.write_passfile(d, 'WrongPw-never-shown', name='pf-wrong')
    with ports.refusing_port() as closed:
        pass
    lines = [HEADER] + [row(i, pf[i, 1], pf[i, 2]) for i in range(USERS)]
    lines.insert(6, '127.0.0.1,%s,%s,%d,127.0.0.1,%s,%s,%d\r\n' % (
        user(0), wrong, S['proxy'].ports[0], 'wrongpw', pf[0, 2], S['proxy'].ports[1]))
    lines.insert(9, '127.0.0.1,%s,%s,%d,127.0.0.1,%s,%s,%d\r\n' % (
        user(1), pf[1, 1], closed, 'unreachable', pf[1, 2], S['proxy'].ports[1]))
    S['big'] = write_csv(os.path.join(d, 'accounts.csv'), lines)
    S['wrong_line'], S['closed_line'] = 7, 10
    return S['big']


@tap.test
def duplicate_pair_names_both_lines():
    d, pf = S['dir'], S['pf']
    path = write_csv(os.path.join(d, 'dup.csv'),
                     [HEADER, row(1, pf[1, 1], pf[1, 2]), row(2, pf[2, 1], pf[2, 2]),
                      row(1, pf[1, 1], pf[1, 2])])
    r = batch([path, '--dir', os.path.join(d, 'dup')])
    line = cli.expect_error(r, cli.EXIT_USAGE, 'line 4', 'line 2', 'same account pair')
    tap.diag(line)
    tap.check(not os.path.exists(os.path.join(d, 'dup', 'summary.json')),
              'nothing ran: no summary')


@tap.test
def bad_column_names_line_and_column():
    d, pf = S['dir'], S['pf']
    path = write_csv(os.path.join(d, 'badcol.csv'),
                     [HEADER.rstrip('\r\n') + ',maxage\r\n',
                      row(1, pf[1, 1], pf[1, 2]).rstrip('\r\n') + ',30\r\n',
                      row(2, pf[2, 1], pf[2, 2]).rstrip('\r\n') + ',"-5"\r\n'])
    r = batch([path, '--dir', os.path.join(d, 'badcol')])
    cli.expect_error(r, cli.EXIT_USAGE, 'line 3', 'column maxage')


@tap.test
def faq_format_refused_when_others_can_read():
    d = S['dir']
    path = write_csv(os.path.join(d, 'faq-open.txt'),
                     ['127.0.0.1;%s;%s;127.0.0.1;%s;%s;\n' % (user(1), password(1, 1), user(1),
                                                             password(1, 2))], mode=0o644)
    r = batch([path, '--dir', os.path.join(d, 'faq-open')])
    cli.expect_error(r, cli.EXIT_USAGE, 'imapsync', 'chmod 600')
    tap.not_contains(password(1, 1), r.stdout + r.stderr, 'output')


@tap.test
def killed_batch_then_pending_completes_every_row():
    d = S['dir']
    out = os.path.join(d, 'big')
    proxy = S['proxy']
    proxy.reset()
    argv = [cli.binary(), 'batch', big_file(), '--dir', out, '--jobs', '8', '--folder-jobs',
            '1', '--max-connections-per-host', str(CAP)] + common_args()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=cli.environment(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done_before = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
            try:
                rows = summary(out)['rows']
            except (OSError, ValueError):
                continue
            done_before = {r['name'] for r in rows if r['status'] == 'done'}
            if len(done_before) >= USERS // 3:
                break
    finally:
        p.kill()
        err = p.communicate()[1].decode(errors='replace')
    S.setdefault('outputs', []).append(err)
    tap.diag('killed after %.1f s with %d rows done' % (time.monotonic() - t0,
                                                         len(done_before)))
    tap.check(0 < len(done_before) < USERS, 'killed in the middle')
    done_before = {r['name'] for r in summary(out)['rows'] if r['status'] == 'done'}
    r = batch([big_file(), '--dir', out, '--pending', '--jobs', '8', '--folder-jobs', '1',
               '--max-connections-per-host', CAP])
    tap.diag('rerun with --pending: %.1f s' % r.seconds)
    tap.eq(r.code, 1, 'exit code (two rows failed)\n%s' % r)
    rows = {x['line']: x for x in summary(out)['rows']}
    tap.eq(len(rows), USERS + 2, 'rows in the summary')
    for x in rows.values():
        if x['name'] in done_before:
            tap.check(not x['this_run'], 'line %d was done: not run again' % x['line'])
        elif x['line'] not in (S['wrong_line'], S['closed_line']):
            tap.check(x['this_run'] and x['status'] == 'done',
                      'line %d ran and is done: %r' % (x['line'], x))
    wrong, closed = rows[S['wrong_line']], rows[S['closed_line']]
    tap.eq((wrong['status'], wrong['exit_code']), ('failed', cli.EXIT_AUTH), 'wrong password')
    tap.contains('uthentication', wrong['reason'], 'its reason')
    tap.eq((closed['status'], closed['exit_code']), ('failed', cli.EXIT_CONNECT),
           'unreachable host')
    tap.check(closed['reason'], 'its reason')
    tap.diag('\n'.join(r.stdout.splitlines()[:6]))
    tap.contains('failed', r.stdout.splitlines()[1], 'failures first in the table')
    tap.match(r'^mailhaul: line \d+ done: ', r.stderr, 'a line per finished row on stderr')
    wide = [x for x in r.stdout.splitlines() if len(x) > 80]
    tap.check(not wide, 'the table fits 80 columns: %r' % wide[:3])
    check_identical(range(USERS))
    tap.diag('connections at once at the servers: at most %d (cap %d), %d in all' %
             (proxy.max_open, CAP, proxy.total))
    tap.check(proxy.max_open <= CAP, 'at most %d connections at once, saw %d' %
              (CAP, proxy.max_open))
    tap.check(proxy.max_open > CAP // 2, 'rows ran side by side (%d)' % proxy.max_open)


@tap.test
def faq_format_works_from_an_owner_only_file():
    d = S['dir']
    path = write_csv(os.path.join(d, 'faq.txt'),
                     ['# imapsync FAQ.Massive style\n'] +
                     ['127.0.0.1;%s;%s;127.0.0.1;%s;%s;\n' % (user(i), password(i, 1), user(i),
                                                             password(i, 2))
                      for i in range(3, 8)])
    r = batch([path, '--dir', os.path.join(d, 'faq'), '--port1', S['proxy'].ports[0],
               '--port2', S['proxy'].ports[1]])
    cli.expect_ok(r)
    tap.check(any('imapsync' in w for w in r.warning_lines), 'warned about the format')
    rows = summary(os.path.join(d, 'faq'))['rows']
    tap.eq([x['status'] for x in rows], ['done'] * 5, 'statuses')
    check_identical(range(3, 8))


@tap.test
def shards_cover_every_row_once_and_merge():
    d, pf = S['dir'], S['pf']
    path = write_csv(os.path.join(d, 'shards.csv'),
                     [HEADER] + [row(i, pf[i, 1], pf[i, 2]) for i in range(SHARD_USERS)])
    dirs, seen = [], []
    for k in (1, 2, 3):
        out = os.path.join(d, 'shard%d' % k)
        r = batch([path, '--dir', out, '--shard', '%d/3' % k])
        cli.expect_ok(r)
        dirs.append(out)
        seen += [x['line'] for x in summary(out)['rows']]
    tap.eq(sorted(seen), list(range(2, SHARD_USERS + 2)), 'every line in exactly one shard')
    tap.check(all(summary(x)['rows'] for x in dirs), 'no shard is empty')
    merged = os.path.join(d, 'merged')
    r = cli.run(['batch-report', '--output', merged] + dirs)
    cli.expect_ok(r)
    lines = [x['line'] for x in summary(merged)['rows']]
    tap.eq(lines, list(range(2, SHARD_USERS + 2)), 'merged rows')
    with open(os.path.join(merged, 'summary.csv')) as f:
        tap.eq(len(f.read().splitlines()), SHARD_USERS + 1, 'merged CSV lines')
    tap.contains('%d rows: %d done' % (SHARD_USERS, SHARD_USERS), r.stdout, 'table totals')
    r = cli.run(['batch-report', '--output', merged + '2'] + dirs[:2])
    tap.eq(r.code, 1, 'a missing shard fails the report')
    tap.check(any('shard 3 of 3 is missing' in w for w in r.warning_lines), 'and says so')


@tap.test
def passwords_appear_nowhere():
    secrets = [password(i, s) for i in range(USERS) for s in (1, 2)] + ['WrongPw-never-shown']
    found = []
    files = 0
    for top, _, names in os.walk(S['dir']):
        for name in names:
            path = os.path.join(top, name)
            if name.startswith('pf') or name.startswith('faq') or name.endswith('.csv') \
                    and os.path.dirname(path) == S['dir']:
                continue  # the inputs
            if name.endswith('.state') or '.state-' in name:
                continue  # SQLite: searched as bytes below
            files += 1
            with open(path, 'rb') as f:
                data = f.read()
            found += ['%s in %s' % (s, path) for s in secrets if s.encode() in data]
    for top, _, names in os.walk(S['dir']):
        for name in names:
            if '.state' in name:
                with open(os.path.join(top, name), 'rb') as f:
                    data = f.read()
                found += ['%s in %s' % (s, name) for s in secrets if s.encode() in data]
    for text in S.get('outputs', []):
        found += ['%s in the output' % s for s in secrets if s in text]
    tap.diag('%d files and %d outputs searched' % (files, len(S.get('outputs', []))))
    tap.check(files > USERS, 'the batch wrote files')
    tap.check(not found, 'passwords found: %s' % found[:5])


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm'))
