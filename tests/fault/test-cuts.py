#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` over links that break, through cutproxy.py: a FAULT INJECTOR in front of a
REAL Dovecot on each side. Real servers will not drop a connection in the middle of a message
on demand, so the proxy cuts connections (a TCP reset, no BYE) after a random number of bytes
drawn from a seeded generator, inside FETCH literals of the source and APPEND literals of the
destination, stalls them for longer than mailhaul's --timeout, takes the destination away for
15 s, or cuts every connection that selects one folder. All mail is the real Dovecots' and is
checked with the independent imaplib checker (mhtest.compare: sha256 multiset, INTERNALDATE
and flags per folder, so a duplicate or a partial message shows).

What a user would check: after any cut mailhaul reconnects and resumes; repeated runs each get
further and the last one ends with exit 0 and the destination identical to the source, never a
message twice nor a truncated one; a stall or an outage costs time, not mail; a message that
cannot get through a flaky link is named with its UID (exit 111) and everything else is copied;
a folder that cannot progress is reported unfinished (exit 10) while the others finish.

The seeds are fixed (MH_CUTS_SEED=N varies them); every failure shows the proxies' seeds and
transcripts and the tail of mailhaul's output.
"""
import contextlib
import os
import re
import time

import cutproxy as cp
from mhtest import certs, cli, compare, dovecot, imapcheck, tap
from mhtest.synctest import EXIT_FAILED, Checks, Job

PW1, PW2 = 'Cuts-src-pw-1618', 'Cuts-dst-pw-2236'
USERS = ('p', 'a', 'b', 'c', 'd', 'e', 'f', 'g')
KB, MB = 1024, 1024 * 1024
SEED = int(os.environ.get('MH_CUTS_SEED', '7321'))
MAX_BACKOFF = 2
BASE = ('--jobs', '2', '--nocompress', '--max-backoff', str(MAX_BACKOFF))
MAX_RUNS = 8
RUN_TIMEOUT = 90  # a run takes seconds; a hang must not eat the file's budget
S = {}

FLAGS = ((), ('\\Seen',), ('\\Seen', '\\Flagged'), ('\\Answered', '\\Seen'), ('Project-X',))


def mailbox(base, big_sizes, small=24, folders=('INBOX', 'Work', 'Work/Clients')):
    """`small` messages of 2-8 KB spread over folders, and one message of each of
    big_sizes placed among them (the first big one early in the first folder), with
    varied flags; INTERNALDATEs one hour apart."""
    out = {f: [] for f in folders}
    n = base
    for i in range(small):
        n += 1
        out[folders[i % len(folders)]].append(imapcheck.Mail(
            imapcheck.make_message(n, size=2000 + 1000 * (n % 7)), FLAGS[n % len(FLAGS)]))
    for i, size in enumerate(big_sizes):
        n += 1
        box = out[folders[i % len(folders)]]
        box.insert(min(len(box), 1 + 2 * (i // len(folders))), imapcheck.Mail(
            imapcheck.make_message(n, size=size), FLAGS[n % len(FLAGS)]))
    for box in out.values():
        for i, m in enumerate(box):
            box[i] = m._replace(date=imapcheck.DEFAULT_DATE + 3600 * (base + i))
    return out


BIG = [1 * MB, 3 * MB, 2 * MB, 4 * MB, 1536 * KB]  # cuts of 20 KB - 2 MB fall inside them
# For cuts on both sides: each message fits between two cuts on either side most of the time
# (so that three drops in a row, which make mailhaul skip a message for the run, are rare),
# and all of them together (6.3 MB) are more than one connection carries.
MODEST = [1 * MB, 768 * KB, 512 * KB] * 2 + [1 * MB, 768 * KB]
FLAKY_BIG = 3 * MB  # case f: too large for a link cut after ~1 MB


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in USERS}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in USERS}, separator='/')
        with dovecot.running(src, dst):
            S.update(pki=pki, src=src, dst=dst)
            src.preload_fast('p', {'INBOX': [imapcheck.make_message(1, size=300 * KB),
                                             imapcheck.make_message(2, size=3000)]})
            for k, user in enumerate(('a', 'b')):
                src.preload_fast(user, mailbox(100 * (k + 1), BIG))
            src.preload_fast('c', mailbox(300, MODEST))
            src.preload_fast('d', mailbox(400, [2 * MB, 1 * MB], small=12))
            src.preload_fast('e', mailbox(500, [1 * MB, 2 * MB, 1 * MB, 1536 * KB], small=18))
            small = mailbox(600, [], small=18, folders=('INBOX',))['INBOX']
            big = imapcheck.Mail(imapcheck.make_message(699, size=FLAKY_BIG), ('\\Seen',))
            src.preload_fast('f', {'INBOX': small[:6] + [big] + small[6:12],
                                   'Work': small[12:]})
            src.preload_fast('g', mailbox(700, [], small=18,
                                          folders=('INBOX', 'Doomed', 'Work')))
            yield


# -- helpers -----------------------------------------------------------------------------------

def seed(k):
    s = SEED + k
    tap.diag('seed %d' % s)
    return s


def proxy(server, k, **kw):
    return cp.CutProxy(server, seed=seed(k), mode='ssl', pki=S['pki'], **kw)


def snapshot(server, user, label):
    return compare.take(server, user, label=label)


def figures(runs):
    """A line per run: exit code, seconds, messages copied, messages on the destination."""
    return '\n'.join('run %d: exit %s in %.1f s, %s copied, %d on the destination' % (
        i + 1, r.code, r.seconds, r.totals.get('copied') if r.report else '?', n)
        for i, (r, n) in enumerate(runs))


def tail(r, lines=25):
    """The end of mailhaul's stdout and stderr, and of its log, for failure messages."""
    out = '\n'.join(r.stdout.splitlines()[-lines:])
    err = '\n'.join(r.stderr.splitlines()[-lines:])
    return 'exit %s after %.1f s\n--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s\n%s' % (
        r.code, r.seconds, out, err, r.log_tail(lines))


