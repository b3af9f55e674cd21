# SPDX-License-Identifier: MIT
"""A FAULT INJECTOR in front of a REAL IMAP server: connections cut, stalled or refused.

Networks drop connections in the middle of a message, stall for longer than a client waits,
and servers go away for a while; a real Dovecot does none of that on demand. This proxy sits
between mailhaul and a real Dovecot (mhtest.dovecot.Dovecot), forwards every byte unchanged
and, at the points its seeded random generator or its rules choose, cuts the connection
abruptly (no BYE: both sockets are reset), stops forwarding for a while, or refuses new
connections. It is a fake part only for those faults: mailboxes, messages, flags and UIDs are
the real server's.

    proxy = CutProxy(dovecot, seed=42, after=(20_000, 2_000_000), direction='down',
                     probability=0.5, pki=pki)
    with proxy:
        job = synctest.Job(proxy, 'alice', dst, 'alice')  # the proxy looks like a server
        ...
    proxy.cuts()      # [Event] of kind 'cut': .conn .direction .count .in_literal
                      # .literal (offset, size) .command .mailbox .text
    proxy.events()    # everything: connect, cut, stall, resume, close, down, up, ...
    proxy.summary()   # the seed, the settings and a readable transcript for failure messages

Faults, decided for each accepted connection in turn (so a seed replays the same choices):
  after=(lo, hi), probability=p
      with probability p the connection gets a fault after a number of bytes drawn from
      [lo, hi], counted in `direction`: 'up' (client to server: APPEND literals when the
      proxy fronts a destination), 'down' (server to client: FETCH literals from a source)
      or 'both' (the two added up). Exactly that many bytes are forwarded, then:
  stall=None | seconds, cut=True
      stall: forwarding stops in both directions for that many seconds first (a black hole;
      if the client gives up and hangs up meanwhile, the connection is closed at once and
      nothing it sent during the stall reaches the server); cut: the connection is then
      cut (with a stall and cut=False, forwarding resumes: a network that was slow)
  after_command=q
      with probability q, a cut that falls inside a client command (in its literal, say an
      APPEND's message) waits for the command's last line to be forwarded: the server has
      the whole command and carries it out, the client never sees the answer (an unknown
      outcome the client has to resolve)
  spread=False       True: the shares are kept exactly and evenly instead of each
                     connection drawing its own chance: the first connection gets a fault,
                     then p of the connections (p=0.5: every other one); the first fault is
                     an ordinary cut, then q of them wait for the end of the command. So a
                     test knows that its first connection is cut (only the points are
                     random)
  max_faults=n       at most n faults happen (None: no limit); a connection whose fault
                     point comes after the nth gets none
  spare=k            the first k connections get none
  doomed='Name'      every connection is cut as soon as a client command names that mailbox
                     (commands in doomed_commands, SELECT and EXAMINE by default; the name
                     as an atom or a quoted string): a folder that can never progress
  outage_after=(nbytes, seconds)
                     once nbytes have passed in `direction` (all connections together), the
                     proxy goes down for that many seconds, as down(seconds) does
  down(seconds=None), up()
                     an outage: existing connections are cut and new ones refused, by
                     closing the listening socket (refuse='listen': connection refused) or by
                     accepting and resetting each at once (refuse='accept'); up() (or the
                     end of the seconds) listens again on the same port
  reset=True         cut with a TCP reset (SO_LINGER 0); False: a plain close (FIN)

The rules are attributes and may be changed between runs (proxy.doomed = 'Doomed').

Before a cut, what was forwarded is flushed: the server gets every byte the proxy counted.

IMAP framing is tracked in both directions, lightly: lines, and literals announced at a line's
end (`{n}`, `{n+}`, `{n-}`, `~{n}`) followed by n bytes of literal data. So each cut records
whether it fell inside a literal (and where), and the last client command (its name, such as
'UID FETCH' or 'APPEND', and its mailbox: an APPEND's own, else that of the last SELECT or
EXAMINE). Synchronizing literals need nothing special: the server's `+` goes through like
any other line.

The proxy offers implicit TLS (mode 'ssl', the test CA's server certificate) or plaintext
(mode 'notls') to the client and talks plaintext to the server's STARTTLS port (Dovecot
allows cleartext logins on loopback); bytes are counted in plaintext. It offers the same
interface as a Dovecot for the harness: .host, .port(mode), .cafile, .password(user), and it
is a context manager (start and stop).
"""
import asyncio
import collections
import random
import re
import select
import socket
import ssl
import struct
import threading
import time

