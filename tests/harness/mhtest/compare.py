# SPDX-License-Identifier: MIT
"""The independent checker for migrations: compare a source and a destination mailbox.

Everything is read with Python's imaplib through mhtest.imapcheck; nothing of mailhaul is
used. A message is identified by (sha256 of its bytes, INTERNALDATE in epoch seconds, flags
without \\Recent), and each folder is compared as a multiset of those, so duplicates count.

    s = compare.take(src, 'alice')                 # a Snapshot of every selectable folder
    s = compare.take(src, 'alice', rewrites=True)  # identity that survives Cyrus and Courier
    d = compare.take(dst, 'bob')
    c = compare.compare(s, d)                      # mapping: separators translated
    c = compare.compare(s, d, mapping={'Work/a.b': 'Work.a_b', ...})
    c.ok                   True if every mapped folder holds exactly the source's multiset
    c.text()               a readable diff (folder, count, uid, size, date, flags, subject)
    c.folder('INBOX')      the FolderDiff of a source folder: .missing .extra .duplicated
                           .changed (lists), .missing_count, .extra_count
    compare.assert_same(s, d, what='after the first run')   # tap.fail with the diff
    compare.compare_servers(src, 'alice', dst, 'bob')       # take both and compare

A Snapshot is also what tests keep to show that something did NOT change:
snapshot_a.same_as(snapshot_b) compares every folder (names, messages, flags, dates) and
.diff_text(other) says what differs.

Across servers that rewrite what they store, take(..., rewrites=True) identifies a message
by the digest of neutral_form(bytes): raw 8-bit header bytes as 'X' (Cyrus stores them so) and
a final CRLF added when missing (Courier adds one). The same message stored by both servers
is then the same Item; a message lost or duplicated still shows, as any other change of bytes.

Folder names: map_name(name, src_sep, dst_sep) keeps the hierarchy, translates the
separator and replaces a dst_sep character inside a source name component by '_', which is
what the destination must show for the source folder.
"""
import collections
import datetime
import email.header
import re

from . import imapcheck, tap

Item = collections.namedtuple('Item', 'uid sha256 internaldate flags size subject message_id')


def key(item):
    """The identity of a message for comparisons: (sha256, internaldate, flags)."""
    return (item.sha256, item.internaldate, tuple(item.flags))


def map_name(name, src_sep, dst_sep, replacement='_'):
    """The destination name of source folder name (see the module documentation)."""
    if name.upper() == 'INBOX':
        return 'INBOX'
    parts = name.split(src_sep) if src_sep else [name]
    if dst_sep and src_sep != dst_sep:
        parts = [p.replace(dst_sep, replacement) for p in parts]
    return (dst_sep or src_sep or '/').join(parts)


# -- snapshots ----------------------------------------------------------------------------

def _decode_header(raw):
    text = raw.decode('utf-8', 'replace')
    text = re.sub(r'\r?\n[ \t]+', ' ', text).strip()
    if '=?' in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except Exception:
            pass
    return text


def _header_info(conn, folder, n):
    """[(uid, size, subject, message-id)] in UID order for the selected folder."""
    typ, dat = conn.fetch('1:*', '(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT '
                                 'MESSAGE-ID)])')
    if typ != 'OK':
        raise imapcheck.CheckError('FETCH headers of %s failed: %r' % (folder, dat))
    out = {}
    for entry in dat:
        if not isinstance(entry, tuple):
            continue
        head = entry[0]
        m_uid = re.search(rb'UID (\d+)', head)
        m_size = re.search(rb'RFC822\.SIZE (\d+)', head)
        if not m_uid or not m_size:
            continue
        fields = {}
        for line in re.split(rb'\r\n(?![ \t])', entry[1]):
            name, _, value = line.partition(b':')
            if value:
                fields[name.strip().lower()] = _decode_header(value)
        seq = int(head.split(b' ', 1)[0])
        out[seq] = (int(m_uid.group(1)), int(m_size.group(1)), fields.get(b'subject', ''),
                    fields.get(b'message-id', ''))
    if sorted(out) != list(range(1, n + 1)):
        raise imapcheck.CheckError('%s: %d messages but header FETCH answered for %s' %
                                   (folder, n, sorted(out)))
    return sorted(out.values())


