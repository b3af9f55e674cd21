# SPDX-License-Identifier: MIT
"""Dovecot servers that look like Gmail and like Microsoft 365, their seed mailboxes, and
checks by Message-ID for migrations between them.

    g = providerlike.gmail_like(pki, users={'alice': 'pw'})       # a Dovecot, not started
    m = providerlike.m365_like(pki, users={'bob': 'pw'})
    with dovecot.running(g, m):
        seed = providerlike.seed_gmail(g, 'alice')   # a Seed: .messages, .by_id, ...
        providerlike.prepare_gmail(g, 'carol')       # an empty Gmail-like account
        view = providerlike.gmail_storage(g, 'alice')   # {label folder: [compare.Item]}
        problems = providerlike.placement_problems(view, expected)

The Gmail-like server (separator '/'):
- INBOX and user labels ("Work", "Work/Projects", "Receipts", "Événements", "projects",
  "Projects", "Files") are ordinary maildir folders of the inbox namespace. A message with
  several labels is stored once per label folder, byte for byte the same (same
  Message-ID), because Dovecot has no labels: this is the main limit of the imitation.
- "[Gmail]" is the prefix of a namespace of VIRTUAL mailboxes (Dovecot's virtual plugin),
  so LIST shows "[Gmail]" as a \\Noselect container, as Gmail does. Its mailboxes are
  "All Mail" (\\All), "Sent Mail" (\\Sent), "Drafts", "Trash", "Spam" (\\Junk), "Starred"
  (\\Flagged) and "Important" (\\Important).
- The messages of the system folders live in a hidden namespace (prefix ".hidden/",
  hidden = yes, list = no: not in LIST or NAMESPACE): .hidden/Sent, Drafts, Trash, Spam,
  Starred, Important, and .hidden/Archived. Each "[Gmail]/X" virtual mailbox shows one of
  them and saves into it ("!" in dovecot-virtual), so APPEND works (without APPENDUID, a
  limit of virtual mailboxes). "Starred" holds copies of the \\Flagged messages and
  "Important" copies of some messages, as on Gmail.
- "[Gmail]/All Mail" shows every message of the inbox namespace (INBOX and the labels),
  .hidden/Sent, .hidden/Drafts and .hidden/Archived: everything but Trash, Spam and the
  Starred/Important copies. A message only in All Mail (archived, no label) is stored in
  .hidden/Archived, which LIST does not show; APPEND to All Mail saves there. A message
  with two labels shows twice in All Mail (Gmail shows it once): the second limit. STATUS
  of a virtual mailbox can lag behind its folders until it is selected again: the third.
- LIST "[Gmail]" answers \\Noselect; with LIST-EXTENDED (RETURN ...) Dovecot says
  \\NonExistent instead, which implies \\Noselect (RFC 5258).
- No X-GM-EXT-1: mailhaul's Gmail profile must fall back to the message fingerprint.
  CAPABILITY is otherwise Gmail's (GMAIL_CAPABILITY: LITERAL-, no QRESYNC, APPENDLIMIT);
  auth_mechanisms plain login xoauth2 oauthbearer (no passdb checks tokens here).

The Microsoft-like server (separator '/'): "Sent Items" \\Sent, "Deleted Items" \\Trash,
"Junk Email" \\Junk, "Drafts" \\Drafts, "Archive" \\Archive, "Outbox", the non-mail
folders of Exchange (NON_MAIL) and "Files", created for every user (M365_FOLDERS);
auth_mechanisms plain login xoauth2 (no OAUTHBEARER; XOAUTH2 is offered but no passdb
checks tokens); imap_capability set to Exchange Online's list (M365_CAPABILITY: no
CONDSTORE, QRESYNC, ENABLE, ESEARCH, LIST-EXTENDED or SPECIAL-USE token). Dovecot still
sends the special-use attributes in plain LIST replies without the SPECIAL-USE capability,
as Exchange does. exchange_greeting=True also makes the greeting say "The Microsoft
Exchange IMAP4 service is ready." (then mailhaul detects it as Microsoft 365 without
--office1/2). Limits: Dovecot still obeys ENABLE CONDSTORE and the like when a client
sends them unannounced (Exchange would refuse), and a parent created only through its
child ("Work" of "Work/Clients") is \\Noselect here.

Seeds: seed_gmail (gmail_messages: labels, flags, keywords, read receipts, a 12,000-character
line, a raw UTF-8 Subject, a \\Deleted message, "projects" and "Projects", "Files"),
seed_m365 (m365_messages: special, user and non-mail folders, Outbox, Files, an odd name)
and seed_folders (generic_messages for a generic Dovecot), all through preload_fast.
Checks: expect(...) per source message, placement_problems(view, expected, absent).
"""
import collections
import imaplib
import re

