#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash safety of `mailhaul sync` against real Dovecot ('/' source, '.' destination): SIGKILL at
random moments of a run (300 messages, some of 1 MB), then a rerun, five times, each time also
killing the resumed run; SIGKILL during --delete1 (no message may exist on neither side);
SIGTERM and SIGINT stop the run with exit 130 and a rerun finishes. Afterwards the destination
must equal the source exactly: nothing lost, nothing duplicated (independent imaplib checker,
mhtest.compare).

A signal is sent when the destination has received a chosen number of messages (counted on
disk, the one arriving included: synctest.signal_at_count), not after a delay: the five first
runs are killed at a random count in each fifth of the corpus in turn (the last one up to the
last message), so the moments do not depend on how busy the machine is, and the file can run
beside other tests. MHTEST_KILL_SEED=N repeats a run's kill counts (printed as diagnostics)."""
import contextlib
import os
import random
import signal
import time

from mhtest import certs, compare, corpus, dovecot, imapcheck, tap
from mhtest.synctest import Checks, Job, signal_at_count

PW1, PW2 = 'Crash-src-pw-4401', 'Crash-dst-pw-4402'
SEED = 4242
KILLS = 5
S = {}


# Dovecot 2.3.19's imap-login in high-performance mode (service_count = 0, as the harness sets
# it) can panic with "epoll_ctl(del, ...) failed: Bad file descriptor" after a client is killed
# mid-session, and then drops every TLS connection it proxies (the checker's too). One login
# process per connection keeps a killed client's trouble to itself.
LOGIN_PER_CONNECTION = 'service imap-login {\n  service_count = 1\n  process_min_avail = 4\n}\n'


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in ('big', 'move')}, separator='/',
                              extra_conf=LOGIN_PER_CONNECTION)
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in (
            ['ref', 'move', 'term', 'int'] + ['kill%d' % i for i in range(KILLS)])},
            separator='.', extra_conf=LOGIN_PER_CONNECTION)
        with dovecot.running(src, dst):
            c = corpus.generate(seed=SEED, scale=300, extra=[(30, 1000000)])
            tap.diag('corpus: ' + c.summary())
            corpus.load(src, 'big', c.folders)
            corpus.load(src, 'move', c.folders)
            seed = int(os.environ.get('MHTEST_KILL_SEED', random.randrange(1 << 30)))
            tap.diag('kill counts from MHTEST_KILL_SEED=%d' % seed)
            S.update(src=src, dst=dst, corpus=c, rng=random.Random(seed),
                     source=compare.take(src, 'big', label='source'))
            yield


def snap(server, user):
    return compare.take(S[server], user, label='%s on %s' % (user, server))


def dst_count(user):
    try:
        with imapcheck.session(S['dst'], user) as conn:
            return sum(imapcheck.folder_counts(conn).values())
    except Exception as e:
        tap.fail('cannot count the messages of %s on the destination: %r\n%s' % (
            user, e, S['dst'].log_tail()))


def kill_at(job, count, sig=signal.SIGKILL, *extra):
    """Start a run, send sig once the destination user has received count messages; returns
    (still running when signalled, SyncResult)."""
    p = job.start(*extra)
    running, _ = signal_at_count(p, S['dst'], count, sig, user=job.dst_user)
    return running, job.finish(p, timeout=60)


def check_final(checks, source, user, r, what):
    """Bytes (no loss, no duplicate) and then everything (dates, flags) against source."""
    after = snap('dst', user)
    c = compare.compare(source, after, ignore_flags=True, ignore_dates=True)
    checks.check(c.ok, '%s: messages lost or duplicated:\n%s' % (what, c.text()))
    if c.ok:
        full = compare.compare(source, after)
        checks.check(full.ok, '%s: dates or flags differ:\n%s' % (what, full.text()))
        c = full
    if not c.ok:
        checks.attach(r)
    return after


@tap.test
def reference_run_copies_everything():
    job = Job(S['src'], 'big', S['dst'], 'ref', name='ref')
    r = job.run()
    tap.diag('a full run takes %.2f s' % r.seconds)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    check_final(checks, S['source'], 'ref', r, 'reference run')
    checks.done()


