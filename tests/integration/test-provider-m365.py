#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Migrations out of and into a Microsoft-like Dovecot (mhtest.providerlike): into a
Gmail-like one (--office1 --gmail2), into another Microsoft-like one (--office1 --office2),
and from a generic Dovecot (--office2 only, or no option when the greeting names Microsoft
Exchange; --fixups none), and from a generic Dovecot into the Gmail-like one (--gmail2),
with a message over both providers' size limits. Checked with the independent imaplib checker,
message by message (Message-ID, flags, INTERNALDATE, bytes where no fix-up applies).

The Microsoft-like source holds mail in Exchange's special folders and user folders, and
one message in each non-mail folder (Calendar, Contacts, ...), Outbox and Files: none of
those may reach the destination.
"""
import contextlib
import re

from mhtest import certs, cli, compare, corpus, dovecot, imapcheck, providerlike as pl, synctest, tap
from mhtest.synctest import Checks, Job

PW_M, PW_G, PW_X = 'M365-like-pw-7714', 'Gmail-like-pw-8825', 'Generic-pw-9936'
S = {}
# What Exchange Online serves, instead of the message, for an item it cannot convert to MIME
# (docs/providers.md, Microsoft 365 "Folders": the text as users of IMAP clients report
# it); stored as a plain message on the Microsoft-like Dovecot, it is what mailhaul receives.
PLACEHOLDER = imapcheck.Mail(
    b'From: Microsoft Exchange Server\r\n'
    b'Subject: Retrieval using the IMAP4 protocol failed for the following\r\n'
    b' message: 752\r\n'
    b'Date: Mon, 20 Jan 2020 10:00:00 +0000\r\n'
    b'Content-Type: text/plain; charset="us-ascii"\r\n\r\n'
    b'The server couldn\'t retrieve the following message:\r\n\r\n'
    b'Subject: "Quarterly figures"\r\nFrom: "Carol" ("carol@example.com")\r\n\r\n'
    b'The message hasn\'t been deleted. You might be able to view it using either Outlook or '
    b'Outlook Web App. You can also contact the sender to find out what the message says.\r\n',
    ('\\Seen',), None)
NOT_COPIED = set(pl.NON_MAIL) | {'Outbox', 'Files'}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        msrc = pl.m365_like(pki, {'bob': PW_M, 'bob2': PW_M, 'ph': PW_M})
        mdst = pl.m365_like(pki, {'m2m': PW_M, 'gen2m': PW_M, 'gen2mnone': PW_M, 'ph2m': PW_M})
        gdst = pl.gmail_like(pki, {'m2g': PW_G, 'gen2g': PW_G})
        mdet = pl.m365_like(pki, {'det': PW_M}, exchange_greeting=True)
        gen = dovecot.Dovecot(pki, users={'gen': PW_X, 'ph2gen': PW_X}, separator='/')
        with dovecot.running(msrc, mdst, gdst, mdet, gen):
            S.update(msrc=msrc, mdst=mdst, gdst=gdst, mdet=mdet, gen=gen)
            S['seed'] = pl.seed_m365(msrc, 'bob')
            S['seed2'] = pl.seed_m365(msrc, 'bob2', seed=4, odd_folder=False)
            S['ph_mail'] = corpus.new_messages(6, 3, mix=corpus.SMALL_MIX)
            synctest.add_messages(msrc, 'ph', {'INBOX': S['ph_mail'][:2] + [PLACEHOLDER] +
                                               S['ph_mail'][2:]})
            S['gseed'] = pl.seed_folders(gen, 'gen', pl.generic_messages(oversize=True))
            S['oversize_size'] = len(pl.imaplib_crlf(S['gseed'].by_name['oversize'].mail.body))
            for user in ('m2g', 'gen2g'):
                pl.prepare_gmail(gdst, user)
            yield


def expected(seed, folder_map, drop_flags=(), fixed_up=()):
    """({Message-ID: Expect}, [absent Message-IDs]) for a seed of 1-folder messages;
    folder_map: {source folder: destination folder or tuple of acceptable ones}; folders in
    NOT_COPIED must not be copied."""
    exp, absent = {}, []
    for m in seed.messages:
        folder = m.labels[0]
        if folder in NOT_COPIED:
            absent.append(m.message_id)
            continue
        exp[m.message_id] = pl.expect(folder_map.get(folder, folder), m.mail, drop_flags,
                                      sha=m.name not in fixed_up)
    return exp, absent


def require_placement(checks, view, exp, absent, what):
    problems = pl.placement_problems(view, exp, absent)
    checks.check(not problems, '%s:\n  %s' % (what, '\n  '.join(problems)))


def folder_names(server, user):
    with imapcheck.session(server, user) as conn:
        return {f.name: f for f in imapcheck.folder_list(conn)}


# -- the server itself ------------------------------------------------------------------

@tap.test
def m365_like_server_looks_like_exchange():
    """Folders, attributes without the SPECIAL-USE capability, capabilities, mechanisms
    (checked without mailhaul)."""
    checks = Checks()
    with imapcheck.session(S['msrc'], 'bob') as conn:
        caps = imapcheck.capabilities(conn)
        # Without SPECIAL-USE and LIST-EXTENDED the checker sends a plain LIST.
        attrs = {f.name: {a.lower() for a in f.attributes}
                 for f in imapcheck.folder_list(conn)}
        greeting = conn.welcome
    for name, attr in (('Sent Items', '\\sent'), ('Deleted Items', '\\trash'),
                       ('Junk Email', '\\junk'), ('Drafts', '\\drafts'),
                       ('Archive', '\\archive')):
        checks.check(attr in attrs.get(name, ()), 'plain LIST: %s should have %s: %r' % (
            name, attr, attrs.get(name)))
    for name in pl.NON_MAIL + ('Outbox', 'Files'):
        checks.check(name in attrs, '%s should exist' % name)
    for cap in ('CONDSTORE', 'QRESYNC', 'SPECIAL-USE', 'ENABLE', 'ESEARCH'):
        checks.check(cap not in caps, '%s should not be advertised: %s' % (cap, sorted(caps)))
    checks.check(b'AUTH=XOAUTH2' in greeting and b'AUTH=OAUTHBEARER' not in greeting,
                 'mechanisms in the greeting: %r' % (greeting,))
    checks.done()


# -- Microsoft-like -> Gmail-like ---------------------------------------------------------

M2G = {'Sent Items': pl.SENT_MAIL, 'Deleted Items': pl.TRASH, 'Junk Email': pl.SPAM,
       'Drafts': pl.DRAFTS, 'Archive': ('Archive', pl.ALL_MAIL),
       pl.ODD_NAME: pl.ODD_NAME_CLEANED}


@tap.test
def m365_to_gmail_maps_folders_and_leaves_non_mail():
    checks = Checks()
    job = Job(S['msrc'], 'bob', S['gdst'], 'm2g', name='m2g')
    r = job.run('--office1', '--gmail2')
    checks.code(r, 0, 'first run')
    checks.attach(r)
    exp, absent = expected(S['seed'], M2G)
    view = pl.gmail_storage(S['gdst'], 'm2g')
    require_placement(checks, view, exp, absent, 'Gmail-like destination (each [Gmail]/ '
                      'folder read from its real folder)')
    names = set(folder_names(S['gdst'], 'm2g'))
    checks.check(pl.ODD_NAME_CLEANED in names and pl.ODD_NAME not in names,
                 'the folder "%s" should arrive as "%s": %s' % (pl.ODD_NAME,
                                                              pl.ODD_NAME_CLEANED, sorted(names)))
    leaked = sorted(n for n in names if n.split('/')[0] in {f.split('/')[0] for f in NOT_COPIED}
                    or n in ('Sent Items', 'Deleted Items', 'Junk Email'))
    checks.eq(leaked, [], 'non-mail or unmapped special folders on the destination')
    before = pl.gmail_storage(S['gdst'], 'm2g')
    r2 = job.run('--office1', '--gmail2')
    checks.code(r2, 0, 'second run')
    copied = (r2.report or {}).get('totals', {}).get('copied')
    checks.eq(copied, 0, 'copied by the second run')
    if copied != 0:
        checks.attach(r2)
    after = pl.gmail_storage(S['gdst'], 'm2g')
    checks.eq({f: len(v) for f, v in after.items()}, {f: len(v) for f, v in before.items()},
              'counts after the second run')
    checks.done()


# -- Microsoft-like -> Microsoft-like ------------------------------------------------------

@tap.test
def m365_to_m365_keeps_folders_and_counts():
    checks = Checks()
    job = Job(S['msrc'], 'bob2', S['mdst'], 'm2m', name='m2m')
    r = job.run('--office1', '--office2')
    checks.code(r, 0, 'run')
    exp, absent = expected(S['seed2'], {}, ('$MDNSent',))
    view = compare.take(S['mdst'], 'm2m').messages
    require_placement(checks, view, exp, absent, 'Microsoft-like destination')
    names = set(folder_names(S['mdst'], 'm2m'))
    builtin = set(pl.M365_FOLDERS) | {'INBOX'}
    checks.eq(names - builtin, {'Projects', 'Work', 'Work/Clients'}, 'folders created')
    checks.done()


# -- generic -> Microsoft-like, the provider given for the destination only -----------------

G2M = {'Sent': 'Sent Items', 'Trash': 'Deleted Items', 'Junk': 'Junk Email',
       'Files': 'Files_renamed'}


@tap.test
def generic_to_m365_with_office2_only():
    generic_to_m365(S['mdst'], 'gen2m', '--office2')


@tap.test
def exchange_greeting_is_detected_without_flags():
    """The same as above without --office2, into a Microsoft-like server whose greeting
    says "Microsoft Exchange": mailhaul detects the provider and applies the fix-ups."""
    generic_to_m365(S['mdet'], 'det')


@tap.test
def fixups_none_copies_bytes_and_keywords_unchanged():
    """--fixups none: the read receipt, the long line and $MDNSent reach the Microsoft-like
    destination as they are (the reserved name Files is still renamed)."""
    generic_to_m365(S['mdst'], 'gen2mnone', '--office2', '--fixups', 'none', fixups=False)


def skipped_oversize(checks, r):
    """The oversize message must be reported as skipped, with its size."""
    found = []
    for f in (r.report or {}).get('folders', []):
        for s in f.get('skipped', []):
            if (s.get('size') or 0) >= pl.OVERSIZE:
                found.append((f.get('source'), s.get('size'), s.get('reason')))
    checks.eq([(f, n) for f, n, _ in found], [('INBOX', S['oversize_size'])],
              'skipped for size in the report (folder, size)')


def generic_to_m365(server, user, *options, fixups=True):
    checks = Checks()
    seed = S['gseed']
    job = Job(S['gen'], 'gen', server, user, name=user)
    r = job.run(*options)
    checks.code(r, 0, 'run (a message skipped for its size is reported, not missing)')
    checks.attach(r)
    changed = ('receipt-unread', 'long-line') if fixups else ()
    exp, absent = {}, [seed.by_name['oversize'].message_id]
    for m in seed.messages:
        if m.name == 'oversize':
            continue
        folder = m.labels[0]
        exp[m.message_id] = pl.expect(G2M.get(folder, folder), m.mail,
                                      ('$MDNSent',) if fixups else (), sha=m.name not in changed)
    view = compare.take(server, user).messages
    require_placement(checks, view, exp, absent, 'Microsoft-like destination')
    skipped_oversize(checks, r)
    names = set(folder_names(server, user))
    builtin = set(pl.M365_FOLDERS) | {'INBOX'}
    # "Lists" is a \\Noselect container on the source: created or not, both are fine.
    checks.eq(names - builtin - {'Lists'}, {'Lists/dovecot', 'Files_renamed'}, 'folders created')
    bodies = pl.fetch_bodies(server, user, 'INBOX')
    for name in changed:
        body = bodies.get(seed.by_name[name].message_id)
        if body is None:
            continue
        if name == 'receipt-unread':
            checks.check(re.search(rb'(?im)^X-Disposition-Notification-To:', body) and
                         not re.search(rb'(?im)^Disposition-Notification-To:', body),
                         'Disposition-Notification-To should be renamed')
        else:
            checks.check(pl.longest_line(body) <= 10000, 'a line of %d characters is left'
                         % pl.longest_line(body))
    checks.done()


# -- Exchange's placeholder for a message it cannot serve ----------------------------------

@tap.test
def exchange_placeholders_are_not_copied():
    """A message Exchange cannot convert arrives as a placeholder ("Retrieval using the IMAP4
    protocol failed ..."): it is not copied, neither streamed (into a generic server) nor
    through the fix-ups (into Microsoft 365); the run names it and exits 111, and a rerun
    tries it again."""
    checks = Checks()
    want = sorted(imapcheck.sha256(m.body) for m in S['ph_mail'])
    for server, user, options in ((S['gen'], 'ph2gen', ('--office1',)),
                                  (S['mdst'], 'ph2m', ('--office1', '--office2',
                                                        '--fixups', 'receipts'))):
        job = Job(S['msrc'], 'ph', server, user, name=user)
        for attempt in ('run', 'rerun'):
            r = job.run(*options)
            what = '%s into %s' % (attempt, user)
            checks.code(r, cli.EXIT_MESSAGES, what)
            errors = (r.folder('INBOX') or {}).get('errors') or []
            checks.check(len(errors) == 1 and 'placeholder' in errors[0] and
                         'stays on the source' in errors[0],
                         '%s: the report should name the placeholder: %r' % (what, errors))
            checks.check('placeholder' in r.stderr, '%s: stderr does not mention the '
                         'placeholder' % what)
            with imapcheck.session(server, user) as conn:
                got = sorted(m.sha256 for m in imapcheck.mailbox_snapshot(conn, 'INBOX'))
            checks.eq(got, want, '%s: the INBOX copies (the real messages, once each)' % what)
            checks.attach(r)
    checks.done()


# -- generic -> Gmail-like ------------------------------------------------------------------

G2G = {'Sent': pl.SENT_MAIL, 'Drafts': pl.DRAFTS, 'Trash': pl.TRASH, 'Junk': pl.SPAM,
       'Archive': ('Archive', pl.ALL_MAIL)}


@tap.test
def generic_to_gmail_skips_what_exceeds_appendlimit():
    """--gmail2: special folders by attribute onto [Gmail]/, bytes and flags unchanged (no
    fix-ups into Gmail), the message over the APPENDLIMIT skipped and reported."""
    checks = Checks()
    seed = S['gseed']
    job = Job(S['gen'], 'gen', S['gdst'], 'gen2g', name='gen2g')
    r = job.run('--gmail2')
    checks.code(r, 0, 'run (a message skipped for its size is reported, not missing)')
    checks.attach(r)
    exp = {m.message_id: pl.expect(G2G.get(m.labels[0], m.labels[0]), m.mail)
           for m in seed.messages if m.name != 'oversize'}
    view = pl.gmail_storage(S['gdst'], 'gen2g')
    require_placement(checks, view, exp, [seed.by_name['oversize'].message_id],
                      'Gmail-like destination')
    skipped_oversize(checks, r)
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