LOOPBACK = '127.0.0.1'
DIRECTIONS = ('up', 'down', 'both')
CHUNK = 64 * 1024
FLUSH_SECONDS = 2.0  # the longest wait to hand forwarded bytes on before a cut
LINE_HEAD = 300      # bytes of a line kept for its command name and mailbox
LINE_TAIL = 40       # bytes of a line's end kept for a literal marker

_LITERAL = re.compile(rb'(~?)\{(\d+)([+-]?)\}\r?\n$')
_ATOM_CHAR = re.compile(rb'^[A-Za-z]+$')

# kind: connect, cut, cut-planned, stall, resume, spared, close, down, up, refused, error
Event = collections.namedtuple(
    'Event', 'kind t conn direction count in_literal literal command mailbox text')
Event.__new__.__defaults__ = (None,) * 8


class ProxyError(Exception):
    pass


def mailbox_argument(text):
    """The mailbox name at the start of text (an atom or a quoted string), unquoted; None
    for a literal or nothing."""
    m = re.match(rb'"((?:[^"\\]|\\.)*)"|([^\s{(][^\s]*)', text)
    if m is None:
        return None
    if m.group(1) is not None:
        return re.sub(rb'\\(.)', rb'\1', m.group(1))
    return m.group(2)


class Framing:
    """Where one direction of an IMAP stream stands: inside a line or inside a literal.

    feed(data, start, limit) consumes bytes from data[start:] (at most limit) and stops at
    the end of a line or of a literal, so that the caller may decide before the next piece.
    After a call, .line_done says a line ended with the last byte consumed (.line holds its
    head, .ends_command whether no literal follows it), and .in_literal says whether a
    literal has begun and not ended."""

    def __init__(self):
        self.head = bytearray()   # the first LINE_HEAD bytes of the current line
        self.tail = bytearray()   # its last LINE_TAIL bytes
        self.literal_size = 0
        self.literal_left = 0
        self.line_done = False
        self.line = b''
        self.ends_command = False
        self.continued = False    # the next line continues a command after a literal
        self.was_continued = False  # the line that just ended continued one

    @property
    def in_literal(self):
        return self.literal_left > 0

    @property
    def literal(self):
        """(bytes of the current literal passed, its size), or None outside a literal."""
        if not self.in_literal:
            return None
        return (self.literal_size - self.literal_left, self.literal_size)

    def feed(self, data, start, limit):
        self.line_done = False
        if limit <= 0:
            return 0
        if self.literal_left:
            n = min(self.literal_left, limit, len(data) - start)
            self.literal_left -= n
            return n
        end = data.find(b'\n', start, start + limit)
        stop = (end + 1) if end >= 0 else min(len(data), start + limit)
        piece = data[start:stop]
        if len(self.head) < LINE_HEAD:
            self.head += piece[:LINE_HEAD - len(self.head)]
        self.tail = (self.tail + piece)[-LINE_TAIL:]
        if end >= 0:
            self._end_line()
        return stop - start

    def _end_line(self):
        self.line_done = True
        self.line = bytes(self.head)
        self.head, tail = bytearray(), bytes(self.tail)
        self.tail = bytearray()
        m = _LITERAL.search(tail)
        self.ends_command = m is None
        self.was_continued = self.continued
        self.continued = m is not None
        if m is not None:
            self.literal_size = self.literal_left = int(m.group(2))


