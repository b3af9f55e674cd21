#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ranged UID FETCH and MULTIAPPEND batches (RFC 3502) against REAL Dovecots, which offer
MULTIAPPEND and LITERAL+; where a fault or a count is needed, throttleproxy.py (a FAULT
INJECTOR) sits in front of one of them and records every command with its number of
literals (one per message of an APPEND). Everything is checked with the independent imaplib
checker (mhtest.compare: per folder byte-identical message multisets, INTERNALDATE, flags;
no duplicates).

What a user would check: bodies come in a few ranged UID FETCH commands and go out in a
few APPEND commands of many messages each; each copy is recorded under its own
destination UID (from the APPENDUID set), so a rerun copies nothing and carries flag
changes to the right message, and without the state file finds everything by fingerprint;
a refused message refuses its whole batch, but only it is reported (exit 114, its UID on an
`Error:` line) and every other one is copied once; a run killed while a batch is on its way
loses and duplicates nothing; a server without MULTIAPPEND gets one message per APPEND;
messages expunged and added on the source while its bodies are being fetched (the server's
untagged EXPUNGE and EXISTS amid the FETCH responses) are reported vanished or left for the
next run.
"""
import contextlib
import os
import re
import signal
import sqlite3
import time

import throttleproxy as tp
from mhtest import certs, compare, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Batch-src-pw-3502', 'Batch-dst-pw-7889'
BASE = ('--jobs', '1', '--nocompress')  # the proxy does not relay COMPRESS
RUN_TIMEOUT = 60
MANY = 250      # one folder of small messages: three batches of at most 100
LARGE = [700000] * 12 + [3000] * 3 + [9000000] + [700000] * 2  # batches end at 8 MB
BATCH_MSGS, BATCH_BYTES = 100, 8 * 1024 * 1024
REFUSED = 30    # one of them carries REFUSE_MARK
BIG = 400       # about 20 KB each: killed while batches are on their way
CHURN = 300     # changed on the source while its bodies are fetched
REFUSE_MARK = b'X-Mhtest-Refuse: yes'
TOO_LARGE = '[LIMIT] Message too large'
FLAGS = ((), ('\\Seen',), ('\\Seen', '\\Flagged'), ('\\Answered', '\\Seen'), ('Project-X',),
         ('\\Draft',))
# Where each run is killed: 'direct' once the destination (no proxy) holds that many, with
# the next batch on its way (the server logs it cut off, or stores it after the kill if it
# was sent whole); 'held' once the server stored the second batch whose answer the proxy
# holds back.
KILLS = (('direct', 100), ('direct', 200), ('direct', 300), ('held', 200))

# One login process per connection: Dovecot 2.3.19's imap-login in high-performance mode
# can panic after a client is killed mid-session (see test-sync-crash.py).
LOGIN_PER_CONNECTION = 'service imap-login {\n  service_count = 1\n  process_min_avail = 4\n}\n'
S = {}


def mails(base, count, size=None, marked=()):
    """count messages with varied flags, sizes and INTERNALDATEs (by position); positions in
    marked carry REFUSE_MARK. Messages 7 and 8 repeat message 6 byte for byte (true
    duplicates, each to be copied once)."""
    out = []
    for i in range(count):
        n = base + (i if i not in (7, 8) or count < 9 else 6)
        headers = (REFUSE_MARK.decode(),) if i in marked else ()
        out.append(imapcheck.Mail(
            imapcheck.make_message(n, size=size or 1200 + 97 * (n % 13), headers=headers),
            FLAGS[i % len(FLAGS)]))
    return out


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in (
            'many', 'large', 'refuse', 'big', 'churn')}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in (
            ['multi', 'large', 'fetch', 'refuse', 'single', 'churn'] +
            ['kill%d' % k for k in range(len(KILLS))])},
            separator='.', extra_conf=LOGIN_PER_CONNECTION)
        with dovecot.running(src, dst):
            src.preload_fast('many', {'INBOX': mails(1000, MANY)})
            src.preload_fast('large', {'INBOX': [
                imapcheck.Mail(imapcheck.make_message(5000 + i, size=n), FLAGS[i % len(FLAGS)])
                for i, n in enumerate(LARGE)]})
            src.preload_fast('refuse', {'INBOX': mails(2000, REFUSED, marked=(17,))})
            src.preload_fast('big', {'INBOX': mails(3000, BIG, size=20000)})
            src.preload_fast('churn', {'INBOX': mails(4000, CHURN)})
            S.update(pki=pki, src=src, dst=dst)
            yield


def proxy_for(server, rules=(), drop=()):
    return tp.ThrottleProxy(server, rules=rules, mode='ssl', pki=S['pki'],
                            drop_capabilities=drop)


def snap(server, user, label):
    return compare.take(S[server], user, label=label)


def check_same(checks, source, user, what):
    """The destination account of user holds exactly source's messages, once each."""
    c = compare.compare(source, snap('dst', user, 'destination'))
    checks.check(c.ok, '%s: the destination differs from the source:\n%s' % (what, c.text()))
    return c.ok