from . import compare, corpus, dovecot, imapcheck
from .imapcheck import Mail

# -- the Gmail-like server ----------------------------------------------------------------

GMAIL = '[Gmail]'
HIDDEN = '.hidden'
ALL_MAIL = GMAIL + '/All Mail'
SENT_MAIL = GMAIL + '/Sent Mail'
DRAFTS = GMAIL + '/Drafts'
TRASH = GMAIL + '/Trash'
SPAM = GMAIL + '/Spam'
STARRED = GMAIL + '/Starred'
IMPORTANT = GMAIL + '/Important'
ARCHIVED = None  # the "label" of a message that has none (only in All Mail)

# [Gmail]/ mailbox -> (special-use attribute, hidden real folder)
GMAIL_SYSTEM = collections.OrderedDict([
    ('All Mail', ('\\All', 'Archived')),
    ('Sent Mail', ('\\Sent', 'Sent')),
    ('Drafts', ('\\Drafts', 'Drafts')),
    ('Trash', ('\\Trash', 'Trash')),
    ('Spam', ('\\Junk', 'Spam')),
    ('Starred', ('\\Flagged', 'Starred')),
    ('Important', ('\\Important', 'Important')),
])
# What All Mail shows besides the inbox namespace ('*').
ALL_MAIL_HIDDEN = ('Sent', 'Drafts', 'Archived')


def hidden_folder(gmail_folder):
    """The real (hidden) folder behind a [Gmail]/ mailbox, or the name itself for labels."""
    if gmail_folder is ARCHIVED:
        return HIDDEN + '/Archived'
    if gmail_folder.startswith(GMAIL + '/'):
        return HIDDEN + '/' + GMAIL_SYSTEM[gmail_folder[len(GMAIL) + 1:]][1]
    return gmail_folder


def _gmail_conf():
    lines = ['namespace gmail {', '  prefix = "%s/"' % GMAIL, '  separator = /',
             '  location = virtual:~/GmailVirtual', '  list = yes', '  subscriptions = yes']
    for name, (attr, _real) in GMAIL_SYSTEM.items():
        lines += ['  mailbox "%s" {' % name, '    special_use = %s' % attr, '  }']
    lines += ['}',
              'namespace hidden {', '  prefix = "%s/"' % HIDDEN, '  separator = /',
              '  location = maildir:~/Hidden:LAYOUT=fs', '  hidden = yes', '  list = no',
              '  subscriptions = no', '}']
    return '\n'.join(lines)


# Gmail's CAPABILITY after login (docs/providers.md, Gmail "Connection and capabilities")
# without what Dovecot cannot do (X-GM-EXT-1, XLIST, QUOTA and COMPRESS without their
# plugins, UTF8=ACCEPT): no QRESYNC, LITERAL- rather than LITERAL+, APPENDLIMIT (advertised
# only; Dovecot does not enforce it).
GMAIL_CAPABILITY = ('IMAP4rev1 UNSELECT IDLE NAMESPACE ID CHILDREN UIDPLUS ENABLE MOVE '
                    'CONDSTORE ESEARCH LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE '
                    'APPENDLIMIT=35651584')