class _Spread:
    """Chooses the share p of a sequence evenly: item k (from 1) is chosen when
    floor(k p + phase) > floor((k - 1) p + phase); phase 1 - p chooses the first item,
    phase 0 leaves it out (for p < 1)."""

    def __init__(self, p, first):
        self.p, self.phase = p, (1.0 - p if first else 0.0)

    def choose(self, k):
        return int(k * self.p + self.phase) > int((k - 1) * self.p + self.phase)


class Plan:
    """What happens to one connection: a fault after `at` bytes (None: no fault), and
    whether it is cut there or waits for the end of the client's command."""

    def __init__(self, at=None, after_command=False):
        self.at = at
        self.after_command = after_command

    def describe(self):
        if self.at is None:
            return 'no fault'
        return 'fault after %d bytes%s' % (
            self.at, ' (or after the command it falls in)' if self.after_command else '')


class _Session:
    def __init__(self, proxy, sid, creader, cwriter, plan):
        self.proxy = proxy
        self.id = sid
        self.creader, self.cwriter = creader, cwriter
        self.sreader = self.swriter = None
        self.plan = plan
        self.count = 0            # bytes in the counted direction(s)
        self.bytes = {'up': 0, 'down': 0}
        self.framing = {'up': Framing(), 'down': Framing()}
        self.command = None       # the name of the last client command begun
        self.mailbox = None       # the mailbox of the last SELECT or EXAMINE
        self.appending = None     # the mailbox of the last APPEND
        self.pending_cut = None   # a cut waiting for the end of the client's command
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.closed = False
        self.faulted = False

    def where(self):
        """The last client command and the mailbox it concerns: an APPEND's own, else
        the selected one."""
        box = self.appending if self.command == 'APPEND' else self.mailbox
        return dict(command=self.command,
                    mailbox=box.decode('utf-8', 'replace') if box else None)


