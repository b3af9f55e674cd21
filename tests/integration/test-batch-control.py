#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An admin's control of a running `mailhaul batch`, between two real Dovecots.

Few and small mailboxes (16 users, 4 to 60 messages of 3 KB each in INBOX), so the file stays
fast. Where a row must last long enough to be caught running, its source is reached through a
SLOW RELAY defined below (a plain TCP relay, TLS passes through, that forwards the server's
bytes in 4 KB pieces with a pause before each: about 80 KB/s and 50 ms more per answer).

- Ctrl-C (SIGINT) and SIGTERM of a batch whose first row has just ended: the batch exits
  promptly with 130, summary.json and summary.csv say which rows were done, interrupted and
  not started (none left running), every row's state database is sound and no destination
  holds a message twice; the same command run again completes every row, checked by the
  independent checker.
- A manual `mailhaul sync` of one pair holds the pair's lock while a batch runs: without
  --wait-lock that row fails with exit code 75 and a reason naming the holder, the others
  complete; with --wait-lock it waits and completes after the sync ends.
- The final table follows the width (COLUMNS, or the terminal's: a pseudo-terminal here),
  wrapping a long reason instead of cutting it; --progress=plain on a terminal prints plain
  lines, --progress=none nothing, a bad word is a usage error.
- With --debug imap,wire, each row's log holds both sides' IMAP lines, the destination's
  listing and folder openings too (they run on a thread of their own), and the batch's
  stderr none; a row whose source answers slowly shows its destination connected before
  the source's login ended.
"""
import contextlib
import csv
import fcntl
import glob
import os
import pty
import queue
import re
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import termios
import threading
import time

from mhtest import certs, cli, dovecot, imapcheck, tap
from mhtest.batchtest import HEADER, password, summary, user, write_csv, write_inbox
from mhtest.batchtest import check_identical as batch_check_identical
from mhtest.batchtest import snapshot

EXIT_INTERRUPTED = 130
EXIT_LOCKED = 75
STOP_WITHIN = 5.0  # seconds from the signal to the exit
# Messages in each user's INBOX: a small first row that ends early, then larger ones.
SIZES = {0: 4, 1: 60, 2: 60, 3: 60, 4: 60,       # Ctrl-C
         5: 4, 6: 60, 7: 60, 8: 60, 9: 60,       # SIGTERM
         10: 60, 11: 5, 12: 5,                    # a held lock, without --wait-lock
         13: 60, 14: 5, 15: 5,                    # with --wait-lock
         16: 5, 17: 5}                            # the rows' logs
S = {}


class SlowRelay:
    """A TCP relay from a free loopback port to `target`: what the client sends goes through
    at once; what the server sends goes in pieces of `piece` bytes, each after `pause`
    seconds (both may be changed at any time; pause 0 relays at full speed). A thread per
    direction of each connection."""

    def __init__(self, target, pause=0.05, piece=4096):
        self.target, self.pause, self.piece = target, pause, piece
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.socks = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopped = True
        self.listener.close()
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(('127.0.0.1', self.target))
            except OSError:
                client.close()
                continue
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True),
                             daemon=True).start()

    def _pump(self, src, dst, slow):
        try:
            while True:
                data = src.recv(self.piece if slow else 65536)
                if not data:
                    break
                if slow and self.pause > 0:
                    time.sleep(self.pause)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={user(i): password(i, 1) for i in SIZES})
        dst = dovecot.Dovecot(pki, users={user(i): password(i, 2) for i in SIZES},
                              separator='.')
        with dovecot.running(src, dst):
            for i, count in SIZES.items():
                write_inbox(src, user(i), [imapcheck.make_message(100 * i + n, size=3000)
                                           for n in range(count)])
            relay = SlowRelay(src.imaps_port)
            d = cli.scratch_dir()
            pf = {(i, side): cli.write_passfile(d, password(i, side),
                                                name='pf%d-%03d' % (side, i))
                  for i in SIZES for side in (1, 2)}
            S.update(pki=pki, src=src, dst=dst, relay=relay, dir=d, pf=pf)
            try:
                yield
            finally:
                relay.close()


def common_args():
    return ['--ssl1', '--ssl2', '--cafile1', S['pki'].ca, '--cafile2', S['pki'].ca]


def row_line(i, slow=False, pf1=None):
    """The CSV line of user(i): its source through the slow relay when `slow`."""
    port1 = S['relay'].port if slow else S['src'].imaps_port
    return '127.0.0.1,%s,%s,%d,127.0.0.1,%s,%s,%d\r\n' % (
        user(i), pf1 or S['pf'][i, 1], port1, user(i), S['pf'][i, 2], S['dst'].imaps_port)


def batch_file(name, lines):
    return write_csv(os.path.join(S['dir'], name + '.csv'), [HEADER] + lines)


def batch_argv(path, out, *extra):
    return [cli.binary(), 'batch', path, '--dir', out] + [str(a) for a in extra] + common_args()


def check_identical(indices):
    batch_check_identical(S['src'], S['dst'], list(indices))


class Running:
    """A mailhaul process whose stderr lines are read as they come."""

    def __init__(self, argv, env=None):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, env=cli.environment(env), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  errors='replace')
        self.lines = queue.Queue()
        self.err = []
        self.out = ''
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.err.append(line)
            self.lines.put(line)

    def wait_line(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.p.poll() is None:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if re.search(pattern, line):
                return line
        return None

    def finish(self, timeout):
        try:
            self.out = self.p.stdout.read() if timeout is None else self._read_out(timeout)
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            code = None
        self.reader.join(5)
        return code

    def _read_out(self, timeout):
        chunks, deadline = [], time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    break
                chunks.append(data)
            elif self.p.poll() is not None and not select.select([fd], [], [], 0)[0]:
                break
        return b''.join(chunks).decode(errors='replace')

    @property
    def stderr(self):
        return ''.join(self.err)


def state_sound(path):
    """SQLite's own integrity check of a state database: 'ok' when sound."""
    db = sqlite3.connect(path)
    try:
        return db.execute('PRAGMA integrity_check').fetchone()[0]
    finally:
        db.close()


def no_duplicates(i):
    """The checker's view of one destination after a stop: each message on it is a source
    message, and none is there twice. Returns (messages there, problem or None)."""
    have, want = snapshot(S['dst'], i, 2), snapshot(S['src'], i, 1)
    left = list(want)
    for m in have:
        if m not in left:
            return len(have), 'a message twice, or one not on the source: %r' % (m,)
        left.remove(m)
    return len(have), None


def stop_batch(sig, first, name):
    """Runs the rows first..first+4 (sources through the slow relay, --jobs 2), sends `sig`
    as the first row ends, checks what the stopped batch left, then runs the same command
    again and checks that it completes every row."""
    users = range(first, first + 5)
    out = os.path.join(S['dir'], name)
    path = batch_file(name, [row_line(i, slow=True) for i in users])
    argv = batch_argv(path, out, '--jobs', 2, '--folder-jobs', 1, '--progress=plain')
    S['relay'].pause = 0.05
    run = Running(argv)
    ended = run.wait_line(r'^mailhaul: line \d+ done: ', 60)
    t_sig = time.monotonic()
    run.p.send_signal(sig)
    code = run.finish(30)
    took = time.monotonic() - t_sig
    S['relay'].pause = 0
    tap.diag('first row ended after %.1f s: %s; exit %s %.2f s after %s' % (
        t_sig - run.t0, (ended or '').strip(), code, took, signal.Signals(sig).name))
    tap.check(ended is not None, 'a row ended before the signal\n%s' % run.stderr)
    tap.eq(code, EXIT_INTERRUPTED, 'exit code\n%s\n%s' % (run.out, run.stderr))
    tap.check(took < STOP_WITHIN, 'exited within %.0f s of the signal (took %.1f s)' % (
        STOP_WITHIN, took))
    tap.contains('Interrupted: run the same command again to finish.', run.out, 'stdout')

    meta = summary(out)
    rows = {x['line']: x for x in meta['rows']}
    tap.diag('after the stop: %s' % ', '.join('line %d %s (exit %s, %d copied)' % (
        n, x['status'], x['exit_code'], x['messages_copied']) for n, x in sorted(rows.items())))
    tap.check(meta['interrupted'] is True, 'summary.json says the batch was interrupted')
    tap.check(meta['finished'], 'summary.json has the end time')
    statuses = [x['status'] for x in rows.values()]
    tap.check(set(statuses) <= {'done', 'interrupted', 'not started'},
              'only done, interrupted and not started rows: %s' % statuses)
    tap.eq((rows[2]['status'], rows[2]['exit_code']), ('done', 0), 'the first row')
    tap.eq((rows[3]['status'], rows[3]['exit_code']), ('interrupted', EXIT_INTERRUPTED),
           'the large row running beside it')
    tap.contains('interrupted', rows[3]['reason'] or '', "the interrupted row's reason")
    tap.check('not started' in statuses, 'rows not started: %s' % statuses)
    for x in rows.values():
        if x['status'] == 'not started':
            tap.eq((x['exit_code'], x['this_run']), (None, False),
                   'line %d not started: no exit code, did not run' % x['line'])
    with open(os.path.join(out, 'summary.csv'), newline='') as f:
        table = {int(r['line']): r for r in csv.DictReader(f)}
    tap.eq({n: r['status'] for n, r in table.items()},
           {n: x['status'] for n, x in rows.items()}, 'summary.csv says the same')
    tap.eq(table[3]['exit_code'], str(EXIT_INTERRUPTED), "summary.csv: the row's exit code")
    tap.match(r'^interrupted +3 ', run.out, 'the table on stdout')

    for i, (n, x) in zip(users, sorted(rows.items())):
        state = os.path.join(out, x['name'] + '.state')
        if x['status'] != 'not started':
            tap.eq(state_sound(state), 'ok', 'the state of line %d' % n)
        have, problem = no_duplicates(i)
        tap.check(problem is None, 'line %d, %s: %s' % (n, user(i), problem))
        if x['status'] == 'interrupted':
            tap.check(have < SIZES[i], 'line %d was stopped before the end (%d of %d there)'
                      % (n, have, SIZES[i]))
    check_identical([first])

    again = cli.run(argv[1:], timeout=120)
    tap.diag('the same command again: exit %s in %.1f s' % (again.code, again.seconds))
    cli.expect_ok(again)
    rows = summary(out)['rows']
    tap.eq([x['status'] for x in rows], ['done'] * 5, 'every row is done')
    waits = [x['line'] for x in rows
             if 'copies in flight' in open(os.path.join(out, x['name'] + '.log')).read()]
    tap.eq(waits, [], 'rows whose rerun waited for copies a clean stop left in flight')
    check_identical(users)


@tap.test
def ctrl_c_stops_cleanly_and_the_rerun_completes():
    stop_batch(signal.SIGINT, 0, 'sigint')


@tap.test
def sigterm_stops_cleanly_and_the_rerun_completes():
    stop_batch(signal.SIGTERM, 5, 'sigterm')


def manual_sync(i):
    """A `mailhaul sync` of user(i)'s pair through the slow relay, as the batch's row names
    it; returns it once it holds the pair's lock."""
    args = [cli.binary(), 'sync', '--host1', '127.0.0.1', '--port1', str(S['relay'].port),
            '--user1', user(i), '--passfile1', S['pf'][i, 1], '--host2', '127.0.0.1',
            '--port2', str(S['dst'].imaps_port), '--user2', user(i), '--passfile2',
            S['pf'][i, 2], '--quiet'] + common_args()
    S['relay'].pause = 0.05
    run = Running(args)
    locks = os.path.join(cli.environment()['XDG_STATE_HOME'], 'mailhaul', 'state', '*.lock')
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and run.p.poll() is None:
        for path in glob.glob(locks):
            with open(path) as f:
                if f.read().startswith('pid %d ' % run.p.pid):
                    return run
        time.sleep(0.02)
    tap.fail('the manual sync did not take its lock\n%s' % run.stderr)


@tap.test
def held_pair_lock_fails_that_row_only():
    out = os.path.join(S['dir'], 'locked')
    path = batch_file('locked', [row_line(10, slow=True), row_line(11), row_line(12)])
    sync = manual_sync(10)
    r = cli.run(batch_argv(path, out, '--jobs', 2)[1:], timeout=60)
    code = sync.finish(60)
    S['relay'].pause = 0
    tap.diag(r.stdout)
    tap.eq(r.code, 1, 'exit code of the batch\n%s' % r)
    rows = {x['line']: x for x in summary(out)['rows']}
    held = rows[2]
    tap.eq((held['status'], held['exit_code']), ('failed', EXIT_LOCKED), 'the held row')
    for word in ('another mailhaul run', 'pid %d' % sync.p.pid, '--wait-lock'):
        tap.contains(word, held['reason'] or '', "the held row's reason")
    tap.eq((rows[3]['status'], rows[4]['status']), ('done', 'done'), 'the other rows')
    tap.eq(held['messages_copied'], 0, 'the held row copied nothing')
    tap.eq(code, 0, 'exit code of the manual sync\n%s' % sync.stderr)
    check_identical([10, 11, 12])
    r = cli.run(batch_argv(path, out, '--pending')[1:], timeout=60)
    cli.expect_ok(r)
    rows = {x['line']: x for x in summary(out)['rows']}
    tap.eq((rows[2]['status'], rows[2]['this_run'], rows[2]['messages_copied']),
           ('done', True, 0), 'the held row with --pending: done, nothing copied twice')
    check_identical([10])


@tap.test
def wait_lock_waits_for_the_manual_sync():
    out = os.path.join(S['dir'], 'waiting')
    path = batch_file('waiting', [row_line(13, slow=True), row_line(14), row_line(15)])
    sync = manual_sync(13)
    t0 = time.monotonic()
    batch = Running(batch_argv(path, out, '--jobs', 2, '--wait-lock'))
    code = sync.finish(60)
    held_for = time.monotonic() - t0
    bcode = batch.finish(60)
    S['relay'].pause = 0
    tap.diag('the lock was held %.1f s after the batch started; batch exit %s\n%s' % (
        held_for, bcode, batch.out))
    tap.eq(code, 0, 'exit code of the manual sync\n%s' % sync.stderr)
    tap.eq(bcode, 0, 'exit code of the batch\n%s\n%s' % (batch.out, batch.stderr))
    rows = {x['line']: x for x in summary(out)['rows']}
    tap.eq([x['status'] for x in rows.values()], ['done'] * 3, 'statuses')
    tap.check(rows[2]['seconds'] >= held_for - 0.5,
              'the row lasted until the lock was free (%.1f s, held %.1f s)' % (
                  rows[2]['seconds'], held_for))
    with open(os.path.join(out, rows[2]['name'] + '.log')) as f:
        tap.match(r'another mailhaul run \(pid %d.*waiting' % sync.p.pid, f.read(),
                  "the row's log")
    tap.match(r'^mailhaul: line 2: waiting for another mailhaul run \(pid %d' % sync.p.pid,
              batch.stderr, 'stderr')
    check_identical([13, 14, 15])


def table_rows():
    """A file of two rows: one done before (user 11), one with a wrong password (user 12)
    whose reason is longer than a line."""
    wrong = cli.write_passfile(S['dir'], 'Wrong-password', name='pf-wrong')
    return batch_file('table', [row_line(11), row_line(12, pf1=wrong)])


def joined(text):
    return ' '.join(text.split())


def check_table(text, width, reason):
    wide = [line for line in text.splitlines() if len(line) > width]
    tap.eq(wide, [], 'lines wider than %d columns' % width)
    tap.contains(joined('exit 16: ' + reason), joined(text), 'the whole reason, wrapped')


@tap.test
def table_follows_columns_and_keeps_the_reason():
    path, out = table_rows(), os.path.join(S['dir'], 'table')
    reason = None
    for columns in (None, '50', '132'):
        env = {'COLUMNS': columns} if columns else {}
        r = cli.run(batch_argv(path, out, '--quiet')[1:], env=env, timeout=60)
        tap.eq(r.code, 1, 'exit code\n%s' % r)
        if reason is None:
            reason = [x for x in summary(out)['rows'] if x['status'] == 'failed'][0]['reason']
            tap.check(len(reason) > 80, 'a reason longer than a line: %r' % reason)
        tap.diag('COLUMNS=%s:\n%s' % (columns, r.stdout))
        check_table(r.stdout, int(columns or 80), reason)
        if columns == '132':
            tap.match(r'^done +2  %s@127\.0\.0\.1 -> %s@127\.0\.0\.1 +\d+ +0 ' % (
                user(11), user(11)), r.stdout, 'the wide table')
        if columns is None:
            tap.match(r'^Status +Line  Source -> Destination +Copied +Missing +Time$',
                      r.stdout, 'the 80-column table')


def on_terminal(argv, columns):
    """Runs argv with stdout and stderr on a pseudo-terminal `columns` wide; returns the
    exit code and what the terminal got."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 40, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # the lines as printed, without the terminal's CR
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    p = subprocess.Popen(argv, env=cli.environment(), stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave)
    os.close(slave)
    got, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            got.append(data)
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(10), b''.join(got).decode(errors='replace')


@tap.test
def plain_progress_and_table_width_on_a_terminal():
    path, out = table_rows(), os.path.join(S['dir'], 'table-tty')
    code, text = on_terminal(batch_argv(path, out, '--progress=plain'), 100)
    tap.diag(text)
    tap.eq(code, 1, 'exit code')
    tap.not_contains('\033', text, 'the terminal (--progress=plain: no escape sequences)')
    tap.match(r'^mailhaul: line 2 done: ', text, 'the terminal')
    tap.match(r'^mailhaul: line 3 failed: ', text, 'the terminal')
    reason = [x for x in summary(out)['rows'] if x['status'] == 'failed'][0]['reason']
    table = text[text.index('\nStatus ') + 1:]
    check_table(table, 99, reason)
    tap.match(r'^done +2  \S+ -> \S+ +\d+ +0 ', table, 'a table as wide as the terminal')


@tap.test
def each_rows_log_holds_both_sides_sessions():
    """--debug imap,wire: every line of a row's IMAP sessions is in that row's log, the
    destination's too, though its side of the listing and of each folder's opening runs on
    a thread of its own; none reaches the batch's stderr. User 17's source answers through
    the slow relay: its log shows the destination connected while the source's login was
    still on its way (both sides connect at once)."""
    S['relay'].pause = 0.05
    path, out = batch_file('routes', [row_line(16), row_line(17, slow=True)]), os.path.join(
        S['dir'], 'routes')
    r = cli.run(batch_argv(path, out, '--progress', 'none', '--debug', 'imap,wire')[1:],
                timeout=120)
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    strays = [line for line in r.stderr.splitlines() if re.search(r'host[12] [CS]: ', line)]
    tap.eq(strays, [], "IMAP lines on the batch's stderr")
    texts = {}
    for i in (16, 17):
        logs = [p for p in glob.glob(os.path.join(out, '*.log'))
                if user(i) in os.path.basename(p)]
        tap.eq(len(logs), 1, "user %s's log among %s" % (user(i), os.listdir(out)))
        text = open(logs[0], encoding='utf-8', errors='replace').read() if logs else ''
        texts[i] = text
        for side, verb in (('host1', 'LIST'), ('host2', 'LIST'), ('host1', 'EXAMINE'),
                           ('host2', 'SELECT'), ('host2', 'LOGOUT')):
            tap.check(re.search(r'%s C: A\d+ %s ' % (side, verb), text) or
                      re.search(r'%s C: A\d+ %s$' % (side, verb), text, re.M),
                      '%s %s in the log of %s; its lines:\n%s' % (
                          side, verb, user(i), '\n'.join(text.splitlines()[:60])))
    lines = texts[17].splitlines()
    dst_connect = [n for n, line in enumerate(lines)
                   if 'connecting to 127.0.0.1 port %d' % S['dst'].imaps_port in line]
    src_login = [n for n, line in enumerate(lines)
                 if 'host1: not authenticated -> authenticated' in line]
    tap.check(dst_connect and src_login and dst_connect[0] < src_login[0],
              'the destination connects before the slow source has logged in:\n%s' %
              '\n'.join(lines[:20]))
    check_identical([16, 17])


@tap.test
def progress_none_and_a_bad_word():
    path, out = table_rows(), os.path.join(S['dir'], 'table-none')
    r = cli.run(batch_argv(path, out, '--progress', 'none')[1:], timeout=60)
    tap.eq(r.code, 1, 'exit code\n%s' % r)
    tap.eq([line for line in r.stderr.splitlines()
            if re.match(r'mailhaul: (line \d|rows: )', line)], [], 'view lines on stderr')
    r = cli.run(batch_argv(path, out, '--progress=fancy')[1:])
    cli.expect_error(r, cli.EXIT_USAGE, '--progress', 'auto, bar, plain or none')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm'))