def gmail_like(pki, users, extra_conf='', **kw):
    """A Dovecot (not started) laid out like Gmail; call prepare_gmail(dv, user) (or
    seed_gmail) for each user once it runs."""
    kw.setdefault('imap_capability', GMAIL_CAPABILITY)
    kw.setdefault('mechanisms', 'plain login xoauth2 oauthbearer')
    return dovecot.Dovecot(pki, users=users, separator='/', special_use=False,
                           mail_plugins=('virtual',),
                           extra_conf=_gmail_conf() + ('\n' + extra_conf if extra_conf else ''),
                           **kw)


def prepare_gmail(dv, user):
    """Create user's hidden system folders and the [Gmail]/ virtual mailboxes."""
    for _name, (_attr, real) in GMAIL_SYSTEM.items():
        dv.doveadm('mailbox', 'create', '-u', user, '%s/%s' % (HIDDEN, real), check=False)
    for name, (_attr, real) in GMAIL_SYSTEM.items():
        if name == 'All Mail':
            # '*' is the inbox namespace (the virtual namespace is left out explicitly;
            # the hidden one is not listed); then the hidden folders All Mail includes. The
            # '!' marks the folder an APPEND to the virtual mailbox goes to.
            spec = ['*', '-%s/*' % GMAIL] + ['%s%s/%s' % ('!' if r == real else '', HIDDEN, r)
                                              for r in ALL_MAIL_HIDDEN]
        else:
            spec = ['!%s/%s' % (HIDDEN, real)]
        dv.write_user_file(user, 'GmailVirtual/%s/dovecot-virtual' % name,
                           '\n'.join(spec) + '\n  all\n')


SeedMessage = collections.namedtuple('SeedMessage', 'name mail labels message_id')


def _mid(body):
    m = re.search(rb'^Message-ID:\s*(\S+)', body, re.I | re.M)
    return m.group(1).decode() if m else None


def _special(n, subject, headers=(), body=None, size=None):
    return imapcheck.make_message(9000 + n, subject=subject, headers=headers, body=body,
                                  size=size, date=corpus.START + SEED_SPAN_START + 86400 * n)


SEED_SPAN_START = 3 * 365 * 86400
LONG_LINE = 12000
DNT = 'Disposition-Notification-To: Alice Martin <alice@example.com>'


def long_line_text():
    words = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '
             'incididunt ut labore et dolore magna aliqua').split()
    out, i = [], 0
    while sum(len(w) + 1 for w in out) < LONG_LINE:
        out.append(words[i % len(words)])
        i += 1
    line = ' '.join(out)[:LONG_LINE]
    return 'A line of %d characters follows.\n%s\nThe end.\n' % (len(line), line)