def finish(checks, proxies, *runs, note=None):
    """checks.done() with a note (the runs' figures), every proxy's transcript and the
    last run's output tail."""
    if checks.failures:
        checks.context = []
        if note:
            checks.failures.append(note)
        for p in proxies:
            checks.failures.append(p.summary())
        if runs:
            checks.failures.append(tail(runs[-1]))
    checks.done()


def check_identical(checks, user, what, drop=None):
    """The destination holds exactly the source's messages (less drop), once each."""
    s = snapshot(S['src'], user, 'source')
    if drop is not None:
        s = compare.Snapshot(s.folders, {f: [i for i in items if not drop(f, i)]
                                         for f, items in s.messages.items()}, s.label)
    c = compare.compare(s, snapshot(S['dst'], user, 'destination'))
    checks.check(c.ok, '%s: the destination differs from the source:\n%s' % (what, c.text()))
    return c


def converge(job, proxies, user, args=BASE):
    """Runs job until it exits 0 (at most MAX_RUNS times); returns [(result, messages on
    the destination after it)]."""
    runs = []
    for _ in range(MAX_RUNS):
        r = cp.run(job, *proxies, args=args, timeout=RUN_TIMEOUT)
        runs.append((r, snapshot(S['dst'], user, 'destination').count()))
        if r.code == 0:
            break
    return runs


def check_converged(checks, user, runs, proxies):
    """Each run leaves more on the destination than the one before (or everything), the
    last exits 0, and the destination is then identical to the source."""
    total = snapshot(S['src'], user, 'source').count()
    before = 0
    for i, (r, n) in enumerate(runs):
        checks.check(n > before or n == total, 'run %d left %d messages on the destination, '
                     'no more than before it (%d of %d)' % (i + 1, n, before, total))
        checks.check(r.code in (0, cli.EXIT_CONNECT, EXIT_FAILED),
                     'run %d: exit %s, expected 0 or, before the last, 10 or 111' % (
                         i + 1, r.code))
        before = n
    checks.eq(runs[-1][0].code, 0, 'exit code of the last of %d runs' % len(runs))
    check_identical(checks, user, 'after %d runs' % len(runs))
    tap.diag(figures(runs))
    for p in proxies:
        tap.diag('%s: %d connections, %d cuts, %d inside a literal' % (
            p.settings(), p.connections(), len(p.cuts()), len(p.cuts_in_literal())))


