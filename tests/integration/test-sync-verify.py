#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Verification that looks both ways, against real Dovecot ('/' source, '.' destination):
after a sync, copies of some messages are appended to the destination (as two overlapping
runs of an older mailhaul would leave them) and a stray message the source never had;
`verify` then exits 1 and names each duplicate (the stray is named apart and is no
difference: a destination may hold mail of its own), `sync --delete2duplicates` removes
the duplicates but not the stray (`--delete2` does), and `verify` and the independent
checker (mhtest.compare) agree afterwards. Also: the destination's counts after a copy
come from STATUS on the selected folder, which Dovecot answers right (checked in the wire
log: no STATUS asked again from outside), and they are the folders' real counts, after a
first copy and after changes, and let the next run skip every folder as unchanged; a
server whose answer in place is stale is tests/fault/test-stale-status.py."""
import contextlib
import re

from mhtest import certs, compare, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Verify-src-pw-4711', 'Verify-dst-pw-4712'
S = {}


def messages():
    """Source folders: INBOX with a true duplicate (message 3 twice), Work/Reports."""
    inbox = [imapcheck.make_message(n, subject='Inbox note %d' % n) for n in range(1, 7)]
    inbox.append(inbox[2])
    work = [imapcheck.make_message(n, subject='Report %d' % n, size=3000)
            for n in range(20, 24)]
    return {'INBOX': inbox, 'Work/Reports': work}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        users = ('dup', 'status')
        src = dovecot.Dovecot(pki, users={u: PW1 for u in users}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in users}, separator='.')
        with dovecot.running(src, dst):
            S.update(src=src, dst=dst, msgs=messages())
            for user in users:
                src.preload(user, S['msgs'])
            yield


def snap(server, user):
    return compare.take(S[server], user, label='%s on %s' % (user, server))


def header(body, name):
    m = re.search(rb'^' + name.encode() + rb': (.*?)\r\n', body, re.M | re.I)
    return m.group(1).decode()


def dst_uids_by_message_id(user, folder):
    """{Message-ID: [UID, ...]} of a destination folder, read with imaplib."""
    out = {}
    with imapcheck.session(S['dst'], user) as conn:
        conn.select(imapcheck.quote(folder), readonly=True)
        typ, data = conn.uid('FETCH', '1:*', '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
        for part in data:
            if not isinstance(part, tuple):
                continue
            uid = int(re.search(rb'UID (\d+)', part[0]).group(1))
            mid = re.search(rb'Message-ID: *(\S+)', part[1], re.I).group(1).decode()
            out.setdefault(mid, []).append(uid)
    for uids in out.values():
        uids.sort()
    return out


def extra_cell(r, row):
    """The last cell (Extra) of a table row."""
    cells = r.table.get(row)
    return cells[-1] if cells else None


@tap.test
def appended_copies_fail_verify_and_a_stray_is_named():
    src, dst = S['src'], S['dst']
    job = S['job'] = Job(src, 'dup', dst, 'dup', name='verify-dup')
    checks = Checks()
    r = job.run()
    checks.code(r, 0, 'first sync')
    checks.eq(extra_cell(r, 'Total'), '0', 'Extra total after a clean sync')
    inbox, work = S['msgs']['INBOX'], S['msgs']['Work/Reports']
    # Two overlapping runs of an older binary: message 1 copied three times, message 2
    # twice, a report twice; plus a message the source never had.
    stray = imapcheck.make_message(900, subject='Stray on the destination only')
    with imapcheck.session(dst, 'dup') as conn:
        for body in (inbox[0], inbox[0], inbox[1], stray):
            imapcheck.append(conn, 'INBOX', body)
        imapcheck.append(conn, 'Work.Reports', work[0])
    S['stray'] = stray
    by_mid = dst_uids_by_message_id('dup', 'INBOX')
    want = {(header(b, 'Message-ID'), header(b, 'Subject')) for b in (inbox[0], inbox[1])}
    v = job.run(command='verify', state=False)
    checks.attach(v)
    checks.code(v, synctest.EXIT_DIFFERENCES, 'verify with duplicates and a stray')
    checks.check(v.verdict is not None and 'NOT OK' in v.verdict, 'verdict: %r' % v.verdict)
    # Duplicates are a difference (Extra); the stray is the destination's own mail: named
    # and counted apart, no difference.
    checks.eq(extra_cell(v, 'INBOX'), '3', 'Extra cell of INBOX')
    checks.eq(extra_cell(v, 'Work/Reports -> Work.Reports'), '1', 'Extra cell of Work/Reports')
    checks.eq(extra_cell(v, 'Total'), '4', 'Extra total')
    checks.eq(v.totals.get('missing'), 0, 'missing')
    checks.eq(v.totals.get('extra'), 4, 'extra in the report totals')
    checks.eq(v.totals.get('strays'), 1, 'strays in the report totals')
    checks.check('Not on the source: 1 destination messages' in v.stdout,
                 'the table does not mention the stray:\n' + v.stdout[-1500:])
    strays = v.folder('INBOX').get('stray_messages') or []
    checks.eq([(n.get('message_id'), n.get('subject')) for n in strays],
              [(header(stray, 'Message-ID'), header(stray, 'Subject'))], 'the stray named')
    named = v.folder('INBOX').get('extra_messages') or []
    checks.eq(len(named), 3, 'INBOX extra messages named')
    checks.eq({(n.get('message_id'), n.get('subject')) for n in named}, want,
              'Message-ID and Subject of the named extras')
    for n in named + strays:
        checks.check(n.get('folder') == 'INBOX' and n.get('size', 0) > 0 and n.get('date'),
                     'folder, size and date of a named extra: %r' % n)
        checks.check(n.get('uid') in by_mid.get(n.get('message_id'), []),
                     'UID %r is not a destination message with Message-ID %r (%r)' % (
                         n.get('uid'), n.get('message_id'), by_mid))
    # Each destination message answers for one source message: of the three copies of
    # message 1, two are extra.
    mid1 = header(inbox[0], 'Message-ID')
    checks.eq(sum(1 for n in named if n.get('message_id') == mid1), 2,
              'extras named for a message copied three times')
    # The source's own duplicate (message 3 twice) is on the destination twice: not extra.
    mid3 = header(inbox[2], 'Message-ID')
    checks.check(all(n.get('message_id') != mid3 for n in named),
                 'a duplicate the source has too is not extra')
    s = job.run()
    checks.attach(s)
    checks.code(s, synctest.EXIT_DIFFERENCES, 'sync with duplicates and a stray on the destination')
    checks.eq(s.totals.get('copied'), 0, 'copied by the rerun')
    checks.eq(extra_cell(s, 'Total'), '4', 'Extra total of the sync table')
    checks.eq(s.totals.get('strays'), 1, 'strays after the sync')
    checks.done()


@tap.test
def delete2duplicates_dry_says_what_it_would_delete():
    job = S['job']
    before = snap('dst', 'dup')
    r = job.run('--delete2duplicates', '--dry')
    checks = Checks()
    checks.attach(r)
    checks.code(r, synctest.EXIT_DIFFERENCES, '--delete2duplicates --dry')
    checks.eq(r.folder('INBOX').get('deleted_on_destination'), 3, 'INBOX would delete')
    checks.eq(r.folder('Work/Reports').get('deleted_on_destination'), 1,
              'Work/Reports would delete')
    checks.eq(len(r.folder('INBOX').get('deleted_duplicates') or []), 3,
              'INBOX duplicates named')
    checks.check('(would be)' in r.stdout, 'the table says the deletions would be done')
    after = snap('dst', 'dup')
    checks.check(before.same_as(after), '--dry changed the destination:\n' +
                 before.diff_text(after))
    checks.done()


@tap.test
def delete2duplicates_removes_duplicates_but_not_the_stray():
    job = S['job']
    stray_mid = header(S['stray'], 'Message-ID')
    before = dst_uids_by_message_id('dup', 'INBOX')
    r = job.run('--delete2duplicates')
    checks = Checks()
    checks.attach(r)
    checks.eq(r.folder('INBOX').get('deleted_on_destination'), 3, 'INBOX deleted')
    checks.eq(r.folder('Work/Reports').get('deleted_on_destination'), 1, 'Work/Reports deleted')
    # The stray is still there, named, and no difference.
    checks.code(r, 0, '--delete2duplicates with a stray left')
    checks.eq(extra_cell(r, 'Total'), '0', 'Extra total after --delete2duplicates')
    checks.eq(r.totals.get('strays'), 1, 'strays after --delete2duplicates')
    after = dst_uids_by_message_id('dup', 'INBOX')
    checks.eq(after.get(stray_mid), before.get(stray_mid), 'the stray is left alone')
    # The copies the first sync made (lowest UIDs, mapped by the state) are kept.
    for mid, uids in before.items():
        if mid != stray_mid:
            checks.eq(after.get(mid), uids[:len(after.get(mid, []))], 'kept copies of ' + mid)
    mid3 = header(S['msgs']['INBOX'][2], 'Message-ID')
    checks.eq(len(after.get(mid3, [])), 2, 'both copies of a source duplicate kept')
    v = job.run(command='verify', state=False)
    checks.attach(v)
    checks.code(v, 0, 'verify with only the stray left')
    checks.eq(v.folder('INBOX').get('extra_messages') or [], [], 'extras named by verify')
    named = v.folder('INBOX').get('stray_messages') or []
    checks.eq([(n.get('message_id'), n.get('subject')) for n in named],
              [(stray_mid, header(S['stray'], 'Subject'))], 'the one stray named by verify')
    checks.done()


@tap.test
def delete2_then_verify_and_the_checker_agree():
    job = S['job']
    r = job.run('--delete2')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, '--delete2 removes the stray')
    checks.eq(r.folder('INBOX').get('deleted_on_destination'), 1, 'INBOX deleted by --delete2')
    v = job.run(command='verify', state=False)
    checks.attach(v)
    checks.code(v, 0, 'verify after --delete2duplicates and --delete2')
    checks.eq(extra_cell(v, 'Total'), '0', 'Extra total')
    checks.eq(v.totals.get('strays'), 0, 'strays after --delete2')
    checks.check(v.verdict is not None and v.verdict.startswith('Verdict: OK'),
                 'verdict: %r' % v.verdict)
    c = compare.compare(snap('src', 'dup'), snap('dst', 'dup'))
    checks.check(c.ok, 'the independent checker disagrees:\n' + c.text())
    checks.done()


def status_sent_from_outside(log_text):
    """Lines where a destination connection left a folder (UNSELECT or CLOSE) and asked its
    STATUS right after: the fallback taken when the answer in place is not believed."""
    left, out = {}, []
    cmd = re.compile(r'(host2\S*) \S+ [A-Za-z0-9]+ (SELECT|EXAMINE|STATUS|CLOSE|UNSELECT|LOGOUT)'
                     r'(?: ("(?:[^"\\]|\\.)*"|\S+))?')
    selected = {}
    for line in log_text.splitlines():
        m = cmd.search(line)
        if not m:
            continue
        conn, verb, name = m.group(1), m.group(2), m.group(3)
        if verb in ('SELECT', 'EXAMINE'):
            selected[conn] = name
            left.pop(conn, None)
        elif verb in ('CLOSE', 'UNSELECT'):
            left[conn] = selected.pop(conn, None)
        elif verb == 'STATUS':
            if name is not None and left.get(conn) == name:
                out.append(line)
            left.pop(conn, None)
        else:
            left.pop(conn, None)
            selected.pop(conn, None)
    return out


def table_counts(checks, r, what):
    with imapcheck.session(S['dst'], 'status') as conn:
        for folder, row in (('INBOX', 'INBOX'), ('Work.Reports', 'Work/Reports -> Work.Reports')):
            n = synctest.status(conn, folder)
            cells = r.table.get(row) or []
            checks.eq(cells[2] if len(cells) > 2 else None, str(n['MESSAGES']),
                      '%s: Dst msgs of %s' % (what, folder))


@tap.test
def destination_counts_come_from_the_selected_folder_when_they_agree():
    """Dovecot answers STATUS on the selected folder from the open folder, with our own
    APPENDs and STOREs in it: the counts are taken in place (leaving the folder to ask
    from outside makes Dovecot read a big maildir's index again). The table still shows the
    real counts, and the counters recorded let the next unchanged run skip every folder,
    flag changes (HIGHESTMODSEQ) included. tests/fault/test-stale-status.py covers a server
    whose answer in place is stale."""
    src, dst = S['src'], S['dst']
    job = Job(src, 'status', dst, 'status', name='verify-status')
    r = job.run('--jobs', '1', '--debug', 'wire')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'sync')
    with open(r.log_path, errors='replace') as f:
        log = f.read()
    sent = [l for l in log.splitlines() if re.search(r'host2\S* \S+ \S+ (SELECT|EXAMINE) ', l)]
    checks.check(sent, 'no SELECT to the destination in the wire log: is the log format as '
                 'expected?\n' + '\n'.join(log.splitlines()[:40]))
    checks.eq(status_sent_from_outside(log), [],
              'STATUS asked from outside a folder the destination connection had selected')
    table_counts(checks, r, 'first copy')
    # New mail and a flag change on the source: copied and carried, counted in place.
    with imapcheck.session(src, 'status') as conn:
        imapcheck.append(conn, 'INBOX', imapcheck.make_message(901, subject='late arrival'))
        imapcheck.select(conn, 'Work/Reports', readonly=False)
        typ, dat = conn.store('1', '+FLAGS.SILENT', '(\\Flagged)')
        checks.eq(typ, 'OK', 'flag set on the source')
    r2 = job.run('--jobs', '1', '--debug', 'wire')
    checks.attach(r2)
    checks.code(r2, 0, 'sync after changes')
    checks.eq(r2.totals.get('copied'), 1, 'copied after one new message')
    with open(r2.log_path, errors='replace') as f:
        log2 = f.read()
    checks.eq(status_sent_from_outside(log2), [],
              'after changes: STATUS asked from outside a selected folder')
    table_counts(checks, r2, 'after changes')
    r3 = job.run('--jobs', '1')
    checks.attach(r3)
    checks.code(r3, 0, 'unchanged rerun')
    for row in ('INBOX', 'Work/Reports -> Work.Reports'):
        cells = r3.table.get(row) or []
        checks.eq(cells[4] if len(cells) > 4 else None, 'unchanged',
                  'Copied cell of %s in the unchanged rerun' % row)
    c = compare.compare(snap('src', 'status'), snap('dst', 'status'))
    checks.check(c.ok, 'the independent checker disagrees:\n' + c.text())
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
