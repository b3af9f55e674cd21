#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Operator mistakes `mailhaul sync` must survive, against real Dovecot ('/' source, '.'
destination):

- the same mailbox on both sides (a copy-pasted --host2 line, the same server through
  `localhost` and `127.0.0.1`, or through its two ports) is refused with exit 64 before
  anything is written, also with --delete1 and --delete2; `verify` runs and warns;
- two runs of one account pair at once (overlapping cron jobs): the second exits 75 naming
  the holder, or waits with --wait-lock and then copies nothing; the destination ends
  identical to the source, without a duplicate; a lock left by a run killed with SIGKILL
  does not block the next run;
- two pairs through one host on different ports (SSH tunnels) get two state files, and a
  state file under mailhaul 0.1's name (without the ports) is renamed once, nothing lost.

The first runs are slowed with --pace so that the second starts while the first is copying.
Checked with the independent imaplib checker (mhtest.compare)."""
import contextlib
import glob
import hashlib
import os
import signal
import time

from mhtest import certs, cli, compare, corpus, dovecot, imapcheck, tap
from mhtest.synctest import Checks, Job, status

PW1, PW2, PW3 = 'Safety-src-pw-5501', 'Safety-dst-pw-5502', 'Safety-src2-pw-5503'
EXIT_USAGE = 64
EXIT_LOCKED = 75
SEED = 5150
# About 150 messages at 25 a second on one connection: a first run of about six seconds.
SLOW = ('--pace', '25', '--jobs', '1')
S = {}

# One login process per connection: a client killed mid-session (SIGKILL below) cannot
# disturb the other connections (see test-sync-crash.py).
LOGIN_PER_CONNECTION = 'service imap-login {\n  service_count = 1\n  process_min_avail = 4\n}\n'


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in (
            'alice', 'copy', 'big', 'tw', 'twin')},
            separator='/', extra_conf=LOGIN_PER_CONNECTION)
        src2 = dovecot.Dovecot(pki, users={'tw': PW3, 'twin': PW3}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in (
            'overlap', 'waiter', 'killed', 'tw', 'old')},
            separator='.', extra_conf=LOGIN_PER_CONNECTION)
        with dovecot.running(src, src2, dst):
            small = corpus.generate(seed=SEED, scale=30, special=False)
            big = corpus.generate(seed=SEED + 1, scale=150, special=False)
            corpus.load(src, 'alice', small.folders)
            corpus.load(src, 'tw', small.folders)
            corpus.load(src, 'big', big.folders)
            corpus.load(src2, 'tw', corpus.generate(seed=SEED + 2, scale=20,
                                                    special=False).folders)
            S.update(src=src, src2=src2, dst=dst,
                     big=compare.take(src, 'big', label='source big'))
            yield


def state_home():
    return os.path.join(cli.environment()['XDG_STATE_HOME'], 'mailhaul', 'state')


def replace_arg(args, option, value):
    args = list(args)
    args[args.index(option) + 1] = value
    return args


def assert_untouched(checks, before, server, user, what):
    after = compare.take(S[server], user, label='%s after' % user)
    checks.check(before.same_as(after), '%s changed the mailbox:\n%s' % (
        what, before.diff_text(after)))


def check_same_as_source(checks, user, what):
    after = compare.take(S['dst'], user, label='%s on the destination' % user)
    c = compare.compare(S['big'], after)
    checks.check(c.ok, '%s: the destination differs from the source:\n%s' % (what, c.text()))


# -- the same mailbox on both sides ----------------------------------------------------------

@tap.test
def same_account_is_refused_before_any_change():
    src = S['src']
    before = compare.take(src, 'alice', label='alice before')
    checks = Checks()
    for extra in (('--delete1',), ('--delete2',), ()):
        job = Job(src, 'alice', src, 'alice', name='same')
        r = job.run(*extra)
        checks.attach(r)
        checks.code(r, EXIT_USAGE, 'exit code with %s' % (' '.join(extra) or 'no option'))
        errors = r.error_lines
        checks.eq(len(errors), 1, 'error lines with %s' % ' '.join(extra))
        checks.check(any('same mailbox' in e for e in errors),
                     'the error does not say the two sides are the same mailbox: %r' % errors)
        checks.check(not os.path.exists(job.state),
                     'a state database was written: %s' % job.state)
        assert_untouched(checks, before, 'src', 'alice', 'sync %s' % ' '.join(extra))
    checks.done()


@tap.test
def same_server_through_localhost_and_127_0_0_1_is_refused():
    src = S['src']
    before = compare.take(src, 'alice', label='alice before')
    job = Job(src, 'alice', src, 'alice', name='names')
    args = replace_arg(job.args('--delete1'), '--host2', 'localhost')
    r = cli.run(args, timeout=120)
    checks = Checks()
    checks.attach(r)
    checks.code(r, EXIT_USAGE)
    checks.check('same address, port and user' in r.stderr,
                 'the error does not say how it decided:\n%s' % r.stderr)
    assert_untouched(checks, before, 'src', 'alice', 'sync through two names')
    checks.done()


@tap.test
def same_server_through_two_ports_is_refused():
    """Two ports of one server (as two SSH tunnels would be): decided by what it says."""
    src = S['src']
    before = compare.take(src, 'alice', label='alice before')
    job = Job(src, 'alice', src, 'alice', mode1='ssl', mode2='tls', name='ports')
    r = job.run('--delete1')
    checks = Checks()
    checks.attach(r)
    checks.code(r, EXIT_USAGE)
    checks.check('same mailbox' in r.stderr and 'INBOX has the same X-GUID' in r.stderr,
                 'the error does not say how it decided:\n%s' % r.stderr)
    assert_untouched(checks, before, 'src', 'alice', 'sync through two ports')
    checks.done()


TWIN_ITEMS = 'UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ'


def greeting(server, user):
    conn = server.imap_client(user)
    try:
        return conn.welcome
    finally:
        conn.logout()


@tap.test
def two_servers_whose_inboxes_look_alike_are_not_refused():
    """Two Dovecots, one user name, only an INBOX, both created with one UIDVALIDITY (as
    two fresh accounts first touched in the same second are): after a complete copy every
    counter agrees, and only the servers' own mailbox identifiers tell them apart."""
    src, dst = S['src'], S['src2']
    corpus.load(src, 'twin', {'INBOX': corpus.new_messages(SEED + 3, 12)}, fast=False)
    for server in (src, dst):
        server.doveadm('mailbox', 'create', '-u', 'twin', 'INBOX', check=False)
        server.doveadm('mailbox', 'update', '-u', 'twin', '--uid-validity', '1700000000',
                       'INBOX')
    job = Job(src, 'twin', dst, 'twin', name='twin')
    first = job.run()
    checks = Checks()
    checks.attach(first)
    checks.code(first, 0, 'exit code of the first run')
    # The counters the check would otherwise go by, made equal where the copy left them
    # apart (HIGHESTMODSEQ counts each side's own changes).
    counters = []
    for server in (src, dst):
        with imapcheck.session(server, 'twin') as conn:
            counters.append(status(conn, 'INBOX', TWIN_ITEMS))
    for server in (src, dst):
        server.doveadm('mailbox', 'update', '-u', 'twin', '--min-highest-modseq',
                       str(max(c['HIGHESTMODSEQ'] for c in counters)), 'INBOX')
    counters = []
    for server in (src, dst):
        with imapcheck.session(server, 'twin') as conn:
            counters.append(status(conn, 'INBOX', TWIN_ITEMS))
    tap.diag('INBOX on each side before the rerun: %r' % counters)
    checks.check(counters[0] == counters[1] and counters[0]['MESSAGES'] == 12,
                 'the two INBOXes do not look alike, so the case is not tested: %r' % counters)
    checks.eq(greeting(src, 'twin'), greeting(dst, 'twin'), 'the two servers\' greetings')
    again = job.run()
    checks.attach(again)
    checks.code(again, 0, 'exit code of the rerun')
    checks.check('same mailbox' not in again.stderr,
                 'two servers were taken for one mailbox:\n%s' % again.stderr)
    checks.eq(again.totals.get('copied') if again.report else None, 0, 'copied by the rerun')
    c = compare.compare_servers(src, 'twin', dst, 'twin')[0]
    checks.check(c.ok, 'the copy differs:\n%s' % c.text())
    checks.done()