def kill_test(n):
    def sigkill_then_rerun():
        total = S['source'].count()
        # Run n is killed in the n-th fifth of the corpus: from the first messages to the
        # last one (while it arrives the run is far from done: flags, state, the table).
        k1 = S['rng'].randint(1 + n * total // KILLS, max(1, (n + 1) * total // KILLS))
        user = 'kill%d' % n
        job = Job(S['src'], 'big', S['dst'], user, name=user)
        hit1, r1 = kill_at(job, k1)
        n1 = dst_count(user)
        # The resumed run has less to do: kill it within what is left.
        k2 = n1 + S['rng'].randint(1, max(1, 4 * (total - n1) // 5))
        hit2, r2 = kill_at(job, k2)
        n2 = dst_count(user)
        tap.diag('run %d: SIGKILL at %d received (%s, %d on the destination), resumed run '
                 'killed at %d received (%s, %d)' % (
                     n, k1, 'killed' if hit1 else 'had finished', n1, k2,
                     'killed' if hit2 else 'had finished', n2))
        S.setdefault('hits', []).append(hit1)
        checks = Checks()
        for r, hit in ((r1, hit1), (r2, hit2)):
            if hit:
                checks.check(r.code == -signal.SIGKILL, 'a killed run ended with %s' % r.code)
        r = job.run()
        checks.attach(r)
        checks.code(r, 0, 'exit code of the run after the kills')
        check_final(checks, S['source'], user, r, 'after SIGKILL and rerun')
        again = job.run()
        checks.code(again, 0, 'exit code of the next rerun')
        checks.eq(again.totals.get('copied') if again.report else None, 0,
                  'copied by the next rerun')
        checks.done()
    tap.test(sigkill_then_rerun, name='sigkill_then_rerun_%d' % (n + 1))


for _n in range(KILLS):
    kill_test(_n)


@tap.test
def kills_hit_running_processes():
    hits = S.get('hits', [])
    tap.check(sum(hits) >= 3, 'only %d of %d first runs were still running when killed: the '
              'corpus is too small for this machine' % (sum(hits), len(hits)))


@tap.test
def sigkill_during_delete1_loses_nothing():
    src, dst = S['src'], S['dst']
    original = snap('src', 'move')
    job = Job(src, 'move', dst, 'move', name='move')
    total = original.count()
    checks = Checks()
    for fraction in (0.3, 0.7):
        at = int(fraction * total)
        hit, r = kill_at(job, at, signal.SIGKILL, '--delete1')
        checks.attach(r)
        left, there = snap('src', 'move'), snap('dst', 'move')
        both = compare.Snapshot(there.folders, {}, 'source + destination')
        mapping = compare.default_mapping(original, '.')
        back = {d: s for s, d in mapping.items()}
        for f, items in left.messages.items():
            both.messages.setdefault(f, []).extend(items)
        for f, items in there.messages.items():
            both.messages.setdefault(back.get(f, f), []).extend(items)
        lost = compare.compare(original, both, mapping={f: f for f in original.selectable()},
                               strict_folders=False, ignore_flags=True, ignore_dates=True)
        lost_text = '\n'.join(d.text() for d in lost.diffs.values() if d.missing)
        checks.check(not lost_text, 'SIGKILL of --delete1 at %d received: messages on neither '
                     'side:\n%s' % (at, lost_text))
        tap.diag('--delete1 killed at %d received (%s): %d left on the source, %d on the '
                 'destination' % (at, 'killed' if hit else 'had finished', left.count(),
                                  there.count()))
    r = job.run('--delete1')
    checks.attach(r)
    checks.code(r, 0, 'exit code of the --delete1 rerun')
    check_final(checks, original, 'move', r, 'after killed --delete1 runs and a rerun')
    checks.eq(snap('src', 'move').count(), 0, 'messages left on the source')
    checks.done()


def interrupt_test(sig, user):
    def stops_with_130_and_rerun_finishes():
        job = Job(S['src'], 'big', S['dst'], user, name=user)
        at = int(0.3 * S['source'].count())
        p = job.start()
        running, _ = signal_at_count(p, S['dst'], at, sig, user=user)
        t0 = time.monotonic()
        r = job.finish(p, timeout=60)
        stop = time.monotonic() - t0
        tap.check(running, 'the run had finished before %d messages had arrived, before the '
                  'signal' % at)
        tap.diag('%s at %d received: exit %s after %.2f s, %d on the destination' % (
            signal.Signals(sig).name, at, r.code, stop, dst_count(user)))
        checks = Checks()
        checks.attach(r)
        checks.code(r, 130, 'exit code after %s' % signal.Signals(sig).name)
        checks.check(stop < 10, 'stopping took %.1f s' % stop)
        checks.check(dst_count(user) < S['source'].count(),
                     'everything was copied although the run was interrupted')
        if r.report is not None:
            checks.eq(r.report.get('interrupted'), True, 'report interrupted')
            checks.eq(r.report.get('exit_code'), 130, 'report exit_code')
        else:
            checks.check(False, 'no report after %s' % signal.Signals(sig).name)
        checks.check('Interrupted' in r.stdout, 'stdout does not say "Interrupted"')
        again = job.run()
        checks.attach(again)
        checks.code(again, 0, 'exit code of the rerun')
        check_final(checks, S['source'], user, again, 'after %s and a rerun' %
                    signal.Signals(sig).name)
        checks.done()
    tap.test(stops_with_130_and_rerun_finishes,
             name='%s_stops_with_130_and_rerun_finishes' % signal.Signals(sig).name.lower())


interrupt_test(signal.SIGTERM, 'term')
interrupt_test(signal.SIGINT, 'int')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
