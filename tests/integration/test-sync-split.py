#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One big folder copied over several connection pairs, between two real Dovecots ('/' source,
'.' destination): an INBOX of 4,000 small messages next to three small folders. The hidden
option --split-min (for tests only) lowers the size from which a folder's copy is split, which
is otherwise far above a test folder's. The destination's own log (Dovecot's mail_log plugin)
says which sessions stored messages into INBOX; the independent imaplib checker
(mhtest.compare) says whether the destination equals the source: every message once, with its
bytes, INTERNALDATE and flags. Cases: the split copy, its rerun (copies nothing), a SIGKILL in
the middle of a split copy and a rerun (identical, nothing twice), a rerun that finds 1,500 new
messages (narrow: no UID SEARCH of the source, and still split), --jobs 1 (one session), and a
copy into a destination INBOX that already holds 15,000 messages, which gets fewer and bigger
MULTIAPPENDs (counted in the wire log's APPENDUID answers), and a copy out of a source INBOX
of 15,000 messages, which is fetched in fewer and bigger body FETCHes (counted in the wire
log)."""
import contextlib
import os
import random
import re
import signal
import time

from mhtest import certs, compare, dovecot, imapcheck, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Split-src-pw-5521', 'Split-dst-pw-5522'
BIG = 4000
HELD = 15000  # messages already in the destination INBOX of 'grow'
WIDE = 15000  # messages in the source INBOX of 'wide'
SPLIT = ('--jobs', '4', '--split-min', '1000')
# Every message the destination stores is logged with its session and folder.
MAIL_LOG = 'plugin {\n  mail_log_events = save\n  mail_log_fields = uid box\n}\n'
# Dovecot 2.3.19's imap-login in high-performance mode can panic after a client is killed
# mid-session (see test-sync-crash.py): one login process per connection.
LOGIN_PER_CONNECTION = 'service imap-login {\n  service_count = 1\n  process_min_avail = 4\n}\n'
S = {}


def messages(n, first, rng):
    out = []
    for i in range(first, first + n):
        flags = ('\\Seen',) if i % 3 == 0 else ('\\Flagged', '$Work') if i % 7 == 0 else ()
        out.append(imapcheck.Mail(imapcheck.make_message(i, size=rng.randint(2000, 4000)),
                                  flags))
    return out


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'big': PW1, 'wide': PW1, 'late': PW1}, separator='/',
                              extra_conf=LOGIN_PER_CONNECTION)
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in ('split', 'one', 'kill', 'grow',
                                                           'wide', 'late')},
                              separator='.', mail_plugins=('notify', 'mail_log'),
                              extra_conf=MAIL_LOG + LOGIN_PER_CONNECTION)
        with dovecot.running(src, dst):
            rng = random.Random(5521)
            src.preload_fast('big', {'INBOX': messages(BIG, 1, rng),
                                     'Work': messages(40, 10001, rng),
                                     'Work/2020': messages(25, 10101, rng),
                                     'Lists': messages(15, 10201, rng)})
            dst.preload_fast('grow', {'INBOX': messages(HELD, 50001, rng)})
            src.preload_fast('wide', {'INBOX': messages(WIDE, 70001, rng)})
            # Opened read-write once, as by the user's mail program: loaded messages are
            # all \\Recent, and while they are each read-only FETCH costs Dovecot a re-read
            # of the folder's file list (see docs/internals/performance.md).
            with imapcheck.session(src, 'wide') as conn:
                imapcheck.select(conn, 'INBOX', readonly=False)
            S.update(src=src, dst=dst, source=compare.take(src, 'big', label='source'))
            yield


def dst_log_size():
    try:
        return os.path.getsize(S['dst'].log_path)
    except OSError:
        return 0


def inbox_sessions(user, since=0):
    """The destination sessions of @user that stored messages into INBOX (after byte
    @since of the destination's log), each with how many."""
    pattern = re.compile(r'imap\(%s\)<\d+><([^>]+)>: Info: save: .*box=INBOX\b' % user)
    sessions = {}
    with open(S['dst'].log_path, errors='replace') as f:
        f.seek(since)
        for line in f:
            m = pattern.search(line)
            if m:
                sessions[m.group(1)] = sessions.get(m.group(1), 0) + 1
    return sessions


def check_identical(checks, user, r, what):
    after = compare.take(S['dst'], user, label='%s on the destination' % user)
    c = compare.compare(S['source'], after)
    checks.check(c.ok, '%s: the destination differs from the source:\n%s' % (what, c.text()))
    if not c.ok:
        checks.attach(r)
    return after


def report_folder(r, name):
    for f in (r.report or {}).get('folders', []):
        if f.get('source') == name:
            return f
    return {}


@tap.test
def big_folder_goes_over_several_connections():
    job = Job(S['src'], 'big', S['dst'], 'split', name='split')
    S['split_job'] = job
    since = dst_log_size()
    r = job.run(*SPLIT)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    sessions = inbox_sessions('split', since)
    tap.diag('sessions that stored into INBOX: %s' % sorted(sessions.values()))
    checks.check(2 <= len(sessions) <= 4, 'expected 2 to 4 destination sessions storing into '
                 'INBOX (--jobs 4), saw %d: %s' % (len(sessions), sessions))
    checks.eq(sum(sessions.values()), BIG, 'messages stored into INBOX, by all sessions')
    checks.check('UID ranges' in r.everything_said(), 'the log does not say the copy was split')
    check_identical(checks, 'split', r, 'after the split copy')
    # Each message is counted once, whichever connection copied it.
    checks.eq(r.totals.get('copied') if r.report else None, S['source'].count(),
              'report totals.copied')
    checks.eq(report_folder(r, 'INBOX').get('copied'), BIG, 'report INBOX copied')
    checks.eq(r.totals.get('missing') if r.report else None, 0, 'report totals.missing')
    checks.done()


@tap.test
def rerun_after_split_copies_nothing():
    job = S.get('split_job') or tap.fail('the split copy did not run')
    since = dst_log_size()
    r = job.run(*SPLIT)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    checks.eq(r.totals.get('copied') if r.report else None, 0, 'copied by the rerun')
    checks.eq(inbox_sessions('split', since), {}, 'sessions that stored into INBOX')
    check_identical(checks, 'split', r, 'after the rerun')
    checks.done()


@tap.test
def new_mail_enough_to_split_is_copied_by_a_narrow_rerun():
    """A rerun that finds 1,500 new messages in an INBOX it copied before: the counters
    prove the older messages mapped (no UID SEARCH of the source: the narrow pass of
    sync-folder-list.c), the copy of the new ones is still split over several connections,
    and the destination's counters afterwards account for every copy, whichever connection
    made it, so the next run skips the folder."""
    src, dst = S['src'], S['dst']
    rng = random.Random(8817)
    src.preload_fast('late', {'INBOX': messages(200, 90001, rng)})
    job = Job(src, 'late', dst, 'late', name='late')
    checks = Checks()
    r = job.run(*SPLIT)
    checks.attach(r)
    checks.code(r, 0, 'first copy')
    src.preload_fast('late', {'INBOX': messages(1500, 91001, rng)})
    with imapcheck.session(src, 'late') as conn:
        imapcheck.select(conn, 'INBOX', readonly=False)
    since = dst_log_size()
    r = job.run(*SPLIT, '--debug', 'wire')
    checks.attach(r)
    checks.code(r, 0, 'rerun after 1,500 new messages')
    checks.eq(r.totals.get('copied') if r.report else None, 1500, 'copied by the rerun')
    checks.check('UID ranges' in r.everything_said(), 'the log does not say the copy was split')
    sessions = inbox_sessions('late', since)
    checks.check(len(sessions) >= 2, 'destination sessions storing into INBOX: %s' % sessions)
    checks.eq(re.findall(r'host1\S* C: \S+ UID SEARCH .*', r.stderr), [],
              'UID SEARCH commands to the source')
    c = compare.compare(compare.take(src, 'late', label='late on the source'),
                        compare.take(dst, 'late', label='late on the destination'))
    checks.check(c.ok, 'the independent checker disagrees:\n' + c.text())
    again = job.run(*SPLIT)
    checks.attach(again)
    checks.code(again, 0, 'next run')
    checks.eq((again.table.get('INBOX') or [None] * 5)[4], 'unchanged',
              'Copied cell of INBOX in the next run')
    checks.done()


@tap.test
def sigkill_during_split_copy_then_rerun_is_identical():
    job = Job(S['src'], 'big', S['dst'], 'kill', name='kill')
    since = dst_log_size()
    p = job.start(*SPLIT)
    # Killed once two sessions have stored into INBOX: the split copy is under way.
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        if len(inbox_sessions('kill', since)) >= 2:
            break
        time.sleep(0.02)
    hit = p.poll() is None
    if hit:
        os.kill(p.pid, signal.SIGKILL)
    r1 = job.finish(p, timeout=60)
    stored = sum(inbox_sessions('kill', since).values())
    tap.diag('SIGKILL %s, %d messages in INBOX by then' % (
        'sent' if hit else 'not sent (the run had ended)', stored))
    checks = Checks()
    checks.attach(r1)
    checks.check(hit, 'the run ended before two sessions had stored into INBOX')
    checks.eq(r1.code, -signal.SIGKILL, 'exit of the killed run')
    checks.check(stored < BIG, 'the killed run had copied all of INBOX (%d)' % stored)
    r = job.run(*SPLIT)
    checks.attach(r)
    checks.code(r, 0, 'exit code of the run after the kill')
    check_identical(checks, 'kill', r, 'after SIGKILL and a rerun')
    again = job.run(*SPLIT)
    checks.code(again, 0, 'exit code of the next rerun')
    checks.eq(again.totals.get('copied') if again.report else None, 0,
              'copied by the next rerun')
    checks.done()


@tap.test
def one_job_never_splits():
    job = Job(S['src'], 'big', S['dst'], 'one', name='one')
    since = dst_log_size()
    r = job.run('--jobs', '1', '--split-min', '1000')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    sessions = inbox_sessions('one', since)
    checks.eq(len(sessions), 1, 'destination sessions that stored into INBOX')
    checks.check('UID ranges' not in r.everything_said(), 'the log says the copy was split')
    check_identical(checks, 'one', r, 'after the copy with --jobs 1')
    checks.done()


@tap.test
def a_big_destination_folder_gets_bigger_multiappends():
    before = compare.take(S['dst'], 'grow', folders=['INBOX'], label='grow before')
    job = Job(S['src'], 'big', S['dst'], 'grow', name='grow')
    r = job.run('--jobs', '1', '--debug', 'wire')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    # One APPENDUID answer per APPEND command (the wire log leaves out its UIDs): 100
    # messages per MULTIAPPEND would take 40 commands for the 4,000 of INBOX, one per
    # hundred the folder holds (150 to 190 here) takes 21 to 27; the three small folders
    # take one each.
    appends = len(re.findall(r'host2 S: \S+ OK \[APPENDUID\]', r.stderr))
    tap.diag('APPEND commands: %d' % appends)
    checks.check(20 <= appends <= 32, 'expected 20 to 32 APPEND commands for %d messages into '
                 'a folder of %d and 80 into small ones, saw %d' % (BIG, HELD, appends))
    after = compare.take(S['dst'], 'grow', folders=['INBOX'], label='grow after')
    old = {i.uid for i in before.messages['INBOX']}
    kept = [i for i in after.messages['INBOX'] if i.uid in old]
    checks.eq(kept, before.messages['INBOX'], 'the messages the destination held before')
    fd = compare.diff_folder('INBOX', 'INBOX', S['source'].messages['INBOX'],
                             [i for i in after.messages['INBOX'] if i.uid not in old])
    checks.check(fd.ok, 'the new messages differ from the source INBOX:\n%s' % fd.text())
    # The APPENDUID ranges were recorded: a rerun copies nothing.
    r = job.run('--jobs', '1')
    checks.attach(r)
    checks.code(r, 0)
    checks.eq(r.totals.get('copied') if r.report else None, 0, 'copied by the rerun')
    checks.done()


@tap.test
def a_big_source_folder_is_fetched_in_bigger_commands():
    source = compare.take(S['src'], 'wide', label='wide on the source')
    job = Job(S['src'], 'wide', S['dst'], 'wide', name='wide')
    r = job.run('--jobs', '1', '--debug', 'wire')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    # One body per five messages the folder holds (3,000 here) in each FETCH: 5 commands,
    # where 2,000 bodies per FETCH would take 8.
    sets = re.findall(r'host1 C: \S+ UID FETCH (\S+) \(UID BODY\.PEEK\[\]\)', r.stderr)
    sizes = [sum(int(b) - int(a) + 1 if ':' in run else 1
                 for run in s.split(',') for a, _, b in [run.partition(':')])
             for s in sets]
    tap.diag('bodies per FETCH: %s' % sizes)
    checks.eq(sizes, [WIDE // 5] * 5, 'bodies asked for in each FETCH')
    # INBOX's counters are asked before any LIST on the connection, and no LIST asks
    # STATUS: after a LIST, Dovecot syncs INBOX in full at each open (see imap_store_list).
    wire = re.findall(r'host1 C: \S+ (LIST|STATUS) (.*)', r.stderr)
    first_list = next((i for i, (verb, _) in enumerate(wire) if verb == 'LIST'), None)
    checks.check(first_list is not None and ('STATUS', wire[0][1]) == wire[0] and
                 wire[0][1].startswith('INBOX '),
                 'the first listing command on the source is not STATUS INBOX: %s' % wire[:3])
    checks.check(not any('STATUS' in args for verb, args in wire if verb == 'LIST'),
                 'a LIST asked for STATUS: %s' % [a for v, a in wire if v == 'LIST'])
    after = compare.take(S['dst'], 'wide', label='wide on the destination')
    c = compare.compare(source, after)
    checks.check(c.ok, 'the destination differs from the source:\n%s' % c.text())
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