@tap.test
def another_account_on_the_same_server_is_not_refused():
    job = Job(S['src'], 'alice', S['src'], 'copy', name='other')
    r = job.run()
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    c = compare.compare_servers(S['src'], 'alice', S['src'], 'copy')[0]
    checks.check(c.ok, 'the copy differs:\n%s' % c.text())
    checks.done()


@tap.test
def verify_of_a_mailbox_with_itself_warns():
    job = Job(S['src'], 'alice', S['src'], 'alice', name='verify')
    r = job.run(command='verify', state=False)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0)
    checks.check(any('same mailbox' in w for w in r.warning_lines),
                 'no warning that both sides are one mailbox:\n%s' % r.stderr)
    checks.done()


# -- one run per account pair ----------------------------------------------------------------

def start_and_wait_running(job, *extra):
    p = job.start(*extra)
    time.sleep(1.0)
    tap.check(p.poll() is None, 'the first run ended within a second (exit %s): the corpus '
              'is too small to overlap' % p.returncode)
    return p


@tap.test
def overlapping_run_is_refused_and_names_the_holder():
    job = Job(S['src'], 'big', S['dst'], 'overlap', name='overlap')
    first = start_and_wait_running(job, *SLOW)
    second = job.run()
    r1 = job.finish(first)
    checks = Checks()
    checks.attach(second)
    checks.attach(r1)
    checks.code(second, EXIT_LOCKED, 'exit code of the second run')
    errors = second.error_lines
    checks.eq(len(errors), 1, 'error lines of the second run')
    checks.check(any('pid %d' % first.pid in e and 'since' in e for e in errors),
                 'the second run does not name the holder (pid %d): %r' % (first.pid, errors))
    checks.code(r1, 0, 'exit code of the first run')
    check_same_as_source(checks, 'overlap', 'after two overlapping runs')
    checks.done()