def says(r, pattern):
    return re.search(pattern, r.everything_said() + '\n' + r.stdout, re.I) is not None


# -- the proxy itself ------------------------------------------------------------------------

@tap.test
def proxy_cuts_mid_literal_on_a_mailbox_and_goes_down():
    src = S['src']
    with proxy(src, 0, after=(100 * KB, 100 * KB), direction='down') as px:
        conn = imapcheck.imap_client(px, 'p')
        imapcheck.select(conn, 'INBOX')
        got = _answer(conn, conn.uid, 'FETCH', '1:*', '(BODY.PEEK[])')
        tap.check(got[0] == 'raised', 'a FETCH of 300 KB past a cut at 100 KB: %r' % (got,))
        cuts = px.cuts()
        tap.eq([(e.direction, e.count, e.in_literal, e.command, e.mailbox) for e in cuts],
               [('down', 100 * KB, True, 'UID FETCH', 'INBOX')], 'the cut\n' + px.summary())
        tap.check(0 < cuts[0].literal[0] < cuts[0].literal[1] == 300 * KB,
                  'the literal position %r' % (cuts[0].literal,))
    with proxy(src, 0, doomed='Doomed') as px:
        conn = imapcheck.imap_client(px, 'p')
        tap.eq(_answer(conn, conn.select, 'INBOX')[0], 'OK', 'SELECT INBOX')
        tap.eq(_answer(conn, conn.select, '"Doomed"')[0], 'raised', 'SELECT "Doomed"')
        tap.eq([(e.command, e.mailbox, e.in_literal) for e in px.cuts()],
               [('SELECT', 'Doomed', False)], 'the cut\n' + px.summary())
    with proxy(src, 0) as px:
        px.down(1.0)
        refused = _login_refused(px, 'p')
        time.sleep(1.3)
        conn = imapcheck.imap_client(px, 'p')
        tap.eq(_answer(conn, conn.noop)[0], 'OK', 'NOOP after the outage')
        tap.check(refused, 'a login during the outage went through')
        tap.eq([e.kind for e in px.events() if e.kind != 'connect'], ['down', 'up'],
               'events\n' + px.summary())


def _answer(conn, fn, *args):
    """imapcheck.answer, with a reset connection as 'raised' too."""
    try:
        return imapcheck.answer(conn, fn, *args)
    except OSError as e:
        return ('raised', repr(e))


def _login_refused(server, user):
    try:
        imapcheck.imap_client(server, user, timeout=5).logout()
    except OSError:
        return True
    return False


# -- a. b. c.: cuts at random points, repeated runs converge --------------------------------------

@tap.test
def source_cuts_mid_fetch_converge():
    px = proxy(S['src'], 1, after=(20 * KB, 2 * MB), direction='down', probability=0.5,
               spread=True)
    with px:
        runs = converge(Job(px, 'a', S['dst'], 'a', name='cuts-src'), [px], 'a')
    checks = Checks()
    check_converged(checks, 'a', runs, [px])
    checks.check(px.cuts_in_literal(), 'no cut fell inside a literal: the test proved nothing')
    finish(checks, [px], *(r for r, _ in runs), note=figures(runs))


@tap.test
def destination_cuts_mid_append_converge():
    # Every other connection is cut, and every other cut that falls inside an APPEND waits
    # for its end: the message is stored but mailhaul never hears so, and must not store
    # it again.
    px = proxy(S['dst'], 2, after=(20 * KB, 2 * MB), direction='up', probability=0.5,
               after_command=0.5, spread=True)
    with px:
        runs = converge(Job(S['src'], 'b', px, 'b', name='cuts-dst'), [px], 'b')
    checks = Checks()
    check_converged(checks, 'b', runs, [px])
    checks.check(px.cuts_in_literal(), 'no cut fell inside a literal: the test proved nothing')
    tap.diag('cuts after a whole APPEND (unknown outcomes): %d' % len(
        [e for e in px.cuts() if e.text and 'end of the command' in e.text]))
    finish(checks, [px], *(r for r, _ in runs), note=figures(runs))


