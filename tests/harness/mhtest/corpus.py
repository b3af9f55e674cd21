# SPDX-License-Identifier: MIT
"""A generated, realistic test mailbox, deterministic from a seed.

    c = corpus.generate(seed=7, scale=250, sep='/')   # a Corpus
    c.folders                  {folder name (with sep): [imapcheck.Mail(body, flags, date)]}
    c.notes                    {'duplicate': (folder, index), 'no_message_id': [...], ...}
    c.messages, c.bytes        totals
    c.mapping('.')             {source name: destination name on a '.' server}
    expected = corpus.load(dv, 'alice', c.folders)    # {folder: [imapcheck.Message]}

What the mailbox holds (every run with the same arguments gives the same bytes):

- folders three levels deep (Archive/2019/Q1, Work/Projects/Alpha), names with spaces and
  non-ASCII characters (Entwürfe, Réunions 2019, 日本, Family & Friends), folders whose
  name holds the other side's separator (Work/v2.0 plans and Notes.old on a '/' server), a
  pure container (Lists, only its children hold mail) and an empty folder (Empty);
- messages without Message-ID (two of them with identical headers and different bodies),
  exact duplicates in one folder (same bytes, flags and date twice), the same bytes twice with
  different flags, two messages with the same Message-ID but different content, one
  message whose last line has no line end;
- raw UTF-8 in Subject and From (8-bit headers) besides RFC 2047 encoded words;
- every system flag (\\Seen \\Answered \\Flagged \\Draft \\Deleted) and keywords ($Label1,
  $Forwarded, $MDNSent, NonJunk and the custom Project-X); one message carries them all;
- INTERNALDATEs spread over ten years (2014-2024), Date headers in many time zones
  (-0930 to +1345); corpus.load appends with those zones over IMAP;
- text, multipart/alternative and multipart/mixed messages with base64 attachments, sizes
  drawn from `mix` (default: 300 bytes to 200 KB, mean ~53 KB, so 5,000 messages are about
  265 MB as for the benchmark); big_attachment=True adds a ~20 MB attachment
  (notes['big']), extra=[(count, size)] adds messages of a given size (such as 1 MB ones).

Only the Python standard library is used.
"""
import base64
import collections
import datetime
import hashlib
import imaplib
import random

from . import imapcheck
from .compare import map_name  # noqa: F401 (part of this module's API)
from .imapcheck import Mail

# (weight, smallest, largest, kind): kind is 'text', 'alternative' or 'attachment'.
# Mean about 53 KB per message: 5,000 messages are about 265 MB.
DEFAULT_MIX = (
    (36, 300, 5000, 'text'),
    (30, 5000, 50000, 'alternative'),
    (34, 50000, 200000, 'attachment'),
)
# Small messages only: fast to load and copy, for tests about logic rather than volume.
SMALL_MIX = (
    (60, 300, 4000, 'text'),
    (30, 4000, 20000, 'alternative'),
    (10, 20000, 60000, 'attachment'),
)
BIG_ATTACHMENT = 20 * 1024 * 1024

START = 1401580800  # 2014-06-01 00:00 UTC
SPAN = 10 * 365 * 86400  # ten years
ZONES = ('+0000', '-0800', '-0700', '-0500', '-0300', '-0930', '+0100', '+0200', '+0530',
         '+0545', '+0900', '+1000', '+1345')
SYSTEM_FLAGS = ('\\Seen', '\\Answered', '\\Flagged', '\\Draft', '\\Deleted')
KEYWORDS = ('$Label1', '$Forwarded', '$MDNSent', 'NonJunk', 'Project-X')

WORDS = ('the meeting agenda budget report quarter project release server mailbox invoice '
         'review draft schedule notes travel family weekend photos lunch deadline contract '
         'update migration backup archive question answer thanks regards please attached '
         'proposal customer support ticket holiday calendar minutes summary figures plan '
         'design test results version branch merge issue fixed tomorrow today yesterday '
         'office remote coffee train flight hotel conference slides').split()
UTF8_WORDS = ('Übersicht', 'Entwürfe', 'Grüße', 'Straße', 'réunion', 'déjà', 'café',
              'naïve', 'señor', 'año', '日本', '東京', 'こんにちは', 'Привет', 'Ελλάδα', '✓',
              '€', '½')