def neutral_form(body):
    """body as every server of the suite stores it: what Cyrus and Courier are known to
    rewrite is rewritten the same way here, nothing else. Raw 8-bit bytes in the header
    become 'X' (Cyrus), and a message that does not end with CRLF gets one (Courier)."""
    end = body.find(b'\r\n\r\n')
    head, rest = (body, b'') if end < 0 else (body[:end], body[end:])
    out = bytes(c if c < 0x80 else 0x58 for c in head) + rest
    if not out.endswith(b'\r\n'):
        out += b'\r\n'
    return out


def rewrite_digest(body):
    """The sha256 of neutral_form(body): two messages with the same rewrite digest are the
    same message stored by different servers; a lost or duplicated one is still counted."""
    return imapcheck.sha256(neutral_form(body))


def folder_items(conn, folder, digest=imapcheck.sha256):
    """[Item] of folder in UID order (read-only)."""
    messages = imapcheck.mailbox_snapshot(conn, folder, digest)
    if not messages:
        return []
    info = _header_info(conn, folder, len(messages))
    if len(info) != len(messages):
        raise imapcheck.CheckError('%s changed while it was read' % folder)
    return [Item(uid, m.sha256, m.internaldate, m.flags, size, subject, mid)
            for (uid, size, subject, mid), m in zip(info, messages)]


class Snapshot:
    """The state of one account: folders (name -> Folder) and messages of the selectable
    ones (name -> [Item] in UID order)."""

    def __init__(self, folders, messages, label=''):
        self.folders = folders
        self.messages = messages
        self.label = label

    @property
    def separator(self):
        for f in self.folders.values():
            if f.separator:
                return f.separator
        return None

    def selectable(self):
        return [n for n, f in self.folders.items() if imapcheck.selectable(f)]

    def containers(self):
        return [n for n, f in self.folders.items() if not imapcheck.selectable(f)]

    def keys(self, folder):
        return collections.Counter(key(i) for i in self.messages.get(folder, []))

    def count(self, folder=None):
        if folder is not None:
            return len(self.messages.get(folder, []))
        return sum(len(v) for v in self.messages.values())

    def find(self, predicate):
        """[(folder, Item)] of the messages for which predicate(folder, item) is true."""
        return [(f, i) for f, items in self.messages.items() for i in items if predicate(f, i)]

    def same_as(self, other):
        return not self.diff_text(other)

    def diff_text(self, other):
        """'' when both snapshots hold the same folders and messages (same UIDs too)."""
        lines = []
        a, b = set(self.folders), set(other.folders)
        if a - b:
            lines.append('folders only in %s: %s' % (self.label or 'the first',
                                                    sorted(a - b)))
        if b - a:
            lines.append('folders only in %s: %s' % (other.label or 'the second',
                                                    sorted(b - a)))
        for name in sorted(a & b):
            x, y = self.messages.get(name, []), other.messages.get(name, [])
            if x == y:
                continue
            fd = diff_folder(name, name, x, y)
            if fd.ok:
                lines.append('%s: same messages, different UIDs (%d)' % (name, len(x)))
            else:
                lines.append(fd.text())
        return '\n'.join(lines)


def take(server, user, folders=None, label=None, rewrites=False):
    """A Snapshot of user's account on server (every selectable folder, or only folders).

    rewrites: identify messages by rewrite_digest instead of the sha256 of their bytes, for
    a comparison across servers that rewrite what they store (Cyrus, Courier)."""
    digest = rewrite_digest if rewrites else imapcheck.sha256
    with imapcheck.session(server, user) as conn:
        listed = {f.name: f for f in imapcheck.folder_list(conn)}
        names = [n for n, f in listed.items() if imapcheck.selectable(f)]
        if folders is not None:
            names = [n for n in names if n in set(folders)]
        messages = {n: folder_items(conn, n, digest) for n in names}
    return Snapshot(listed, messages, label or '%s@%s:%s' % (user, server.host,
                                                              server.port('ssl')))