@tap.test
def every_connection_cut_on_both_sides_converges():
    # One folder at a time: one connection pair carries everything, more than 5 MB, so
    # cuts do happen; the destination's cuts close (FIN) instead of resetting.
    src = proxy(S['src'], 3, after=(20 * KB, 5 * MB), direction='both')
    dst = proxy(S['dst'], 4, after=(20 * KB, 5 * MB), direction='both', after_command=0.3,
                reset=False)
    with src, dst:
        runs = converge(Job(src, 'c', dst, 'c', name='cuts-both'), [src, dst], 'c',
                        args=('--jobs', '1') + BASE[2:])
    checks = Checks()
    check_converged(checks, 'c', runs, [src, dst])
    checks.check(src.cuts_in_literal() or dst.cuts_in_literal(),
                 'no cut fell inside a literal: the test proved nothing')
    finish(checks, [src, dst], *(r for r, _ in runs), note=figures(runs))


# -- d. e.: a stall longer than --timeout, an outage of 15 s --------------------------------------

STALL_TIMEOUT = 3


@tap.test
def stalls_longer_than_the_timeout_recover():
    stall = STALL_TIMEOUT + 5
    src = proxy(S['src'], 5, after=(200 * KB, 1 * MB), direction='down', stall=stall,
                max_faults=1)
    dst = proxy(S['dst'], 6, after=(200 * KB, 1 * MB), direction='up', stall=stall,
                max_faults=1)
    with src, dst:
        job = Job(src, 'd', dst, 'd', name='stall')
        r = cp.run(job, src, dst, args=BASE + ('--timeout1', STALL_TIMEOUT, '--timeout2',
                                               STALL_TIMEOUT), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after two stalls of %d s with --timeout %d' % (
        stall, STALL_TIMEOUT))
    for p in (src, dst):
        stalls = p.events('stall')
        checks.eq(len(stalls), 1, 'stalls of the proxy with %s' % p.settings())
        gave_up = [e for e in p.events('close') if stalls and e.conn == stalls[0].conn and
                   e.t > stalls[0].t]
        checks.check(gave_up and gave_up[0].t - stalls[0].t < STALL_TIMEOUT + 2,
                     'mailhaul did not hang up the stalled connection within --timeout %d: %s'
                     % (STALL_TIMEOUT, gave_up[:1]))
    checks.check(says(r, r'timed out|no answer from the server within'),
                 'nothing in the output says the server did not answer in time')
    check_identical(checks, 'd', 'after the stalls')
    tap.diag('run: exit %s in %.1f s' % (r.code, r.seconds))
    finish(checks, [src, dst], r)


OUTAGE = 15