PEOPLE = (('Alice Martin', 'alice@example.com'), ('Bob Smith', 'bob@example.org'),
          ('Chloé Durand', 'chloe@example.fr'), ('Jürgen Müller', 'juergen@example.de'),
          ('山田 太郎', 'taro@example.jp'), ('Dana Whitfield', 'dana@example.net'),
          ('Ola Nordmann', 'ola@example.no'), ('Ravi Kumar', 'ravi@example.in'),
          ('Newsletter', 'news@lists.example.com'), ('Support', 'support@vendor.example'))
ATTACHMENTS = (('report.pdf', 'application/pdf'), ('photo.jpg', 'image/jpeg'),
               ('figures.xlsx', 'application/vnd.openxmlformats-officedocument.'
                'spreadsheetml.sheet'), ('archive.zip', 'application/zip'),
               ('scan.png', 'image/png'), ('notes.txt', 'text/plain'))
MONTHS = imapcheck.MONTHS
DAYS = ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')


def folder_plan(sep='/', other_sep='.'):
    """[(folder name, share of the messages)]: the corpus's folder tree for separator sep.

    A share of 0 means an empty folder. 'Lists' is not listed: it is a pure container of its
    children. The names with other_sep inside a component are the ones that must not become
    a hierarchy on the other side (with sep '.' and other_sep '/' they hold '-' instead, as
    Dovecot's maildir++ layout refuses '/' in names).
    """
    j = sep.join
    # Dovecot's maildir++ layout ('.') refuses '/' in a name: nothing to hold there.
    held = '-' if (sep == '.' and other_sep == '/') else other_sep
    return [
        ('INBOX', 26),
        ('Sent', 10),
        ('Drafts', 2),
        ('Trash', 3),
        ('Junk', 2),
        ('Archive', 2),
        (j(('Archive', '2015')), 6),
        (j(('Archive', '2019', 'Q1')), 5),
        (j(('Archive', '2019', 'Q2')), 4),
        ('Work', 3),
        (j(('Work', 'Projects')), 3),
        (j(('Work', 'Projects', 'Alpha')), 5),
        (j(('Work', 'Clients')), 4),
        (j(('Work', 'v2%s0 plans' % held)), 3),
        ('Notes%sold' % held, 2),
        ('Family & Friends', 4),
        ('Entwürfe', 3),
        ('Réunions 2019', 3),
        ('日本', 3),
        (j(('Lists', 'dovecot')), 6),
        (j(('Lists', 'Ankündigungen')), 3),
        ('Empty', 0),
    ]