def gmail_messages(seed=1):
    """[SeedMessage] of the Gmail-like source account: each message once, with its labels
    (folder names as Gmail lists them; () = archived, only in All Mail), in a fixed order.

    Flags cover \\Seen \\Answered \\Flagged \\Draft \\Deleted and the keywords $Forwarded,
    Project-X and $MDNSent; two messages carry Disposition-Notification-To, one a line of
    12,000 characters, one a raw UTF-8 Subject; "projects" and "Projects" are two labels.
    """
    plan = [
        # (name, labels, flags)
        ('inbox-read', ('INBOX',), ('\\Seen',)),
        ('inbox-unread', ('INBOX',), ()),
        ('inbox-work-flagged', ('INBOX', 'Work'), ('\\Seen', '\\Flagged')),
        ('inbox-work-forwarded', ('INBOX', 'Work'), ('\\Seen', '$Forwarded')),
        ('work-receipts', ('Work', 'Receipts'), ('\\Seen', '\\Answered')),
        ('projects-keyword', ('Work/Projects',), ('\\Seen', 'Project-X')),
        ('projects-unread', ('Work/Projects',), ()),
        ('receipts-mdnsent', ('Receipts',), ('\\Seen', '$MDNSent')),
        ('receipts-read', ('Receipts',), ('\\Seen',)),
        ('events-inbox', ('Événements', 'INBOX'), ('\\Seen',)),
        ('sent-work', (SENT_MAIL, 'Work'), ('\\Seen',)),
        ('sent-1', (SENT_MAIL,), ('\\Seen',)),
        ('sent-2', (SENT_MAIL,), ('\\Seen', '\\Answered')),
        ('draft', (DRAFTS,), ('\\Draft',)),
        ('archived-read', (), ('\\Seen',)),
        ('archived-unread', (), ()),
        ('archived-flagged', (), ('\\Seen', '\\Flagged')),
        ('spam-1', (SPAM,), ()),
        ('spam-2', (SPAM,), ('\\Seen',)),
        ('trash-1', (TRASH,), ('\\Seen',)),
        ('trash-2', (TRASH,), ()),
        ('lower-projects', ('projects',), ('\\Seen',)),
        ('upper-projects', ('Projects',), ('\\Seen',)),
        ('files', ('Files',), ('\\Seen',)),
    ]
    bodies = corpus.new_messages(seed, len(plan), mix=corpus.SMALL_MIX)
    out = []
    for (name, labels, flags), mail in zip(plan, bodies):
        out.append(SeedMessage(name, Mail(mail.body, tuple(flags), mail.date), labels,
                                _mid(mail.body)))
    specials = [
        ('receipt-unread', ('INBOX',), (),
         _special(1, 'Please confirm you read this', headers=(DNT,))),
        ('receipt-mdnsent', ('Receipts',), ('\\Seen', '$MDNSent'),
         _special(2, 'Invoice 2024-117 (read receipt requested)', headers=(DNT,))),
        ('long-line', ('Work',), ('\\Seen',),
         _special(3, 'Export with one very long line', body=long_line_text())),
        ('non-ascii-subject', ('Événements',), ('\\Seen', '\\Flagged'),
         _special(4, 'Grüße aus Zürich – Übersicht 日本')),
        ('deleted', ('INBOX',), ('\\Seen', '\\Deleted'),
         _special(5, 'Marked deleted, not expunged yet')),
    ]
    for i, (name, labels, flags, body) in enumerate(specials):
        date = corpus.START + SEED_SPAN_START + 86400 * (i + 1)
        out.append(SeedMessage(name, Mail(body, tuple(flags), date), labels, _mid(body)))
    ids = [m.message_id for m in out]
    assert len(set(ids)) == len(ids) and None not in ids, 'Message-IDs must be unique'
    return out


IMPORTANT_NAMES = ('inbox-read', 'work-receipts', 'sent-1')


class Seed:
    """What seed_gmail / seed_m365 put on a server.

    messages: [SeedMessage] (for M365 seeds, labels is a 1-tuple: the folder)
    by_id:    {Message-ID: SeedMessage}
    by_name:  {name: SeedMessage}
    folders:  {real folder: [Mail]} as written (with the copies)
    expected: {real folder: [imapcheck.Message]} as preload_fast returned it
    """

    def __init__(self, messages, folders, expected):
        self.messages = messages
        self.by_id = {m.message_id: m for m in messages}
        self.by_name = {m.name: m for m in messages}
        self.folders = folders
        self.expected = expected

    def named(self, *names):
        return [self.by_name[n] for n in names]


def gmail_folders(messages):
    """{real folder: [Mail]}: each message in each of its label folders (the hidden real
    folder for [Gmail]/ ones, .hidden/Archived for none), plus the Starred copies of every
    \\Flagged message outside Spam and Trash and the Important copies."""
    folders = collections.OrderedDict()
    for m in messages:
        for label in m.labels or (ARCHIVED,):
            folders.setdefault(hidden_folder(label), []).append(m.mail)
    for m in messages:
        if '\\Flagged' in m.mail.flags and not set(m.labels) & {SPAM, TRASH}:
            folders.setdefault(hidden_folder(STARRED), []).append(m.mail)
        if m.name in IMPORTANT_NAMES:
            folders.setdefault(hidden_folder(IMPORTANT), []).append(m.mail)
    return folders


