#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mailhaul's benchmark: generated mailboxes migrated between local Dovecot servers.

Run it through scripts/bench (installs, builds, sets PYTHONPATH and MAILHAUL). It

- mounts a tmpfs for the servers' mail (falls back to /dev/shm, then to the disk), so that
  disk noise does not dominate; Dovecot does not fsync (mail_fsync = never);
- runs the scenarios of issue 11 one after the other (--only picks some), each with its own
  source and destination servers, stopped and removed before the next one:
  (a) one folder (INBOX) of --small messages of 2-4 KB;
  (b) one folder of --big such messages (200,000 by default), written straight into the
      source's maildir and indexed with doveadm force-resync: no IMAP, well under a minute;
  (c) a realistic mailbox deterministic from --seed (mhtest.corpus when present): many
      small text mails, a fair share of 50-500 KB attachments, a few multi-MB messages,
      nested folders, flags and keywords, dates over ten years;
  --with-50mb adds one 50 MB message to (a) and (c);
  each source folder is then opened read-write once, as a mail client does, so that its
  messages are no longer \\Recent (--source-unopened leaves them so);
  (m) (issue 12, only with --only m): many small mailboxes by mailhaul batch against
      loops of single syncs (scripts/bench_mass.py);
- times mailhaul (wall time and peak RSS of its process), a minimal copier without any sync
  logic (scripts/bench-copier.py, a reference for raw speed only) in two modes, one ranged
  UID FETCH per folder with pipelined single APPENDs and the same with one MULTIAPPEND per
  100 messages, and mbsync (Debian's isync), each into its own empty destination; in (b)
  and (c) mailhaul and mbsync run twice more: unchanged, and after 50 new source messages
  and 100 flag changes; a run longer than --timeout is stopped;
- after every run checks that the destination holds the source's messages (count, size,
  INTERNALDATE and flags of every message per folder, and sha256 of every message up to
  20,000 messages), so that a fast wrong run shows as wrong;
- prints a table per scenario and the targets of the issue with whether each is met.

