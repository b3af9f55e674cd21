#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Migrations out of a Gmail-like Dovecot (mhtest.providerlike): into a Microsoft-like one
(--gmail1 --office2; labels once, --gmail-labels copy and keywords), into another
Gmail-like one (--gmail1 --gmail2: every label kept) and into a generic Dovecot (--gmail1
only, and with --include-spam --include-trash). Checked with the independent imaplib
checker, message by message (Message-ID, flags, INTERNALDATE, bytes where no fix-up
applies).

The Gmail-like source has no X-GM-EXT-1, so mailhaul must recognise a message in several
label folders by its fingerprint. Labels priority (default "once"): user labels, then
INBOX, then Sent, then Drafts, then All Mail (only for messages without a label).
"""
import contextlib
import re

from mhtest import certs, compare, dovecot, imapcheck, providerlike as pl, tap
from mhtest.synctest import Checks, Job

PW_G, PW_M, PW_X = 'Gmail-like-pw-4471', 'M365-like-pw-5582', 'Generic-pw-6693'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        gsrc = pl.gmail_like(pki, {'alice': PW_G, 'shape': PW_G})
        gdst = pl.gmail_like(pki, {'g2g': PW_G})
        mdst = pl.m365_like(pki, {'once': PW_M, 'copy': PW_M, 'kw': PW_M})
        gen = dovecot.Dovecot(pki, users={'g2gen': PW_X, 'g2gen-all': PW_X}, separator='/')
        with dovecot.running(gsrc, gdst, mdst, gen):
            S.update(gsrc=gsrc, gdst=gdst, mdst=mdst, gen=gen)
            S['seed'] = pl.seed_gmail(gsrc, 'alice')
            pl.seed_gmail(gsrc, 'shape')
            pl.prepare_gmail(gdst, 'g2g')
            yield


# -- what the destination must hold ------------------------------------------------------

USER_LABEL_MAP_M365 = {'Files': 'Files_renamed', 'projects': ('projects', 'Projects'),
                       'Projects': ('projects', 'Projects')}
SYSTEM_M365 = {'INBOX': 'INBOX', pl.SENT_MAIL: 'Sent Items', pl.DRAFTS: 'Drafts',
               None: 'Archive'}
SYSTEM_GMAIL = {'INBOX': 'INBOX', pl.SENT_MAIL: pl.SENT_MAIL, pl.DRAFTS: pl.DRAFTS,
                None: (pl.ALL_MAIL, 'Archive')}
SYSTEM_GENERIC = {'INBOX': 'INBOX', pl.SENT_MAIL: 'Sent', pl.DRAFTS: 'Drafts',
                  None: 'Archive'}
FIXED_UP = ('receipt-unread', 'receipt-mdnsent', 'long-line')   # bytes change on M365


def _names(x):
    return x if isinstance(x, tuple) else (x,)


def skipped(m):
    """Not copied from Gmail by default: Spam, Trash, \\Deleted."""
    return bool(set(m.labels) & {pl.SPAM, pl.TRASH}) or '\\Deleted' in m.mail.flags


def user_labels(m):
    return [label for label in m.labels if label != 'INBOX' and not label.startswith('[Gmail]/')]


def destinations_once(m, system, user_map):
    """Acceptable destination folders of m in the default (once) mode."""
    users = user_labels(m)
    if users:
        out = []
        for label in users:
            out += _names(user_map.get(label, label))
        return tuple(dict.fromkeys(out))
    for label in ('INBOX', pl.SENT_MAIL, pl.DRAFTS):
        if label in m.labels:
            return _names(system[label])
    return _names(system[None])


def expected_once(seed, system, user_map, drop_flags=(), fixed_up=()):
    exp, absent = {}, []
    for m in seed.messages:
        if skipped(m):
            absent.append(m.message_id)
            continue
        exp[m.message_id] = pl.expect(destinations_once(m, system, user_map), m.mail,
                                      drop_flags, sha=m.name not in fixed_up)
    return exp, absent


def expected_per_label(seed, system, user_map, drop_flags=(), fixed_up=()):
    """One copy in each label folder (archived messages: one in the \\All mapping)."""
    exp, absent = {}, []
    for m in seed.messages:
        if skipped(m):
            absent.append(m.message_id)
            continue
        folders = []
        for label in m.labels or (None,):
            folders += _names(system.get(label) or user_map.get(label, label))
        exp[m.message_id] = pl.expect(tuple(dict.fromkeys(folders)), m.mail, drop_flags,
                                      sha=m.name not in fixed_up, count=len(m.labels or (1,)))
    return exp, absent


def require_placement(checks, view, exp, absent, what):
    problems = pl.placement_problems(view, exp, absent)
    checks.check(not problems, '%s:\n  %s' % (what, '\n  '.join(problems)))


def folder_names(server, user):
    with imapcheck.session(server, user) as conn:
        return {f.name: f for f in imapcheck.folder_list(conn)}


def m365_view(user):
    return compare.take(S['mdst'], user, label='%s on the M365-like server' % user).messages


# -- the server itself ------------------------------------------------------------------

@tap.test
def gmail_like_server_lists_like_gmail():
    """LIST, attributes and counts as Gmail shows them (checked without mailhaul)."""
    checks = Checks()
    with imapcheck.session(S['gsrc'], 'shape') as conn:
        folders = {f.name: f for f in imapcheck.folder_list(conn)}
        counts = imapcheck.folder_counts(conn)
        caps = imapcheck.capabilities(conn)
        typ, dat = conn.namespace()
    attrs = {n: {a.lower() for a in f.attributes} for n, f in folders.items()}
    for name, attr in (('[Gmail]/All Mail', '\\all'), ('[Gmail]/Sent Mail', '\\sent'),
                       ('[Gmail]/Drafts', '\\drafts'), ('[Gmail]/Trash', '\\trash'),
                       ('[Gmail]/Spam', '\\junk'), ('[Gmail]/Starred', '\\flagged'),
                       ('[Gmail]/Important', '\\important')):
        checks.check(attr in attrs.get(name, ()), '%s should be listed with %s: %r' % (
            name, attr, attrs.get(name)))
    # Dovecot answers LIST-EXTENDED with \\NonExistent (which implies \\Noselect, RFC 5258)
    # for the namespace prefix, plain LIST with \\Noselect as Gmail does.
    checks.check(attrs.get('[Gmail]', set()) & {'\\noselect', '\\nonexistent'},
                 '[Gmail] must not be selectable: %r' % (attrs.get('[Gmail]'),))
    with imapcheck.session(S['gsrc'], 'shape') as conn:
        typ, dat = conn.list('""', '"[Gmail]"')
    checks.check(typ == 'OK' and dat and b'\\Noselect' in dat[0],
                 'plain LIST [Gmail]: %r' % (dat,))
    checks.eq(sorted(n for n in folders if not n.startswith('[Gmail]')),
              sorted(['INBOX', 'Work', 'Work/Projects', 'Receipts', 'Événements', 'projects',
                      'Projects', 'Files']), 'label folders')
    checks.check(not [n for n in folders if n.startswith(pl.HIDDEN)],
                 'the hidden namespace must not be listed')
    checks.eq({f.separator for f in folders.values()}, {'/'}, 'separator')
    seed = pl.gmail_messages()
    labelled = sum(len(m.labels) for m in seed if not set(m.labels) & {pl.SPAM, pl.TRASH})
    archived = sum(1 for m in seed if not m.labels)
    # All Mail: every message but Spam and Trash, once per label (the imitation's limit).
    checks.eq(counts.get(pl.ALL_MAIL), labelled + archived, 'All Mail count')
    checks.eq(counts.get('INBOX'), sum('INBOX' in m.labels for m in seed), 'INBOX count')
    checks.eq(counts.get(pl.SPAM), 2, 'Spam count')
    checks.eq(counts.get(pl.TRASH), 2, 'Trash count')
    flagged = sum('\\Flagged' in m.mail.flags for m in seed
                  if not set(m.labels) & {pl.SPAM, pl.TRASH})
    checks.eq(counts.get(pl.STARRED), flagged, 'Starred count (the \\Flagged messages)')
    checks.eq(counts.get('Work'), sum('Work' in m.labels for m in seed), 'Work count')
    checks.check('X-GM-EXT-1' not in caps and 'QRESYNC' not in caps and 'LITERAL-' in caps,
                 'capabilities: %s' % ' '.join(sorted(caps)))
    checks.check(typ == 'OK' and b'.hidden' not in b' '.join(dat), 'NAMESPACE: %r' % (dat,))
    # The same message (same bytes) in INBOX and Work.
    both = [m for m in seed if set(m.labels) >= {'INBOX', 'Work'}][0]
    sha = imapcheck.sha256(pl.imaplib_crlf(both.mail.body))
    with imapcheck.session(S['gsrc'], 'shape') as conn:
        inbox = [m.sha256 for m in imapcheck.mailbox_snapshot(conn, 'INBOX')]
        work = [m.sha256 for m in imapcheck.mailbox_snapshot(conn, 'Work')]
        every = [m.sha256 for m in imapcheck.mailbox_snapshot(conn, pl.ALL_MAIL)]
        # APPEND into a [Gmail]/ virtual mailbox lands in its hidden folder.
        imapcheck.append(conn, pl.SENT_MAIL, imapcheck.make_message(77), ('\\Seen',))
        after = imapcheck.folder_counts(conn)
        # STATUS of a virtual mailbox may lag until it is selected again.
        after[pl.ALL_MAIL] = imapcheck.select(conn, pl.ALL_MAIL)
    checks.check(sha in inbox and sha in work and every.count(sha) == 2,
                 'a message labelled INBOX and Work is in both and twice in All Mail')
    checks.eq(after.get(pl.SENT_MAIL), counts.get(pl.SENT_MAIL) + 1, 'APPEND to Sent Mail')
    checks.eq(after.get(pl.ALL_MAIL), counts.get(pl.ALL_MAIL) + 1, 'All Mail after APPEND')
    checks.done()


# -- Gmail-like -> Microsoft-like ---------------------------------------------------------

M365_BUILTIN = set(pl.M365_FOLDERS) | {'INBOX'}


@tap.test
def gmail_to_m365_copies_each_message_once_with_fixups():
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['mdst'], 'once', name='g2m')
    r = job.run('--gmail1', '--office2')
    checks.code(r, 0, 'first run')
    checks.attach(r)
    view = m365_view('once')
    exp, absent = expected_once(seed, SYSTEM_M365, USER_LABEL_MAP_M365, ('$MDNSent',),
                                FIXED_UP)
    require_placement(checks, view, exp, absent, 'messages on the destination')
    # Folders: Exchange's own, the labels, one of projects/Projects, Files renamed.
    names = set(folder_names(S['mdst'], 'once'))
    new = names - M365_BUILTIN
    merged = new & {'projects', 'Projects'}
    checks.eq(len(merged), 1, 'projects and Projects merged into one folder (%s)' % sorted(new))
    checks.eq(new - merged, {'Work', 'Work/Projects', 'Receipts', 'Événements',
                             'Files_renamed'}, 'folders created')
    lower, upper = seed.named('lower-projects', 'upper-projects')
    where = pl.index_by_message_id(view)
    checks.eq({f for f, _ in where.get(lower.message_id, [])},
              {f for f, _ in where.get(upper.message_id, [])}, 'projects and Projects merge')
    said = r.stderr + _log(r)
    checks.check(re.search(r'(?i)warn.*projects|projects.*warn', said) or
                 any('projects' in w.lower() for w in r.warning_lines),
                 'the case-insensitive merge of projects/Projects should be warned about')
    # Fix-ups: read receipts disarmed, long lines wrapped, bytes otherwise kept.
    for name in ('receipt-unread', 'receipt-mdnsent'):
        m = seed.by_name[name]
        body = _body(view, 'once', m.message_id)
        if body is None:
            continue
        checks.check(re.search(rb'(?im)^X-Disposition-Notification-To:', body) and
                     not re.search(rb'(?im)^Disposition-Notification-To:', body),
                     '%s: Disposition-Notification-To should be renamed '
                     'X-Disposition-Notification-To' % name)
    long_msg = seed.by_name['long-line']
    body = _body(view, 'once', long_msg.message_id)
    if body is not None:
        checks.check(pl.longest_line(body) <= 10000, 'long-line: a line of %d characters '
                     'is left (limit 10,000)' % pl.longest_line(body))
        words = re.sub(rb'\s+', b' ', body.split(b'\r\n\r\n', 1)[-1])
        original = re.sub(rb'\s+', b' ', long_msg.mail.body.split(b'\r\n\r\n', 1)[-1])
        checks.check(len(words) >= len(original) - 2 and b'lorem ipsum' in words,
                     'long-line: the text should survive the wrapping')
    S['g2m'] = job
    checks.done()


@tap.test
def gmail_to_m365_rerun_copies_nothing():
    """The same command again (same state): nothing copied, nothing changed, exit 0 (the
    \\Deleted message left out on purpose the first time is not missing now either)."""
    job = S.get('g2m')
    if job is None:
        tap.fail('the first run did not happen')
    checks = Checks()
    before = compare.take(S['mdst'], 'once')
    r2 = job.run('--gmail1', '--office2')
    checks.code(r2, 0, 'second run')
    copied = (r2.report or {}).get('totals', {}).get('copied')
    checks.eq(copied, 0, 'copied by the second run')
    after = compare.take(S['mdst'], 'once')
    checks.check(before.same_as(after), 'the second run changed the destination:\n' +
                 before.diff_text(after))
    checks.attach(r2)
    # verify knows the labels too: a message copied once, under its first label, is not
    # missing from its other label folders.
    v = job.run('--gmail1', '--office2', command='verify', state=False)
    checks.code(v, 0, 'verify after the migration')
    vt = (v.report or {}).get('totals', {})
    checks.eq(vt.get('missing'), 0, 'messages verify finds missing')
    checks.check((vt.get('labelled_elsewhere') or 0) > 0,
                 'verify counts the messages copied under another label: %r' % vt)
    checks.attach(v)
    checks.done()


def _log(r):
    try:
        with open(r.log_path, errors='replace') as f:
            return f.read()
    except (OSError, TypeError):
        return ''


def _body(view, user, message_id):
    for folder, items in view.items():
        if any(i.message_id == message_id for i in items):
            return pl.fetch_bodies(S['mdst'], user, folder).get(message_id)
    return None


@tap.test
def gmail_to_m365_label_copy_gives_one_per_label():
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['mdst'], 'copy', name='g2m-copy')
    r = job.run('--gmail1', '--office2', '--gmail-labels', 'copy')
    checks.code(r, 0, 'run')
    exp, absent = expected_per_label(seed, SYSTEM_M365, USER_LABEL_MAP_M365, ('$MDNSent',),
                                     FIXED_UP)
    require_placement(checks, m365_view('copy'), exp, absent, '--gmail-labels copy')
    checks.done()


@tap.test
def gmail_to_m365_label_keywords_adds_the_other_labels():
    """--gmail-labels keywords: placed as with once, and a message labelled Work and
    Receipts carries the label of the folder it did not go to as a keyword."""
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['mdst'], 'kw', name='g2m-kw')
    r = job.run('--gmail1', '--office2', '--gmail-labels', 'keywords')
    checks.code(r, 0, 'run')
    checks.attach(r)
    view = m365_view('kw')
    exp, absent = expected_once(seed, SYSTEM_M365, USER_LABEL_MAP_M365, ('$MDNSent',),
                                FIXED_UP)
    problems = pl.placement_problems(view, exp, absent, more_keywords=True)
    checks.check(not problems, '--gmail-labels keywords:\n  ' + '\n  '.join(problems))
    two = seed.by_name['work-receipts']
    for folder, item in pl.index_by_message_id(view).get(two.message_id, []):
        other = {'Work': 'Receipts', 'Receipts': 'Work'}.get(folder)
        checks.check(other in item.flags, 'the message labelled Work and Receipts is in %s '
                     'and should carry the keyword %s: (%s)' % (folder, other,
                                                                ' '.join(item.flags)))
    checks.done()


# -- Gmail-like -> Gmail-like -------------------------------------------------------------

@tap.test
def gmail_to_gmail_keeps_every_label():
    """Gmail to Gmail keeps every label. Without X-GM-EXT-1 on the destination a label can
    only be a copy in the label's folder, which is what the Gmail-like server's labels are
    (on Gmail, appending the same message to a second label folder adds the label)."""
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['gdst'], 'g2g', name='g2g')
    r = job.run('--gmail1', '--gmail2')
    checks.code(r, 0, 'run')
    checks.attach(r)
    exp, absent = expected_per_label(seed, SYSTEM_GMAIL, {})
    view = pl.gmail_storage(S['gdst'], 'g2g')
    require_placement(checks, view, exp, absent, 'Gmail-like destination (each label folder '
                      'read from its real folder)')
    names = set(folder_names(S['gdst'], 'g2g'))
    checks.check({'Work', 'Work/Projects', 'Receipts', 'Événements', 'Files'} <= names,
                 'label folders on the destination: %s' % sorted(names))
    checks.check(not [n for n in names if n.startswith('[Gmail]/[Gmail]') or
                      n in ('Sent Mail', 'All Mail', 'Starred', 'Important', 'Spam', 'Trash')],
                 'system folders must map onto the [Gmail]/ ones: %s' % sorted(names))
    checks.done()


# -- Gmail-like -> generic, the provider given for the source only -----------------------

@tap.test
def gmail_to_generic_with_gmail1_only():
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['gen'], 'g2gen', name='g2gen')
    r = job.run('--gmail1')
    checks.code(r, 0, 'run')
    exp, absent = expected_once(seed, SYSTEM_GENERIC, {})
    view = compare.take(S['gen'], 'g2gen').messages
    require_placement(checks, view, exp, absent, 'generic destination (no fix-ups: same bytes '
                      'and flags, $MDNSent kept; projects and Projects stay apart)')
    names = set(folder_names(S['gen'], 'g2gen'))
    checks.check(not [n for n in names if 'Gmail' in n or n in ('Starred', 'Important', 'Spam',
                                                               'All Mail', 'Sent Mail')],
                 'no Gmail system folders on the generic server: %s' % sorted(names))
    checks.done()


@tap.test
def gmail_include_spam_and_trash():
    """--include-spam --include-trash: Spam and Trash go to the generic server's Junk and
    Trash; \\Deleted messages are still left out."""
    checks = Checks()
    seed = S['seed']
    job = Job(S['gsrc'], 'alice', S['gen'], 'g2gen-all', name='g2gen-all')
    r = job.run('--gmail1', '--include-spam', '--include-trash')
    checks.code(r, 0, 'run')
    checks.attach(r)
    exp, absent = expected_once(seed, SYSTEM_GENERIC, {})
    for m in seed.messages:
        for label, folder in ((pl.SPAM, 'Junk'), (pl.TRASH, 'Trash')):
            if label in m.labels:
                absent.remove(m.message_id)
                exp[m.message_id] = pl.expect(folder, m.mail)
    require_placement(checks, compare.take(S['gen'], 'g2gen-all').messages, exp, absent,
                      'generic destination with Spam and Trash')
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
