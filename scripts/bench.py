#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mailhaul's benchmark: a generated mailbox migrated between two local Dovecot servers.

Run it through scripts/bench (installs, builds, sets PYTHONPATH and MAILHAUL). It

- mounts a tmpfs for the servers' mail (falls back to /dev/shm, then to the disk), so that
  disk noise does not dominate; Dovecot does not fsync (mail_fsync = never);
- generates a realistic mailbox deterministic from --seed (mhtest.corpus when present):
  many small text mails, a fair share of 50-500 KB attachments, a few multi-MB messages,
  nested folders, flags and keywords, dates over ten years; --with-50mb adds one 50 MB
  message;
- times three runs of mailhaul (wall time and peak RSS of its process): the initial
  migration into an empty destination, an unchanged rerun, and a rerun after 50 new source
  messages and 100 flag changes; after each one it checks that the destination holds the
  source's messages (count, bytes, dates, flags per folder, and sha256 of every message);
- runs mbsync (Debian's isync) on the same work into a second destination, and a minimal
  copier without any sync logic (scripts/bench-copier.py, a reference for raw speed only)
  in two modes into two more: one ranged UID FETCH per folder with pipelined single
  APPENDs, and the same with one MULTIAPPEND per 100 messages;
- prints one table with the figures and the targets of the issue next to them.

Targets are printed, not enforced. The exit code is non-zero only when a mailhaul run fails
or leaves the destination different from the source.
"""
import argparse
import base64
import calendar
import collections
import datetime
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
import time

from mhtest import certs, cleanup, dovecot, imapcheck

try:
    from mhtest import corpus as mhcorpus
except ImportError:  # the shared generator is optional: a small one is below
    mhcorpus = None

MB = 1000 * 1000
MIB = 1024 * 1024
USER = 'alice'

# The targets (on a 2-core machine; the minimal copier there took about 2.0 s).
TARGET_INITIAL_S = 2.5
TARGET_UNCHANGED_S = 0.06
TARGET_CHANGED_S = 0.15
TARGET_RSS_MB = 30.0

FULL_CHECK_LIMIT_S = 30.0  # sha256 comparisons only while a full snapshot takes less

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


def summary(src, dst):
    """One line on how far a reference tool's destination matches the source."""
    counts = [f for f in src.meta if src.count(f) != dst.count(f)]
    keys_src, keys_dst = (src.full, dst.full) if src.full is not None else (src.meta,
                                                                             dst.meta)
    unlike = sum(sum((keys_src[f] - keys_dst.get(f, collections.Counter())).values())
                 for f in keys_src)
    return ('%d msgs, %.1f MB (source %d msgs, %.1f MB); %s; %d messages not identical in '
            'bytes, date and flags' % (
                dst.count(), dst.bytes() / MB, src.count(), src.bytes() / MB,
                'message counts equal in every folder' if not counts else
                'message counts differ in %d folders' % len(counts), unlike))


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

Result = collections.namedtuple('Result', 'run tool wall rss_mb rc output note')


GNU_TIME = '/usr/bin/time'
COPIER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench-copier.py')
COPIER_SINGLE = 1  # the copier's modes: messages per APPEND command
COPIER_BATCH = 100


def timed(cmd, output_path):
    """Run cmd; return (wall seconds, peak RSS in MiB of its process, exit code).

    The peak RSS comes from GNU time, which runs cmd as its own child: the kernel keeps a
    process's high-water mark across fork and exec, so a child forked straight from this
    (big) Python process would report at least this process's size."""
    global _current
    rss_path = output_path + '.rss'
    if os.path.exists(GNU_TIME):
        full = [GNU_TIME, '-f', '%M', '-o', rss_path, '--'] + list(cmd)
    else:
        full = list(cmd)
    with open(output_path, 'wb') as out:
        t0 = time.monotonic()
        _current = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(_current.pid, 0)
        wall = time.monotonic() - t0
    _current.returncode = os.waitstatus_to_exitcode(status)
    rc, _current = _current.returncode, None
    rss_kib = usage.ru_maxrss
    try:
        with open(rss_path) as f:
            rss_kib = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        pass  # no GNU time, or it did not write (killed): an upper bound then
    return wall, rss_kib / 1024.0, rc


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

class Bench:
    def __init__(self, args):
        self.args = args
        self.mailhaul = os.environ.get('MAILHAUL') or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'build', 'src',
            'mailhaul')
        self.results = []
        self.checks = []
        self.problems = []
        self.servers = []

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

    def start(self, label, password):
        dv = dovecot.Dovecot(self.pki, users={USER: password}, separator='/',
                             name='mhbench-%s-%d' % (label, os.getpid()))
        dv.start()
        self.servers.append(dv)
        dv.bench_label = label
        return Account(dv, self.storage.work, label)

    def record(self, run, tool, wall, rss, rc, output, note=''):
        self.results.append(Result(run, tool, wall, rss, rc, output, note))

    def run_mailhaul(self, run, src, dst):
        n = len([r for r in self.results if r.tool == 'mailhaul']) + 1
        log = os.path.join(self.storage.work, 'mailhaul-run%d.log' % n)
        out = os.path.join(self.storage.work, 'mailhaul-run%d.out' % n)
        cmd = mailhaul_cmd(self.mailhaul, src, dst, self.args.mode, self.args.jobs,
                           os.path.join(self.storage.work, 'mailhaul-state.sqlite'), log)
        self.last_mailhaul_cmd = cmd
        wall, rss, rc = timed(cmd, out)
        self.record(run, 'mailhaul', wall, rss, rc, out)
        if rc != 0:
            kept = self.keep_log(log, n)
            self.problems.append(
                'mailhaul, %s: exit code %d\n  command: %s\n  output:\n%s\n  log: %s' % (
                    run, rc, ' '.join(cmd), _indent(read_text(out)), kept))
        return rc

    def keep_log(self, log, n):
        """Copy a failed run's log where it survives the tmpfs (the default log place)."""
        base = os.environ.get('XDG_STATE_HOME') or os.path.expanduser('~/.local/state')
        dest_dir = os.path.join(base, 'mailhaul', 'logs')
        try:
            os.makedirs(dest_dir, exist_ok=True)
            dest = os.path.join(dest_dir, 'bench-%s-run%d.log' % (
                time.strftime('%Y%m%d-%H%M%S'), n))
            shutil.copyfile(log, dest)
            return dest
        except OSError as e:
            return '%s (not kept: %s)' % (log, e)

    def run_mbsync(self, run, src, dst):
        out = os.path.join(self.storage.work, 'mbsync-%d.out' % len(self.results))
        wall, rss, rc = timed(['mbsync', '-c', self.mbsyncrc, '-a', '-q'], out)
        note = '' if rc == 0 else 'exit %d' % rc
        self.record(run, 'mbsync', wall, rss, rc, out, note)
        if rc != 0:
            self.problems.append('mbsync, %s: exit code %d (reference only)\n%s' % (
                run, rc, _indent(read_text(out, 2000))))

    def run_copier(self, run, src, dst, view, batch):
        cfg = {'user': USER, 'batch': batch, 'host': src.server.host, 'mode': self.args.mode, 'cafile': src.server.cafile,
               'src_port': src.server.port(self.args.mode),
               'dst_port': dst.server.port(self.args.mode),
               'src_password': src.server.password(USER),
               'dst_password': dst.server.password(USER), 'jobs': self.args.jobs,
               'create': sorted(view.meta),
               'folders': sorted((f for f in view.meta if view.count(f)),
                                 key=lambda f: -view.bytes(f))}
        path = os.path.join(self.storage.work, 'copier-%d.json' % batch)
        with open(path, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(cfg, f)
        out = os.path.join(self.storage.work, 'copier-%d.out' % batch)
        tool = copier_name(batch)
        wall, rss, rc = timed([sys.executable, COPIER, path], out)
        self.record(run, tool, wall, rss, rc, out,
                    'no sync logic' if rc == 0 else 'exit %d' % rc)
        if rc != 0:
            self.problems.append('%s: exit code %d\n%s' % (
                tool, rc, _indent(read_text(out, 2000))))
        return tool

    def check(self, run, src_view, dst, tool='mailhaul'):
        full = src_view.full is not None
        view = View(dst.server, full)
        what = '%d msgs, %.1f MB in %d folders%s' % (
            view.count(), view.bytes() / MB, len(view.meta),
            ', sha256 of every message' if full else ', sizes, dates and flags')
        if tool != 'mailhaul':
            self.checks.append('%s, %s: %s' % (tool, run, summary(src_view, view)))
            return view
        diffs = src_view.differences(view)
        if diffs and diffs == getattr(self, 'last_diffs', None):
            self.checks.append('%s, %s: destination DIFFERS from the source (%s), as after '
                               'the run before' % (tool, run, what))
        elif diffs:
            self.checks.append('%s, %s: destination DIFFERS from the source (%s):' % (
                tool, run, what))
            self.checks += ['    ' + d for d in diffs[:40]]
        self.last_diffs = diffs
        if diffs:
            self.problems.append('%s after %s: the destination differs from the source'
                                 ' (see the checks above)' % (tool, run))
        else:
            self.checks.append('%s, %s: destination equals the source (%s; checked in '
                               '%.1f s)' % (tool, run, what, view.seconds))
        return view

    def source_view(self, full):
        view = View(self.src.server, full)
        if full and view.seconds > FULL_CHECK_LIMIT_S:
            note('a full snapshot took %.0f s: later checks compare sizes, dates and flags'
                 % view.seconds)
            self.full_checks = False
        return view

    def main(self):
        a = self.args
        self.busy_before = cpu_busy()
        need_mb = a.mb + (50 if a.with_50mb else 0)
        copies = 2 + (0 if a.no_mbsync else 1) + (2 if a.copier else 0)
        size = max(2048, int(need_mb * copies * 1.6) + 512)
        self.storage = Storage(size)
        self.private_binary()
        tempfile.tempdir = self.storage.dir  # servers, CA, files: all on the tmpfs
        cleanup.register(_stop_current)
        say('mail storage: %s' % self.storage.kind)
        self.full_checks = not a.no_full_check

        t0 = time.monotonic()
        mailbox, origin = generate(a.seed, a.messages, a.mb, a.with_50mb)
        sizes = sorted(len(m.body) for ms in mailbox.values() for m in ms)
        say('generated %d messages, %.1f MB in %d folders (%s) in %.1f s' % (
            len(sizes), sum(sizes) / MB, len(mailbox), origin, time.monotonic() - t0))
        note('sizes: median %.1f KB, %d under 20 KB, %d of 50-500 KB, %d over 1 MB, '
             'largest %.1f MB' % (sizes[len(sizes) // 2] / 1000,
                                  sum(s < 20000 for s in sizes),
                                  sum(50000 <= s <= 500000 for s in sizes),
                                  sum(s > MB for s in sizes), sizes[-1] / MB))

        self.pki = certs.TestPKI()
        self.src = src = self.start('source', 'source-pw')
        dst = self.start('dest', 'dest-pw')
        mb_dst = None if a.no_mbsync else self.start('mbsync-dest', 'mbsync-pw')
        cp_dsts = [(batch, self.start('copier%d-dest' % batch, 'copier%d-pw' % batch))
                   for batch in (COPIER_SINGLE, COPIER_BATCH)] if a.copier else []
        say('Dovecot %s: source %s, destinations %s' % (
            _dovecot_version(), _ports(src), ', '.join(
                '%s %s' % (x.label, _ports(x))
                for x in [dst, mb_dst] + [d for _b, d in cp_dsts] if x)))

        t0 = time.monotonic()
        src.server.preload_fast(USER, mailbox)
        del mailbox
        say('loaded the source (maildir files + force-resync) in %.1f s' % (
            time.monotonic() - t0))
        view = self.source_view(self.full_checks)
        say('source read back in %.1f s: %d msgs, %.1f MB%s' % (
            view.seconds, view.count(), view.bytes() / MB,
            ' (sha256 of every message; this also warms its caches)' if self.full_checks
            else ''))
        self.mailbox_msgs, self.mailbox_bytes = view.count(), view.bytes()
        if mb_dst:
            self.mbsyncrc = os.path.join(self.storage.work, 'mbsyncrc')
            os.mkdir(os.path.join(self.storage.work, 'mbsync-state'))
            mbsync_config(self.mbsyncrc, src, mb_dst, a.mode,
                          os.path.join(self.storage.work, 'mbsync-state'))

        runs = ('1 initial migration', '2 unchanged rerun', '3 after 50 new, 100 flags')
        for i, run in enumerate(runs):
            if i == 2:
                change_source(src.server, view, a.seed)
                view = self.source_view(self.full_checks)
                say('changed the source: %d msgs, %.1f MB now' % (view.count(),
                                                                  view.bytes() / MB))
            say('run %s: mailhaul' % run)
            self.run_mailhaul(run, src, dst)
            self.check(run, view, dst)
            if mb_dst:
                say('run %s: mbsync' % run)
                self.run_mbsync(run, src, mb_dst)
            for batch, cp_dst in cp_dsts if i == 0 else ():
                say('run %s: %s (reference)' % (run, copier_name(batch)))
                tool = self.run_copier(run, src, cp_dst, view, batch)
                self.check(run, view, cp_dst, tool=tool)
        if mb_dst:
            self.check('after run 3', view, mb_dst, tool='mbsync (reference)')
        self.report()
        if a.keep:
            self.keep()
        return 1 if any(p.startswith('mailhaul') for p in self.problems) else 0

    def report(self):
        a = self.args
        msgs, mbytes = self.mailbox_msgs, self.mailbox_bytes
        print()
        busy = '%.0f%%' % (100 * self.busy_before) if self.busy_before is not None else '?'
        print('mailhaul benchmark: %d messages, %.1f MB%s; --jobs %d; %s; %d CPUs, %s busy '
              'just before the bench' % (
                  msgs, mbytes / MB, ' (with one 50 MB message)' if a.with_50mb else '',
                  a.jobs, {'ssl': 'implicit TLS', 'tls': 'STARTTLS', 'notls': 'cleartext on loopback'}[a.mode], os.cpu_count(),
                  busy))
        if self.busy_before is not None and self.busy_before > 0.2:
            print('WARNING: other work was running on the machine: the times may not be '
                  'comparable with the targets')
        print('%s (%s), Dovecot %s, mbsync %s' % (self.version, _git_commit(),
                                                   _dovecot_version(), _mbsync_version()))
        print('mail storage: %s' % self.storage.kind)
        print()
        head = ('run', 'tool', 'wall s', 'msgs/s', 'MB/s', 'peak RSS MB', 'target')
        rows = []
        for r in self.results:
            ok = r.rc == 0
            rows.append((r.run, r.tool, '%.3f' % r.wall,
                         '%.0f' % (msgs / r.wall) if ok else '-',
                         '%.1f' % (mbytes / MB / r.wall) if ok else '-',
                         '%.1f' % r.rss_mb, self.target(r)))
        widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
        fmt = '  '.join('%%-%ds' if i in (0, 1, 6) else '%%%ds' for i in range(len(head)))
        fmt = fmt % tuple(widths)
        print(fmt % head)
        print('  '.join('-' * w for w in widths))
        last = None
        for row in rows:
            print((fmt % ((row[0] if row[0] != last else '',) + row[1:])).rstrip())
            last = row[0]
        print()
        print('msgs/s and MB/s: the whole source mailbox over the wall time (for reruns: the '
              'rate at which it is checked). MB = 10^6 bytes; peak RSS in MiB (GNU time %M).')
        print('Targets are the issue\'s, for a 2-core machine (mailhaul: within 25% of the '
              'minimal copier\'s ~2.0 s there); they are shown, not enforced.')
        if not a.no_mbsync:
            print('mbsync 1.4 adds an X-TUID header line to every message it copies and '
                  'carries system flags only (no keywords).')
        print()
        print('checks:')
        for c in self.checks:
            print('  ' + c)
        if self.problems:
            print()
            print('PROBLEMS:')
            for p in self.problems:
                print('  ' + p)

    def target(self, r):
        if r.tool != 'mailhaul':
            return r.note
        if r.rc != 0:
            return 'FAILED (exit %d)' % r.rc
        limit = TARGET_INITIAL_S if r.run.startswith('1') else \
            TARGET_UNCHANGED_S if r.run.startswith('2') else TARGET_CHANGED_S
        return '%s <= %.2f s, RSS %s <= %.0f MB' % (
            'met' if r.wall <= limit else 'MISSED', limit,
            'met' if r.rss_mb <= TARGET_RSS_MB else 'MISSED', TARGET_RSS_MB)

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
        print('  rerun mailhaul (state %s):' % os.path.join(self.storage.work,
                                                            'mailhaul-state.sqlite'))
        print('    ' + ' '.join([self.built] + self.last_mailhaul_cmd[1:]))
        print('  when done:  kill %s; sleep 2; %srm -rf %s' % (
            ' '.join(pids), 'umount %s; ' % self.storage.dir if self.storage.mounted else '',
            self.storage.dir))


def _indent(text, pad='    '):
    return '\n'.join(pad + line for line in text.rstrip().splitlines())


def _ports(acc):
    return '(%s %d)' % ('imaps', acc.server.imaps_port)


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
                                'common', 'providers', 'auth', 'keyring'],
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
        description='Migrate a generated mailbox between two local Dovecot servers with '
                    'mailhaul, mbsync and a minimal copier; print times and peak RSS.')
    p.add_argument('--messages', type=int, default=5000, help='messages (default 5000)')
    p.add_argument('--mb', type=float, default=265, help='mailbox size in MB (default 265)')
    p.add_argument('--with-50mb', action='store_true', help='add one 50 MB message')
    p.add_argument('--jobs', type=int, default=4, help="mailhaul's --jobs (default 4)")
    p.add_argument('--seed', type=int, default=1, help='corpus seed (default 1)')
    p.add_argument('--starttls', dest='mode', action='store_const', const='tls',
                   default='ssl', help='STARTTLS (--tls1/--tls2) instead of implicit TLS')
    p.add_argument('--notls', dest='mode', action='store_const', const='notls',
                   help='cleartext on loopback (--notls1/--notls2): no TLS cost in the figures')
    p.add_argument('--no-mbsync', action='store_true', help='skip the mbsync reference')
    p.add_argument('--no-copier', dest='copier', action='store_false',
                   help='skip the minimal copier (both modes)')
    p.add_argument('--no-full-check', action='store_true',
                   help='compare sizes, dates and flags only (no sha256 of every message)')
    p.add_argument('--keep', action='store_true',
                   help='leave the servers running and say how to reach them')
    a = p.parse_args(argv)
    if a.messages < 50 or a.mb <= 0 or a.jobs < 1:
        p.error('--messages must be at least 50, --mb and --jobs positive')
    if not a.no_mbsync and shutil.which('mbsync') is None:
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