def copied(r):
    """(report totals.copied, the table's Copied cell of Total) of a run."""
    total = r.table.get('Total') or []
    return (r.totals.get('copied') if r.report is not None else None,
            total[4] if len(total) > 4 else None)


def check_copies_nothing(checks, r, what):
    checks.code(r, 0, 'exit code of %s' % what)
    checks.eq(copied(r), (0, '0'), 'copied by %s (report, table)' % what)


def drop_state(job):
    for suffix in ('', '-journal', '-wal', '-shm'):
        with contextlib.suppress(FileNotFoundError):
            os.remove(job.state + suffix)


def append_literals(proxy, since=0):
    """The number of messages of each APPEND the proxy saw (after the first `since`)."""
    return [e.literals for e in proxy.commands('APPEND')[since:]]


# -- MULTIAPPEND, and the APPENDUID sets -----------------------------------------------------

def state_pairs(job):
    """{source UID: destination UID} of INBOX as the state file records it (read-only; the
    schema is mailhaul's own, src/sync/sync-state.c)."""
    db = sqlite3.connect('file:%s?mode=ro' % job.state, uri=True)
    try:
        rows = db.execute('SELECT m.src_uid, m.dst_uid FROM messages m JOIN folders f ON '
                          'f.id = m.folder_id WHERE f.src_name = ?', ('INBOX',)).fetchall()
    finally:
        db.close()
    return dict(rows)


def check_uid_pairs(checks, job, source, dest):
    """Every recorded pair joins a source message to a destination message with the same
    bytes, INTERNALDATE and flags: the APPENDUID sets were mapped in order."""
    pairs = state_pairs(job)
    src = {i.uid: i for i in source.messages['INBOX']}
    dst = {i.uid: i for i in dest.messages['INBOX']}
    checks.eq(sorted(pairs), sorted(src), 'source UIDs recorded in the state file')
    checks.eq(sorted(pairs.values()), sorted(dst), 'destination UIDs recorded')
    wrong = ['%d -> %d' % (s, d) for s, d in sorted(pairs.items())
             if s not in src or d not in dst or compare.key(src[s]) != compare.key(dst[d])]
    checks.check(not wrong, 'recorded pairs whose messages differ (%d): %s' % (
        len(wrong), ', '.join(wrong[:10])))