@tap.test
def destination_outage_of_15_s_is_waited_out():
    # --max-backoff 4: waits of 1, 2, 4, 4 ... s reach past the outage well within the eight
    # waits a folder may make without progress.
    dst = proxy(S['dst'], 7, direction='up', outage_after=(2 * MB, OUTAGE))
    with dst:
        job = Job(S['src'], 'e', dst, 'e', name='outage')
        r = cp.run(job, dst, args=('--jobs', '2', '--nocompress', '--max-backoff', '4'),
                   timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after a %d s outage of the destination' % OUTAGE)
    checks.eq([e.kind for e in dst.events() if e.kind in ('down', 'up')], ['down', 'up'],
              'the outage (down, then up)')
    checks.check(r.seconds >= OUTAGE, 'the run took %.1f s, less than the outage' % r.seconds)
    checks.check(says(r, r'reconnecting in'), 'no "reconnecting in N s" line')
    check_identical(checks, 'e', 'after the outage')
    down = dst.events('down') + dst.events('up')
    back = [e.t for e in dst.events('connect') if len(down) == 2 and e.t > down[1].t]
    tap.diag('run: exit %s in %.1f s; the destination was down for %.1f s; mailhaul was back '
             '%s after it came up' % (r.code, r.seconds, down[1].t - down[0].t
                                      if len(down) == 2 else 0,
                                      '%.1f s' % (back[0] - down[1].t) if back else 'never'))
    finish(checks, [dst], r)


# -- f. g.: what cannot get through ----------------------------------------------------------------

@tap.test
def message_too_large_for_a_flaky_link_is_named_and_skipped():
    dst = proxy(S['dst'], 8, after=(1 * MB, 1 * MB), direction='up')
    big = [i for f, i in snapshot(S['src'], 'f', 'source').find(
        lambda f, i: i.size == FLAKY_BIG)]
    tap.eq(len(big), 1, 'source messages of %d bytes (test setup)' % FLAKY_BIG)
    uid = big[0].uid
    with dst:
        job = Job(S['src'], 'f', dst, 'f', name='flaky-big')
        r = cp.run(job, dst, args=BASE, timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, EXIT_FAILED, 'exit code when one message could not be copied')
    named = [line for line in r.stdout.splitlines() if line.startswith('Error:') and
             re.search(r'\bUID %d\b' % uid, line)]
    checks.check(named, 'no "Error:" line in stdout names UID %d' % uid)
    checks.check(any(re.search(r'connection dropped', line) for line in named),
                 'the Error line does not say the connection dropped while copying it: %r'
                 % named)
    checks.check([e for e in dst.cuts() if e.literal and e.literal[1] == FLAKY_BIG],
                 'no cut fell inside the big message')
    check_identical(checks, 'f', 'all but UID %d' % uid,
                    drop=lambda f, i: f == 'INBOX' and i.uid == uid)
    tap.diag('run: exit %s in %.1f s, %d cuts; %s' % (r.code, r.seconds, len(dst.cuts()),
                                                     named[:1]))
    finish(checks, [dst], r)


@tap.test
def folder_that_cannot_progress_is_unfinished_and_the_others_finish():
    src = proxy(S['src'], 9)
    with src:
        job = Job(src, 'g', S['dst'], 'g', name='doomed')
        first = cp.run(job, src, args=BASE, timeout=RUN_TIMEOUT)
        # New mail in Doomed that the next run cannot copy: what is there stays once.
        new = {'Doomed': [imapcheck.Mail(imapcheck.make_message(790 + i, size=3000))
                          for i in range(3)],
               'Work': [imapcheck.Mail(imapcheck.make_message(795 + i, size=3000))
                        for i in range(2)]}
        with imapcheck.session(S['src'], 'g') as conn:
            for folder, mails in new.items():
                for m in mails:
                    imapcheck.append(conn, folder, m.body, m.flags, imapcheck.DEFAULT_DATE)
        src.doomed = b'Doomed'
        r = cp.run(job, src, args=('--jobs', '1', '--nocompress', '--max-backoff',
                                   str(MAX_BACKOFF)), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(first, 0, 'exit code of the first run (no rule yet)')
    checks.code(r, cli.EXIT_CONNECT, 'exit code when one folder cannot progress')
    checks.check(len(src.cuts()) >= 8, 'the proxy cut %d connections on SELECT Doomed, '
                 'expected one per pass (8 waits)' % len(src.cuts()))
    checks.check(says(r, r'gave up after 8 waits without progress'),
                 'nothing says "gave up after 8 waits without progress"')
    checks.check('Doomed (unfinished)' in r.table, 'the table has no row "Doomed '
                 '(unfinished)": %s' % sorted(r.table))
    checks.check(r.verdict is not None and re.search(
        r'unfinished.*run the same command again', r.verdict), 'verdict: %r' % r.verdict)
    unfinished = [k for k in r.table if k.endswith('(unfinished)') or
                  r.table[k] == ['not reached']]
    checks.eq(unfinished, ['Doomed (unfinished)'], 'unfinished folders in the table')
    new_keys = {imapcheck.sha256(m.body) for m in new['Doomed']}
    check_identical(checks, 'g', 'all but the new mail in Doomed',
                    drop=lambda f, i: f == 'Doomed' and i.sha256 in new_keys)
    tap.diag('run: exit %s in %.1f s, %d cuts on SELECT Doomed' % (r.code, r.seconds,
                                                                  len(src.cuts())))
    finish(checks, [src], first, r)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