class CutProxy:
    """The proxy (see the module documentation). upstream: a harness server (Dovecot);
    seed: for the random choices (printed by summary()); mode 'ssl' (needs pki) or
    'notls' towards the client."""

    host = LOOPBACK

    def __init__(self, upstream, seed, after=None, direction='down', probability=1.0,
                 stall=None, cut=True, after_command=0.0, spread=False, max_faults=None,
                 spare=0, doomed=None, doomed_commands=('SELECT', 'EXAMINE'),
                 outage_after=None, refuse='listen', reset=True, mode='ssl', pki=None,
                 upstream_mode='notls'):
        if direction not in DIRECTIONS:
            raise ValueError('direction must be one of %s' % ', '.join(DIRECTIONS))
        if mode not in ('ssl', 'notls'):
            raise ValueError("mode must be 'ssl' or 'notls'")
        if mode == 'ssl' and pki is None:
            raise ValueError("mode 'ssl' needs the test PKI")
        if refuse not in ('listen', 'accept'):
            raise ValueError("refuse must be 'listen' or 'accept'")
        if after is not None and not 0 < after[0] <= after[1]:
            raise ValueError('after must be a range (lo, hi) of bytes, 0 < lo <= hi')
        self.upstream = upstream
        self.upstream_port = upstream.port(upstream_mode)
        self.seed = seed
        self.rng = random.Random(seed)
        self.after, self.direction, self.probability = after, direction, probability
        self.stall, self.cut, self.after_command = stall, cut, after_command
        self.max_faults, self.spare = max_faults, spare
        self.spread = (_Spread(probability, True), _Spread(after_command, False)) \
            if spread else None
        self.doomed = doomed
        self.doomed_commands = tuple(c.upper() for c in doomed_commands)
        self.outage_after = outage_after
        self.refuse, self.reset = refuse, reset
        self.mode, self.pki = mode, pki
        self.listen_port = None
        self.errors = []
        self._events = []
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._server = None
        self._ssl = None
        self._sessions = {}
        self._next_id = 0
        self._faults = 0          # faults that happened
        self._planned = 0         # connections given a fault point
        self._total = {'up': 0, 'down': 0}
        self._down_until = None   # monotonic end of an outage (inf: until up())
        self._up_handle = None
        self._outage_done = False
        self.t0 = None

    @property
    def doomed(self):
        return self._doomed

    @doomed.setter
    def doomed(self, name):
        self._doomed = name.encode() if isinstance(name, str) else name

    # -- the harness's server interface ---------------------------------------------------

    def port(self, mode):
        if mode != self.mode:
            raise ProxyError('the proxy listens for %s, not %s' % (self.mode, mode))
        return self.listen_port

    @property
    def cafile(self):
        return self.pki.ca if self.pki is not None else self.upstream.cafile

    def password(self, user):
        return self.upstream.password(user)

    # -- start and stop -------------------------------------------------------------------

    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._listen())
            except Exception as e:  # reported to start()
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=run, name='cutproxy', daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise ProxyError('the proxy did not start: %r' % (failure or 'timeout'))
        return self

    async def _listen(self):
        if self.mode == 'ssl' and self._ssl is None:
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        self._server = await asyncio.start_server(self._handle, self.host,
                                                  self.listen_port or 0, ssl=self._ssl,
                                                  reuse_address=True)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    def stop(self):
        if self._loop is None or self._thread is None:
            return

        async def shutdown():
            if self._up_handle is not None:
                self._up_handle.cancel()
            if self._server is not None:
                self._server.close()
            for s in list(self._sessions.values()):
                self._abort(s)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        except Exception as e:
            self.errors.append('shutdown: %r' % (e,))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- outages --------------------------------------------------------------------------

    def down(self, seconds=None):
        """An outage from now on for `seconds` (None: until up()): existing connections
        are cut, new ones refused. Returns once the proxy is down."""
        asyncio.run_coroutine_threadsafe(self._go_down(seconds, 'down()'),
                                         self._loop).result(10)

    def up(self):
        """The end of an outage: the proxy listens (and forwards) again."""
        asyncio.run_coroutine_threadsafe(self._go_up(), self._loop).result(10)

    async def _go_down(self, seconds, why):
        if self._up_handle is not None:
            self._up_handle.cancel()
            self._up_handle = None
        self._down_until = float('inf') if seconds is None else time.monotonic() + seconds
        self._event('down', None, text='%s: %s, new connections %s' % (
            why, 'until up()' if seconds is None else 'for %g s' % seconds,
            'refused' if self.refuse == 'listen' else 'reset at once'))
        if self.refuse == 'listen' and self._server is not None:
            self._server.close()
            self._server = None
        for s in list(self._sessions.values()):
            await self._cut(s, None, 'outage')
        if seconds is not None:
            self._up_handle = asyncio.get_running_loop().call_later(
                seconds, lambda: asyncio.ensure_future(self._go_up()))

    async def _go_up(self):
        self._up_handle = None
        if self._down_until is None:
            return
        self._down_until = None
        if self._server is None:
            try:
                await self._listen()
            except OSError as e:
                self.errors.append('listening again on port %d: %r' % (self.listen_port, e))
        self._event('up', None, text='listening and forwarding again')

    @property
    def is_down(self):
        return self._down_until is not None

    # -- the transcript -------------------------------------------------------------------

    def _event(self, kind, s, direction=None, count=None, in_literal=None, literal=None,
               text=None):
        where = s.where() if s is not None else {}
        with self._lock:
            self._events.append(Event(kind, time.monotonic(), s.id if s else None,
                                      direction, count, in_literal, literal,
                                      where.get('command'), where.get('mailbox'), text))

    def events(self, kind=None):
        """Every event so far (or those of one kind: connect, cut, cut-planned, stall,
        resume, spared, close, down, up, refused, error)."""
        with self._lock:
            return [e for e in self._events if kind is None or e.kind == kind]

    def cuts(self):
        """The cuts (kind 'cut'), also those of an outage and of the doomed rule."""
        return self.events('cut')

    def cuts_in_literal(self):
        return [e for e in self.cuts() if e.in_literal]

    def connections(self):
        return len(self.events('connect'))

    def total(self, direction):
        """Bytes forwarded so far in direction 'up' or 'down' (all connections)."""
        with self._lock:
            return self._total[direction]

    def settings(self):
        parts = ['seed %r' % (self.seed,)]
        if self.after is not None:
            parts.append('fault after %d-%d bytes %s with probability %g' % (
                self.after[0], self.after[1], self.direction, self.probability))
            if self.stall is not None:
                parts.append('stall %g s%s' % (self.stall, ' then cut' if self.cut else ''))
            if self.after_command:
                parts.append('after the command with probability %g' % self.after_command)
            if self.spread:
                parts.append('spread evenly')
            if self.max_faults is not None:
                parts.append('at most %d faults' % self.max_faults)
            if self.spare:
                parts.append('the first %d connections spared' % self.spare)
        if self.doomed is not None:
            parts.append('cut on %s %s' % ('/'.join(self.doomed_commands),
                                            self.doomed.decode('utf-8', 'replace')))
        if self.outage_after is not None:
            parts.append('outage of %g s after %d bytes %s' % (
                self.outage_after[1], self.outage_after[0], self.direction))
        return ', '.join(parts)

    def summary(self, last=120):
        """The seed, the settings and the transcript as text, for failure messages."""
        events = self.events()
        lines = ['cut proxy in front of %s:%d (%s; %d connections, %d cuts, %d in a literal);'
                 ' transcript (%d events%s):' % (
                     self.upstream.host, self.upstream_port, self.settings(),
                     self.connections(), len(self.cuts()), len(self.cuts_in_literal()),
                     len(events), ', last %d' % last if len(events) > last else '')]
        for e in events[-last:]:
            what = e.kind
            if e.direction:
                what += ' %s' % e.direction
            if e.count is not None:
                what += ' at %d bytes' % e.count
            if e.in_literal:
                what += ' inside a literal (%d of %d bytes)' % e.literal
            elif e.in_literal is not None and e.kind == 'cut':
                what += ' between lines'
            if e.command:
                what += ', last command %s' % e.command
            if e.mailbox:
                what += ' in %s' % e.mailbox
            if e.text:
                what += ': %s' % e.text
            lines.append('  %7.3f s  %s  %s' % (
                e.t - self.t0, '#%d' % e.conn if e.conn is not None else '  ', what))
        if self.errors:
            lines.append('proxy errors: %s' % '; '.join(self.errors))
        return '\n'.join(lines)

    # -- one connection -------------------------------------------------------------------

    def _plan(self):
        """This connection's fault, drawn from the seeded generator (always three draws,
        so a connection's choices do not depend on the earlier ones' outcomes)."""
        roll, at, snap = self.rng.random(), None, self.rng.random()
        if self.after is not None:
            at = self.rng.randint(*self.after)
        n = self._next_id - self.spare
        if at is None or n <= 0 or self._maxed():
            return Plan()
        if self.spread is not None:
            chosen = self.spread[0].choose(n)
        else:
            chosen = roll < self.probability
        if not chosen:
            return Plan()
        self._planned += 1
        if self.spread is not None:
            return Plan(at, self.spread[1].choose(self._planned))
        return Plan(at, snap < self.after_command)

    def _maxed(self):
        return self.max_faults is not None and self._faults >= self.max_faults

    async def _handle(self, creader, cwriter):
        try:
            await self._serve(creader, cwriter)
        except asyncio.CancelledError:
            pass  # the proxy is stopping

    async def _serve(self, creader, cwriter):
        self._next_id += 1
        s = _Session(self, self._next_id, creader, cwriter, self._plan())
        if self.is_down:
            self._event('refused', s, text='the proxy is down')
            _abort_writer(cwriter, True)
            return
        self._sessions[s.id] = s
        self._event('connect', s, text=s.plan.describe())
        try:
            s.sreader, s.swriter = await asyncio.open_connection(self.upstream.host,
                                                                 self.upstream_port)
        except OSError as e:
            self.errors.append('upstream connect: %r' % (e,))
            self._event('error', s, text='upstream unreachable: %r' % (e,))
            self._abort(s)
            self._sessions.pop(s.id, None)
            return
        pumps = [asyncio.ensure_future(self._pump(s, 'up', s.creader, s.swriter)),
                 asyncio.ensure_future(self._pump(s, 'down', s.sreader, s.cwriter))]
        done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            e = t.exception()
            if e is not None and not isinstance(e, (ConnectionError, OSError, ssl.SSLError)):
                self.errors.append('connection #%d: %r' % (s.id, e))
        if not s.closed:
            self._event('close', s, text='closed by %s (%d bytes up, %d down)' % (
                'the client' if pumps[0] in done else 'the server', s.bytes['up'],
                s.bytes['down']))
            await self._close(s)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._sessions.pop(s.id, None)

    def _counts(self, direction):
        return self.direction in (direction, 'both')

    async def _pump(self, s, direction, reader, writer):
        """Forwards one direction piece by piece, stopping at every line's end and at the
        fault point to let the rules decide."""
        framing = s.framing[direction]
        while not s.closed:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError, ssl.SSLError):
                data = b''
            if not data:
                return
            pos = 0
            while pos < len(data) and not s.closed:
                limit = len(data) - pos
                if self._counts(direction):
                    if s.plan.at is not None and not s.faulted:
                        limit = min(limit, s.plan.at - s.count)
                    if self.outage_after is not None and not self._outage_done:
                        limit = min(limit, max(1, self.outage_after[0] -
                                               self._counted_total()))
                n = framing.feed(data, pos, max(1, limit))
                if direction == 'up' and framing.line_done and \
                        self._client_line(s, framing) == 'doomed':
                    await self._cut(s, direction, 'the client named %s' %
                                    self.doomed.decode('utf-8', 'replace'))
                    return
                await s.flowing.wait()
                if s.closed:
                    return
                writer.write(data[pos:pos + n])
                pos += n
                s.bytes[direction] += n
                with self._lock:
                    self._total[direction] += n
                if self._counts(direction):
                    s.count += n
                await writer.drain()
                if await self._after_piece(s, direction, framing):
                    return

    def _counted_total(self):
        with self._lock:
            return sum(v for k, v in self._total.items() if self._counts(k))

    def _client_line(self, s, framing):
        """Notes a client command's name and mailbox when its first line ends; 'doomed'
        when the doomed rule cuts the connection before the line goes on."""
        if framing.was_continued:
            return None
        parts = framing.line.rstrip(b'\r\n').split(b' ', 3)
        if len(parts) < 2 or not _ATOM_CHAR.match(parts[1]):
            return None  # an AUTHENTICATE response line, or an empty one
        name = parts[1].upper()
        rest = parts[2:]
        if name == b'UID' and rest:
            sub = rest[0].split(b' ', 1)[0].upper()
            name += b' ' + sub
            rest = [b' '.join(rest)[len(sub) + 1:]]
        s.command = name.decode('ascii', 'replace')
        mailbox = mailbox_argument(b' '.join(rest)) if rest else None
        if s.command in ('SELECT', 'EXAMINE'):
            s.mailbox = mailbox
        elif s.command == 'APPEND':
            s.appending = mailbox
        if self.doomed is not None and s.command in self.doomed_commands and \
                mailbox == self.doomed:
            return 'doomed'
        return None

    async def _after_piece(self, s, direction, framing):
        """The fault, once its point is reached; True when the connection is gone."""
        if s.pending_cut is not None and direction == 'up' and framing.line_done and \
                framing.ends_command:
            await self._cut(s, s.pending_cut, 'after the end of the command the planned '
                            'cut fell in')
            return True
        if self.outage_after is not None and not self._outage_done and \
                self._counts(direction) and self._counted_total() >= self.outage_after[0]:
            self._outage_done = True
            await self._go_down(self.outage_after[1], 'after %d bytes' %
                                self.outage_after[0])
            return True
        if s.plan.at is None or s.faulted or not self._counts(direction) or \
                s.count < s.plan.at:
            return False
        s.faulted = True
        if self._maxed():
            self._event('spared', s, direction, s.count, text='%d faults happened already' %
                        self._faults)
            return False
        self._faults += 1
        if self.stall is not None:
            await self._stall(s, direction, framing)
            if s.closed:
                return True
            if not self.cut:
                return False
        if s.plan.after_command and s.framing['up'].in_literal:
            s.pending_cut = direction
            self._event('cut-planned', s, direction, s.count, True, s.framing['up'].literal,
                        text='waiting for the end of the command')
            return False
        await self._cut(s, direction, None)
        return True

    async def _stall(self, s, direction, framing):
        """Stops forwarding for self.stall seconds, or until the client hangs up (then
        the connection is closed, and nothing it sent meanwhile goes on)."""
        s.flowing.clear()
        self._event('stall', s, direction, s.count, framing.in_literal, framing.literal,
                    text='forwarding stops for %g s' % self.stall)
        t0 = time.monotonic()
        while time.monotonic() < t0 + self.stall and not s.closed:
            if _peer_gone(s.cwriter):
                self._event('close', s, text='closed by the client %.1f s into the stall' %
                            (time.monotonic() - t0))
                self._abort(s)
                break
            await asyncio.sleep(0.05)
        s.flowing.set()
        if not s.closed:
            self._event('resume', s, direction, s.count, text='forwarding again after %.1f s'
                        % (time.monotonic() - t0))

    async def _cut(self, s, direction, why):
        """Cuts s: what was forwarded is flushed, then both sockets are reset (or
        closed); the event says where in the stream it happened."""
        if s.closed:
            return
        framing = s.framing[direction] if direction is not None else None
        if framing is None:
            # An outage or a rule: where the client's stream and the server's stood.
            framing = s.framing['up'] if s.framing['up'].in_literal else s.framing['down']
        count = s.count if direction is None or self._counts(direction) else \
            s.bytes[direction]
        self._event('cut', s, direction or 'outage', count, framing.in_literal,
                    framing.literal, text=why)
        s.closed = True
        for w in (s.swriter, s.cwriter):
            if w is None:
                continue
            try:
                await asyncio.wait_for(w.drain(), FLUSH_SECONDS)
            except (asyncio.TimeoutError, ConnectionError, OSError, ssl.SSLError,
                    RuntimeError):
                pass
        self._abort(s)
        s.flowing.set()

    def _abort(self, s):
        s.closed = True
        for w in (s.cwriter, s.swriter):
            if w is not None:
                _abort_writer(w, self.reset)

    async def _close(self, s):
        s.closed = True
        for w in (s.cwriter, s.swriter):
            if w is None:
                continue
            try:
                w.close()
            except (OSError, RuntimeError):
                pass


def _peer_gone(writer):
    """Whether the peer of writer's connection has closed or reset it, also while the
    proxy is not reading from it (Linux: POLLRDHUP)."""
    sock = writer.get_extra_info('socket')
    if sock is None:
        return writer.is_closing()
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    return bool(poll.poll(0))


def _abort_writer(writer, reset):
    """Closes writer's connection at once, with a TCP reset if reset."""
    if reset:
        sock = writer.get_extra_info('socket')
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            except OSError:
                pass
    try:
        writer.transport.abort()
    except (OSError, RuntimeError):
        pass


# -- for the tests that run mailhaul through a proxy ---------------------------------------------

def run(job, *proxies, args=(), timeout=None):
    """job.run(*args) (a synctest.Job) with the proxies' transcripts added to a timeout
    failure."""
    from mhtest import tap
    try:
        return job.run(*args, timeout=timeout)
    except tap.Failure as e:
        raise tap.Failure('%s\n%s' % (e, '\n'.join(p.summary() for p in proxies)))