Targets are printed, not enforced. The exit code is non-zero only when a mailhaul run fails
or leaves the destination different from the source.
"""
import argparse
import base64
import bisect
import calendar
import collections
import datetime
import email.utils
import itertools
import json
import math
import os
import random
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from mhtest import certs, cleanup, dovecot, imapcheck

import bench_mass

try:
    from mhtest import corpus as mhcorpus
except ImportError:  # the shared generator is optional: a small one is below
    mhcorpus = None

MB = 1000 * 1000
MIB = 1024 * 1024
USER = 'alice'

# Targets, shown next to the figures (not enforced). Issue 11, for a 2-core machine:
TARGET_A_VS_MULTI = 1.25  # (a): wall time at most 1.25x the MULTIAPPEND copier's
TARGET_B_VS_A = 0.90  # (b): msgs/s at least 90% of (a)'s
TARGET_B_UNCHANGED_S = 0.2
TARGET_B_CHANGED_S = 0.5
TARGET_C_VS_SINGLE = 1.25  # (c): wall time at most 1.25x the single-APPEND copier's
TARGET_RSS_MB = 30.0  # every mailhaul run, also with a 50 MB message
# Issue 3, for the reruns of the corpus (c):
TARGET_C_UNCHANGED_S = 0.06
TARGET_C_CHANGED_S = 0.15

FULL_CHECK_LIMIT_S = 30.0  # sha256 comparisons only while a full snapshot takes less
FULL_CHECK_MAX_MSGS = 20000  # and for mailboxes up to this size (sizes, dates, flags above)

# Message size mix: (weight, smallest, largest, kind); the attachment weight is computed
# so that the mailbox reaches --mb. 'text' sizes are log-uniform (most mails are short).
TEXT = (60, 2000, 20000, 'text')
ALTERNATIVE = (22, 20000, 50000, 'alternative')
ATTACH_RANGE = (50000, 500000)
MULTI_MB = (1500000, 2000000, 3000000, 4000000, 5000000)  # per 5,000 messages

_current = None  # the timed child process, stopped by the cleanup on Ctrl-C


def say(text):
    print('==> %s' % text, flush=True)


def note(text):
    print('    %s' % text, flush=True)


# -- where the servers keep their mail -----------------------------------------------------

class Storage:
    """A directory on a tmpfs mounted for this run (as root), else under /dev/shm, else on
    the disk. Every temporary file of the run (servers, CA, state, logs) goes inside."""

    def __init__(self, size_mb):
        self.mounted = False
        self.dir = tempfile.mkdtemp(prefix='mailhaul-bench-', dir='/tmp')
        why = 'not root'
        if os.geteuid() == 0:
            p = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm,mode=0711' % size_mb,
                                'tmpfs', self.dir], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            if p.returncode == 0:
                self.mounted = True
                self.kind = 'tmpfs mounted for this run at %s (size %d MiB)' % (self.dir,
                                                                                size_mb)
            why = p.stdout.decode(errors='replace').strip() or 'mount failed'
        if not self.mounted:
            os.rmdir(self.dir)
            if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK | os.X_OK):
                self.dir = tempfile.mkdtemp(prefix='mailhaul-bench-', dir='/dev/shm')
                self.kind = '/dev/shm (%s: could not mount a tmpfs)' % why
            else:
                self.dir = tempfile.mkdtemp(prefix='mailhaul-bench-')
                self.kind = ('%s ON DISK (no tmpfs: %s; /dev/shm not writable): disk noise '
                             'is in the figures' % (self.dir, why))
        os.chmod(self.dir, 0o711)  # Dovecot's unprivileged users must pass through
        self.work = os.path.join(self.dir, 'work')
        os.mkdir(self.work, 0o700)
        self._handle = cleanup.register(self.close)

    def keep(self):
        cleanup.unregister(self._handle)
        self._handle = None

    def close(self):
        if self._handle is not None:
            cleanup.unregister(self._handle)
            self._handle = None
        if self.mounted:
            for attempt in range(50):
                p = subprocess.run(['umount', self.dir], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                if p.returncode == 0:
                    break
                time.sleep(0.1)
            else:
                subprocess.run(['umount', '-l', self.dir])
            self.mounted = False
        shutil.rmtree(self.dir, ignore_errors=True)


# -- the mailbox -----------------------------------------------------------------------------

def size_mix(messages, mb, with_50mb):
    """(mix, extra) for about mb MB in messages messages: the attachment share fills the
    gap between the small messages and the target."""
    count = max(0, round(len(MULTI_MB) * messages / 5000))
    multi = [MULTI_MB[i % len(MULTI_MB)] for i in range(count)]
    mean_text = (TEXT[2] - TEXT[1]) / math.log(TEXT[2] / TEXT[1])
    mean_alt = (ALTERNATIVE[1] + ALTERNATIVE[2]) / 2
    mean_att = sum(ATTACH_RANGE) / 2
    w_small = TEXT[0] + ALTERNATIVE[0]
    mean_small = (TEXT[0] * mean_text + ALTERNATIVE[0] * mean_alt) / w_small
    regular = max(1, messages - len(multi))
    want = (mb * MB - sum(multi)) / regular
    share = min(0.9, max(0.0, (want - mean_small) / (mean_att - mean_small)))
    w_att = w_small * share / (1 - share)
    mix = (TEXT, ALTERNATIVE, (w_att, ATTACH_RANGE[0], ATTACH_RANGE[1], 'attachment'))
    extra = [(1, s) for s in multi]
    if with_50mb:
        extra.append((1, 50 * MIB))
    return mix, extra


def generate(seed, messages, mb, with_50mb):
    """{folder: [imapcheck.Mail]} and a one-line description. The size is calibrated: when
    the first try is more than 2% off --mb (headers, the corpus's special messages), the
    mailbox is made again with the attachment share corrected."""
    aim = mb
    for attempt in range(2):
        mix, extra = size_mix(messages, aim, with_50mb)
        if mhcorpus is not None:
            folders = mhcorpus.generate(seed=seed, scale=messages, sep='/', mix=mix,
                                        extra=extra).folders
            origin = 'mhtest.corpus, seed %d' % seed
        else:
            folders = _own_corpus(seed, messages, mix, extra)
            origin = 'built-in generator, seed %d' % seed
        got = sum(len(m.body) for ms in folders.values() for m in ms) / MB
        if with_50mb:
            got -= 50 * MIB / MB
        if abs(got - mb) <= 0.02 * mb:
            break
        aim = aim * mb / got
    return folders, origin


FOLDERS = (('INBOX', 26), ('Sent', 10), ('Drafts', 2), ('Trash', 3), ('Junk', 2),
           ('Archive', 2), ('Archive/2015', 6), ('Archive/2019/Q1', 5),
           ('Archive/2019/Q2', 4), ('Work', 3), ('Work/Projects', 3),
           ('Work/Projects/Alpha', 5), ('Work/Clients', 4), ('Family & Friends', 4),
           ('Entwürfe', 3), ('Réunions 2019', 3), ('Lists/dovecot', 6), ('Empty', 0))
WORDS = ('the meeting agenda budget report quarter project release server mailbox invoice '
         'review draft schedule notes travel family weekend photos lunch deadline contract '
         'update migration backup archive question answer thanks regards please attached '
         'Grüße café 日本').split()


def _own_message(rng, n, kind, size, date):
    when = datetime.datetime.fromtimestamp(date, datetime.timezone.utc)
    head = ('From: Sender %d <s%d@example.com>\r\nTo: alice@example.com\r\n'
            'Subject: %s\r\nDate: %s\r\nMessage-ID: <bench-%d-%x@example.com>\r\n'
            'MIME-Version: 1.0\r\n' % (
                n % 50, n % 50, ' '.join(rng.choice(WORDS) for _ in range(5)),
                when.strftime('%a, %d %b %Y %H:%M:%S +0000'), n, rng.getrandbits(32)))

    def text(k):
        out, total = [], 0
        while total < k:
            line = ' '.join(rng.choice(WORDS) for _ in range(12)) + '\r\n'
            out.append(line)
            total += len(line.encode())
        return ''.join(out)
    if kind == 'attachment':
        b = '=_b%x' % rng.getrandbits(48)
        data = base64.encodebytes(rng.randbytes(max(16, (size - 900) * 3 // 4)))
        body = ('Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n'
                'Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--%s\r\n'
                'Content-Type: application/pdf; name="a.pdf"\r\n'
                'Content-Transfer-Encoding: base64\r\n\r\n' % (b, b, text(300), b)).encode()
        body += data.replace(b'\n', b'\r\n') + ('\r\n--%s--\r\n' % b).encode()
    else:
        body = ('Content-Type: text/plain; charset=utf-8\r\n\r\n%s' %
                text(max(100, size - 400))).encode()
    return head.encode() + body


def _own_corpus(seed, messages, mix, extra):
    rng = random.Random(seed)
    folders = collections.OrderedDict((f, []) for f, _w in FOLDERS)
    names = [f for f, w in FOLDERS if w]
    weights = [w for f, w in FOLDERS if w]
    flags_pool = ('\\Seen', '\\Answered', '\\Flagged', '$Label1', 'NonJunk')
    items = []
    for count, size in extra:
        items += [('attachment', size)] * count
    total_w = sum(m[0] for m in mix)
    while len(items) < messages:
        x = rng.uniform(0, total_w)
        for w, lo, hi, kind in mix:
            if x < w:
                break
            x -= w
        size = int(lo * (hi / lo) ** rng.random()) if kind == 'text' else rng.randint(lo, hi)
        items.append((kind, size))
    for n, (kind, size) in enumerate(items):
        date = 1401580800 + rng.randrange(10 * 365 * 86400)
        flags = tuple(f for f in flags_pool if rng.random() < (0.7 if f == '\\Seen' else 0.06))
        folder = rng.choices(names, weights)[0]
        folders[folder].append(imapcheck.Mail(_own_message(rng, n, kind, size, date), flags,
                                              date))
    for f in folders:
        folders[f].sort(key=lambda m: m.date)
    return dict(folders)


def new_messages(seed, count):
    if mhcorpus is not None:
        return mhcorpus.new_messages(seed, count)
    rng = random.Random(seed * 7919 + 17)
    when = 1401580800 + 10 * 365 * 86400 + 86400
    return [imapcheck.Mail(_own_message(rng, 900000 + i, 'text', rng.randint(2000, 20000),
                                        when + 3600 * i), ('\\Seen',) if i % 2 else (),
                           when + 3600 * i) for i in range(count)]


# -- one big folder, written fast --------------------------------------------------------------

SMALL_SIZE = (2000, 4000)  # bytes per message of the one-folder scenarios, headers included
SMALL_START = 1401580800  # 2014-06-01: dates spread over ten years, rising with the UID
SMALL_SPAN = 10 * 365 * 86400
SMALL_FLAGS = (('\\Seen', 0.7), ('\\Answered', 0.08), ('\\Flagged', 0.04),
               ('$Label1', 0.03), ('NonJunk', 0.05))


def small_messages(seed, count):
    """count plain-text messages of 2-4 KB as (body, flags, date), deterministic from seed,
    dates rising: fast enough for 200,000 (bodies are runs of lines from a fixed pool, not
    words drawn one by one)."""
    rng = random.Random(seed * 1009 + 3)
    lines = [(' '.join(rng.choice(WORDS) for _ in range(rng.randint(8, 13))) + '\r\n').encode()
             for _ in range(1500)]
    pool = b''.join(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    last_start = len(lines) - 150  # 150 lines always hold more than 4 KB
    subjects = [' '.join(rng.choice(WORDS) for _ in range(5)) for _ in range(500)]
    step = max(1, SMALL_SPAN // max(1, count))
    for i in range(count):
        date = SMALL_START + i * step + rng.randrange(step)
        head = ('From: Sender %d <s%d@example.com>\r\nTo: alice@example.com\r\n'
                'Subject: %s (%d)\r\nDate: %s\r\nMessage-ID: <small-%d-%d@example.com>\r\n'
                'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' % (
                    i % 97, i % 97, subjects[i % len(subjects)], i,
                    email.utils.formatdate(date), seed, i)).encode()
        start = rng.randrange(last_start)
        want = offsets[start] + rng.randint(SMALL_SIZE[0], SMALL_SIZE[1] - 120) - len(head)
        end = bisect.bisect_left(offsets, want, start + 1)
        flags = tuple(f for f, share in SMALL_FLAGS if rng.random() < share)
        yield head + pool[offsets[start]:offsets[end]], flags, date


MAILDIR_LETTERS = {'\\draft': 'D', '\\flagged': 'F', '\\answered': 'R', '\\seen': 'S',
                   '\\deleted': 'T'}


def write_folder(dv, user, folder, mails):
    """Write mails ((body with CRLF line ends, flags, date) in UID order) into folder of
    user's maildir on Dovecot dv as Dovecot itself names its files (S= and W= sizes, flags
    after ':2,', mtime = INTERNALDATE), then run doveadm force-resync on the folder: no
    IMAP, about 200,000 messages in half a minute. The folder must be empty or new.
    Returns (messages, bytes)."""
    mail = dv._identities()[2]
    root = os.geteuid() == 0
    if folder.upper() != 'INBOX':
        dv.doveadm('mailbox', 'create', '-s', '-u', user, folder, check=False)
    path = dv.doveadm('mailbox', 'path', '-u', user, folder).strip()
    for d in (path, os.path.join(path, 'cur'), os.path.join(path, 'new'),
              os.path.join(path, 'tmp')):
        if not os.path.isdir(d):
            os.makedirs(d, 0o700)
            if root:
                os.chown(d, mail.pw_uid, mail.pw_gid)
    cur = os.path.join(path, 'cur')
    keywords, count, total, pid = [], 0, 0, os.getpid()
    for body, flags, date in mails:
        info = []
        for flag in flags:
            letter = MAILDIR_LETTERS.get(flag.lower())
            if letter is None:
                if flag not in keywords:
                    keywords.append(flag)  # at most 26: the generators use two
                letter = chr(ord('a') + keywords.index(flag))
            info.append(letter)
        count += 1
        total += len(body)
        name = os.path.join(cur, '%d.M%dP%d.bench,S=%d,W=%d:2,%s' % (
            1000000000 + count, count, pid, len(body), len(body), ''.join(sorted(info))))
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
            if root:
                os.fchown(fd, mail.pw_uid, mail.pw_gid)
            os.utime(fd, (date, date))
        finally:
            os.close(fd)
    if keywords:
        kw_path = os.path.join(path, 'dovecot-keywords')
        with open(kw_path, 'w') as f:
            f.writelines('%d %s\n' % (n, k) for n, k in enumerate(keywords))
        if root:
            os.chown(kw_path, mail.pw_uid, mail.pw_gid)
    p = subprocess.run(['doveadm', '-c', dv.conf_path, 'force-resync', '-u', user, folder],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1800)
    if p.returncode != 0:
        raise dovecot.DovecotError('doveadm force-resync %s failed (%d): %s' % (
            folder, p.returncode, p.stdout.decode(errors='replace')))
    return count, total


# -- looking at a server (independently of mailhaul) ---------------------------------------

_SIZE = re.compile(rb'RFC822\.SIZE (\d+)')
_FLAGS = re.compile(rb'FLAGS \(([^)]*)\)')
_DATE = re.compile(rb'INTERNALDATE "\s?(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) '
                   rb'([+-])(\d\d)(\d\d)"')
_MONTHS = {m.encode(): i + 1 for i, m in enumerate(imapcheck.MONTHS)}


def _internaldate(entry):
    """imapcheck.parse_internaldate, several times faster (200,000 answers per check)."""
    m = _DATE.search(entry)
    if not m:
        raise imapcheck.CheckError('no INTERNALDATE in %r' % (entry,))
    day, mon, year, hh, mm, ss, sign, tzh, tzm = m.groups()
    offset = (int(tzh) * 60 + int(tzm)) * 60 * (-1 if sign == b'-' else 1)
    return calendar.timegm((int(year), _MONTHS[mon.capitalize()], int(day), int(hh),
                            int(mm), int(ss))) - offset


def _fetch_meta(conn, folder):
    """[(size, internaldate, flags)] of folder."""
    n = imapcheck.select(conn, folder)
    if n == 0:
        return []
    typ, dat = conn.fetch('1:*', '(RFC822.SIZE FLAGS INTERNALDATE)')
    if typ != 'OK':
        raise imapcheck.CheckError('FETCH in %s failed: %r' % (folder, dat))
    out, flag_sets = [], {}
    for entry in dat:
        if not isinstance(entry, bytes) or b'RFC822.SIZE' not in entry:
            continue
        size = int(_SIZE.search(entry).group(1))
        raw = _FLAGS.search(entry).group(1)
        flags = flag_sets.get(raw)
        if flags is None:
            flags = flag_sets[raw] = imapcheck.normalize_flags(
                f.decode() for f in raw.split())
        out.append((size, _internaldate(entry), flags))
    if len(out) != n:
        raise imapcheck.CheckError('%s: %d messages but %d FETCH answers' % (folder, n,
                                                                              len(out)))
    return out


class View:
    """What a mailbox holds: per folder a multiset of (size, date, flags) and, when full,
    of (sha256, date, flags)."""

    def __init__(self, server, full):
        t0 = time.monotonic()
        self.meta, self.full = {}, {} if full else None
        with imapcheck.session(server, USER, timeout=120) as conn:
            for f in imapcheck.folder_list(conn):
                if not imapcheck.selectable(f):
                    continue
                self.meta[f.name] = collections.Counter(_fetch_meta(conn, f.name))
                if full:
                    self.full[f.name] = collections.Counter(
                        imapcheck.mailbox_snapshot(conn, f.name))
        self.seconds = time.monotonic() - t0

    def count(self, folder=None):
        folders = [folder] if folder else list(self.meta)
        return sum(sum(self.meta.get(f, {}).values()) for f in folders)

    def bytes(self, folder=None):
        folders = [folder] if folder else list(self.meta)
        return sum(k[0] * v for f in folders for k, v in self.meta.get(f, {}).items())

    def expected(self, change):
        """A view of what a tool that changes every message as change((size, date, flags))
        says should leave on the destination (sizes, dates and flags only)."""
        view = View.__new__(View)
        view.seconds, view.full = 0.0, None
        view.meta = {}
        for f, keys in self.meta.items():
            view.meta[f] = collections.Counter()
            for k, v in keys.items():
                view.meta[f][change(k)] += v
        return view

    def differences(self, dst):
        """Lines that say how dst differs from this (source) view; empty if equal."""
        out, swapped = [], 0
        for f in sorted(self.meta):
            if f not in dst.meta:
                out.append('%s: missing on the destination (%d messages)' % (f, self.count(f)))
                continue
            if self.meta[f] != dst.meta[f]:
                miss = self.meta[f] - dst.meta[f]
                extra = dst.meta[f] - self.meta[f]
                pairing = _sizes(miss) == _sizes(extra) and _stamps(miss) == _stamps(extra)
                if pairing:
                    swapped += sum(miss.values())
                out.append('%s: source %d msgs %d bytes, destination %d msgs %d bytes; %d '
                           'source (size, date, flags) not matched, %d extra%s' % (
                               f, self.count(f), self.bytes(f), dst.count(f), dst.bytes(f),
                               sum(miss.values()), sum(extra.values()),
                               ' (the same sizes and the same (date, flags), paired '
                               'differently)' if pairing else ''))
                if len(out) <= 4:
                    for k in sorted(miss)[:2]:
                        out.append('    source has     size %8d  date %s  flags %s' % (
                            k[0], _when(k[1]), ' '.join(k[2]) or '-'))
                    for k in sorted(extra)[:2]:
                        out.append('    destination has size %7d  date %s  flags %s' % (
                            k[0], _when(k[1]), ' '.join(k[2]) or '-'))
            elif self.full is not None and dst.full is not None and \
                    self.full[f] != dst.full.get(f):
                miss = self.full[f] - dst.full.get(f, collections.Counter())
                out.append('%s: same sizes, dates and flags, but %d messages differ in '
                           'their bytes' % (f, sum(miss.values())))
        for f in sorted(set(dst.meta) - set(self.meta)):
            if dst.count(f):
                out.append('%s: only on the destination, %d messages' % (f, dst.count(f)))
        if swapped:
            out.insert(0, 'in all, %d messages carry the date and flags of another message '
                          'of their folder' % swapped)
        return out


def _sizes(counter):
    return collections.Counter({k[0]: v for k, v in counter.items()})


def _stamps(counter):
    c = collections.Counter()
    for k, v in counter.items():
        c[k[1:]] += v
    return c


def _when(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M:%S')


# -- changing the source between runs --------------------------------------------------------

def change_source(server, view, seed, new_count=50, flag_count=100):
    """Append new_count new messages and make flag_count flag changes (system flags) on
    distinct existing messages; deterministic from seed."""
    rng = random.Random(seed * 31 + 5)
    folders = sorted(f for f in view.meta if view.count(f))
    mails = new_messages(seed, new_count)
    with imapcheck.session(server, USER, timeout=120) as conn:
        for mail in mails:
            imapcheck.append(conn, rng.choice(folders), mail.body, mail.flags, mail.date)
        picks = collections.defaultdict(set)
        total = sum(view.count(f) for f in folders)
        while sum(len(s) for s in picks.values()) < min(flag_count, total):
            f = rng.choices(folders, [view.count(x) for x in folders])[0]
            picks[f].add(rng.randint(1, view.count(f)))
        for f in sorted(picks):
            # Few commands: each one costs the server much on a big folder.
            imapcheck.select(conn, f, readonly=False)
            seqs = sorted(picks[f])
            typ, dat = conn.fetch(','.join(map(str, seqs)), '(FLAGS)')
            have = {}
            for entry in dat if typ == 'OK' else ():
                m = re.match(rb'(\d+) \(FLAGS \(([^)]*)\)', entry) \
                    if isinstance(entry, bytes) else None
                if m:
                    have[int(m.group(1))] = m.group(2)
            stores = collections.defaultdict(list)
            for seq in seqs:
                flag = rng.choice(('\\Seen', '\\Flagged', '\\Answered'))
                op = '-FLAGS' if flag.encode() in have.get(seq, b'') else '+FLAGS'
                stores[op, flag].append(seq)
            for (op, flag), group in sorted(stores.items()):
                typ, dat = conn.store(','.join(map(str, group)), op + '.SILENT',
                                      '(%s)' % flag)
                if typ != 'OK':
                    raise imapcheck.CheckError('STORE in %s failed: %r' % (f, dat))
        # No CLOSE: it would expunge the messages flagged \Deleted.


# -- timed runs --------------------------------------------------------------------------------

RUN_INITIAL = 'initial'
RUN_UNCHANGED = 'unchanged rerun'
RUN_CHANGED = 'after 50 new, 100 flags'
MAILHAUL = 'mailhaul'
MBSYNC = 'mbsync'
MBSYNC_TUID = len('X-TUID: 0123456789ab\r\n')  # the header line mbsync adds to a message


GNU_TIME = '/usr/bin/time'
COPIER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench-copier.py')
COPIER_SINGLE = 1  # the copier's modes: messages per APPEND command
COPIER_BATCH = 100


def timed(cmd, output_path, timeout=None):
    """Run cmd; return (wall seconds, peak RSS in MiB of its process, exit code, whether it
    was stopped for running longer than timeout seconds).

    The peak RSS comes from GNU time, which runs cmd as its own child: the kernel keeps a
    process's high-water mark across fork and exec, so a child forked straight from this
    (big) Python process would report at least this process's size. On timeout the tool and
    its children are stopped (SIGTERM, then SIGKILL), not GNU time, which then still writes
    the peak RSS."""
    global _current
    rss_path = output_path + '.rss'
    gnu_time = os.path.exists(GNU_TIME)
    if gnu_time:
        full = [GNU_TIME, '-f', '%M', '-o', rss_path, '--'] + list(cmd)
    else:
        full = list(cmd)
    expired = threading.Event()

    def stop(proc):
        expired.set()
        for pid in cleanup.children_of(proc.pid) if gnu_time else [proc.pid]:
            cleanup.stop_tree(pid, waits=(5.0, 5.0))
    with open(output_path, 'wb') as out:
        t0 = time.monotonic()
        _current = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, stop, (_current,)) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        _pid, status, usage = os.wait4(_current.pid, 0)
        wall = time.monotonic() - t0
        if timer:
            timer.cancel()
    _current.returncode = os.waitstatus_to_exitcode(status)
    rc, _current = _current.returncode, None
    rss_kib = usage.ru_maxrss
    try:
        with open(rss_path) as f:
            rss_kib = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        pass  # no GNU time, or it did not write (killed): an upper bound then
    return wall, rss_kib / 1024.0, rc, expired.is_set()


def _stop_current():
    p = _current
    if p is None or p.returncode is not None:
        return
    try:
        p.wait(timeout=5)  # it got the terminal's SIGINT too and stops cleanly
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def read_text(path, limit=6000):
    try:
        with open(path, errors='replace') as f:
            text = f.read()
    except OSError:
        return ''
    return text if len(text) <= limit else '...\n' + text[-limit:]


class Account:
    """A server with the user's password in a file."""

    def __init__(self, server, work, label):
        self.server = server
        self.label = label
        self.passfile = os.path.join(work, 'pass-' + label)
        with open(self.passfile, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(server.password(USER) + '\n')


def copier_name(batch):
    return 'copier, single APPENDs' if batch == 1 else 'copier, MULTIAPPEND x%d' % batch


def mailhaul_cmd(mailhaul, src, dst, mode, jobs, state, log):
    cmd = [mailhaul, 'sync']
    for n, acc in (('1', src), ('2', dst)):
        cmd += ['--host' + n, acc.server.host, '--port' + n, str(acc.server.port(mode)),
                '--' + mode + n, '--user' + n, USER, '--passfile' + n, acc.passfile,
                '--cafile' + n, acc.server.cafile]
    return cmd + ['--jobs', str(jobs), '--quiet', '--state', state, '--log', log]


def mbsync_config(path, src, dst, mode, state_dir):
    lines = ['SyncState %s/' % state_dir, '']
    for name, acc in (('source', src), ('destination', dst)):
        lines += ['IMAPStore %s' % name,
                  'Host %s' % acc.server.host,
                  'Port %d' % acc.server.port(mode),
                  'User %s' % USER,
                  'Pass "%s"' % acc.server.password(USER),
                  'SSLType %s' % {'ssl': 'IMAPS', 'tls': 'STARTTLS', 'notls': 'None'}[mode],
                  'CertificateFile %s' % acc.server.cafile,
                  '']
    # The source is the near side; Push carries new messages and flag changes to the far
    # side (the destination), nothing flows back and nothing is expunged.
    lines += ['Channel bench', 'Far :destination:', 'Near :source:', 'Patterns *',
              'Create Far', 'Remove None', 'Expunge None', 'Sync Push',
              'CopyArrivalDate yes', '']
    with open(path, 'w') as f:
        os.fchmod(f.fileno(), 0o600)
        f.write('\n'.join(lines))


# -- the benchmark -------------------------------------------------------------------------

class Scenario:
    """One mailbox of the benchmark and the servers it is copied between."""

    def __init__(self, key, args):
        self.key = key
        self.tag = '(%s)' % key
        self.count = {'a': args.small, 'b': args.big, 'c': args.messages}[key]
        self.with_50mb = args.with_50mb and key in 'ac'
        self.reruns = key in 'bc'
        self.full = not args.no_full_check and self.count <= FULL_CHECK_MAX_MSGS
        big = ', and one of 50 MB' if self.with_50mb else ''
        if key == 'c':
            self.title = '(c) the %d-message corpus in nested folders (about %.0f MB%s)' % (
                self.count, args.mb, big)
        else:
            self.title = '(%s) one folder (INBOX) of %d small messages (2-4 KB)%s' % (
                key, self.count, big)
        self.busy = None
        self.recent = False  # every source message \Recent (--source-unopened)
        self.msgs = self.bytes = 0
        self.folders = 0

    def storage_mb(self, args, copies):
        """tmpfs space for the source and copies destinations (pages of 4 KiB, indexes)."""
        if self.key == 'c':
            per_copy = args.mb * 1.6 + self.count * 4096 / MIB
        else:
            per_copy = self.count * (4096 + 1024) * 1.3 / MIB
        return (1 + copies) * (per_copy + (50 if self.with_50mb else 0))


class Result:
    """One timed run of one tool on one scenario, and what the check of its destination
    found: check is 'ok', 'ok*' (equal once mbsync's known changes are allowed for),
    'WRONG' or 'TIMEOUT'."""

    def __init__(self, scenario, run, tool, wall, rss_mb, rc, timed_out, output):
        self.scenario, self.run, self.tool = scenario, run, tool
        self.wall, self.rss_mb, self.rc, self.timed_out = wall, rss_mb, rc, timed_out
        self.output = output
        self.check = None
        self.msgs = self.bytes = 0  # the source's, or what a stopped run had copied

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out and self.check in ('ok', 'ok*')

    def rate(self):
        return self.msgs / self.wall if self.wall > 0 else 0.0


class Bench:
    def __init__(self, args):
        self.args = args
        self.mailhaul = os.environ.get('MAILHAUL') or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'build', 'src',
            'mailhaul')
        self.scenarios = []
        self.results = []
        self.checks = []
        self.problems = []
        self.servers = []
        self.last_diffs = {}

    def private_binary(self):
        """Run a copy of mailhaul taken now, so that a rebuild of build/ during the runs
        cannot change or break the binary between them."""
        bin_dir = tempfile.mkdtemp(prefix='mailhaul-bench-bin-')
        cleanup.register(lambda: shutil.rmtree(bin_dir, ignore_errors=True))
        copy = os.path.join(bin_dir, 'mailhaul')
        shutil.copy2(self.mailhaul, copy)
        p = subprocess.run([copy, '--version'], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise SystemExit('%s --version failed (%d): %s' % (
                self.mailhaul, p.returncode, p.stdout.decode(errors='replace')))
        self.version = p.stdout.decode(errors='replace').strip().splitlines()[0]
        self.built = self.mailhaul
        self.mailhaul = copy

    def start(self, sc, role):
        label = '%s-%s' % (sc.key, role)
        dv = dovecot.Dovecot(self.pki, users={USER: label + '-pw'}, separator='/',
                             name='mhbench-%s-%d' % (label, os.getpid()),
                             mail_format='maildir' if role == 'source' else self.args.dst_format)
        dv.start()
        self.servers.append(dv)
        dv.bench_label = label
        return Account(dv, self.storage.work, label)

    def record(self, sc, run, tool, timing, output):
        r = Result(sc, run, tool, *timing, output)
        self.results.append(r)
        return r

    def result(self, sc, run, tool):
        for r in self.results:
            if r.scenario is sc and r.run == run and r.tool == tool:
                return r
        return None

    # -- the tools --------------------------------------------------------------------------

    def run_mailhaul(self, sc, run, src, dst):
        n = len([r for r in self.results if r.tool == MAILHAUL and r.scenario is sc]) + 1
        name = 'mailhaul-%s-run%d' % (sc.key, n)
        log = os.path.join(self.storage.work, name + '.log')
        out = os.path.join(self.storage.work, name + '.out')
        cmd = mailhaul_cmd(self.mailhaul, src, dst, self.args.mode, self.args.jobs,
                           os.path.join(self.storage.work, 'mailhaul-%s.sqlite' % sc.key),
                           log)
        self.last_mailhaul_cmd = cmd
        r = self.record(sc, run, MAILHAUL, timed(cmd, out, self.args.timeout), out)
        if r.rc != 0 or r.timed_out:
            kept = self.keep_log(log, name)
            self.problems.append(
                'mailhaul, %s %s: %s\n  command: %s\n  output:\n%s\n  log: %s' % (
                    sc.tag, run, _ended(r), ' '.join(cmd), _indent(read_text(out)), kept))
        return r

    def keep_log(self, log, name):
        """Copy a failed run's log where it survives the tmpfs (the default log place)."""
        base = os.environ.get('XDG_STATE_HOME') or os.path.expanduser('~/.local/state')
        dest_dir = os.path.join(base, 'mailhaul', 'logs')
        try:
            os.makedirs(dest_dir, exist_ok=True)
            dest = os.path.join(dest_dir, 'bench-%s-%s.log' % (
                time.strftime('%Y%m%d-%H%M%S'), name))
            shutil.copyfile(log, dest)
            return dest
        except OSError as e:
            return '%s (not kept: %s)' % (log, e)

    def run_mbsync(self, sc, run, src, dst):
        if not hasattr(sc, 'mbsyncrc'):
            sc.mbsyncrc = os.path.join(self.storage.work, 'mbsyncrc-' + sc.key)
            state = os.path.join(self.storage.work, 'mbsync-state-' + sc.key)
            os.mkdir(state)
            mbsync_config(sc.mbsyncrc, src, dst, self.args.mode, state)
        out = os.path.join(self.storage.work, 'mbsync-%s-%d.out' % (sc.key,
                                                                   len(self.results)))
        r = self.record(sc, run, MBSYNC, timed(['mbsync', '-c', sc.mbsyncrc, '-a', '-q'],
                                               out, self.args.timeout), out)
        if r.rc != 0 and not r.timed_out:
            self.problems.append('mbsync, %s %s: exit code %d (reference only)\n%s' % (
                sc.tag, run, r.rc, _indent(read_text(out, 2000))))
        return r

    def run_copier(self, sc, run, src, dst, view, batch):
        cfg = {'user': USER, 'batch': batch, 'host': src.server.host,
               'mode': self.args.mode, 'cafile': src.server.cafile,
               'src_port': src.server.port(self.args.mode),
               'dst_port': dst.server.port(self.args.mode),
               'src_password': src.server.password(USER),
               'dst_password': dst.server.password(USER), 'jobs': self.args.jobs,
               'create': sorted(view.meta),
               'folders': sorted((f for f in view.meta if view.count(f)),
                                 key=lambda f: -view.bytes(f))}
        name = 'copier-%s-%d' % (sc.key, batch)
        path = os.path.join(self.storage.work, name + '.json')
        with open(path, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(cfg, f)
        out = os.path.join(self.storage.work, name + '.out')
        tool = copier_name(batch)
        r = self.record(sc, run, tool, timed([sys.executable, COPIER, path], out,
                                             self.args.timeout), out)
        if r.rc != 0 and not r.timed_out:
            self.problems.append('%s, %s: exit code %d (reference only)\n%s' % (
                tool, sc.tag, r.rc, _indent(read_text(out, 2000))))
        return r

    # -- checks --------------------------------------------------------------------------

    def check(self, r, src_view, dst):
        """Compare the destination after run r with the source; set r.check and the
        figures the rates use."""
        sc, tool = r.scenario, r.tool
        full = src_view.full is not None and tool != MBSYNC
        view = View(dst.server, full)
        expect = src_view.expected(mbsync_change) if tool == MBSYNC else src_view
        diffs = expect.differences(view)
        what = '%d msgs, %.1f MB in %d folders; %s' % (
            view.count(), view.bytes() / MB, len(view.meta),
            'sha256 of every message' if full else 'sizes, dates and flags')
        who = '%s %s, %s' % (sc.tag, tool, r.run)
        r.msgs, r.bytes = src_view.count(), src_view.bytes()
        if r.timed_out:
            r.check = 'TIMEOUT'
            r.msgs, r.bytes = view.count(), view.bytes()
            self.checks.append('%s: stopped after %.0f s (--timeout): %d of %d messages '
                               'copied' % (who, r.wall, view.count(), src_view.count()))
        elif diffs and diffs == self.last_diffs.get((sc.key, tool)):
            r.check = 'WRONG'
            self.checks.append('%s: destination DIFFERS from the source (%s), as after the '
                               'run before' % (who, what))
        elif diffs:
            r.check = 'WRONG'
            self.checks.append('%s: destination DIFFERS from the source (%s):' % (who, what))
            self.checks += ['    ' + d for d in diffs[:40 if tool == MAILHAUL else 8]]
        else:
            r.check = 'ok*' if tool == MBSYNC else 'ok'
            self.checks.append('%s: destination equals the source%s (%s; checked in %.1f s)'
                               % (who, ' but for X-TUID lines and keywords' if tool == MBSYNC
                                  else '', what, view.seconds))
        self.last_diffs[sc.key, tool] = diffs
        if diffs and tool == MAILHAUL and not r.timed_out:
            self.problems.append('mailhaul, %s %s: the destination differs from the source '
                                 '(see the checks above)' % (sc.tag, r.run))

    def source_view(self, sc, src):
        view = View(src.server, sc.full)
        if sc.full and view.seconds > FULL_CHECK_LIMIT_S:
            note('a full snapshot took %.0f s: later checks compare sizes, dates and flags'
                 % view.seconds)
            sc.full = False
        return view

    # -- the scenarios -----------------------------------------------------------------------

    def load(self, sc, src):
        """Generate the scenario's mailbox and write it into the source."""
        a = self.args
        t0 = time.monotonic()
        if sc.key == 'c':
            mailbox, origin = generate(a.seed, a.messages, a.mb, sc.with_50mb)
            sizes = sorted(len(m.body) for ms in mailbox.values() for m in ms)
            say('generated %d messages, %.1f MB in %d folders (%s) in %.1f s' % (
                len(sizes), sum(sizes) / MB, len(mailbox), origin, time.monotonic() - t0))
            note('sizes: median %.1f KB, %d under 20 KB, %d of 50-500 KB, %d over 1 MB, '
                 'largest %.1f MB' % (sizes[len(sizes) // 2] / 1000,
                                      sum(s < 20000 for s in sizes),
                                      sum(50000 <= s <= 500000 for s in sizes),
                                      sum(s > MB for s in sizes), sizes[-1] / MB))
            t0 = time.monotonic()
            src.server.preload_fast(USER, mailbox)
            del mailbox
            say('loaded the source (maildir files + force-resync) in %.1f s' % (
                time.monotonic() - t0))
            return
        mails = small_messages(a.seed, sc.count)
        if sc.with_50mb:
            rng = random.Random(a.seed)
            date = SMALL_START + SMALL_SPAN + 86400
            mails = itertools.chain(mails, [(_own_message(rng, sc.count, 'attachment',
                                                          50 * MIB, date), ('\\Seen',),
                                             date)])
        count, size = write_folder(src.server, USER, 'INBOX', mails)
        say('generated and loaded the source: %d messages, %.1f MB (maildir files + '
            'force-resync) in %.1f s' % (count, size / MB, time.monotonic() - t0))

    def open_source(self, src):
        """Open every folder of the source read-write once, as a mail client does: its
        messages are then no longer \\Recent. doveadm force-resync leaves them all \\Recent,
        and no session opening a folder read-only takes that from them; on a folder of
        200,000 such messages Dovecot's maildir pays about 80 ms more for each FETCH of a
        body from a read-only session (3.4 ms against 82 ms for one body)."""
        t0 = time.monotonic()
        recent = 0
        with imapcheck.session(src.server, USER, timeout=600) as conn:
            for f in imapcheck.folder_list(conn):
                if imapcheck.selectable(f):
                    imapcheck.select(conn, f.name, readonly=False)
                    typ, dat = conn.response('RECENT')
                    recent += sum(int(d) for d in dat if d)
        say('opened the source folders read-write once, as a mail client does (%d messages '
            'were \\Recent), in %.1f s' % (recent, time.monotonic() - t0))

    def run_scenario(self, sc):
        a = self.args
        say('scenario %s' % sc.title)
        sc.busy = cpu_busy()
        first = len(self.servers)
        src = self.start(sc, 'source')
        dsts = {MAILHAUL: self.start(sc, 'mailhaul')}
        for batch in (COPIER_SINGLE, COPIER_BATCH) if a.copier else ():
            dsts[copier_name(batch)] = self.start(sc, 'copier%d' % batch)
        if not a.no_mbsync:
            dsts[MBSYNC] = self.start(sc, 'mbsync')
        say('Dovecot %s: source %s, destinations %s' % (
            _dovecot_version(), _ports(src, a.mode), ', '.join(
                '%s %s' % (x.label, _ports(x, a.mode)) for x in dsts.values())))
        self.load(sc, src)
        sc.recent = not a.open_source
        if a.open_source:
            self.open_source(src)
        view = self.source_view(sc, src)
        say('source read back in %.1f s: %d msgs, %.1f MB%s' % (
            view.seconds, view.count(), view.bytes() / MB,
            ' (sha256 of every message; this also warms its caches)' if sc.full else ''))
        sc.msgs, sc.bytes = view.count(), view.bytes()
        sc.folders = sum(1 for f in view.meta if view.count(f))
        runs = (RUN_INITIAL, RUN_UNCHANGED, RUN_CHANGED) if sc.reruns else (RUN_INITIAL,)
        for run in runs:
            if run == RUN_CHANGED:
                change_source(src.server, view, a.seed)
                view = self.source_view(sc, src)
                say('changed the source: %d msgs, %.1f MB now' % (view.count(),
                                                                  view.bytes() / MB))
            for tool, dst in dsts.items():
                if run != RUN_INITIAL and (tool not in (MAILHAUL, MBSYNC) or
                                           self.result(sc, RUN_INITIAL, tool).timed_out):
                    continue
                say('%s %s: %s' % (sc.tag, run, tool))
                if tool == MAILHAUL:
                    r = self.run_mailhaul(sc, run, src, dst)
                elif tool == MBSYNC:
                    r = self.run_mbsync(sc, run, src, dst)
                else:
                    r = self.run_copier(sc, run, src, dst, view, COPIER_BATCH
                                        if 'MULTIAPPEND' in tool else COPIER_SINGLE)
                self.check(r, view, dst)
        if not a.keep:
            dovecot.stop_all(self.servers[first:])
            del self.servers[first:]

    def main(self):
        a = self.args
        self.scenarios = [Scenario(key, a) for key in a.only]
        copies = 1 + (0 if a.no_mbsync else 1) + (2 if a.copier else 0)
        need = [sc.storage_mb(a, copies) for sc in self.scenarios] + [0]
        if a.mass:  # the source and four ways, 50 messages of 2-4 KB a mailbox on average
            need.append(a.mailboxes * 50 * (4096 + 1024) * 1.3 * 5 / MIB)
        size = max(2048, int(sum(need) if a.keep else max(need)) + 512)
        self.storage = Storage(size)
        self.private_binary()
        tempfile.tempdir = self.storage.dir  # servers, CA, files: all on the tmpfs
        cleanup.register(_stop_current)
        say('mail storage: %s' % self.storage.kind)
        self.pki = certs.TestPKI()
        for sc in self.scenarios:
            self.run_scenario(sc)
        self.mass = None
        if a.mass:
            self.mass = bench_mass.Mass(self, argparse.Namespace(
                timed=timed, small_messages=small_messages, cpu_busy=cpu_busy, say=say))
            self.mass.run()
        self.report()
        if a.keep:
            self.keep()
        mass_failed = self.mass is not None and any(
            not p.startswith('(m) serial loop, imapsync') for p in self.mass.problems)
        return 1 if mass_failed or any(p.startswith('mailhaul') for p in self.problems) else 0

    # -- the report --------------------------------------------------------------------------

    def scenario(self, key):
        for sc in self.scenarios:
            if sc.key == key:
                return sc
        return None

    def mailhaul_result(self, key, run):
        sc = self.scenario(key)
        return self.result(sc, run, MAILHAUL) if sc else None

    def targets(self):
        """The issue's targets for the scenarios run, as [(verdict, what, figure, result,
        short)]: verdict 'met', 'MISSED' or 'not measured'; result the mailhaul run it is
        about (None for those about every run); short the text for that run's row."""
        out = []

        def add(r, what, ok, figure, short):
            """ok: True, False, or None when there is nothing to compare with (figure
            says why)."""
            if r is not None and not r.ok:
                why = 'stopped at --timeout' if r.timed_out else \
                    'exit %d' % r.rc if r.rc else 'destination wrong'
                out.append(('MISSED', what, 'the run failed: ' + why, r, 'MISSED: ' + why))
            elif r is None or ok is None:
                out.append(('not measured', what, figure, r, 'not measured: ' + figure))
            else:
                verdict = 'met' if ok else 'MISSED'
                out.append((verdict, what, figure, r, '%s: %s' % (verdict, short)))

        def against(key, tool, limit):
            r = self.mailhaul_result(key, RUN_INITIAL)
            ref = self.result(self.scenario(key), RUN_INITIAL, tool)
            what = '(%s) mailhaul within %.2fx the %s' % (key, limit, tool)
            if r is None or ref is None or not ref.ok:
                add(r, what, None, 'no successful %s run' % tool, '')
                return
            x = r.wall / ref.wall
            add(r, what, x <= limit, '%.3f s vs %.3f s: %.2fx' % (r.wall, ref.wall, x),
                '%.2fx (<= %.2fx)' % (x, limit))

        def within(key, run, limit, what):
            r = self.mailhaul_result(key, run)
            add(r, what, r is not None and r.wall <= limit, '%.3f s' % r.wall if r else
                'no run', '%.3f s (<= %.2f s)' % (r.wall if r else 0, limit))

        if self.scenario('a'):
            against('a', copier_name(COPIER_BATCH), TARGET_A_VS_MULTI)
        if self.scenario('b'):
            r, ra = self.mailhaul_result('b', RUN_INITIAL), self.mailhaul_result('a', RUN_INITIAL)
            what = "(b) mailhaul's msgs/s at least %.0f%% of (a)'s" % (100 * TARGET_B_VS_A)
            if ra is None or not ra.ok:
                add(r, what, None, '(a) not run' if ra is None else '(a) failed', '')
            else:
                share = r.rate() / ra.rate()
                add(r, what, share >= TARGET_B_VS_A, '%.0f vs %.0f msgs/s: %.0f%%' % (
                    r.rate(), ra.rate(), 100 * share), "%.0f%% of (a)'s (>= %.0f%%)" % (
                    100 * share, 100 * TARGET_B_VS_A))
            within('b', RUN_UNCHANGED, TARGET_B_UNCHANGED_S,
                   '(b) unchanged rerun at most %.1f s' % TARGET_B_UNCHANGED_S)
            within('b', RUN_CHANGED, TARGET_B_CHANGED_S, '(b) rerun after 50 new messages '
                   'and 100 flag changes at most %.1f s' % TARGET_B_CHANGED_S)
        if self.scenario('c'):
            against('c', copier_name(COPIER_SINGLE), TARGET_C_VS_SINGLE)
            within('c', RUN_UNCHANGED, TARGET_C_UNCHANGED_S,
                   '(c) unchanged rerun at most %.2f s (issue 3)' % TARGET_C_UNCHANGED_S)
            within('c', RUN_CHANGED, TARGET_C_CHANGED_S, '(c) rerun after 50 new messages '
                   'and 100 flag changes at most %.2f s (issue 3)' % TARGET_C_CHANGED_S)
        for big in (False, True):
            runs = [r for r in self.results if r.tool == MAILHAUL and
                    (r.scenario.with_50mb or not big)]
            what = 'peak RSS at most %.0f MB in every mailhaul run' % TARGET_RSS_MB
            if big:
                what = 'the same with a 50 MB message in the folder'
            if not runs:
                out.append(('not measured', what, '--with-50mb adds one to (a) and (c)'
                            if big else 'no mailhaul run', None, ''))
                continue
            top = max(runs, key=lambda r: r.rss_mb)
            out.append(('met' if top.rss_mb <= TARGET_RSS_MB else 'MISSED', what,
                        'largest %.1f MB (%s %s)' % (top.rss_mb, top.scenario.tag, top.run),
                        None, ''))
        return out

    def report(self):
        a = self.args
        print()
        print('mailhaul benchmark: scenarios %s; --jobs %d; %s; %d CPUs' % (
            ', '.join([sc.tag for sc in self.scenarios] + (['(m)'] if a.mass else [])),
            a.jobs, {
                'ssl': 'implicit TLS', 'tls': 'STARTTLS',
                'notls': 'cleartext on loopback'}[a.mode], os.cpu_count()))
        print('%s (%s), Dovecot %s, mbsync %s' % (self.version, _git_commit(),
                                                   _dovecot_version(), _mbsync_version()))
        print('mail storage: %s; source maildir, destinations %s' % (self.storage.kind,
                                                                   self.args.dst_format))
        busy = [sc for sc in self.scenarios if sc.busy is not None and sc.busy > 0.2]
        if busy:
            print('WARNING: other work was running on the machine (%s): the times may not '
                  'be comparable with the targets' % ', '.join(
                      '%.0f%% busy before %s' % (100 * sc.busy, sc.tag) for sc in busy))
        if self.mass is not None:
            self.mass.report()
        if not self.scenarios:
            return
        targets = self.targets()
        for sc in self.scenarios:
            print()
            self.print_table(sc, targets)
        print()
        print('targets (issue 11 and, for reruns of (c), issue 3; for a 2-core machine; '
              'shown, not enforced):')
        for verdict, what, figure, _r, _short in targets:
            print('  %-12s  %s%s' % (verdict, what, ': ' + figure if figure else ''))
        print()
        print('msgs/s and MB/s: the source mailbox over the wall time (reruns: the rate at '
              'which it is checked; a run stopped at --timeout: what it had copied).')
        print('MB = 10^6 bytes; peak RSS in MiB, GNU time %M (the copier: its largest '
              'process).')
        if 'b' in a.only:
            print("vs (a): the tool's msgs/s in (b) as a share of its msgs/s in (a)%s." % (
                ' (whose wall time includes the 50 MB message)' if a.with_50mb else ''))
        print('check: ok = the destination equals the source (per folder: the message count '
              'and every message\'s size, INTERNALDATE and flags; sha256 too where the checks '
              'say so);')
        if not a.no_mbsync:
            print('  ok* = equal once mbsync 1.4\'s known changes are allowed for: it adds an '
                  'X-TUID header line (%d bytes) to every message and carries no keywords '
                  'but $Forwarded;' % MBSYNC_TUID)
        print('  WRONG = differs (see the checks); TIMEOUT = stopped at --timeout (%d s).' %
              a.timeout)
        print()
        print('checks:')
        for c in self.checks:
            print('  ' + c)
        if self.problems:
            print()
            print('PROBLEMS:')
            for p in self.problems:
                print('  ' + p)

    def print_table(self, sc, targets):
        busy = '%.0f%%' % (100 * sc.busy) if sc.busy is not None else '?'
        print('%s: %d msgs, %.1f MB in %d folder%s; the machine was %s busy just before%s' % (
            sc.title, sc.msgs, sc.bytes / MB, sc.folders, '' if sc.folders == 1 else 's',
            busy, '; every source message \\Recent (--source-unopened)' if sc.recent else ''))
        versus = sc.key == 'b' and self.scenario('a') is not None
        head = ('run', 'tool', 'wall s', 'msgs/s', 'MB/s', 'peak RSS MB') + \
            (('vs (a)',) if versus else ()) + ('check', 'target')
        rows = []
        for r in self.results:
            if r.scenario is not sc:
                continue
            failed = r.rc != 0 and not r.timed_out
            row = [r.run, r.tool, '%.3f' % r.wall, '-' if failed else '%.0f' % r.rate(),
                   '-' if failed else '%.1f' % (r.bytes / MB / max(r.wall, 1e-9)),
                   '%.1f' % r.rss_mb]
            if versus:
                ra = self.result(self.scenario('a'), RUN_INITIAL, r.tool)
                row.append('%.0f%%' % (100 * r.rate() / ra.rate()) if ra and ra.ok and
                           r.run == RUN_INITIAL and not failed else '')
            row.append('%s%s' % ('exit %d, ' % r.rc if failed else '', r.check or '-'))
            row.append('; '.join([t[4] for t in targets if t[3] is r and t[4]] +
                                 (['RSS %s' % ('met' if r.rss_mb <= TARGET_RSS_MB else
                                               'MISSED')] if r.tool == MAILHAUL else [])))
            rows.append(row)
        widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
        left = (0, 1, len(head) - 2, len(head) - 1)
        fmt = '  '.join('%%-%ds' if i in left else '%%%ds' for i in range(len(head)))
        fmt = fmt % tuple(widths)
        print(fmt % head)
        print('  '.join('-' * w for w in widths))
        last = None
        for row in rows:
            print((fmt % tuple([row[0] if row[0] != last else ''] + row[1:])).rstrip())
            last = row[0]

    def keep(self):
        """Leave the servers and the storage in place and say how to reach them."""
        self.storage.keep()
        for dv in self.servers:
            cleanup.unregister(dv._handle)
            dv._handle = None
            if dv._guard is not None:
                dv._guard.release()
                dv._guard = None
        cleanup.unregister(self.pki._handle)
        self.pki._handle = None
        if self.pki._guard is not None:
            self.pki._guard.release()
            self.pki._guard = None
        print()
        print('--keep: the servers are still running (user %s, CA %s):' % (USER,
                                                                           self.pki.ca))
        pids = []
        for dv in self.servers:
            pid = dv._master_pid() or dv._proc.pid
            pids.append(str(pid))
            print('  %-12s imaps %d, imap %d, password %s, Dovecot dir %s, log %s' % (
                dv.bench_label, dv.imaps_port, dv.imap_port, dv.password(USER),
                dv.dir, dv.log_path))
        print('  rerun the last mailhaul run:')
        print('    ' + ' '.join([self.built] + self.last_mailhaul_cmd[1:]))
        print('  when done:  kill %s; sleep 2; %srm -rf %s' % (
            ' '.join(pids), 'umount %s; ' % self.storage.dir if self.storage.mounted else '',
            self.storage.dir))


def _ended(r):
    return 'stopped after %.0f s (--timeout)' % r.wall if r.timed_out else \
        'exit code %d' % r.rc


def mbsync_change(key):
    """What mbsync 1.4 makes of a message (size, date, flags): an X-TUID header line more,
    and no keywords but $Forwarded (its "passed" flag)."""
    size, date, flags = key
    return size + MBSYNC_TUID, date, tuple(f for f in flags
                                           if f.startswith('\\') or f == '$Forwarded')


def _indent(text, pad='    '):
    return '\n'.join(pad + line for line in text.rstrip().splitlines())


def _ports(acc, mode):
    return '(%s %d)' % ('imaps' if mode == 'ssl' else 'imap', acc.server.port(mode))


def cpu_busy(seconds=1.0):
    """The share of CPU time not idle over the next seconds (None if unknown)."""
    def sample():
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)  # idle + iowait, total
    try:
        i0, t0 = sample()
        time.sleep(seconds)
        i1, t1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def _git_commit():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        dirty = subprocess.run(['git', '-C', root, 'diff', '--quiet', 'HEAD', '--', 'src',
                                'common', 'providers', 'sasl', 'oauth2', 'keyring'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return 'commit unknown'
    text = 'commit ' + (rev.stdout.decode().strip() or '?')
    return text + (' + uncommitted changes' if dirty.returncode == 1 else '')


def _mbsync_version():
    try:
        return subprocess.run(['mbsync', '--version'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().split()[-1]
    except (OSError, IndexError):
        return '-'


def _dovecot_version():
    try:
        return subprocess.run(['dovecot', '--version'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().split()[0]
    except (OSError, IndexError):
        return '?'


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='scripts/bench',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Migrate generated mailboxes between local Dovecot servers with mailhaul, '
                    'a minimal copier (single\nAPPENDs; MULTIAPPEND) and mbsync; print wall '
                    'time, msgs/s, MB/s and peak RSS, check every\ndestination against the '
                    'source and show the targets of issue 11 next to the figures.',
        epilog='scenarios (all by default, one after the other, each on its own servers):\n'
               '  a  one folder (INBOX) of --small messages of 2-4 KB\n'
               '  b  one folder (INBOX) of --big messages of 2-4 KB, written as maildir '
               'files (no IMAP);\n'
               '     mailhaul and mbsync also rerun it unchanged, then after 50 new '
               'messages and 100 flag changes\n'
               '  c  the corpus of --messages messages (--mb MB) in nested folders, with the '
               'same reruns\n'
               '  m  --mailboxes mailboxes of 20-80 small messages: mailhaul batch --jobs 8 '
               'against xargs -P 8\n'
               '     of single syncs, a serial loop of them (on --serial-sample mailboxes) '
               'and imapsync\'s loop\n'
               '     when installed (not by default: --only m)\n'
               'A run that takes longer than --timeout is stopped and reported with what it '
               'had copied.\nThe exit code is 1 when a mailhaul run fails or leaves a '
               'destination unlike its source.')
    p.add_argument('--only', default='a,b,c', metavar='LIST',
                   help='scenarios to run, comma-separated (default a,b,c)')
    p.add_argument('--small', type=int, default=5000, metavar='N',
                   help='messages in (a) (default 5000)')
    p.add_argument('--big', type=int, default=200000, metavar='N',
                   help='messages in (b) (default 200000)')
    p.add_argument('--messages', type=int, default=5000, metavar='N',
                   help='messages in (c) (default 5000)')
    p.add_argument('--mb', type=float, default=265, help='size of (c) in MB (default 265)')
    p.add_argument('--with-50mb', action='store_true',
                   help='add one 50 MB message to (a) and (c)')
    p.add_argument('--jobs', type=int, default=4,
                   help="mailhaul's --jobs, and the copier's folders at a time (default 4)")
    p.add_argument('--seed', type=int, default=1, help='mailbox seed (default 1)')
    p.add_argument('--timeout', type=int, default=1200, metavar='S',
                   help='stop a tool run after S seconds (default 1200)')
    p.add_argument('--starttls', dest='mode', action='store_const', const='tls',
                   default='ssl', help='STARTTLS (--tls1/--tls2) instead of implicit TLS')
    p.add_argument('--notls', dest='mode', action='store_const', const='notls',
                   help='cleartext on loopback (--notls1/--notls2): no TLS cost in the figures')
    p.add_argument('--dst-format', choices=('maildir', 'sdbox', 'mdbox'), default='maildir',
                   help="the destination servers' mail storage (default maildir; the source "
                        "is always maildir): a maildir folder costs Dovecot more per message "
                        "as it grows, the dbox formats do not")
    p.add_argument('--source-unopened', dest='open_source', action='store_false',
                   help='leave every source message \\Recent, as doveadm force-resync leaves '
                        'them (mail delivered and never opened by a client); by default each '
                        'source folder is opened read-write once after loading, as a mail '
                        "client does. Left \\Recent, a maildir folder of 200,000 costs "
                        'Dovecot about 80 ms more per body FETCH from a read-only session')
    p.add_argument('--no-mbsync', action='store_true', help='skip the mbsync reference')
    p.add_argument('--no-copier', dest='copier', action='store_false',
                   help='skip the minimal copier (both modes)')
    p.add_argument('--no-full-check', action='store_true',
                   help='compare sizes, dates and flags only (no sha256 of every message; '
                        'never done above %d messages)' % FULL_CHECK_MAX_MSGS)
    p.add_argument('--mailboxes', type=int, default=1000, metavar='N',
                   help='mailboxes in (m) (default 1000)')
    p.add_argument('--serial-sample', type=int, default=50, metavar='N',
                   help='mailboxes the serial loops of (m) are timed on, then extrapolated '
                        '(default 50)')
    p.add_argument('--keep', action='store_true',
                   help='leave the servers running and say how to reach them')
    a = p.parse_args(argv)
    only = [x.strip().lower() for x in a.only.split(',') if x.strip()]
    if not only or any(x not in ('a', 'b', 'c', 'm') for x in only):
        p.error('--only takes a comma-separated list of a, b, c and m')
    a.mass = 'm' in only
    a.only = [x for x in 'abc' if x in only]
    if a.mass and (a.mailboxes < 1 or a.serial_sample < 1):
        p.error('--mailboxes and --serial-sample must be positive')
    if min(a.messages, a.small, a.big) < 50 or a.mb <= 0 or a.jobs < 1 or a.timeout < 1:
        p.error('--messages, --small and --big must be at least 50; --mb, --jobs and '
                '--timeout positive')
    if a.only and not a.no_mbsync and shutil.which('mbsync') is None:
        p.error('mbsync is not installed (Debian package isync), or use --no-mbsync')
    return a


def main(argv):
    args = parse_args(argv)
    cleanup.install()
    bench = Bench(args)
    try:
        return bench.main()
    finally:
        if not args.keep:
            _stop_current()
            dovecot.stop_all(bench.servers)
            if getattr(bench, 'pki', None) is not None:
                bench.pki.close()
            if getattr(bench, 'storage', None) is not None:
                bench.storage.close()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