@tap.test
def multiappend_is_used_and_appenduid_recorded():
    proxy = proxy_for(S['dst'])
    source = snap('src', 'many', 'source')
    checks = Checks()
    with proxy:
        job = Job(S['src'], 'many', proxy, 'multi', name='multiappend')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        checks.attach(r)
        checks.code(r, 0, 'exit code of the first run')
        checks.eq(copied(r), (MANY, str(MANY)), 'copied by the first run (report, table)')
        batches = append_literals(proxy)
        tap.diag('%d messages in %d APPEND commands: %s; %.1f s' % (
            MANY, len(batches), batches, r.seconds))
        checks.eq(sum(batches), MANY, 'messages in the APPEND commands')
        checks.check(len(batches) <= 5, '%d APPEND commands for %d messages (%s): '
                     'MULTIAPPEND not used' % (len(batches), MANY, batches))
        checks.check(max(batches or [0]) <= 100, 'an APPEND of more than 100 messages: %s'
                     % batches)
        if check_same(checks, source, 'multi', 'after the first run'):
            check_uid_pairs(checks, job, source, snap('dst', 'multi', 'destination'))

        n = len(proxy.commands('APPEND'))
        again = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        checks.attach(again)
        check_copies_nothing(checks, again, 'the immediate rerun')
        checks.eq(append_literals(proxy, n), [], 'APPENDs of the immediate rerun')

        # Flag changes must reach the copy the state names: a shifted or reordered
        # APPENDUID mapping would put them on other messages.
        changed = [1, 100, 101, 200, 201, MANY]
        with imapcheck.session(S['src'], 'many') as conn:
            uids = synctest.uids(conn, 'INBOX')
            for k in changed:
                synctest.store_flags(conn, 'INBOX', uids[k - 1], add=('\\Flagged', 'Moved-%d' % k))
        source = snap('src', 'many', 'source')
        flags = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        checks.attach(flags)
        check_copies_nothing(checks, flags, 'the rerun after flag changes')
        checks.eq(flags.totals.get('flag_updates') if flags.report else None, len(changed),
                  'flag updates of the rerun after flag changes')
        check_same(checks, source, 'multi', 'after the flag changes')

        drop_state(job)
        n = len(proxy.commands('APPEND'))
        nostate = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        checks.attach(nostate)
        check_copies_nothing(checks, nostate, 'the rerun without a state file')
        checks.eq(append_literals(proxy, n), [], 'APPENDs of the rerun without a state file')
        check_same(checks, source, 'multi', 'after the rerun without a state file')
    tp.finish(checks, proxy)


@tap.test
def batches_end_at_100_messages_or_8_mb():
    proxy = proxy_for(S['dst'])
    checks = Checks()
    with proxy:
        job = Job(S['src'], 'large', proxy, 'large', name='large')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
    checks.attach(r)
    checks.code(r, 0, 'exit code')
    batches = append_literals(proxy)
    sizes, at = [], 0
    for n in batches:
        sizes.append(sum(LARGE[at:at + n]))
        at += n
    tap.diag('%d messages (%.1f MB) in %d APPEND commands: %s, %s bytes; %.1f s' % (
        len(LARGE), sum(LARGE) / 1e6, len(batches), batches, sizes, r.seconds))
    checks.eq(sum(batches), len(LARGE), 'messages in the APPEND commands')
    checks.check(len(batches) < len(LARGE) / 2, 'MULTIAPPEND hardly used: %s' % batches)
    checks.check(all(n <= BATCH_MSGS and (b <= BATCH_BYTES or n == 1)
                     for n, b in zip(batches, sizes)),
                 'an APPEND of more than %d messages or %d bytes (a lone message may be '
                 'larger): %s, %s bytes' % (BATCH_MSGS, BATCH_BYTES, batches, sizes))
    check_same(checks, snap('src', 'large', 'source'), 'large', 'after the run')
    tp.finish(checks, proxy)


# -- ranged UID FETCH ------------------------------------------------------------------------

@tap.test
def ranged_fetch():
    proxy = proxy_for(S['src'])
    checks = Checks()
    with proxy:
        job = Job(proxy, 'many', S['dst'], 'fetch', name='ranged-fetch')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
    checks.attach(r)
    checks.code(r, 0, 'exit code')
    bodies = [e.text for e in proxy.commands()
              if e.command in ('FETCH', 'UID FETCH') and re.search(r'BODY(\.PEEK)?\[\]', e.text)]
    tap.diag('%d messages in %d body FETCH commands: %s; %.1f s' % (
        MANY, len(bodies), [re.sub(r' \(.*', '', t) for t in bodies], r.seconds))
    checks.check(all(t.split(' ', 2)[1].upper() == 'UID' for t in bodies),
                 'body FETCHes without UID: %s' % bodies)
    checks.check(1 <= len(bodies) <= 5, '%d body FETCH commands for %d messages' % (
        len(bodies), MANY))
    check_same(checks, snap('src', 'many', 'source'), 'fetch', 'after the run')
    tp.finish(checks, proxy, r)


# -- a refused message refuses its batch ------------------------------------------------------

