#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` between two real Dovecot servers, a '/' source (maildir LAYOUT=fs) and a '.'
destination (maildir++), on a generated corpus (mhtest.corpus): the full migration, reruns,
incremental runs with new messages and flag changes, --dry, verify, names holding the other
side's separator, and the way back from '.' to '/'. Results are checked with the independent
imaplib checker (mhtest.compare): bytes (sha256), INTERNALDATE and flags of every message."""
import contextlib
import re

from mhtest import certs, compare, corpus, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Job

PW1, PW2 = 'Source-pw-8812', 'Dest-pw-2271'
SEED = 20240607
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in ('alice', 'inc', 'back', 'flags',
                                                           'narrow', 'widen')},
                              separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in ('full', 'dry', 'inc', 'flags',
                                                           'narrow', 'widen')},
                              separator='.')
        with dovecot.running(src, dst):
            c = corpus.generate(seed=SEED, scale=250)
            tap.diag('corpus: ' + c.summary())
            corpus.load(src, 'alice', c.folders)
            small = corpus.generate(seed=SEED + 1, scale=90, mix=corpus.SMALL_MIX)
            corpus.load(src, 'inc', small.folders)
            S.update(src=src, dst=dst, corpus=c, small=small,
                     source=compare.take(src, 'alice', label='source'))
            yield


def snap(user, server='dst'):
    return compare.take(S[server], user, label='%s on %s' % (user, server))


def expect_code(r, code, what='exit code'):
    if r.code != code:
        tap.fail('%s: expected %d, got %s\n%s' % (what, code, r.code, r))
    cli_null = '(null)'
    tap.check(cli_null not in r.stdout and cli_null not in r.stderr,
              'output contains "(null)"\n%s' % r)


def check_same(src_snap, dst_snap, what, r=None, **kw):
    c = compare.compare(src_snap, dst_snap, **kw)
    if not c.ok:
        tap.fail('%s: the destination differs from the source:\n%s%s' % (
            what, c.text(), '\n\n%s' % r if r is not None else ''))
    return c


def row_label(src_name, dst_name):
    return src_name if src_name == dst_name else '%s -> %s' % (src_name, dst_name)


# -- the full migration and reruns ------------------------------------------------------------

@tap.test
def full_migration_copies_every_message_exactly():
    job = Job(S['src'], 'alice', S['dst'], 'full', name='full')
    S['full_job'] = job
    r = job.run()
    S['full_run'] = r
    expect_code(r, 0)
    source = S['source']
    dst = snap('full')
    check_same(source, dst, 'after the first run', r)
    tap.eq(r.totals.get('copied'), source.count(), 'report totals.copied')
    tap.eq(r.totals.get('missing'), 0, 'report totals.missing')
    tap.eq(r.totals.get('failed'), 0, 'report totals.failed')
    tap.eq(r.report.get('exit_code'), 0, 'report exit_code')
    tap.eq(r.report.get('dry_run'), False, 'report dry_run')
    tap.eq(r.report.get('interrupted'), False, 'report interrupted')
    tap.eq(r.totals.get('source_bytes'), sum(i.size for v in source.messages.values()
                                              for i in v), 'report totals.source_bytes')


@tap.test
def nothing_is_duplicated():
    dst = snap('full')
    back = {d: s for s, d in compare.default_mapping(S['source'], '.').items()}
    dups = []
    for folder, items in dst.messages.items():
        seen = {}
        for i in items:
            seen.setdefault(i.sha256, []).append(i.uid)
        src_counts = {}
        for i in S['source'].messages.get(back.get(folder), []):
            src_counts[i.sha256] = src_counts.get(i.sha256, 0) + 1
        for sha, uids in seen.items():
            if len(uids) > src_counts.get(sha, 0):
                dups.append('%s: uids %s' % (folder, uids))
    tap.eq(dups, [], 'messages on the destination more often than on the source')
    # The corpus's exact duplicate pair is there twice, as on the source.
    folder, body = S['corpus'].notes['duplicate'][0]
    sha = imapcheck.sha256(body)
    tap.eq(sum(1 for i in dst.messages['INBOX'] if i.sha256 == sha), 2,
           'copies of the exact duplicate in INBOX')


@tap.test
def edge_case_messages_arrive_intact():
    dst = snap('full')
    c = S['corpus']
    for note in ('no_message_id', 'same_headers_no_message_id', 'same_message_id',
                 'eight_bit', 'all_flags', 'no_final_newline', 'tiny', 'duplicate_other_flags'):
        for entry in c.notes[note]:
            folder, bodies = entry[0], entry[1:]
            d_name = corpus.map_name(folder, '/', '.')
            have = {i.sha256 for i in dst.messages.get(d_name, [])}
            for body in bodies:
                tap.check(imapcheck.sha256(body) in have,
                          '%s message missing or altered in %s' % (note, d_name))
    all_flags = [i for i in dst.messages['INBOX'] if i.sha256 == imapcheck.sha256(
        c.notes['all_flags'][0][1])]
    tap.eq([i.flags for i in all_flags],
           [tuple(sorted(corpus.SYSTEM_FLAGS + corpus.KEYWORDS))], 'flags of the all-flags '
           'message on the destination')


@tap.test
def folders_created_with_translated_names():
    source = S['source']
    expected = compare.default_mapping(source, '.')
    tap.eq({k: v for k, v in S['corpus'].mapping('.').items()}, expected,
           'corpus mapping vs checker mapping')
    with imapcheck.session(S['dst'], 'full') as conn:
        listed = {f.name: f for f in imapcheck.folder_list(conn)}
        subscribed = set(synctest.subscriptions(conn))
    for s_name, d_name in expected.items():
        tap.check(d_name in listed and imapcheck.selectable(listed[d_name]),
                  'destination folder %r (for %r) missing or not selectable; have %s' % (
                      d_name, s_name, sorted(listed)))
    for container in ('Lists', 'Archive.2019'):
        tap.check(container in listed, 'container %s not on the destination' % container)
    tap.check('Empty' in listed, 'the empty source folder was not created')
    for wrong in ('Notes', 'Work.v2', 'Work.v2.0 plans', 'Notes.old'):
        tap.check(wrong not in listed, 'folder %r should not exist on the destination' % wrong)
    with imapcheck.session(S['src'], 'alice') as conn:
        src_subscribed = synctest.subscriptions(conn)
    want = {corpus.map_name(n, '/', '.') for n in src_subscribed if n in expected}
    tap.eq(sorted(want - subscribed), [], 'source subscriptions not kept on the destination')
    r = S['full_run']
    report_map = {f['source']: f['destination'] for f in r.report['folders']}
    for s_name, d_name in expected.items():
        tap.eq(report_map.get(s_name), d_name, 'report destination of %s' % s_name)
    containers = {f['source'] for f in r.report['folders'] if f.get('container_only')}
    tap.eq(sorted(containers), ['Archive/2019', 'Lists'], 'report container_only folders')


@tap.test
def separator_in_name_becomes_underscore():
    source, dst = S['source'], snap('full')
    for s_name, d_name in (('Work/v2.0 plans', 'Work.v2_0 plans'), ('Notes.old', 'Notes_old')):
        tap.check(d_name in dst.messages, '%s missing on the destination' % d_name)
        fd = compare.diff_folder(s_name, d_name, source.messages[s_name], dst.messages[d_name])
        tap.check(fd.ok, fd.text())
        tap.eq(S['full_run'].folder(s_name)['destination'], d_name, 'report destination')


@tap.test
def table_lists_every_folder_and_the_verdict():
    r = S['full_run']
    source = S['source']
    mapping = compare.default_mapping(source, '.')
    for s_name, d_name in mapping.items():
        label = row_label(s_name, d_name)
        tap.check(label in r.table, 'no table row %r\n%s' % (label, r.stdout))
    tap.check('Total' in r.table, 'no Total row\n%s' % r.stdout)
    tap.eq(r.table['Total'][0], str(source.count()), 'Total source messages cell')
    tap.eq(r.verdict, 'Verdict: OK, all %d source messages are on the destination.' %
           source.count(), 'verdict line')
    lines = r.stdout.splitlines()
    header = [n for n, line in enumerate(lines) if line.startswith('Folder')]
    total = [n for n, line in enumerate(lines) if line.startswith('Total')]
    tap.check(header and total and header[0] < total[0], 'header before Total\n%s' % r.stdout)
    widths = {len(lines[n]) for n in range(header[0], total[0] + 1)
              if re.search(r'\d\s*$', lines[n])}
    tap.check(len(widths) <= 2, 'table rows are not aligned\n%s' % r.stdout)


@tap.test
def rerun_copies_nothing_and_changes_nothing():
    before = snap('full')
    r = S['full_job'].run()
    expect_code(r, 0)
    tap.eq(r.totals.get('copied'), 0, 'report totals.copied on the rerun')
    tap.eq(r.totals.get('flag_updates'), 0, 'report totals.flag_updates on the rerun')
    after = snap('full')
    tap.check(before.same_as(after), 'the rerun changed the destination:\n%s\n\n%s' % (
        before.diff_text(after), r))
    tap.check(S['source'].same_as(snap('alice', 'src')), 'the rerun changed the source')


@tap.test
def rerun_without_state_copies_nothing():
    # A lost state file: messages are matched by fingerprint, nothing copied twice.
    job = S['full_job']
    r = job.run(state=False)  # the default state file under XDG_STATE_HOME (fresh)
    expect_code(r, 0)
    tap.eq(r.totals.get('copied'), 0, 'copied without a state file')
    check_same(S['source'], snap('full'), 'after a run without state', r)


# -- --dry ------------------------------------------------------------------------------------

@tap.test
def dry_run_changes_nothing_and_counts_what_a_real_run_copies():
    job = Job(S['src'], 'alice', S['dst'], 'dry', name='dry')
    checks = synctest.Checks()
    dst_before = snap('dry')
    dry = job.run('--dry')
    checks.attach(dry)
    dst_after = snap('dry')
    tap.check(dst_before.same_as(dst_after), '--dry changed the destination:\n%s\n%s' % (
        dst_before.diff_text(dst_after), dry))
    src_after = snap('alice', 'src')
    tap.check(S['source'].same_as(src_after), '--dry changed the source:\n%s' %
              S['source'].diff_text(src_after))
    checks.eq(dry.need_report().get('dry_run'), True, 'report dry_run')
    n = S['source'].count()
    checks.check(re.search(r'^Dry run: nothing was changed\. %d messages would be copied' % n,
                           dry.stdout, re.M), 'no "Dry run: ... %d messages would be copied"'
                 % n)
    # Differences remain after a dry run into an empty destination.
    checks.code(dry, 1, 'exit code of --dry into an empty destination')
    checks.eq(dry.totals.get('missing'), n, 'report totals.missing of --dry')
    real = job.run()
    expect_code(real, 0, 'the real run after --dry')
    checks.eq(dry.totals.get('copied'), real.totals.get('copied'),
              'copied: --dry report vs the real run')
    want = {f['source']: f['copied'] for f in real.report['folders']}
    got = {f['source']: f['copied'] for f in dry.report['folders']}
    checks.eq(got, want, 'per-folder copied: --dry vs real')
    c = compare.compare(S['source'], snap('dry'))
    checks.check(c.ok, 'after the real run the destination differs from the source:\n' +
                 c.text())
    checks.done()


# -- incremental runs -------------------------------------------------------------------------

def change_flags(server, user, source_snap):
    """Change the flags of a deterministic set of source messages; returns how many changed."""
    plan = [('INBOX', 2, ('\\Flagged',), ()), ('INBOX', 4, (), ('\\Seen',)),
            ('Sent', 1, ('$Label1',), ()), ('Work/Clients', 0, ('\\Answered', 'Project-X'), ()),
            ('日本', 0, ('\\Deleted',), ()), ('Archive/2015', 1, ('$Forwarded',), ('\\Seen',)),
            ('Lists/dovecot', 0, ('\\Flagged',), ()), ('Entwürfe', 0, ('custom-kw',), ())]
    changed = 0
    with imapcheck.session(server, user) as conn:
        for folder, idx, add, remove in plan:
            items = source_snap.messages[folder]
            item = items[min(idx, len(items) - 1)]
            new = (set(item.flags) | set(add)) - set(remove)
            if new != set(item.flags):
                changed += 1
            synctest.store_flags(conn, folder, item.uid, add, remove)
    return changed


FLAG_SETS = [(), ('\\Seen',), ('\\Seen', '$Label1'), ('\\Answered',), ('$Work',),
             ('\\Answered', '\\Seen')]


@tap.test
def flag_changes_go_one_store_per_flag_and_keep_the_destinations_own():
    """Six messages with six different flag sets all get \\Flagged on the source, two lose
    \\Seen; meanwhile the destination's user gave one copy a keyword of their own. The
    rerun sends one UID STORE per flag and direction, and the keyword stays."""
    src, dst = S['src'], S['dst']
    with imapcheck.session(src, 'flags') as conn:
        for i, flags in enumerate(FLAG_SETS):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(500 + i), flags)
    job = Job(src, 'flags', dst, 'flags', name='flags')
    expect_code(job.run(), 0, 'first run')
    with imapcheck.session(src, 'flags') as conn:
        imapcheck.select(conn, 'INBOX', readonly=False)
        for uid in range(1, len(FLAG_SETS) + 1):
            synctest.store_flags(conn, 'INBOX', uid, add=('\\Flagged',),
                                 remove=('\\Seen',) if uid in (2, 3) else ())
    with imapcheck.session(dst, 'flags') as conn:
        synctest.store_flags(conn, 'INBOX', 1, add=('$DestOnly',))
    r = job.run('--debug', 'wire')
    checks = synctest.Checks()
    checks.attach(r)
    checks.code(r, 0)
    checks.eq(r.totals.get('flag_updates') if r.report else None, len(FLAG_SETS),
              'report totals.flag_updates')
    stores = re.findall(r'host2 C: \S+ UID STORE \S+ (.*)', r.stderr)
    checks.eq(sorted(stores), ['+FLAGS.SILENT (\\Flagged)', '-FLAGS.SILENT (\\Seen)'],
              'the destination\'s UID STOREs')
    want = synctest.flags_by_message_id(src, 'flags')
    first = min(want, key=lambda k: int(re.search(r'mhtest-(\d+)-', k).group(1)))
    want[first] = imapcheck.normalize_flags(want[first] + ('$DestOnly',))
    checks.eq(synctest.flags_by_message_id(dst, 'flags'), want,
              'flags on the destination (Message-ID: flags)')
    checks.done()


@tap.test
def rerun_after_new_messages_and_flag_changes():
    src, dst = S['src'], S['dst']
    job = Job(src, 'inc', dst, 'inc', name='inc')
    r = job.run()
    expect_code(r, 0, 'first run')
    check_same(snap('inc', 'src'), snap('inc'), 'after the first run', r)
    new = corpus.new_messages(SEED, 8)
    synctest.add_messages(src, 'inc', {'INBOX': new[:3], 'Work/v2.0 plans': new[3:4],
                                       '日本': new[4:6], 'Neu/Ordner 2.1': new[6:]})
    changed = change_flags(src, 'inc', snap('inc', 'src'))
    tap.check(changed >= 7, 'the flag plan changed only %d messages' % changed)
    source = snap('inc', 'src')
    before = snap('inc')
    checks = synctest.Checks()
    dry = job.run('--dry')
    checks.attach(dry)
    tap.check(before.same_as(snap('inc')), '--dry changed the destination:\n%s' %
              before.diff_text(snap('inc')))
    r = job.run()
    expect_code(r, 0, 'incremental run')
    checks.attach(r)
    c = compare.compare(source, snap('inc'))
    checks.check(c.ok, 'after the incremental run the destination differs from the '
                 'source:\n' + c.text())
    checks.eq(r.totals.get('copied'), 8, 'report totals.copied (new messages only)')
    checks.eq(r.totals.get('flag_updates'), changed, 'report totals.flag_updates')
    checks.eq(r.folder('Neu/Ordner 2.1')['destination'], 'Neu.Ordner 2_1', 'new folder mapping')
    checks.check('Neu.Ordner 2_1' in (r.report.get('created_folders') or []),
                 'created_folders lacks the new folder: %r' % r.report.get('created_folders'))
    checks.eq((dry.totals.get('copied'), dry.totals.get('flag_updates')),
              (r.totals.get('copied'), r.totals.get('flag_updates')),
              '(copied, flag_updates): --dry report vs the real run')
    checks.code(dry, 1, 'exit code of --dry with 8 messages to copy')
    again = job.run()
    checks.code(again, 0, 'rerun after the incremental run')
    checks.eq((again.totals.get('copied'), again.totals.get('flag_updates')), (0, 0),
              '(copied, flag_updates) of the next rerun')
    checks.done()


# -- narrow reruns (sync-folder-list.c) --------------------------------------------------------

def searches(r):
    """The UID SEARCH commands of a run's wire log (either side)."""
    return re.findall(r'host[12]\S* C: \S+ (?:UID )?SEARCH .*', r.stderr)