@tap.test
def wait_lock_waits_then_copies_nothing():
    job = Job(S['src'], 'big', S['dst'], 'waiter', name='waiter')
    first = start_and_wait_running(job, *SLOW)
    second = job.start('--wait-lock')
    r1 = job.finish(first)
    r2 = job.finish(second)
    checks = Checks()
    checks.attach(r1)
    checks.attach(r2)
    checks.code(r1, 0, 'exit code of the first run')
    checks.code(r2, 0, 'exit code of the waiting run')
    checks.check(any('waiting' in w for w in r2.warning_lines),
                 'the second run did not say it waits:\n%s' % r2.stderr)
    checks.eq(r2.totals.get('copied') if r2.report else None, 0, 'copied by the waiting run')
    check_same_as_source(checks, 'waiter', 'after a run that waited')
    checks.done()


@tap.test
def lock_of_a_killed_run_does_not_block():
    job = Job(S['src'], 'big', S['dst'], 'killed', name='killed')
    p = start_and_wait_running(job, *SLOW)
    os.kill(p.pid, signal.SIGKILL)
    job.finish(p)
    lock = job.state + '.lock'
    with open(lock) as f:
        left = f.read()
    tap.diag('the killed run left %r in its lock file' % left)
    r = job.run()
    checks = Checks()
    checks.attach(r)
    checks.check(('pid %d' % p.pid) in left, 'the lock file did not name the killed run')
    checks.code(r, 0, 'exit code of the run after the kill')
    check_same_as_source(checks, 'killed', 'after SIGKILL and a rerun')
    checks.done()


# -- state files -----------------------------------------------------------------------------

def legacy_name(user1, host1, user2, host2):
    """mailhaul 0.1's default state file name (plain names only)."""
    h = hashlib.sha256()
    for part in (user1, host1, user2, host2):
        h.update(part.encode() + b'\0')
    return '%s@%s_to_%s@%s-%s.db' % (user1, host1, user2, host2, h.hexdigest()[:16])


def state_files():
    return set(glob.glob(os.path.join(state_home(), '*.db')))


@tap.test
def two_pairs_through_one_host_get_two_state_files():
    """src:tw -> dst:tw and src2:tw -> dst:tw, every server 127.0.0.1: only ports differ."""
    checks = Checks()
    before = state_files()
    a = Job(S['src'], 'tw', S['dst'], 'tw', name='pair-a')
    b = Job(S['src2'], 'tw', S['dst'], 'tw', name='pair-b')
    ra = a.run(state=False)
    rb = b.run(state=False)
    for r in (ra, rb):
        checks.attach(r)
        checks.code(r, 0)
    new = state_files() - before
    checks.eq(len(new), 2, 'new state files (%s)' % sorted(os.path.basename(n) for n in new))
    checks.check(not any('UIDVALIDITY' in w for w in rb.warning_lines),
                 'the second pair saw the first pair\'s state:\n%s' % rb.stderr)
    again = b.run(state=False)
    checks.attach(again)
    checks.eq(again.totals.get('copied') if again.report else None, 0,
              'copied by a rerun of the second pair')
    checks.done()


@tap.test
def state_file_under_the_old_name_is_renamed_once():
    src, dst = S['src'], S['dst']
    old = os.path.join(state_home(), legacy_name('tw', src.host, 'old', dst.host))
    job = Job(src, 'tw', dst, 'old', name='old')
    os.makedirs(state_home(), exist_ok=True)
    first = job.run('--state', old, state=False)
    checks = Checks()
    checks.attach(first)
    checks.code(first, 0, 'exit code of the run with the old name')
    checks.check(os.path.exists(old), 'no state written under the old name %s' % old)
    before = state_files()
    r = job.run(state=False)
    checks.attach(r)
    checks.code(r, 0, 'exit code of the run that renames')
    checks.check(not os.path.exists(old), 'the old state file is still there')
    new = state_files() - before
    checks.eq(len(new), 1, 'state files the rename made')
    with open(r.log_path, errors='replace') as f:
        renamed = [line for line in f if 'renamed' in line]
    checks.eq(len(renamed), 1, 'log lines about the rename')
    checks.eq(r.totals.get('copied') if r.report else None, 0,
              'copied after the rename (the state was kept)')
    checks.eq(sum(f.get('already_present', 0) for f in r.report.get('folders', []))
              if r.report else None, 0,
              'matched by fingerprint after the rename (the state was kept)')
    again = job.run(state=False)
    checks.attach(again)
    checks.eq(state_files() - before, new, 'state files after one more run')
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