def marked_uids(user):
    with imapcheck.session(S['src'], user) as conn:
        imapcheck.select(conn, 'INBOX')
        typ, dat = conn.uid('SEARCH', 'HEADER', 'X-Mhtest-Refuse', 'yes')
    return [int(x) for x in b' '.join(d for d in dat if d).split()]


def refused_size(proxy, refusal):
    """The number of messages of the APPEND a refusal answered: the last one the proxy saw
    on that connection before it."""
    sent = [e for e in proxy.commands('APPEND') if e.conn == refusal.conn and e.t <= refusal.t]
    return sent[-1].literals if sent else None


@tap.test
def refused_message_in_a_batch():
    rule = tp.refuse(lambda m: REFUSE_MARK in m, text=TOO_LARGE)
    proxy = proxy_for(S['dst'], [rule])
    marked = marked_uids('refuse')
    source = snap('src', 'refuse', 'source')
    expected = compare.Snapshot(source.folders, {'INBOX': [
        i for i in source.messages['INBOX'] if i.uid not in marked]}, 'source less refused')
    checks = Checks()
    checks.eq(len(marked), 1, 'marked source messages (test setup)')
    with proxy:
        job = Job(S['src'], 'refuse', proxy, 'refuse', name='refused')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        batches = append_literals(proxy)
        refusals = proxy.injections('refused')
        again = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        rerun = append_literals(proxy, len(batches))
    tap.diag('APPEND commands (messages each): %s, %d refused; rerun: %s; %.1f s' % (
        batches, len(refusals), rerun, r.seconds))
    checks.attach(r)
    checks.code(r, synctest.EXIT_REFUSED, 'exit code (README: 114, the destination refused '
                'an APPEND)')
    errors = [line for line in r.stdout.splitlines() if line.startswith('Error:')]
    for uid in marked:
        checks.check(any(re.search(r'\bUID %d\b' % uid, e) for e in errors),
                     'no Error: line names UID %d: %s' % (uid, errors))
    checks.check(all(any(re.search(r'\bUID %d\b' % u, e) for u in marked) for e in errors),
                 'Error: lines about other messages: %s' % errors)
    if r.report is not None:
        checks.eq(r.totals.get('failed'), 1, 'report totals.failed')
        checks.eq(r.totals.get('copied'), REFUSED - 1, 'report totals.copied')
    checks.eq(batches[:1], [REFUSED], 'messages in the first APPEND (one batch)')
    checks.eq([refused_size(proxy, e) for e in refusals], [REFUSED, 1],
              'messages in the refused APPENDs (the batch, then the marked one alone)')
    check_same(checks, expected, 'refuse', 'after the run')
    checks.attach(again)
    checks.code(again, synctest.EXIT_REFUSED, 'exit code of the rerun')
    checks.eq(copied(again), (0, '0'), 'copied by the rerun (report, table)')
    checks.eq(rerun, [1], 'APPENDs of the rerun: the refused message alone')
    check_same(checks, expected, 'refuse', 'after the rerun')
    tp.finish(checks, proxy)


# -- SIGKILL while a batch is on its way ------------------------------------------------------

def dst_count(conn):
    return imapcheck.status_messages(conn, 'INBOX')


def kill_when(job, user, threshold):
    """Start a run; SIGKILL it once the destination holds `threshold` messages. Returns
    (still running when killed, messages there then, SyncResult)."""
    p = job.start(*BASE)
    with imapcheck.session(S['dst'], user) as conn:
        seen, deadline = 0, time.monotonic() + 40
        while p.poll() is None and seen < threshold and time.monotonic() < deadline:
            seen = dst_count(conn)
            time.sleep(0.003)
        running = p.poll() is None
        if running:
            os.kill(p.pid, signal.SIGKILL)
        killed = job.finish(p, timeout=30)
        return running, dst_count(conn), killed