def load_narrow(user, n=30):
    with imapcheck.session(S['src'], user) as conn:
        for i in range(n):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(700 + i),
                             FLAG_SETS[i % len(FLAG_SETS)])
        imapcheck.create_folder(conn, 'Work')
        for i in range(5):
            imapcheck.append(conn, 'Work', imapcheck.make_message(760 + i))


def state_forget(job, folder, uid):
    """Removes one message's record from the job's state, as a state file restored from an
    older backup would lack it."""
    import sqlite3
    with contextlib.closing(sqlite3.connect(job.state)) as db:
        with db:
            n = db.execute('DELETE FROM messages WHERE src_uid = ? AND folder_id = '
                           '(SELECT id FROM folders WHERE src_name = ?)', (uid, folder)).rowcount
    tap.check(n == 1, 'the state had no record of %s UID %d' % (folder, uid))


@tap.test
def rerun_after_new_mail_and_flag_changes_lists_neither_sides_uids():
    """New mail and flag changes on the source, the destination as the last run left it:
    the counters prove every older message still there and mapped, so the rerun sends no
    UID SEARCH on either side (a big folder's costliest command after the copy) and reads
    only the records it needs; what it copies and carries is what a full pass would."""
    src, dst = S['src'], S['dst']
    load_narrow('narrow')
    job = Job(src, 'narrow', dst, 'narrow', name='narrow')
    expect_code(job.run(), 0, 'first run')
    with imapcheck.session(src, 'narrow') as conn:
        for i in range(3):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(800 + i), ('\\Seen',))
        for uid in (2, 9, 17):
            synctest.store_flags(conn, 'INBOX', uid, add=('\\Flagged',), remove=('\\Seen',))
    r = job.run('--debug', 'wire')
    checks = synctest.Checks()
    checks.attach(r)
    checks.code(r, 0, 'rerun after changes')
    checks.eq(searches(r), [], 'UID SEARCH commands of the rerun')
    checks.eq((r.totals.get('copied'), r.totals.get('flag_updates')), (3, 3),
              '(copied, flag_updates)')
    with imapcheck.session(src, 'narrow') as conn:
        n = synctest.status(conn, 'INBOX')['MESSAGES']
        imapcheck.select(conn, 'INBOX')
        typ, dat = conn.fetch('1:*', '(RFC822.SIZE)')
        size = sum(int(re.search(rb'RFC822.SIZE (\d+)', d).group(1)) for d in dat)
    checks.eq((r.table.get('INBOX') or [None])[0], str(n), 'Src msgs of INBOX in the table')
    checks.eq((r.folder('INBOX').get('source_messages'), r.folder('INBOX').get('source_bytes')),
              (n, size), 'report INBOX (source_messages, source_bytes) against imaplib')
    c = compare.compare(snap('narrow', 'src'), snap('narrow'))
    checks.check(c.ok, 'the independent checker disagrees:\n' + c.text())
    again = job.run()
    checks.attach(again)
    checks.code(again, 0, 'next rerun')
    checks.eq([(again.table.get(f) or [None] * 5)[4] for f in ('INBOX', 'Work')],
              ['unchanged', 'unchanged'], 'Copied cells of the next rerun')
    checks.done()


