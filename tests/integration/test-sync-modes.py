#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` modes and hard cases against real Dovecot ('/' source, '.' destination):
--delete2, --delete2folders, --delete1, --maxsize, a destination over quota (Dovecot's quota
plugin refuses the APPEND), a changed UIDVALIDITY on either side, --justfolders, a 20 MB
attachment, a --folder / --include that selects nothing and a wrong password on either side.
Checked with the independent imaplib checker (mhtest.compare)."""
import contextlib
import re

from mhtest import certs, cli, compare, corpus, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Modes-src-pw-5150', 'Modes-dst-pw-6160'
SEED = 7331
S = {}
SOURCE_USERS = ('d2', 'd1', 'd1k', 'max', 'quota', 'uv', 'jf', 'big', 'dk', 'bud', 'bud2',
                'bud3', 'sel')


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in SOURCE_USERS}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in SOURCE_USERS}, separator='.')
        quota = dovecot.Dovecot(pki, users={'quota': PW2}, separator='.', quota='1M')
        with dovecot.running(src, dst, quota):
            S.update(src=src, dst=dst, quota=quota)
            base = corpus.generate(seed=SEED, scale=80, mix=corpus.SMALL_MIX)
            S['base'] = base
            for user in ('d2', 'd1', 'd1k', 'uv', 'jf', 'dk', 'bud'):
                corpus.load(src, user, base.folders)
            yield


def snap(server, user, label=None):
    return compare.take(S[server], user, label=label or '%s on %s' % (user, server))


def must_equal(src_snap, dst_snap, what, r=None, **kw):
    c = compare.compare(src_snap, dst_snap, **kw)
    if not c.ok:
        tap.fail('%s: the destination differs from the source:\n%s%s' % (
            what, c.text(), '\n\n%s' % r if r is not None else ''))


def expect_code(r, code, what='exit code'):
    if r.code != code:
        tap.fail('%s: expected %s, got %s\n%s' % (what, code, r.code, r))


def without(snapshot, drop):
    """A copy of snapshot without the messages for which drop(folder, item) is true."""
    return compare.Snapshot(snapshot.folders,
                            {f: [i for i in items if not drop(f, i)]
                             for f, items in snapshot.messages.items()}, snapshot.label)


# -- --delete2 and --delete2folders -----------------------------------------------------------

@tap.test
def delete2_removes_what_the_source_no_longer_has():
    src, dst = S['src'], S['dst']
    job = Job(src, 'd2', dst, 'd2', name='delete2')
    expect_code(job.run(), 0, 'first run')
    source = snap('src', 'd2')
    gone = [('INBOX', source.messages['INBOX'][3]),
            ('Lists/dovecot', source.messages['Lists/dovecot'][0])]
    with imapcheck.session(src, 'd2') as conn:
        for folder, item in gone:
            synctest.expunge_uids(conn, folder, [item.uid])
    strangers = synctest.add_messages(dst, 'd2', {
        'INBOX': corpus.new_messages(SEED + 1, 1),
        'Work.Clients': corpus.new_messages(SEED + 2, 1),
        'Stray.Folder': corpus.new_messages(SEED + 3, 1),
        'Stray2': corpus.new_messages(SEED + 11, 1)})
    deleted_flagged = source.find(lambda f, i: '\\Deleted' in i.flags)
    tap.check(deleted_flagged, 'the corpus should have messages flagged \\Deleted')
    source = snap('src', 'd2')
    r = job.run('--delete2')
    expect_code(r, 0, '--delete2')
    after = snap('dst', 'd2')
    checks = Checks()
    checks.attach(r)
    c = compare.compare(source, after, strict_folders=False)
    checks.check(c.ok, 'after --delete2:\n' + c.text())
    checks.eq(r.folder('INBOX')['deleted_on_destination'], 2, 'INBOX deleted_on_destination')
    checks.eq(r.folder('Lists/dovecot')['deleted_on_destination'], 1,
              'Lists/dovecot deleted_on_destination')
    checks.eq(r.folder('Work/Clients')['deleted_on_destination'], 1,
              'Work/Clients deleted_on_destination')
    checks.eq(r.totals.get('copied'), 0, 'copied by --delete2 run')
    stray = after.messages.get('Stray.Folder')
    checks.eq([i.sha256 for i in stray or []], [strangers['Stray.Folder'][0].sha256],
              'a destination-only folder stays (with its message) without --delete2folders')
    # Messages flagged \Deleted on the source are still on the source, so they stay.
    have = {i.sha256 for items in after.messages.values() for i in items}
    checks.eq([i.subject for f, i in deleted_flagged if i.sha256 not in have], [],
              '\\Deleted-flagged source messages missing on the destination after --delete2')
    checks.done()
    r = job.run('--delete2', '--delete2folders')
    after = snap('dst', 'd2')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, '--delete2 --delete2folders')
    c = compare.compare(source, after)
    checks.check(c.ok, 'after --delete2folders:\n' + c.text())
    for name in ('Stray.Folder', 'Stray2'):
        checks.check(name not in after.messages, '%s still on the destination' % name)
        checks.check(name in ((r.report or {}).get('deleted_folders') or []),
                     'report deleted_folders lacks %s: %r' % (
                         name, (r.report or {}).get('deleted_folders')))
    checks.done()


# -- --delete1 ------------------------------------------------------------------------------

@tap.test
def delete1_moves_every_message():
    src, dst = S['src'], S['dst']
    before = snap('src', 'd1')
    job = Job(src, 'd1', dst, 'd1', name='delete1')
    r = job.run('--delete1')
    expect_code(r, 0, '--delete1')
    must_equal(before, snap('dst', 'd1'), 'after --delete1', r)
    left = {f: n for f, n in snap('src', 'd1').messages.items() if n}
    tap.eq({f: len(n) for f, n in left.items()}, {}, 'messages left on the source')
    tap.eq(sum(f['deleted_on_source'] for f in r.report['folders']), before.count(),
           'report deleted_on_source')


@tap.test
def delete1_keeps_what_was_not_copied():
    src, dst = S['src'], S['dst']
    extra = corpus.new_messages(SEED + 4, 2, mix=((1, 150000, 160000, 'attachment'),))
    synctest.add_messages(src, 'd1k', {'Work/Clients': extra[:1], 'INBOX': extra[1:]})
    before = snap('src', 'd1k')
    big = before.find(lambda f, i: i.size > 100000)
    tap.eq(len(big), 2, 'messages over 100000 bytes on the source')
    job = Job(src, 'd1k', dst, 'd1k', name='delete1-maxsize')
    r = job.run('--delete1', '--maxsize', '100000')
    left = snap('src', 'd1k')
    tap.eq(sorted((f, i.sha256) for f, items in left.messages.items() for i in items),
           sorted((f, i.sha256) for f, i in big),
           'what --delete1 --maxsize 100000 left on the source (only the skipped ones)\n%s' % r)
    is_big = {i.sha256 for _f, i in big}
    must_equal(without(before, lambda f, i: i.sha256 in is_big), snap('dst', 'd1k'),
               'after --delete1 --maxsize', r)


# -- --maxsize ------------------------------------------------------------------------------

@tap.test
def maxsize_skips_and_reports():
    src, dst = S['src'], S['dst']
    c = corpus.generate(seed=SEED + 5, scale=40, mix=corpus.SMALL_MIX,
                        extra=[(3, 400000)])
    corpus.load(src, 'max', c.folders, fast=True)
    source = snap('src', 'max')
    big = source.find(lambda f, i: i.size > 300000)
    tap.eq(len(big), 3, 'messages over 300000 bytes')
    job = Job(src, 'max', dst, 'max', name='maxsize')
    r = job.run('--maxsize', '300000')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, '--maxsize (skipped on purpose is not missing)')
    skipped = []
    for f in r.need_report()['folders']:
        for s in f.get('skipped', []):
            skipped.append((f['source'], s.get('uid'), s.get('size'), s.get('reason')))
    checks.eq(sorted((f, u, n) for f, u, n, _ in skipped),
              sorted((f, i.uid, i.size) for f, i in big), 'report skipped (folder, uid, size)')
    checks.check(all(reason and 'size' in reason.lower() for *_x, reason in skipped),
                 'skip reasons should mention the size: %r' % [s[3] for s in skipped])
    checks.eq(r.totals.get('missing'), 0, 'report totals.missing')
    is_big = {i.sha256 for _f, i in big}
    cmp = compare.compare(without(source, lambda f, i: i.sha256 in is_big), snap('dst', 'max'))
    checks.check(cmp.ok, 'destination vs source without the big ones:\n' + cmp.text())
    checks.done()


# -- a destination over quota ---------------------------------------------------------------

@tap.test
def quota_refusal_names_the_message_and_copies_the_rest():
    src, q = S['src'], S['quota']
    c = corpus.generate(seed=SEED + 6, scale=30, mix=((1, 300, 3000, 'text'),))
    folders = dict(c.folders)
    # A 2 MB message in the middle of Work/Clients: over the 1 MB quota on its own.
    hog = corpus.new_messages(SEED + 7, 1, mix=((1, 2000000, 2100000, 'attachment'),))[0]
    clients = list(folders['Work/Clients'])
    folders['Work/Clients'] = clients[:1] + [hog] + clients[1:]
    corpus.load(src, 'quota', folders, fast=True)
    source = snap('src', 'quota')
    hog_item = [i for i in source.messages['Work/Clients'] if i.size > 1000000][0]
    job = Job(src, 'quota', q, 'quota', name='quota')
    r = job.run()
    checks = Checks()
    checks.attach(r)
    checks.check(r.code in (113, 114), 'exit code: expected 113 (over quota) or 114 (APPEND '
                 'refused), got %s' % r.code)
    checks.eq(r.code, 113, 'exit code for Dovecot\'s OVERQUOTA refusal')
    entry = r.folder('Work/Clients')
    checks.eq(entry.get('failed'), 1, 'Work/Clients failed')
    checks.eq(r.totals.get('failed'), 1, 'totals.failed')
    errors = ' '.join(entry.get('errors') or [])
    checks.check(str(hog_item.uid) in errors, 'the report errors of Work/Clients do not name '
                 'UID %d: %r' % (hog_item.uid, entry.get('errors')))
    checks.check('Work/Clients' in r.stderr and str(hog_item.uid) in r.stderr,
                 'stderr does not name Work/Clients and UID %d' % hog_item.uid)
    cmp = compare.compare(without(source, lambda f, i: i.sha256 == hog_item.sha256),
                          snap('quota', 'quota'))
    checks.check(cmp.ok, 'everything but the 2 MB message should be copied:\n' + cmp.text())
    checks.done()


# -- UIDVALIDITY changes --------------------------------------------------------------------

@tap.test
def uidvalidity_change_on_the_destination_copies_no_duplicates():
    src, dst = S['src'], S['dst']
    job = Job(src, 'uv', dst, 'uv', name='uidvalidity')
    expect_code(job.run(), 0, 'first run')
    with imapcheck.session(dst, 'uv') as conn:
        old, new = synctest.recreate_folder(conn, 'Work.Clients')
        tap.check(old != new, 'Work.Clients kept UIDVALIDITY %d' % old)
        inbox_old = synctest.status(conn, 'INBOX')['UIDVALIDITY']
    dst.doveadm('mailbox', 'update', '-u', 'uv', '--uid-validity', str(inbox_old + 1000),
                'INBOX')
    with imapcheck.session(dst, 'uv') as conn:
        tap.eq(synctest.status(conn, 'INBOX')['UIDVALIDITY'], inbox_old + 1000,
               'INBOX UIDVALIDITY after doveadm mailbox update')
    synctest.add_messages(src, 'uv', {'INBOX': corpus.new_messages(SEED + 8, 2),
                                      'Work/Clients': corpus.new_messages(SEED + 9, 1)})
    source = snap('src', 'uv')
    r = job.run()
    expect_code(r, 0, 'run after the UIDVALIDITY change')
    must_equal(source, snap('dst', 'uv'), 'after the destination UIDVALIDITY change', r)
    tap.eq(r.totals.get('copied'), 3, 'copied (only the 3 new messages)')


@tap.test
def uidvalidity_change_on_the_source_copies_no_duplicates():
    src, dst = S['src'], S['dst']
    job = Job(src, 'uv', dst, 'uv', name='uidvalidity-src')
    with imapcheck.session(src, 'uv') as conn:
        old, new = synctest.recreate_folder(conn, 'Archive/2015')
        tap.check(old != new, 'Archive/2015 kept UIDVALIDITY %d' % old)
    source = snap('src', 'uv')
    r = job.run()
    expect_code(r, 0, 'run after the source UIDVALIDITY change')
    must_equal(source, snap('dst', 'uv'), 'after the source UIDVALIDITY change', r)
    tap.eq(r.totals.get('copied'), 0, 'copied')


# -- flags carried over ------------------------------------------------------------------------

def _uids_with(server, user, folder, key):
    with imapcheck.session(server, user) as conn:
        conn.select('"%s"' % folder, readonly=True)
        typ, data = conn.uid('SEARCH', key)
        return set(data[0].split()) if typ == 'OK' and data and data[0] else set()


@tap.test
def delete1_interrupted_after_its_store_leaves_the_copies_unflagged():
    """--delete1 marks the source messages \\Deleted, then expunges them. Killed between
    the two, the next --delete1 run sees them flagged \\Deleted: that mark must not be
    carried to the copies (the only ones left once the move ends); a real flag change
    still is."""
    src, dst = S['src'], S['dst']
    job = Job(src, 'dk', dst, 'dk', name='deleted-flag')
    expect_code(job.run(), 0, 'first run')
    with imapcheck.session(src, 'dk') as conn:
        conn.select('INBOX')
        typ, data = conn.uid('SEARCH', 'UNFLAGGED UNDELETED')
        uids = data[0].split()
        tap.check(len(uids) >= 2, 'INBOX has two unflagged messages: %r' % uids)
        # What an interrupted --delete1 leaves: its \\Deleted marks, no EXPUNGE yet.
        conn.uid('STORE', b','.join(uids[:-1]), '+FLAGS', '(\\Deleted)')
        conn.uid('STORE', uids[-1], '+FLAGS', '(\\Flagged)')
    flagged_before = len(_uids_with(dst, 'dk', 'INBOX', 'FLAGGED'))
    deleted_before = _uids_with(dst, 'dk', 'INBOX', 'DELETED')  # copied as they were
    r = job.run('--delete1')
    expect_code(r, 0, 'the --delete1 run after the interruption')
    tap.eq(_uids_with(dst, 'dk', 'INBOX', 'DELETED'), deleted_before,
           'destination messages flagged \\Deleted in INBOX\n%s' % r)
    tap.eq(len(_uids_with(dst, 'dk', 'INBOX', 'FLAGGED')), flagged_before + 1,
           'flagged destination messages in INBOX (the \\Flagged change carried over)')
    tap.eq(_uids_with(src, 'dk', 'INBOX', 'ALL'), set(), 'source INBOX after the move')


@tap.test
def a_spent_daily_budget_pauses_and_resumes():
    """--max-upload-per-day: once that many bytes were copied within --budget-window (a day
    by default; 2 s here) the run pauses until the oldest bytes leave the window, then goes
    on; everything arrives once."""
    src, dst = S['src'], S['dst']
    job = Job(src, 'bud', dst, 'bud', name='budget')
    source = snap('src', 'bud')
    r = job.run('--max-upload-per-day', '250000', '--budget-window', '2', '--jobs', '1')
    expect_code(r, 0, 'run with a small budget')
    tap.contains('pausing', r.stderr, 'stderr (the budget pause)')
    tap.match(r'daily upload budget of bud@127\.0\.0\.1:\d+ is spent: \d+ bytes in the last '
              r'2\.0 s \(--max-upload-per-day 250000\); room again in \d', r.stderr,
              'stderr (why it paused, and for how long)')
    must_equal(source, snap('dst', 'bud'), 'after the budget pauses', r)


@tap.test
def the_daily_budget_counts_what_earlier_runs_moved():
    """Bytes are counted per account across runs and jobs: after one job moved N bytes into
    an account, another job into it with a budget below N pauses before its first message,
    and (waits capped by --max-backoff 1) gives up with exit 10, copying nothing."""
    src, dst = S['src'], S['dst']
    synctest.add_messages(src, 'bud2', {'INBOX': corpus.new_messages(SEED + 20, 12)})
    synctest.add_messages(src, 'bud3', {'INBOX': corpus.new_messages(SEED + 21, 3)})
    first = Job(src, 'bud2', dst, 'bud2', name='budget-first').run()
    expect_code(first, 0, 'the first job (no budget)')
    moved = first.totals.get('copied_bytes') or 0
    tap.check(moved > 20000, 'the first job copied %d bytes\n%s' % (moved, first))
    before = snap('dst', 'bud2')
    r = Job(src, 'bud3', dst, 'bud2', name='budget-second').run(
        '--max-upload-per-day', str(moved // 2), '--max-backoff', '1', '--jobs', '1')
    expect_code(r, cli.EXIT_CONNECT, 'a job into an account whose budget earlier runs spent')
    m = re.search(r'daily upload budget of bud2@127\.0\.0\.1:\d+ is spent: (\d+) bytes in the '
                  r'last 24 h', r.stderr)
    tap.check(m is not None, 'stderr does not say the upload budget is spent\n%s' % r)
    tap.check(int(m.group(1)) >= moved, 'the budget counted %s bytes; the first job moved %d'
              % (m.group(1), moved))
    tap.contains('room again in', r.stderr, 'stderr (when to come back)')
    tap.eq(r.totals.get('copied'), 0, 'messages copied by the second job')
    must_equal(before, snap('dst', 'bud2'), 'the destination after the refused job', r)


# -- --justfolders -----------------------------------------------------------------------------

@tap.test
def justfolders_creates_folders_only():
    src, dst = S['src'], S['dst']
    source = snap('src', 'jf')
    r = Job(src, 'jf', dst, 'jf', name='justfolders').run('--justfolders')
    after = snap('dst', 'jf')
    mapping = compare.default_mapping(source, '.')
    tap.eq(sorted(set(mapping.values()) - set(after.messages)), [],
           'folders missing after --justfolders\n%s' % r)
    tap.eq(after.count(), 0, 'messages on the destination after --justfolders')


# -- a selection that selects nothing ----------------------------------------------------------

@tap.test
def a_selection_that_selects_nothing_is_refused_with_the_closest_names():
    """--folder Nonexistent, --folder in the wrong case and --include NoMatch: exit 64, one
    line naming the option and the folders meant, and nothing created on the destination."""
    src, dst = S['src'], S['dst']
    src.preload('sel', {'INBOX': [imapcheck.make_message(1)],
                        'Work/Projects': [imapcheck.make_message(2)],
                        'Work/Reports': [imapcheck.make_message(3)]})
    cases = (
        (('--folder', 'Nonexistent'),
         ("--folder 'Nonexistent' names no source folder", "the source has 'INBOX'",
          'mailhaul check')),
        (('--folder', 'Work/projects'),
         ("--folder 'Work/projects' names no source folder",
          "did you mean 'Work/Projects'?", 'case-sensitive')),
        (('--include', 'NoMatch'),
         ("--include 'NoMatch' selects no source folder", "the source has 'INBOX'")),
    )
    before = dst.snapshot_all('sel')
    job = Job(src, 'sel', dst, 'sel', name='select-nothing')
    for extra, words in cases:
        r = job.run(*extra)
        cli.expect_error(r, cli.EXIT_USAGE, *words)
        tap.not_contains('Verdict', r.stdout, 'stdout of %s' % ' '.join(extra))
    after = dst.snapshot_all('sel')
    tap.eq(sorted(n for n in after if n.startswith('Work')), [],
           'Work folders on the destination after the refused runs')
    tap.eq(after, before, 'the destination after the refused runs')
    tap.eq(sum(len(v) for v in after.values()), 0, 'messages on the destination')


# -- a wrong password ----------------------------------------------------------------------------

@tap.test
def a_wrong_password_names_the_side_and_what_to_check():
    """A wrong password on a plain Dovecot, for the source and for the destination: exit 16,
    one line naming the side and its options, no provider's advice."""
    src, dst = S['src'], S['dst']
    calls = []
    for side in (1, 2):
        job = Job(src, 'sel', dst, 'sel', name='wrong-password-%d' % side)
        bad = cli.write_passfile(job.dir, 'not-the-password', 'bad')
        if side == 1:
            job.passfile1 = bad
        else:
            job.passfile2 = bad
        calls.append(job.args())
    # One after the other: two runs into one destination account exclude each other (the
    # destination lock), and a refused login must not be mistaken for that.
    for side, r in zip((1, 2), [cli.run(c) for c in calls]):
        what = 'the %s' % ('source', 'destination')[side - 1]
        line = cli.expect_error(r, cli.EXIT_AUTH, 'host%d:' % side,
                                'check the user and password given for ' + what,
                                '--user%d' % side, '--passfile%d' % side)
        for word in ('Microsoft', 'Gmail', 'mailhaul login', 'OAuth'):
            tap.not_contains(word, line, 'the error line for host%d' % side)


# -- a 20 MB attachment -----------------------------------------------------------------------

@tap.test
def twenty_megabyte_attachment_arrives_byte_identical():
    src, dst = S['src'], S['dst']
    c = corpus.generate(seed=SEED + 10, scale=30, mix=corpus.SMALL_MIX, big_attachment=True)
    corpus.load(src, 'big', c.folders, fast=True)
    folder, body = c.notes['big'][0]
    source = snap('src', 'big')
    job = Job(src, 'big', dst, 'big', name='big')
    r = job.run()
    expect_code(r, 0, 'sync with a 20 MB message')
    after = snap('dst', 'big')
    d_name = corpus.map_name(folder, '/', '.')
    got = [i for i in after.messages.get(d_name, []) if i.size > 20e6]
    tap.eq([(i.sha256, i.size) for i in got], [(imapcheck.sha256(body), len(body))],
           'the 20 MB message on the destination')
    must_equal(source, after, 'with a 20 MB message', r)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