def kill_test(k, how, threshold):
    def kill_in_the_middle_of_a_batch():
        user = 'kill%d' % k
        source = S.get('big') or snap('src', 'big', 'source')
        S['big'] = source
        if how == 'direct':
            proxy = contextlib.nullcontext()
            job = Job(S['src'], 'big', S['dst'], user, name=user)
        else:
            # The destination stores the second batch, but its answer (APPENDUID) is held
            # back: the kill comes before mailhaul knows the copies exist.
            proxy = proxy_for(S['dst'], [tp.hold_answer('APPEND', 2, 30)])
            job = Job(S['src'], 'big', proxy, user, name=user)
        mark = len(S['dst'].log())
        checks = Checks()
        with proxy:
            running, at_kill, killed = kill_when(job, user, threshold)
            checks.attach(killed)
            time.sleep(0.3)  # what the server does with the batch on its way
            with imapcheck.session(S['dst'], user) as conn:
                later = dst_count(conn)
            log = S['dst'].log()[mark:]
            cut = re.findall(r'imap\(%s\)[^\n]*Disconnected[^\n]*\(While APPENDing: ([^)]*)\)'
                             % user, log)
            held = [e.text for e in proxy.select('hold')] if how == 'held' else []
            tap.diag('SIGKILL once %d of %d were on the destination: %s; %d there, %d after '
                     '0.3 s; APPEND cut off: %s; answer held: %s' % (
                         threshold, BIG, 'killed' if running else 'had finished', at_kill,
                         later, cut or 'none', held or 'none'))
            # Whether a batch was on its way: cut off (Dovecot says so), or sent whole and
            # stored after the kill; for 'held', stored with its answer held back.
            on_its_way = running and (bool(cut) or later > at_kill if how == 'direct'
                                      else bool(held))
            S.setdefault('hits', []).append((how, on_its_way))
            r = job.run(*BASE, timeout=RUN_TIMEOUT)
            checks.attach(r)
            checks.code(r, 0, 'exit code of the rerun')
            after = snap('dst', user, 'destination')
            c = compare.compare(source, after, ignore_flags=True, ignore_dates=True)
            checks.check(c.ok, 'messages lost or duplicated:\n%s' % c.text())
            if c.ok:
                full = compare.compare(source, after)
                checks.check(full.ok, 'dates or flags differ:\n%s' % full.text())
            again = job.run(*BASE, timeout=RUN_TIMEOUT)
            checks.attach(again)
            check_copies_nothing(checks, again, 'the next rerun')
            tap.diag('rerun: %s copied in %.1f s' % (copied(r)[0], r.seconds))
            if how == 'held' and checks.failures:
                checks.context.append(proxy.summary())
        checks.done()
    tap.test(kill_in_the_middle_of_a_batch, name='kill_in_the_middle_of_a_batch_%d' % (k + 1))


for _k, (_how, _threshold) in enumerate(KILLS):
    kill_test(_k, _how, _threshold)


@tap.test
def kills_hit_batches_on_their_way():
    hits = S.get('hits', [])
    direct = [hit for how, hit in hits if how == 'direct']
    held = [hit for how, hit in hits if how == 'held']
    tap.check(sum(direct) >= len(direct) - 1 and all(held),
              'kills while a batch was on its way: %d of %d direct, %d of %d with the answer '
              'held (see the diagnostics above): the kill points missed the batches' % (
                  sum(direct), len(direct), sum(held), len(held)))


# -- a server without MULTIAPPEND ------------------------------------------------------------

@tap.test
def server_without_multiappend():
    proxy = proxy_for(S['dst'], drop=('MULTIAPPEND',))
    checks = Checks()
    with proxy:
        job = Job(S['src'], 'many', proxy, 'single', name='no-multiappend')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        batches = append_literals(proxy)
        again = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        rerun = append_literals(proxy, len(batches))
    tap.diag('%d messages in %d APPEND commands; %.1f s' % (MANY, len(batches), r.seconds))
    checks.attach(r)
    checks.code(r, 0, 'exit code')
    checks.eq((len(batches), set(batches)), (MANY, {1}),
              '(APPEND commands, messages per APPEND)')
    check_same(checks, snap('src', 'many', 'source'), 'single', 'after the run')
    checks.attach(again)
    check_copies_nothing(checks, again, 'the rerun')
    checks.eq(rerun, [], 'APPENDs of the rerun')
    tp.finish(checks, proxy)


# -- the source changes under a ranged FETCH -------------------------------------------------