@tap.test
def a_rerun_lists_both_sides_where_the_counters_do_not_prove_it():
    """Three cases where the counters alone would mislead, each checked by what a user sees:
    a destination with mail of its own (a stray) that the source then receives too is
    matched, not copied again; a state that lost a record (restored from an old backup) of
    a message whose flags change makes the rerun find it by its headers, not copy it twice;
    a source that lost a message and gained one is counted right in the table."""
    src, dst = S['src'], S['dst']
    load_narrow('widen', n=12)
    job = Job(src, 'widen', dst, 'widen', name='widen')
    expect_code(job.run(), 0, 'first run')
    checks = synctest.Checks()
    # 1. A stray on the destination, then the same message on the source.
    stray = imapcheck.make_message(900, subject='also written on the destination')
    when = 1700000000  # one INTERNALDATE on both sides: the copies are the same message
    with imapcheck.session(dst, 'widen') as conn:
        imapcheck.append(conn, 'INBOX', stray, date=when)
    r = job.run()
    checks.attach(r)
    checks.code(r, 0, 'rerun with a stray')
    checks.eq(r.totals.get('strays'), 1, 'strays reported')
    with imapcheck.session(src, 'widen') as conn:
        imapcheck.append(conn, 'INBOX', stray, date=when)
    r = job.run()
    checks.attach(r)
    checks.code(r, 0, 'rerun once the source has the stray too')
    checks.eq((r.totals.get('copied'), r.totals.get('strays')), (0, 0),
              '(copied, strays) once the source has it')
    c = compare.compare(snap('widen', 'src'), snap('widen'))
    checks.check(c.ok, 'after the stray: the independent checker disagrees:\n' + c.text())
    # 2. A record lost from the state, and that message's flags changed.
    state_forget(job, 'INBOX', 3)
    with imapcheck.session(src, 'widen') as conn:
        synctest.store_flags(conn, 'INBOX', 3, add=('$Lost',))
    r = job.run()
    checks.attach(r)
    checks.code(r, 0, 'rerun with a lost record')
    checks.eq(r.totals.get('copied'), 0, 'copied with a lost record')
    c = compare.compare(snap('widen', 'src'), snap('widen'))
    checks.check(c.ok, 'after the lost record: the independent checker disagrees:\n' +
                 c.text())
    # 3. One message gone from the source, one new.
    with imapcheck.session(src, 'widen') as conn:
        synctest.expunge_uids(conn, 'INBOX', [5])
        imapcheck.append(conn, 'INBOX', imapcheck.make_message(901))
        n = synctest.status(conn, 'INBOX')['MESSAGES']
    r = job.run()
    checks.attach(r)
    checks.code(r, 0, 'rerun after an expunge')
    checks.eq(r.totals.get('copied'), 1, 'copied after an expunge and a new message')
    checks.eq((r.table.get('INBOX') or [None])[0], str(n), 'Src msgs of INBOX in the table')
    checks.done()