def seed_gmail(dv, user, seed=1, messages=None):
    """Fill user's Gmail-like account (gmail_messages(seed) by default); returns a Seed."""
    messages = messages if messages is not None else gmail_messages(seed)
    folders = gmail_folders(messages)
    prepare_gmail(dv, user)
    expected = dv.preload_fast(user, folders)
    return Seed(messages, folders, expected)


def gmail_storage(dv, user):
    """{folder: [compare.Item]} of a Gmail-like account, each message once per label: the
    label folders as listed, "[Gmail]/X" read from its hidden real folder (so "[Gmail]/All
    Mail" holds only the archived messages, those without a label). Read with imaplib."""
    out = collections.OrderedDict()
    with imapcheck.session(dv, user) as conn:
        for f in imapcheck.folder_list(conn):
            if not imapcheck.selectable(f) or f.name.startswith(GMAIL + '/'):
                continue
            out[f.name] = compare.folder_items(conn, f.name)
        for name, (_attr, real) in GMAIL_SYSTEM.items():
            out['%s/%s' % (GMAIL, name)] = compare.folder_items(conn, '%s/%s' % (HIDDEN, real))
    return out


# -- the Microsoft-like server -------------------------------------------------------------

M365_SPECIAL = collections.OrderedDict([
    ('Sent Items', '\\Sent'),
    ('Deleted Items', '\\Trash'),
    ('Junk Email', '\\Junk'),
    ('Drafts', '\\Drafts'),
    ('Archive', '\\Archive'),
    ('Outbox', None),
])
NON_MAIL = ('Calendar', 'Calendar/Birthdays', 'Contacts', 'Tasks', 'Notes', 'Journal',
            'Conversation History', 'Sync Issues', 'Sync Issues/Conflicts',
            'Sync Issues/Local Failures', 'Sync Issues/Server Failures', 'RSS Feeds')
# Every folder an M365-like account starts with (besides INBOX); "Files" may appear on
# Exchange (attachment-only items) and is reserved there.
M365_FOLDERS = tuple(M365_SPECIAL) + NON_MAIL + ('Files',)
# Exchange Online's CAPABILITY after login, without its own tokens and the AUTH= list (which
# Dovecot adds) (docs/providers.md, Microsoft 365 "Connection and capabilities").
M365_CAPABILITY = ('IMAP4 IMAP4rev1 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE '
                   'LITERAL+')
EXCHANGE_GREETING = 'The Microsoft Exchange IMAP4 service is ready.'


def m365_like(pki, users, exchange_greeting=False, **kw):
    """A Dovecot (not started) laid out like Microsoft 365 (see the module documentation);
    every user gets the special and non-mail folders (auto = subscribe)."""
    special = collections.OrderedDict(M365_SPECIAL)
    for name in M365_FOLDERS:
        special.setdefault(name, None)
    return dovecot.Dovecot(pki, users=users, separator='/', special_use=special,
                           mechanisms='plain login xoauth2', imap_capability=M365_CAPABILITY,
                           login_greeting=EXCHANGE_GREETING if exchange_greeting else None,
                           **kw)


ODD_NAME = '  Odd  Name^x'
ODD_NAME_CLEANED = 'Odd Name_x'


def m365_messages(seed=2, odd_folder=True):
    """[SeedMessage] for an M365-like source (labels = (folder,)): mail in INBOX, the special
    folders and user folders, and one message in each non-mail folder, Outbox and "Files"
    (none of which may be copied)."""
    plan = [
        ('inbox-read', 'INBOX', ('\\Seen',)),
        ('inbox-flagged', 'INBOX', ('\\Seen', '\\Flagged')),
        ('inbox-unread-keywords', 'INBOX', ('$Forwarded', '$MDNSent')),
        ('sent-1', 'Sent Items', ('\\Seen',)),
        ('sent-2', 'Sent Items', ('\\Seen', '\\Answered')),
        ('deleted-1', 'Deleted Items', ('\\Seen',)),
        ('deleted-2', 'Deleted Items', ()),
        ('junk', 'Junk Email', ()),
        ('draft', 'Drafts', ('\\Draft',)),
        ('archive-1', 'Archive', ('\\Seen',)),
        ('archive-2', 'Archive', ('\\Seen', '\\Flagged')),
        ('projects-1', 'Projects', ('\\Seen',)),
        ('projects-2', 'Projects', ()),
        ('clients', 'Work/Clients', ('\\Seen', '\\Answered')),
        ('outbox', 'Outbox', ()),
        ('files', 'Files', ('\\Seen',)),
    ]
    if odd_folder:
        plan.append(('odd-name', ODD_NAME, ('\\Seen',)))
    plan += [('nonmail-%s' % f.lower().replace(' ', '-').replace('/', '-'), f, ('\\Seen',))
             for f in NON_MAIL]
    bodies = corpus.new_messages(seed, len(plan), mix=corpus.SMALL_MIX)
    out = []
    for (name, folder, flags), mail in zip(plan, bodies):
        out.append(SeedMessage(name, Mail(mail.body, tuple(flags), mail.date), (folder,),
                                _mid(mail.body)))
    return out