class Untagged(tp.Rule):
    """Records the server's untagged EXISTS, EXPUNGE and VANISHED responses and its tagged
    answers, in the order they reach the client."""

    name = 'untagged'

    def __init__(self):
        self.lines = []

    def rewrite(self, session, data, proxy):
        if re.match(rb'\* (\d+ EXISTS|\d+ EXPUNGE|VANISHED)|[^*+\s]+ (OK|NO|BAD)\b', data):
            self.lines.append(data.rstrip(b'\r\n').decode('utf-8', 'replace'))
        return data


def interleaved(lines, tags):
    """The untagged EXISTS/EXPUNGE/VANISHED lines that came before the last answer of the
    commands tagged tags."""
    ends = [i for i, line in enumerate(lines) if line.split(' ', 1)[0] in tags]
    if not ends:
        return []
    return [line for line in lines[:ends[-1]] if line.startswith('* ')]


@tap.test
def fetch_answered_with_interleaved_untagged():
    # Just before the first body FETCH reaches the server, another client expunges four
    # messages spread over the ranges (the first, two inside, the last) and adds one: the
    # server's answers then carry untagged EXPUNGE and EXISTS responses amid the FETCH
    # data, and the expunged UIDs get no body.
    with imapcheck.session(S['src'], 'churn') as conn:
        uids = synctest.uids(conn, 'INBOX')
    gone = [uids[0], uids[60], uids[150], uids[-1]]
    new = imapcheck.make_message(4999, size=3000)

    def change_source(cmd):
        with imapcheck.session(S['src'], 'churn') as conn:
            synctest.expunge_uids(conn, 'INBOX', gone)
            imapcheck.append(conn, 'INBOX', new, ('\\Seen',), imapcheck.DEFAULT_DATE)
        return 'expunged UIDs %s, appended one' % gone

    seen = Untagged()
    proxy = proxy_for(S['src'], [tp.before('UID FETCH', change_source,
                                           match=rb'BODY\.PEEK\[\]'), seen])
    checks = Checks()
    with proxy:
        job = Job(proxy, 'churn', S['dst'], 'churn', name='churn')
        r = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
        checks.attach(r)
        checks.eq(len(proxy.select('before')), 1,
                  'source changes made before the first body FETCH')
        checks.code(r, 0, 'exit code')
        source = snap('src', 'churn', 'source')
        added = [i for i in source.messages['INBOX'] if i.uid > uids[-1]]
        checks.eq(len(added), 1, 'messages added on the source (test setup)')
        planned = compare.Snapshot(source.folders, {'INBOX': [
            i for i in source.messages['INBOX'] if i not in added]}, 'source less the new one')
        check_same(checks, planned, 'churn', 'after the run')
        if r.report is not None:
            skipped = {s.get('uid'): s.get('reason')
                       for s in r.folder('INBOX').get('skipped', [])}
            checks.eq(sorted(skipped), sorted(gone), 'UIDs the report lists as skipped')
            checks.check(all('vanished' in (v or '') for v in skipped.values()),
                         'reasons given for the expunged messages: %s' % skipped)
            checks.eq(r.totals.get('copied'), CHURN - len(gone), 'report totals.copied')
        fetches = [e.text.split(' (')[0] for e in proxy.commands('UID FETCH')
                   if 'BODY.PEEK[]' in e.text]
        amid = interleaved(seen.lines, {f.split(' ', 1)[0] for f in fetches})
        tap.diag('body FETCHes: %s; untagged before their last answer: %s; %.1f s' % (
            fetches, amid, r.seconds))
        checks.check(any('EXISTS' in x for x in amid) and
                     any('EXPUNGE' in x or 'VANISHED' in x for x in amid),
                     'the server sent no EXISTS and EXPUNGE (or VANISHED) amid the body '
                     'FETCHes: %s' % seen.lines)
        again = tp.run(job, proxy, *BASE, timeout=RUN_TIMEOUT)
    checks.attach(again)
    checks.code(again, 0, 'exit code of the rerun')
    checks.eq(copied(again), (1, '1'), 'copied by the rerun (the new message)')
    check_same(checks, source, 'churn', 'after the rerun')
    tp.finish(checks, proxy)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