# -- verify -----------------------------------------------------------------------------------

@tap.test
def verify_after_a_good_sync_exits_0():
    r = S['full_job'].run(command='verify', state=False)
    expect_code(r, 0, 'verify')
    tap.eq(r.verdict, 'Verdict: OK, all %d source messages are on the destination.' %
           S['source'].count(), 'verify verdict')
    tap.eq(r.totals.get('missing'), 0, 'verify totals.missing')


@tap.test
def verify_finds_a_deleted_destination_message():
    victim = S['source'].messages['Work/Clients'][2]
    with imapcheck.session(S['dst'], 'full') as conn:
        dst_items = compare.folder_items(conn, 'Work.Clients')
        uid = [i.uid for i in dst_items if i.sha256 == victim.sha256][0]
        synctest.expunge_uids(conn, 'Work.Clients', [uid])
    before = snap('full')
    r = S['full_job'].run(command='verify', state=False)
    expect_code(r, 1, 'verify with one message gone')
    tap.eq(r.folder('Work/Clients')['missing'], 1, 'Work/Clients missing in the report')
    others = {f['source']: f['missing'] for f in r.report['folders']
              if f['source'] != 'Work/Clients' and f['missing']}
    tap.eq(others, {}, 'other folders with missing messages')
    tap.eq(r.totals.get('missing'), 1, 'verify totals.missing')
    tap.match(r'^Verdict: NOT OK', r.stdout, 'verify verdict')
    tap.check(before.same_as(snap('full')), 'verify changed the destination')
    # A sync puts exactly that message back.
    r = S['full_job'].run()
    expect_code(r, 0, 'sync after the loss')
    tap.eq(r.totals.get('copied'), 1, 'copied after a destination message was deleted')
    check_same(S['source'], snap('full'), 'after the repair', r)


# -- the other direction ----------------------------------------------------------------------

@tap.test
def migration_back_from_dot_to_slash():
    job = Job(S['dst'], 'full', S['src'], 'back', name='back')
    r = job.run()
    expect_code(r, 0)
    there = snap('full')
    back = snap('back', 'src')
    check_same(there, back, "'.' -> '/'", r)
    tap.check('Work/v2_0 plans' in back.messages and 'Notes_old' in back.messages,
              'names with "_" keep it on the way back: %s' % sorted(back.messages))


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