def seed_m365(dv, user, seed=2, messages=None, odd_folder=True):
    """Fill user's M365-like account (m365_messages by default); returns a Seed."""
    messages = messages if messages is not None else m365_messages(seed, odd_folder)
    return seed_folders(dv, user, messages)


# Over both providers' message size limits: Microsoft 365's 35 MiB and Gmail's APPENDLIMIT.
OVERSIZE = 36 * 1024 * 1024 + 100000


def generic_messages(seed=3, oversize=False):
    """[SeedMessage] for a generic Dovecot source (Dovecot's default special folders Sent,
    Drafts, Trash, Junk, Archive): includes a read-receipt request, $MDNSent, a line of
    12,000 characters and a "Files" folder, for the Microsoft-like destination's fix-ups;
    with oversize, also a message of OVERSIZE bytes in INBOX (named 'oversize')."""
    plan = [
        ('inbox-read', 'INBOX', ('\\Seen',)),
        ('inbox-flagged', 'INBOX', ('\\Seen', '\\Flagged', '$Forwarded')),
        ('inbox-mdnsent', 'INBOX', ('\\Seen', '$MDNSent')),
        ('sent', 'Sent', ('\\Seen',)),
        ('draft', 'Drafts', ('\\Draft',)),
        ('trash', 'Trash', ('\\Seen',)),
        ('junk', 'Junk', ()),
        ('archive', 'Archive', ('\\Seen', '\\Answered')),
        ('list', 'Lists/dovecot', ('\\Seen',)),
        ('files', 'Files', ('\\Seen',)),
    ]
    bodies = corpus.new_messages(seed, len(plan), mix=corpus.SMALL_MIX)
    out = [SeedMessage(name, Mail(mail.body, tuple(flags), mail.date), (folder,),
                       _mid(mail.body)) for (name, folder, flags), mail in zip(plan, bodies)]
    for i, (name, folder, flags, body) in enumerate([
            ('receipt-unread', 'INBOX', (), _special(11, 'Read receipt wanted', headers=(DNT,))),
            ('long-line', 'INBOX', ('\\Seen',),
             _special(12, 'One long line', body=long_line_text()))]):
        out.append(SeedMessage(name, Mail(body, flags, corpus.START + 86400 * (i + 1)),
                               (folder,), _mid(body)))
    if oversize:
        body = _special(13, 'Scans (too big for Gmail and Microsoft 365)', size=OVERSIZE)
        out.append(SeedMessage('oversize', Mail(body, ('\\Seen',), corpus.START + 86400 * 9),
                               ('INBOX',), _mid(body)))
    return out


def seed_folders(dv, user, messages):
    """Fill user's account with [SeedMessage] whose labels are 1-tuples (the folder);
    returns a Seed."""
    folders = collections.OrderedDict()
    for m in messages:
        folders.setdefault(m.labels[0], []).append(m.mail)
    expected = dv.preload_fast(user, folders)
    return Seed(messages, folders, expected)


# -- checks by Message-ID -----------------------------------------------------------------