# -- comparing ----------------------------------------------------------------------------

def _when(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M:%SZ')


def describe(item):
    subject = item.subject if len(item.subject) <= 60 else item.subject[:57] + '...'
    return 'uid %d, %d bytes, %s, (%s), %r %s, sha256 %s' % (
        item.uid, item.size, _when(item.internaldate), ' '.join(item.flags), subject,
        item.message_id or '(no Message-ID)', item.sha256[:12])


class FolderDiff:
    """Differences between a source folder and its destination folder.

    missing:    [(source Item, n)]  n copies absent on the destination
    extra:      [(destination Item, n)]  on the destination only
    duplicated: [(destination Item, on source, on destination)]  more copies than the source
    changed:    [(source Item, destination Item, what)]  same bytes, other date or flags
    """

    def __init__(self, source, destination):
        self.source = source
        self.destination = destination
        self.missing, self.extra, self.duplicated, self.changed = [], [], [], []
        self.absent = False  # the destination folder does not exist at all
        self.source_count = self.destination_count = 0

    @property
    def ok(self):
        return not (self.missing or self.extra or self.duplicated or self.changed or
                    self.absent)

    @property
    def missing_count(self):
        return sum(n for _, n in self.missing) + len(self.changed)

    @property
    def extra_count(self):
        return sum(n for _, n in self.extra) + sum(d - s for _, s, d in self.duplicated) + \
            len(self.changed)

    def text(self):
        head = '%s -> %s: source %d, destination %d' % (
            self.source, self.destination, self.source_count, self.destination_count)
        if self.absent:
            return head + ': the destination folder does not exist'
        lines = [head]
        for item, n in self.missing:
            lines.append('  missing    %dx %s' % (n, describe(item)))
        for item, n in self.extra:
            lines.append('  extra      %dx %s' % (n, describe(item)))
        for item, s, d in self.duplicated:
            lines.append('  duplicated %d on the source, %d on the destination: %s' % (
                s, d, describe(item)))
        for a, b, what in self.changed:
            lines.append('  changed    %s: source %s / destination %s' % (
                what, describe(a), describe(b)))
        return '\n'.join(lines)


def diff_folder(source, destination, src_items, dst_items, ignore_flags=False,
                ignore_dates=False):
    """A FolderDiff of two lists of Items (ignore_flags, ignore_dates: compare less)."""
    def k(i):
        return (i.sha256, None if ignore_dates else i.internaldate,
                () if ignore_flags else tuple(i.flags))

    fd = FolderDiff(source, destination)
    fd.source_count, fd.destination_count = len(src_items), len(dst_items)
    s = collections.Counter(k(i) for i in src_items)
    d = collections.Counter(k(i) for i in dst_items)
    first_s = {}
    for i in src_items:
        first_s.setdefault(k(i), i)
    first_d = {}
    for i in dst_items:
        first_d.setdefault(k(i), i)
    missing = [(first_s[x], s[x] - d[x]) for x in s if d[x] < s[x]]
    extra = [(first_d[x], d[x]) for x in d if x not in s]
    fd.duplicated = [(first_d[x], s[x], d[x]) for x in d if 0 < s[x] < d[x]]
    # Pair missing and extra messages with the same bytes: a changed date or flags.
    pool = collections.defaultdict(list)
    for item, n in extra:
        pool[item.sha256].extend([item] * n)
    for item, n in missing:
        left = 0
        for _ in range(n):
            if pool[item.sha256]:
                other = pool[item.sha256].pop(0)
                what = []
                if other.internaldate != item.internaldate:
                    what.append('INTERNALDATE %s -> %s' % (_when(item.internaldate),
                                                           _when(other.internaldate)))
                if other.flags != item.flags:
                    what.append('flags (%s) -> (%s)' % (' '.join(item.flags),
                                                        ' '.join(other.flags)))
                fd.changed.append((item, other, ', '.join(what)))
            else:
                left += 1
        if left:
            fd.missing.append((item, left))
    leftover = collections.Counter()
    for items in pool.values():
        for item in items:
            leftover[item] += 1
    fd.extra = list(leftover.items())
    fd.missing.sort(key=lambda t: t[0].uid)
    fd.extra.sort(key=lambda t: t[0].uid)
    return fd


class Comparison:
    """The result of compare(): per source folder a FolderDiff, plus folder-level findings.

    missing_folders: source folders whose destination folder does not exist
    extra_folders:   selectable destination folders that no source folder maps to (only
                     reported; they fail .ok when compare(strict_folders=True))
    """

    def __init__(self, diffs, extra_folders, strict_folders):
        self.diffs = diffs
        self.extra_folders = extra_folders
        self.strict_folders = strict_folders

    @property
    def missing_folders(self):
        return [d.destination for d in self.diffs.values() if d.absent]

    @property
    def ok(self):
        return all(d.ok for d in self.diffs.values()) and not (
            self.strict_folders and self.extra_folders)

    def folder(self, source):
        return self.diffs[source]

    @property
    def missing_count(self):
        return sum(d.missing_count for d in self.diffs.values())

    @property
    def extra_count(self):
        return sum(d.extra_count for d in self.diffs.values())

    def text(self):
        lines = [d.text() for d in self.diffs.values() if not d.ok]
        if self.extra_folders:
            lines.append('destination folders without a source folder: %s' %
                         ', '.join(sorted(self.extra_folders)))
        return '\n'.join(lines) if lines else 'no differences'


def default_mapping(src, dst_sep):
    """{source folder: destination folder} for every selectable folder of Snapshot src."""
    sep = src.separator
    return {n: map_name(n, sep, dst_sep) for n in src.selectable()}


def compare(src, dst, mapping=None, strict_folders=True, ignore_flags=False,
            ignore_dates=False):
    """Compare Snapshot src with Snapshot dst folder by folder.

    mapping: {source folder: destination folder}; default: every selectable source folder
    with its name translated (map_name). Folders not in mapping are not compared.
    strict_folders: a selectable destination folder that no source folder maps to fails the
    comparison, unless it is empty and is the mapped name of a source container (some
    servers cannot create \\Noselect folders and create empty mailboxes instead).
    ignore_flags, ignore_dates: leave flags or INTERNALDATEs out of the comparison (with
    both, only the bytes count: "nothing lost, nothing duplicated").
    """
    if mapping is None:
        mapping = default_mapping(src, dst.separator)
    diffs = collections.OrderedDict()
    for s_name in sorted(mapping, key=lambda n: (n.upper() != 'INBOX', n)):
        d_name = mapping[s_name]
        if d_name not in dst.messages:
            fd = FolderDiff(s_name, d_name)
            fd.source_count = src.count(s_name)
            fd.absent = True
        else:
            fd = diff_folder(s_name, d_name, src.messages.get(s_name, []),
                             dst.messages[d_name], ignore_flags, ignore_dates)
        diffs[s_name] = fd
    mapped = set(mapping.values())
    containers = {map_name(n, src.separator, dst.separator) for n in src.containers()}
    extra = [n for n in dst.selectable() if n not in mapped and
             not (n in containers and not dst.messages.get(n))]
    return Comparison(diffs, extra, strict_folders)


def compare_servers(src, src_user, dst, dst_user, mapping=None, **kw):
    """take() both accounts and compare() them; returns (Comparison, src Snapshot,
    dst Snapshot)."""
    s = take(src, src_user, label='source')
    d = take(dst, dst_user, label='destination')
    return compare(s, d, mapping, **kw), s, d


def assert_same(src, dst, what='destination', mapping=None, **kw):
    """tap.fail with the readable diff unless compare(src, dst, ...) is ok."""
    c = compare(src, dst, mapping, **kw)
    if not c.ok:
        tap.fail('%s differs from the source:\n%s' % (what, c.text()))
    return c