class Corpus:
    """The generated mailbox; see the module documentation."""

    def __init__(self, sep, other_sep, folders, notes):
        self.sep = sep
        self.other_sep = other_sep
        self.folders = folders
        self.notes = notes

    @property
    def messages(self):
        return sum(len(m) for m in self.folders.values())

    @property
    def bytes(self):
        return sum(len(m.body) for ms in self.folders.values() for m in ms)

    def mapping(self, dst_sep=None):
        """{source folder: destination folder} for a destination with separator dst_sep."""
        dst_sep = dst_sep or self.other_sep
        return {f: map_name(f, self.sep, dst_sep) for f in self.folders}

    def largest(self):
        """(folder, index, size) of the biggest message."""
        return max(((f, i, len(m.body)) for f, ms in self.folders.items()
                    for i, m in enumerate(ms)), key=lambda t: t[2])

    def summary(self):
        sizes = sorted(len(m.body) for ms in self.folders.values() for m in ms)
        if not sizes:
            return '0 messages'
        return '%d messages in %d folders, %.1f MB (sizes %d..%d, median %d)' % (
            len(sizes), len(self.folders), sum(sizes) / 1e6, sizes[0], sizes[-1],
            sizes[len(sizes) // 2])


# -- building blocks ----------------------------------------------------------------------

def _b64_word(text):
    return '=?UTF-8?B?%s?=' % base64.b64encode(text.encode()).decode()


def _date_header(epoch, zone):
    sign = -1 if zone[0] == '-' else 1
    offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    t = datetime.datetime.fromtimestamp(epoch + offset, datetime.timezone.utc)
    return '%s, %d %s %04d %02d:%02d:%02d %s' % (DAYS[t.weekday()], t.day, MONTHS[t.month - 1],
                                                 t.year, t.hour, t.minute, t.second, zone)


def internaldate(epoch, zone='+0000'):
    """An IMAP date-time string (with quotes) for epoch, written in time zone zone."""
    sign = -1 if zone[0] == '-' else 1
    offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    t = datetime.datetime.fromtimestamp(epoch + offset, datetime.timezone.utc)
    return '"%02d-%s-%04d %02d:%02d:%02d %s"' % (t.day, MONTHS[t.month - 1], t.year, t.hour,
                                                 t.minute, t.second, zone)


def _wrap(text, width=72):
    lines, line = [], ''
    for word in text.split(' '):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = word if not line else line + ' ' + word
    if line:
        lines.append(line)
    return lines


class _Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0
        self.paragraphs = [self._paragraph() for _ in range(64)]

    def _paragraph(self):
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 90))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), rng.choice(UTF8_WORDS))
        words[0] = words[0].capitalize()
        return ' '.join(words) + '.'

    def text(self, size):
        """CRLF text of about size bytes (UTF-8)."""
        out, total = [], 0
        while total < size:
            for line in _wrap(self.rng.choice(self.paragraphs)) + ['']:
                out.append(line)
                total += len(line.encode()) + 2
        return '\r\n'.join(out) + '\r\n'

    def subject(self, eight_bit):
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 7))]
        words[0] = words[0].capitalize()
        if rng.random() < 0.15:
            words.insert(0, rng.choice(('Re:', 'Fwd:', 'AW:', 'TR:')))
        if eight_bit:
            words.insert(rng.randrange(len(words) + 1), rng.choice(UTF8_WORDS))
            words.insert(rng.randrange(len(words) + 1), rng.choice(UTF8_WORDS))
        return ' '.join(words)

    def message_id(self):
        self.n += 1
        return '<%d.%s.%d@%s>' % (
            self.seed, hashlib.sha1(b'%d-%d' % (self.seed, self.n)).hexdigest()[:16], self.n,
            self.rng.choice(('mail.example.com', 'mx.example.org', 'smtp.example.de')))

    def address(self, person, eight_bit):
        name, addr = person
        if all(ord(c) < 128 for c in name):
            return '%s <%s>' % (name, addr)
        return '%s <%s>' % (name if eight_bit else _b64_word(name), addr)

    def message(self, kind, size, date, zone, msgid=True, eight_bit=False, headers=(),
                subject=None, sender=None, body_text=None):
        """One message (bytes, CRLF) of about size bytes."""
        rng = self.rng
        sender = sender or rng.choice(PEOPLE)
        to = rng.choice(PEOPLE)
        subject = subject if subject is not None else self.subject(eight_bit)
        subj = subject if eight_bit or all(ord(c) < 128 for c in subject) else \
            _b64_word(subject)
        sent = date - rng.randint(2, 600)
        hdr = ['Return-Path: <%s>' % sender[1],
               'Received: from mx.example.net (mx.example.net [192.0.2.%d])\r\n'
               '\tby mail.example.com with ESMTPS id %08x;\r\n\t%s' % (
                   rng.randint(1, 254), rng.getrandbits(32), _date_header(date, zone)),
               'From: %s' % self.address(sender, eight_bit),
               'To: %s' % self.address(to, eight_bit)]
        if rng.random() < 0.2:
            hdr.append('Cc: %s' % self.address(rng.choice(PEOPLE), eight_bit))
        hdr += ['Subject: %s' % subj, 'Date: %s' % _date_header(sent, zone)]
        if msgid:
            hdr.append('Message-ID: %s' % (msgid if isinstance(msgid, str)
                                           else self.message_id()))
        if rng.random() < 0.1:
            hdr.append('X-Mailer: %s' % rng.choice(('Thunderbird 102.3', 'Apple Mail (2.3696)',
                                                    'Microsoft Outlook 16.0', 'mutt/2.2.9')))
        hdr += list(headers)
        hdr.append('MIME-Version: 1.0')
        head_len = sum(len(h.encode()) + 2 for h in hdr)
        room = max(80, size - head_len - 120)
        if kind == 'text':
            text = body_text if body_text is not None else self.text(room)
            hdr += ['Content-Type: text/plain; charset=utf-8',
                    'Content-Transfer-Encoding: 8bit']
            body = text
        elif kind == 'alternative':
            boundary = '=_alt_%016x' % rng.getrandbits(64)
            plain = self.text(max(60, room // 3))
            html = '<html><body>\r\n%s</body></html>\r\n' % ''.join(
                '<p>%s</p>\r\n' % p for p in self.text(max(60, room - len(plain) - 300))
                .split('\r\n\r\n') if p.strip())
            hdr.append('Content-Type: multipart/alternative; boundary="%s"' % boundary)
            body = ('This is a multi-part message in MIME format.\r\n\r\n'
                    '--%s\r\nContent-Type: text/plain; charset=utf-8\r\n'
                    'Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n'
                    '--%s\r\nContent-Type: text/html; charset=utf-8\r\n'
                    'Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n--%s--\r\n' % (
                        boundary, plain, boundary, html, boundary))
        else:
            boundary = '=_mix_%016x' % rng.getrandbits(64)
            fname, ctype = rng.choice(ATTACHMENTS)
            text = self.text(min(1500, max(60, room // 10)))
            raw_len = max(16, (room - len(text) - 400) * 3 // 4)
            data = base64.encodebytes(rng.randbytes(raw_len)).replace(b'\n', b'\r\n').decode()
            hdr.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
            body = ('This is a multi-part message in MIME format.\r\n\r\n'
                    '--%s\r\nContent-Type: text/plain; charset=utf-8\r\n'
                    'Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n'
                    '--%s\r\nContent-Type: %s; name="%s"\r\n'
                    'Content-Disposition: attachment; filename="%s"\r\n'
                    'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--%s--\r\n' % (
                        boundary, text, boundary, ctype, fname, fname, data, boundary))
        return ('\r\n'.join(hdr) + '\r\n\r\n' + body).encode()

    def pick_size(self, mix):
        rng = self.rng
        total = sum(w for w, _lo, _hi, _k in mix)
        x = rng.uniform(0, total)
        for w, lo, hi, kind in mix:
            if x < w:
                break
            x -= w
        if kind == 'text':  # small messages: log-uniform, most are short
            size = int(lo * (hi / lo) ** rng.random())
        else:
            size = rng.randint(lo, hi)
        return kind, size

    def date(self):
        return START + self.rng.randrange(SPAN), self.rng.choice(ZONES)

    def flags(self, folder):
        rng = self.rng
        base = folder.split('/')[0].split('.')[0]
        flags = []
        seen = {'Sent': 1.0, 'Drafts': 0.3, 'Trash': 0.9, 'Junk': 0.2}.get(base, 0.7)
        if rng.random() < seen:
            flags.append('\\Seen')
        if base == 'Drafts' and rng.random() < 0.8:
            flags.append('\\Draft')
        if rng.random() < 0.12:
            flags.append('\\Answered')
        if rng.random() < 0.08:
            flags.append('\\Flagged')
        if rng.random() < (0.3 if base == 'Trash' else 0.02):
            flags.append('\\Deleted')
        if rng.random() < 0.05:
            flags.append('$Label1')
        if rng.random() < 0.05:
            flags.append('$Forwarded')
        if rng.random() < 0.02:
            flags.append('$MDNSent')
        if base == 'Junk' and rng.random() < 0.5:
            flags.append('NonJunk')
        if base == 'Work' and rng.random() < 0.2:
            flags.append('Project-X')
        return tuple(flags)


# -- the corpus -----------------------------------------------------------------------------

def generate(seed=1, scale=200, sep='/', other_sep=None, mix=DEFAULT_MIX,
             big_attachment=False, extra=(), special=True):
    """A Corpus of about `scale` messages (at least one per non-empty folder).

    sep: the source server's separator; other_sep: the destination's (default: the other
    of '/' and '.'), used for the names that hold it. mix: [(weight, smallest, largest,
    kind)]. big_attachment: add a ~20 MB multipart message with a base64 attachment.
    extra: [(count, size)] messages of that size (attachments) spread over the folders.
    special: the edge cases listed in the module documentation (about 16 messages).
    """
    if other_sep is None:
        other_sep = '.' if sep == '/' else '/'
    g = _Gen(seed)
    rng = g.rng
    plan = folder_plan(sep, other_sep)
    names = [f for f, _ in plan]
    weights = {f: w for f, w in plan}
    folders = collections.OrderedDict((f, []) for f in names)
    notes = collections.defaultdict(list)

    def add(folder, body, flags=None, date=None):
        if date is None:
            date, _zone = g.date()
        if flags is None:
            flags = g.flags(folder)
        folders[folder].append(Mail(body, tuple(flags), date))
        return (folder, len(folders[folder]) - 1)

    specials = []
    if special:
        j = sep.join
        # Exact duplicates: the same bytes, flags and date twice in one folder.
        d, z = g.date()
        dup = g.message('text', 1500, d, z)
        specials += [('INBOX', dup, ('\\Seen',), d), ('INBOX', dup, ('\\Seen',), d)]
        notes['duplicate'].append(('INBOX', dup))
        # The same bytes twice with different flags (a duplicate delivery, one read).
        d, z = g.date()
        twin = g.message('alternative', 9000, d, z, headers=(
            'List-Id: Dovecot Mailing List <dovecot.dovecot.org>',))
        specials += [(j(('Lists', 'dovecot')), twin, ('\\Seen', '$Label1'), d),
                     (j(('Lists', 'dovecot')), twin, (), d + 1)]
        notes['duplicate_other_flags'].append((j(('Lists', 'dovecot')), twin))
        # No Message-ID at all, several folders.
        for folder in ('INBOX', 'Sent', j(('Work', 'Projects', 'Alpha'))):
            d, z = g.date()
            body = g.message('text', rng.randint(400, 3000), d, z, msgid=False)
            specials.append((folder, body, None, d))
            notes['no_message_id'].append((folder, body))
        # Two without Message-ID, identical headers, different bodies (and sizes).
        d, z = g.date()
        state = rng.getstate()
        a = g.message('text', 800, d, z, msgid=False, subject='Cron <root@backup> daily',
                      sender=PEOPLE[9], body_text='backup finished: 1234 files\r\n')
        rng.setstate(state)
        b = g.message('text', 800, d, z, msgid=False, subject='Cron <root@backup> daily',
                      sender=PEOPLE[9], body_text='backup FAILED: disk full (0 files)\r\n')
        specials += [('INBOX', a, ('\\Seen',), d), ('INBOX', b, ('\\Seen',), d + 5)]
        notes['same_headers_no_message_id'].append(('INBOX', a, b))
        # The same Message-ID with different content (a list copy with a footer).
        d, z = g.date()
        mid = g.message_id()
        direct = g.message('text', 2500, d, z, msgid=mid, subject='Quarterly figures')
        listed = direct.replace(b'\r\nMIME-Version: 1.0',
                                b'\r\nList-Id: <team.lists.example.com>\r\nMIME-Version: 1.0')
        listed += b'\r\n-- \r\nteam mailing list\r\nhttps://lists.example.com/team\r\n'
        specials += [('INBOX', direct, ('\\Seen',), d), ('INBOX', listed, (), d + 40)]
        notes['same_message_id'].append(('INBOX', direct, listed))
        # 8-bit headers: raw UTF-8 in Subject and From.
        for folder in ('Entwürfe', 'Réunions 2019', '日本', 'INBOX'):
            d, z = g.date()
            body = g.message('text', rng.randint(500, 4000), d, z, eight_bit=True,
                             sender=PEOPLE[rng.choice((2, 3, 4))])
            specials.append((folder, body, None, d))
            notes['eight_bit'].append((folder, body))
        # Every flag on one message; every system flag and keyword at least once.
        d, z = g.date()
        body = g.message('alternative', 6000, d, z)
        specials.append(('INBOX', body, SYSTEM_FLAGS + KEYWORDS, d))
        notes['all_flags'].append(('INBOX', body))
        # A message whose last line has no line end.
        d, z = g.date()
        body = g.message('text', 700, d, z).rstrip(b'\r\n')
        specials.append((j(('Archive', '2015')), body, ('\\Seen',), d))
        notes['no_final_newline'].append((j(('Archive', '2015')), body))
        # The smallest realistic message (about 300 bytes).
        d, z = g.date()
        tiny = ('From: bob@example.org\r\nTo: alice@example.com\r\nSubject: ok\r\n'
                'User-Agent: mutt/2.2.9\r\n'
                'Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n'
                'Content-Type: text/plain; charset=us-ascii\r\n\r\nok, see you then.\r\n' %
                (_date_header(d, z), g.message_id())).encode()
        specials.append(('Sent', tiny, ('\\Seen',), d))
        notes['tiny'].append(('Sent', tiny))
    if big_attachment:
        d, z = g.date()
        body = g.message('attachment', BIG_ATTACHMENT, d, z, subject='Scans of the contract')
        specials.append((sep.join(('Work', 'Clients')), body, ('\\Seen', '\\Flagged'), d))
        notes['big'].append((sep.join(('Work', 'Clients')), body))
    for count, size in extra:
        for _ in range(count):
            folder = rng.choice([f for f in names if weights[f]])
            d, z = g.date()
            specials.append((folder, g.message('attachment', size, d, z), None, d))

    # Regular messages: spread by weight, at least one per non-empty folder.
    regular = max(0, scale - len(specials))
    wsum = sum(weights.values())
    counts = {f: regular * weights[f] // wsum for f in names}
    for f in names:
        if weights[f] and counts[f] == 0 and regular:
            counts[f] = 1
    counts['INBOX'] += max(0, regular - sum(counts.values()))
    for f in names:
        for _ in range(counts[f]):
            kind, size = g.pick_size(mix)
            d, z = g.date()
            add(f, g.message(kind, size, d, z, eight_bit=rng.random() < 0.05), date=d)
    # Mailboxes are roughly in arrival order; the special messages go in among them.
    for f in folders:
        folders[f].sort(key=lambda m: m.date)
    for folder, body, flags, date in specials:
        pos = rng.randint(0, len(folders[folder]))
        if flags is None:
            flags = g.flags(folder)
        folders[folder].insert(pos, Mail(body, tuple(flags), date))
    # Exact duplicates stay next to each other, as a double delivery leaves them.
    for key in ('duplicate',):
        for folder, body in notes.get(key, []):
            ms = folders[folder]
            idx = [i for i, m in enumerate(ms) if m.body == body]
            first = ms[idx[0]]
            for i in reversed(idx[1:]):
                del ms[i]
            ms.insert(idx[0] + 1, first)
    return Corpus(sep, other_sep, dict(folders), dict(notes))


def new_messages(seed, count, mix=SMALL_MIX, start=None):
    """count new messages (bytes) unlike any in a corpus (fresh Message-IDs), with dates after
    the corpus's (or from start): for "the source got new mail" cases. Returns [Mail]."""
    g = _Gen(seed * 7919 + 17)
    when = start if start is not None else START + SPAN + 86400
    out = []
    for i in range(count):
        kind, size = g.pick_size(mix)
        d = when + 3600 * i
        out.append(Mail(g.message(kind, size, d, g.rng.choice(ZONES)), ('\\Seen',)
                        if i % 2 else (), d))
    return out


# -- loading into a server --------------------------------------------------------------------

FAST_THRESHOLD_MESSAGES = 60
FAST_THRESHOLD_BYTES = 4 * 1024 * 1024


def append_zoned(conn, folder, mail, zone='+0000'):
    """APPEND mail (imapcheck.Mail) to folder with its INTERNALDATE written in time zone zone.
    Returns the expected imapcheck.Message."""
    body = mail.body.encode() if isinstance(mail.body, str) else mail.body
    body = imaplib.MapCRLF.sub(b'\r\n', body)
    date = mail.date if mail.date is not None else imapcheck.DEFAULT_DATE
    flags = tuple(mail.flags)
    typ, dat = conn.append(imapcheck.quote(folder), '(%s)' % ' '.join(flags) if flags else None,
                           internaldate(date, zone), body)
    if typ != 'OK':
        raise imapcheck.CheckError('APPEND to %s failed: %r' % (folder, dat))
    return imapcheck.Message(imapcheck.sha256(body), int(date), imapcheck.normalize_flags(flags))


def load(dv, user, folders, fast=None):
    """Put folders ({name: [Mail]}) into user's mailbox on Dovecot dv; return
    {folder: [imapcheck.Message]} as expected in UID order.

    fast=None chooses: maildir files + doveadm force-resync (dv.preload_fast) for more than
    FAST_THRESHOLD_MESSAGES messages or FAST_THRESHOLD_BYTES bytes, otherwise IMAP APPEND
    with INTERNALDATEs in varied time zones. Empty folders are created either way.
    """
    total = sum(len(m) for m in folders.values())
    size = sum(len(x.body) for ms in folders.values() for x in ms)
    if fast is None:
        fast = total > FAST_THRESHOLD_MESSAGES or size > FAST_THRESHOLD_BYTES
    if fast:
        return dv.preload_fast(user, folders)
    expected = {}
    with imapcheck.session(dv, user) as conn:
        for n, (name, messages) in enumerate(folders.items()):
            if name.upper() != 'INBOX':
                imapcheck.create_folder(conn, name)
            out = expected.setdefault(name, [])
            for i, mail in enumerate(messages):
                if not isinstance(mail, Mail):
                    mail = Mail(mail)
                out.append(append_zoned(conn, name, mail, ZONES[(n + i) % len(ZONES)]))
    return expected