Expect = collections.namedtuple('Expect', 'folders flags date sha256 count')
Expect.__new__.__defaults__ = (None, 1)


def expect(folders, mail, drop_flags=(), sha=True, count=1):
    """An Expect for a source Mail: it must be in one of folders (a name or a tuple of
    acceptable names; count copies in all, each in a different folder when count > 1),
    with the source's flags minus drop_flags and its INTERNALDATE; with sha=True, also
    byte for byte the same."""
    if isinstance(folders, str):
        folders = (folders,)
    flags = imapcheck.normalize_flags(f for f in mail.flags if f not in set(drop_flags))
    body = imaplib_crlf(mail.body)
    return Expect(tuple(folders), flags, int(mail.date),
                  imapcheck.sha256(body) if sha else None, count)


def imaplib_crlf(body):
    """body as bytes with CRLF line ends (as APPEND and preload_fast store it)."""
    body = body.encode() if isinstance(body, str) else body
    return imaplib.MapCRLF.sub(b'\r\n', body)


def index_by_message_id(view):
    """{Message-ID: [(folder, Item)]} of a {folder: [Item]} view."""
    out = collections.defaultdict(list)
    for folder, items in view.items():
        for item in items:
            out[item.message_id.strip()].append((folder, item))
    return out


def placement_problems(view, expected, absent=(), ignore_folders=(), more_keywords=False):
    """Problems (strings) of a destination view ({folder: [Item]}) against expected
    ({Message-ID: Expect}): each expected message exactly `count` times, in acceptable
    folders, with the expected flags, INTERNALDATE and (if given) sha256; no message of
    absent (Message-IDs) anywhere; no other message at all (folders in ignore_folders are
    not looked at). more_keywords: a message may carry keywords besides the expected flags
    (not system flags)."""
    view = {f: items for f, items in view.items() if f not in set(ignore_folders)}
    found = index_by_message_id(view)
    problems = []
    for mid, e in expected.items():
        where = found.get(mid, [])
        if len(where) != e.count:
            problems.append('%s: expected %d cop%s in %s, found %d in %s' % (
                mid, e.count, 'y' if e.count == 1 else 'ies', ' or '.join(e.folders),
                len(where), [f for f, _ in where] or 'none'))
        folders_seen = [f for f, _ in where]
        if e.count > 1 and len(set(folders_seen)) != len(folders_seen):
            problems.append('%s: several copies in one folder: %s' % (mid, folders_seen))
        for folder, item in where:
            if folder not in e.folders:
                problems.append('%s: in %r, expected in %s' % (mid, folder,
                                                               ' or '.join(e.folders)))
            extra = set(item.flags) - set(e.flags)
            if more_keywords and set(e.flags) <= set(item.flags) and \
                    not [f for f in extra if f.startswith('\\')]:
                pass
            elif tuple(item.flags) != tuple(e.flags):
                problems.append('%s in %s: flags (%s), expected (%s)' % (
                    mid, folder, ' '.join(item.flags), ' '.join(e.flags)))
            if item.internaldate != e.date:
                problems.append('%s in %s: INTERNALDATE %d, expected %d' % (
                    mid, folder, item.internaldate, e.date))
            if e.sha256 is not None and item.sha256 != e.sha256:
                problems.append('%s in %s: bytes differ from the source (%d bytes)' % (
                    mid, folder, item.size))
    for mid in absent:
        if mid in found:
            problems.append('%s must not be copied, found in %s' % (
                mid, [f for f, _ in found[mid]]))
    for mid, where in found.items():
        if mid not in expected and mid not in set(absent):
            problems.append('unexpected message %s in %s' % (mid or '(no Message-ID)',
                                                             [f for f, _ in where]))
    return problems


def fetch_bodies(dv, user, folder):
    """{Message-ID: message bytes} of folder (read-only, with imaplib)."""
    with imapcheck.session(dv, user) as conn:
        return {_mid(m['body']): m['body'] for m in imapcheck.fetch_messages(conn, folder)}


def longest_line(body):
    return max(len(line) for line in body.split(b'\r\n'))
