# SPDX-License-Identifier: MIT
"""A FAULT INJECTOR in front of a REAL IMAP server, for the providers' throttling texts.

Gmail and Microsoft 365 throttle: they refuse commands with texts such as
`NO Request is throttled. Suggested Backoff Time: 1200 milliseconds` followed by
`* BYE Connection closed. 14` (Exchange Online), `NO [ALERT] Too many simultaneous
connections. (Failure)` even as the answer to a login, or `NO [OVERQUOTA] Account exceeded
command or bandwidth limits. (Failure)` (Gmail), and Exchange drops a session after about ten
NO/BAD answers. A real Dovecot will not say any of that on demand, so this proxy sits between
mailhaul and a real Dovecot (mhtest.dovecot.Dovecot) and forwards everything unchanged, except
at the points its rules choose: there it answers in the server's place with the providers'
real texts (see docs/providers.md, "Limits and throttling") and, where the provider does so,
closes the session. Everything else (mailboxes, messages, flags, UIDs) is the real server's.

    proxy = ThrottleProxy(dovecot, rules=[throttle_nth('APPEND', 5)], mode='ssl', pki=pki)
    with proxy:
        job = synctest.Job(src, 'alice', proxy, 'alice')   # the proxy looks like a server
        ...
    proxy.injections()        # what it injected: [Event] with .t .conn .rule .command .text
    proxy.connect_times()     # monotonic times of every accepted connection
    proxy.summary()           # a readable transcript for failure messages
    proxy.limits()            # when a pacing rule began and ended: [Event] of kind 'limit'
    proxy.commands('APPEND')  # every client command seen: [Event] with .text .literals

The proxy offers implicit TLS (mode 'ssl', the test CA's server certificate) or plaintext
(mode 'notls') to the client and talks plaintext to the server's STARTTLS port (Dovecot
allows cleartext logins on loopback). It offers the same interface as a Dovecot for the
harness: .host, .port(mode), .cafile, .password(user).

IMAP framing: client commands are read whole (every line and literal: `{n}`, `{n+}`, `{n-}`,
and `~{n}`) before a rule decides. For a synchronizing literal the proxy answers the client's
`+` itself and forwards the command with non-synchronizing literals (the server must offer
LITERAL+, as Dovecot does). AUTHENTICATE exchanges are relayed line by line. Server responses
are read with their literals, so literal data is never mistaken for a response line.

Rules (each decides for one complete client command; the first that fires wins):
  throttle_nth(command, n, status='NO', ms=1200, per_connection=False, forever=False,
               match=None, early=False)
      the nth matching command (or every one from the nth on) gets Exchange's throttling text,
      then `* BYE Connection closed. 14` and the connection is closed; early: as soon as the
      command's first line arrives, before its literal, so the client is still sending when
      the connection closes (a server that answers and hangs up without reading on)
  too_many_connections(first=3)       the first K logins (AUTHENTICATE or LOGIN; None: all)
                                      get Gmail's `[ALERT] Too many simultaneous connections`
  overquota_after(nbytes, seconds)    APPENDs after nbytes of APPENDed data get Gmail's
                                      `[OVERQUOTA]` text for the next `seconds` seconds
  session_expired_after(n, times=1, commands=None)
                                      the nth command of a connection gets Gmail's
                                      `* BYE Session expired, please login again`, and the
                                      connection is closed (for the first `times` connections)
  refuse(predicate, text=...)         APPENDs whose message bytes satisfy predicate get
                                      `NO Maximum size of appendable message has been exceeded`
  not_connected(commands=None)         every command after a successful login (but LOGOUT;
                                      only the names in commands, if given) gets Microsoft
                                      365's `BAD User is authenticated but not connected.`
  login_failed(first=None)            logins get Exchange's `NO AUTHENTICATE failed.` (to
                                      AUTHENTICATE) or `NO LOGIN failed.` (to LOGIN)
  slow_down(rate, seconds=None, after=0, literals_only=False)
                                      the server's data to the client (all connections
                                      together) flows at `rate` bytes/s for `seconds` seconds
                                      (None: for ever) once `after` bytes have passed:
                                      Gmail's collapsing rate when a bandwidth budget is spent
  stale_status()                      a STATUS for the mailbox the connection has selected is
                                      answered by the server, with MESSAGES and SIZE rewritten
                                      to 0: Courier's stale counters (RFC 3501 6.3.10 allows
                                      them; Courier says MESSAGES 0 until a NOOP)
  hold_answer(command, n, seconds)     the server's answer to the nth such command (and what
                                      follows it) reaches the client `seconds` later
  before(command, action, n=1, match=None)
                                      runs action(cmd) (another client's change on the real
                                      server, say) just before the nth such command goes on
and the proxy option error_limit=10 closes a session after its tenth NO/BAD answer (the
server's or an injected one) with `* BYE Connection closed. 14`, as Exchange does.
"""
import asyncio
import collections
import re
import ssl
import threading
import time

LOOPBACK = '127.0.0.1'

# The providers' texts, verbatim (docs/providers.md).
THROTTLED = 'Request is throttled. Suggested Backoff Time: {ms} milliseconds'
EXCHANGE_BYE = '* BYE Connection closed. 14'
TOO_MANY = '[ALERT] Too many simultaneous connections. (Failure)'
OVERQUOTA = '[OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)'
SESSION_EXPIRED = '* BYE Session expired, please login again'
MAX_SIZE = 'Maximum size of appendable message has been exceeded'
EXCHANGE_GREETING = 'The Microsoft Exchange IMAP4 service is ready.'
NOT_CONNECTED = 'User is authenticated but not connected.'
AUTHENTICATE_FAILED = 'AUTHENTICATE failed.'
LOGIN_FAILED = 'LOGIN failed.'

MAX_LINE = 1024 * 1024
_LITERAL = re.compile(rb'(~?)\{(\d+)([+-]?)\}$')
_TAGGED = re.compile(rb'^([^\s*+]+) (OK|NO|BAD)\b', re.I)

Event = collections.namedtuple('Event', 'kind t conn rule command text literals')
Event.__new__.__defaults__ = (None, None, None, None, None)


class ProxyError(Exception):
    pass


class Command:
    """One complete client command: tag, name ('UID FETCH' for UID commands), the first line,
    the lines (CRLF stripped) and the literals, and the message bytes of an APPEND."""

    def __init__(self, session, lines, literals, sync):
        self.session = session
        self.lines = lines
        self.literals = literals
        self.sync = sync  # per literal: whether the client sent it synchronizing
        self.early = None  # (rule, injection) when a rule answered before the literals
        first = lines[0]
        parts = first.split(b' ', 3)
        self.tag = parts[0]
        name = parts[1].upper().decode('ascii', 'replace') if len(parts) > 1 else ''
        if name == 'UID' and len(parts) > 2:
            name += ' ' + parts[2].upper().decode('ascii', 'replace')
        self.name = name
        self.first_line = first

    @property
    def message_bytes(self):
        """The APPENDed message(s), concatenated (empty for other commands)."""
        return b''.join(self.literals) if self.name == 'APPEND' else b''

    @property
    def has_initial_response(self):
        return len(self.first_line.split()) > 3

    def wire(self):
        """The command as forwarded: every literal non-synchronizing (LITERAL+)."""
        out = []
        for i, line in enumerate(self.lines):
            if i < len(self.literals):
                m = _LITERAL.search(line)
                line = line[:m.start()] + m.group(1) + b'{%d+}' % len(self.literals[i])
                out.append(line + b'\r\n' + self.literals[i])
            else:
                out.append(line + b'\r\n')
        return b''.join(out)

    def describe(self):
        """The command for the transcript: never the arguments of a login."""
        if self.name in ('LOGIN', 'AUTHENTICATE'):
            words = self.first_line.split(b' ')
            shown = b' '.join(words[:3]) if self.name == 'AUTHENTICATE' else b' '.join(
                words[:2])
            return shown.decode('ascii', 'replace') + ' <redacted>'
        text = self.first_line[:120].decode('utf-8', 'replace')
        if self.literals:
            text += ' [%d literal bytes]' % sum(len(x) for x in self.literals)
        return text


class Injection:
    """What a rule answers instead of the server: tagged status and text, and whether a BYE
    follows and the connection closes. untagged_only: only the BYE, no tagged answer."""

    def __init__(self, status, text, bye=None, untagged_only=False):
        self.status, self.text, self.bye, self.untagged_only = status, text, bye, untagged_only


class Rule:
    """Base class: name for the transcript; decide(cmd, proxy) returns an Injection or None;
    forwarded(cmd, proxy) is called for every command passed on to the server."""

    name = 'rule'
    early = False  # decide on a command's first line, before its literals are read

    def decide(self, cmd, proxy):
        return None

    def forwarded(self, cmd, proxy):
        pass

    paces = False  # True for rules that implement delay()

    def rewrite(self, session, data, proxy):
        """A server response line (without literals) as the client is to see it."""
        return data

    def delay(self, session, nbytes, proxy, literal=False):
        """Seconds to wait before nbytes of server data go to the client (pacing rules);
        literal: they belong to a response that carries a literal (FETCH BODY[] data)."""
        return 0.0

    def hold(self, session, line, proxy):
        """Seconds to hold back a server response line (and all that follows it on that
        connection) before it goes to the client."""
        return 0.0


class _Counting(Rule):
    def __init__(self, commands, per_connection):
        self.commands = tuple(c.upper() for c in commands)
        self.per_connection = per_connection
        self.counts = collections.Counter()

    def count(self, cmd):
        if cmd.name not in self.commands:
            return 0
        key = cmd.session.id if self.per_connection else None
        self.counts[key] += 1
        return self.counts[key]


class ThrottleNth(_Counting):
    def __init__(self, command, n, status='NO', ms=1200, per_connection=False, forever=False,
                 bye=True, match=None):
        super().__init__((command,) if isinstance(command, str) else command, per_connection)
        self.n, self.status, self.ms, self.forever, self.bye = n, status, ms, forever, bye
        self.match = re.compile(match, re.I) if match is not None else None
        self.name = 'throttled'

    def decide(self, cmd, proxy):
        if self.match is not None and not self.match.search(cmd.first_line):
            return None
        k = self.count(cmd)
        if k == self.n or (self.forever and k >= self.n):
            return Injection(self.status, THROTTLED.format(ms=self.ms),
                             EXCHANGE_BYE if self.bye else None)
        return None


def throttle_nth(command, n, status='NO', ms=1200, per_connection=False, forever=False,
                 bye=True, match=None, early=False):
    """The nth command named command ('APPEND', 'UID FETCH', or a tuple of names), counted
    across connections (or per connection), gets `<tag> STATUS Request is throttled.
    Suggested Backoff Time: MS milliseconds`, then `* BYE Connection closed. 14`, and the
    connection is closed. forever: every matching command from the nth on. match: a regex
    (bytes) the command's first line must contain to count, e.g. rb'BODY\.PEEK\[\]'.
    early: decide on the command's first line, before its literal is read; the connection
    closes while the client is still sending the literal (only for commands with one)."""
    rule = ThrottleNth(command, n, status, ms, per_connection, forever, bye, match)
    rule.early = early
    return rule


class _FirstLogins(_Counting):
    """Refuses the first `first` logins (AUTHENTICATE or LOGIN, across connections; None:
    every one) with `<tag> NO text(cmd)`; the connection stays open."""

    def __init__(self, name, first, text):
        super().__init__(('AUTHENTICATE', 'LOGIN'), False)
        self.name, self.first, self.text = name, first, text

    def decide(self, cmd, proxy):
        k = self.count(cmd)
        if k and (self.first is None or k <= self.first):
            return Injection('NO', self.text(cmd))
        return None


def too_many_connections(first=3):
    """The first `first` logins (AUTHENTICATE or LOGIN, across connections; None: every one)
    get `<tag> NO [ALERT] Too many simultaneous connections. (Failure)`; the connection stays
    open, as Gmail leaves it."""
    return _FirstLogins('too-many-connections', first, lambda cmd: TOO_MANY)


class OverQuota(Rule):
    name = 'overquota'

    def __init__(self, nbytes, seconds, bye=None):
        self.nbytes, self.seconds, self.bye = nbytes, seconds, bye
        self.sent = 0
        self.window = None  # (start, end) in monotonic seconds once reached

    def decide(self, cmd, proxy):
        if cmd.name != 'APPEND':
            return None
        now = time.monotonic()
        if self.window is None and self.sent >= self.nbytes:
            self.window = (now, now + self.seconds)
        if self.window is not None and self.window[0] <= now < self.window[1]:
            return Injection('NO', OVERQUOTA, self.bye)
        return None

    def forwarded(self, cmd, proxy):
        if cmd.name == 'APPEND':
            self.sent += len(cmd.message_bytes)


def overquota_after(nbytes, seconds, bye=None):
    """Once nbytes of message data have been APPENDed (across connections), every APPEND in
    the next `seconds` seconds gets `<tag> NO [OVERQUOTA] Account exceeded command or
    bandwidth limits. (Failure)` (optionally followed by bye and a close); then APPENDs pass
    again (once: the budget does not run out a second time)."""
    return OverQuota(nbytes, seconds, bye)


class SessionExpired(Rule):
    name = 'session-expired'

    def __init__(self, n, times, commands):
        self.n, self.times = n, times
        self.commands = tuple(c.upper() for c in commands) if commands else None
        self.counts = collections.Counter()
        self.fired = 0

    def decide(self, cmd, proxy):
        if not cmd.name or (self.commands is not None and cmd.name not in self.commands):
            return None
        self.counts[cmd.session.id] += 1
        if self.counts[cmd.session.id] == self.n and (self.times is None or
                                                      self.fired < self.times):
            self.fired += 1
            return Injection(None, None, SESSION_EXPIRED, untagged_only=True)
        return None


def session_expired_after(n, times=1, commands=None):
    """The nth command of a connection (counting only the names in commands, if given) is
    not answered: `* BYE Session expired, please login again` and the connection is closed
    (for the first `times` connections; None: all)."""
    return SessionExpired(n, times, commands)


class Refuse(Rule):
    name = 'refused'

    def __init__(self, predicate, status, text, bye):
        self.predicate, self.status, self.text, self.bye = predicate, status, text, bye

    def decide(self, cmd, proxy):
        if cmd.name == 'APPEND' and self.predicate(cmd.message_bytes):
            return Injection(self.status, self.text, self.bye)
        return None


def refuse(predicate, status='NO', text=MAX_SIZE, bye=None):
    """APPENDs whose message bytes satisfy predicate(bytes) get `<tag> NO Maximum size of
    appendable message has been exceeded` (Exchange's per-message refusal), every time."""
    return Refuse(predicate, status, text, bye)


class NotConnected(Rule):
    name = 'not-connected'

    def __init__(self, commands):
        self.commands = tuple(c.upper() for c in commands) if commands else None

    def decide(self, cmd, proxy):
        if not cmd.session.authenticated or cmd.name in ('', 'LOGOUT'):
            return None
        if self.commands is not None and cmd.name not in self.commands:
            return None
        return Injection('BAD', NOT_CONNECTED)


def not_connected(commands=None):
    """After the real server accepted a login, every further command of that connection (but
    LOGOUT; only the names in commands, if given) gets `<tag> BAD User is authenticated but
    not connected.`: Microsoft 365's answer when an app-only token is valid but the
    mailbox is not reachable for it (no service principal, no FullAccess, IMAP off)."""
    return NotConnected(commands)


def login_failed(first=None):
    """The first `first` logins (None: every one) get Exchange's refusal: `<tag> NO
    AUTHENTICATE failed.` for AUTHENTICATE, `<tag> NO LOGIN failed.` for the LOGIN command;
    the connection stays open."""
    return _FirstLogins('login-failed', first, lambda cmd: AUTHENTICATE_FAILED
                        if cmd.name == 'AUTHENTICATE' else LOGIN_FAILED)


class SlowDown(Rule):
    name = 'slow-down'
    paces = True

    def __init__(self, rate, seconds, after, literals_only):
        if rate <= 0:
            raise ValueError('rate must be positive')
        self.rate, self.seconds, self.after = float(rate), seconds, after
        self.literals_only = literals_only
        self.passed = 0        # bytes let through at full speed before the limit began
        self.limited = 0       # bytes sent under the limit
        self.start = None      # monotonic time the limit began
        self.next_free = None  # when the limit lets the next byte go
        self.ended = False

    def window(self):
        """(start, end) of the limit in monotonic seconds: start None if it never began,
        end None while it lasts (for ever, or not over yet)."""
        if self.start is None:
            return (None, None)
        end = self.start + self.seconds if self.seconds is not None else None
        return (self.start, end if end is not None and time.monotonic() >= end else None)

    def delay(self, session, nbytes, proxy, literal=False):
        if self.literals_only and not literal:
            return 0.0
        now = time.monotonic()
        if self.start is None:
            if self.passed < self.after:
                self.passed += nbytes
                return 0.0
            self.start = self.next_free = now
            proxy._event('limit', session.id, rule=self.name,
                         text='server data limited to %d bytes/s%s' % (
                             self.rate, '' if self.seconds is None else
                             ' for %g s' % self.seconds))
        if self.seconds is not None and now >= self.start + self.seconds:
            if not self.ended:
                self.ended = True
                proxy._event('limit', session.id, rule=self.name,
                             text='server data at full speed again (%d bytes limited)' %
                             self.limited)
            return 0.0
        begin = max(self.next_free, now)
        self.next_free = begin + nbytes / self.rate
        self.limited += nbytes
        return self.next_free - now


def slow_down(rate, seconds=None, after=0, literals_only=False):
    """Once `after` bytes of server data have gone to the client, everything the server sends
    (greetings, responses, FETCH literals; all connections together, as an account's budget)
    flows at `rate` bytes a second for `seconds` seconds (None: for ever), in pieces of at
    most PACE_PIECE bytes, and then at full speed again: Gmail's way of letting a spent
    bandwidth budget show as a collapsing rate. literals_only: only responses that carry a
    literal (message data) are slowed and counted; the limit begins with the first of them.
    slow.window() says when it was in force."""
    return SlowDown(rate, seconds, after, literals_only)


PACE_PIECE = 512


def _mailbox(text):
    """The mailbox name at the start of text (an atom or a quoted string), unquoted."""
    m = re.match(rb'"((?:[^"\\]|\\.)*)"|(\S+)', text)
    if m is None:
        return None
    if m.group(1) is not None:
        return re.sub(rb'\\(.)', rb'\1', m.group(1))
    return m.group(2)


class StaleStatus(Rule):
    name = 'stale-status'

    def __init__(self):
        self.selected = {}  # session id -> the selected mailbox (bytes, unquoted)

    def forwarded(self, cmd, proxy):
        if cmd.name in ('SELECT', 'EXAMINE'):
            parts = cmd.first_line.split(b' ', 2)
            self.selected[cmd.session.id] = _mailbox(parts[2]) if len(parts) > 2 else None
        elif cmd.name in ('CLOSE', 'UNSELECT'):
            self.selected.pop(cmd.session.id, None)

    def rewrite(self, session, data, proxy):
        m = re.match(rb'^\* STATUS (.*) \(([^()]*)\)\r\n$', data, re.I)
        if m is None or self.selected.get(session.id) is None or \
                _mailbox(m.group(1)) != self.selected[session.id]:
            return data
        items = re.sub(rb'\b(MESSAGES|SIZE) \d+', rb'\1 0', m.group(2), flags=re.I)
        out = b'* STATUS ' + m.group(1) + b' (' + items + b')\r\n'
        proxy._event('inject', session.id, rule=self.name, command='STATUS',
                     text=out.rstrip(b'\r\n').decode('utf-8', 'replace'))
        return out


def stale_status():
    """STATUS on the mailbox a connection has selected is answered by the server with
    MESSAGES and SIZE rewritten to 0, as Courier answers it after APPENDs to that mailbox
    until a NOOP (RFC 3501 6.3.10 says not to rely on STATUS there)."""
    return StaleStatus()


class HoldAnswer(_Counting):
    name = 'hold'

    def __init__(self, command, n, seconds):
        super().__init__((command,) if isinstance(command, str) else command, False)
        self.n, self.seconds = n, seconds
        self.held = set()  # (session id, tag) of the command whose answer waits

    def forwarded(self, cmd, proxy):
        if self.count(cmd) == self.n:
            self.held.add((cmd.session.id, cmd.tag))

    def hold(self, session, line, proxy):
        m = _TAGGED.match(line)
        if m is None or (session.id, m.group(1)) not in self.held:
            return 0.0
        self.held.discard((session.id, m.group(1)))
        return self.seconds


def hold_answer(command, n, seconds):
    """The server's tagged answer to the nth command named command (counted across
    connections, as forwarded) reaches the client `seconds` later, and everything the
    server sends on that connection after it waits behind it: the server has done the
    command (stored a MULTIAPPEND batch, say) but the client does not know yet."""
    return HoldAnswer(command, n, seconds)


class Before(_Counting):
    name = 'before'

    def __init__(self, command, action, n, match):
        super().__init__((command,) if isinstance(command, str) else command, False)
        self.action, self.n = action, n
        self.match = re.compile(match, re.I) if match is not None else None

    def decide(self, cmd, proxy):
        if self.match is not None and not self.match.search(cmd.first_line):
            return None
        if self.count(cmd) != self.n:
            return None
        try:
            what = self.action(cmd)
        except Exception as e:  # reported with the transcript; the command still goes on
            proxy.errors.append('before %s: %r' % (cmd.name, e))
            what = 'failed: %r' % (e,)
        proxy._event('before', cmd.session.id, rule=self.name, command=cmd.name,
                     text=str(what) if what is not None else None)
        return None


def before(command, action, n=1, match=None):
    """Runs action(cmd) just before the nth command named command (counted across
    connections; match: a regex its first line must contain to count) goes to the server,
    which then answers it as usual: a change another client makes on the real server at
    an exact point of mailhaul's conversation, such as an EXPUNGE before a ranged UID
    FETCH. action blocks the proxy while it runs (the command waits for it); what it
    returns is the text of the transcript's 'before' event."""
    return Before(command, action, n, match)


# -- the proxy ------------------------------------------------------------------------------

class _Closed(Exception):
    pass


class _Session:
    def __init__(self, proxy, sid, creader, cwriter):
        self.proxy = proxy
        self.id = sid
        self.creader, self.cwriter = creader, cwriter
        self.sreader = self.swriter = None
        self.errors = 0
        self.sasl_tag = None  # AUTHENTICATE in progress: client lines are SASL responses
        self.closed = False
        self.login_tag = None  # the tag of a login forwarded to the server, until answered
        self.authenticated = False  # the server accepted a login on this connection

    def to_client(self, data):
        if not self.closed:
            self.cwriter.write(data)

    def count_error(self):
        """One more NO/BAD in this session; True when the error limit closes it."""
        self.errors += 1
        limit = self.proxy.error_limit
        return limit is not None and self.errors >= limit

    async def close(self, why):
        if self.closed:
            return
        self.proxy._event('close', self.id, text=why)
        try:
            await self.cwriter.drain()
        except Exception:  # the client may be gone already
            pass
        self.closed = True
        for w in (self.cwriter, self.swriter):
            if w is None:
                continue
            try:
                w.close()
            except (OSError, RuntimeError):
                pass

    async def bye(self, text, why):
        self.to_client(text.encode() + b'\r\n')
        self.proxy._event('bye', self.id, rule=why, text=text)
        await self.close(why)


async def _readline(reader):
    try:
        line = await reader.readuntil(b'\n')
    except asyncio.IncompleteReadError:
        raise _Closed()
    except asyncio.LimitOverrunError:
        raise ProxyError('line longer than %d bytes' % MAX_LINE)
    except (OSError, ConnectionError, ssl.SSLError):
        raise _Closed()
    return line


async def _readexactly(reader, n):
    try:
        return await reader.readexactly(n)
    except (asyncio.IncompleteReadError, OSError, ConnectionError, ssl.SSLError):
        raise _Closed()


class ThrottleProxy:
    """The proxy (see the module documentation). rules: a list of Rule; mode 'ssl' (needs pki)
    or 'notls'; greeting: a text to put in place of the server's greeting text (the response
    code, such as [CAPABILITY ...], is kept), e.g. EXCHANGE_GREETING; error_limit: close a
    session after that many NO/BAD answers (Exchange: 10); drop_capabilities: capability
    names removed from every capability list the server sends (greeting, CAPABILITY, OK
    [CAPABILITY ...]), e.g. AUTH=CRAM-MD5, which neither Gmail nor Exchange offers."""

    host = LOOPBACK

    def __init__(self, upstream, rules=(), mode='ssl', pki=None, greeting=None,
                 error_limit=None, drop_capabilities=(), upstream_mode='notls'):
        if mode not in ('ssl', 'notls'):
            raise ValueError("mode must be 'ssl' or 'notls'")
        if mode == 'ssl' and pki is None:
            raise ValueError("mode 'ssl' needs the test PKI")
        self.upstream = upstream
        self.upstream_port = upstream.port(upstream_mode)
        self.rules = list(rules)
        self.mode = mode
        self.pki = pki
        self.greeting = greeting
        self.error_limit = error_limit
        self.drop_capabilities = [c.upper().encode() for c in drop_capabilities]
        self.listen_port = None
        self.events = []
        self.errors = []
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._server = None
        self._sessions = {}
        self._next_id = 0
        self.t0 = None

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
        self._thread = threading.Thread(target=run, name='throttleproxy', daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise ProxyError('the proxy did not start: %r' % (failure or 'timeout'))
        return self

    async def _listen(self):
        ctx = None
        if self.mode == 'ssl':
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=ctx,
                                                  limit=MAX_LINE)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    def stop(self):
        if self._loop is None or self._thread is None:
            return

        async def shutdown():
            self._server.close()
            for s in list(self._sessions.values()):
                await s.close('proxy stopped')
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

    # -- the transcript -------------------------------------------------------------------

    def _event(self, kind, sid, rule=None, command=None, text=None, literals=None):
        with self._lock:
            self.events.append(Event(kind, time.monotonic(), sid, rule, command, text,
                                     literals))

    def select(self, kind=None, rule=None, command=None):
        with self._lock:
            return [e for e in self.events if (kind is None or e.kind == kind) and
                    (rule is None or e.rule == rule) and
                    (command is None or e.command == command)]

    def injections(self, rule=None):
        """Every answer the proxy gave in the server's place (and each BYE of its own)."""
        return self.select('inject', rule=rule)

    def limits(self):
        """The pacing rules' events: when a limit began and when it ended."""
        return self.select('limit')

    def connect_times(self):
        return [e.t for e in self.select('connect')]

    def commands(self, name=None):
        """Events of the client commands the proxy saw (forwarded or answered itself); .text
        is the first line (LOGIN and AUTHENTICATE arguments redacted), .literals the number
        of literals the command carried (one per message of an APPEND, several for a
        MULTIAPPEND; 0 when a rule answered before they were read)."""
        return [e for e in self.select('command') if name is None or e.command == name]

    def summary(self, last=80):
        """The transcript as text: time since start, connection, what happened."""
        with self._lock:
            events = list(self.events)
        lines = ['proxy transcript (%d events%s):' % (
            len(events), ', last %d' % last if len(events) > last else '')]
        for e in events[-last:]:
            what = e.kind
            if e.rule:
                what += ' [%s]' % e.rule
            if e.command:
                what += ' %s' % e.command
            if e.text:
                what += ': %s' % e.text
            lines.append('  %7.3f s  #%d  %s' % (e.t - self.t0, e.conn, what))
        if self.errors:
            lines.append('proxy errors: %s' % '; '.join(self.errors))
        return '\n'.join(lines)

    # -- one connection -------------------------------------------------------------------

    async def _handle(self, creader, cwriter):
        try:
            await self._serve(creader, cwriter)
        except asyncio.CancelledError:
            pass  # the proxy is stopping

    async def _serve(self, creader, cwriter):
        self._next_id += 1
        s = _Session(self, self._next_id, creader, cwriter)
        self._sessions[s.id] = s
        self._event('connect', s.id)
        try:
            s.sreader, s.swriter = await asyncio.open_connection(
                self.upstream.host, self.upstream_port, limit=MAX_LINE)
        except OSError as e:
            self.errors.append('upstream connect: %r' % (e,))
            await s.close('upstream unreachable')
            return
        up = asyncio.ensure_future(self._server_to_client(s))
        down = asyncio.ensure_future(self._client_to_server(s))
        done, pending = await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            e = t.exception()
            if e is not None and not isinstance(e, (_Closed, asyncio.CancelledError)):
                self.errors.append('connection #%d: %r' % (s.id, e))
        await s.close('closed by %s' % ('the server' if up in done else 'the client'))
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._sessions.pop(s.id, None)

    async def _server_to_client(self, s):
        first = True
        while not s.closed:
            line = await _readline(s.sreader)
            chunk = [line]
            tail = line.rstrip(b'\r\n')
            m = _LITERAL.search(tail)
            while m:
                chunk.append(await _readexactly(s.sreader, int(m.group(2))))
                nxt = await _readline(s.sreader)
                chunk.append(nxt)
                tail = nxt.rstrip(b'\r\n')
                m = _LITERAL.search(tail)
            if first:
                first = False
                chunk = [self._greeting(line)]
            if self.drop_capabilities and len(chunk) == 1:
                chunk = [self._capabilities(chunk[0])]
            if len(chunk) == 1:
                for r in self.rules:
                    chunk = [r.rewrite(s, chunk[0], self)]
            t = _TAGGED.match(line)
            held = max([r.hold(s, line, self) for r in self.rules] + [0.0])
            if held > 0:
                self._event('hold', s.id, text='%s (held back %g s)' % (
                    line.rstrip(b'\r\n')[:100].decode('utf-8', 'replace'), held))
                await asyncio.sleep(held)
            if t is not None and s.login_tag is not None and t.group(1) == s.login_tag:
                s.login_tag = None
                s.authenticated = t.group(2).upper() == b'OK'
            await self._send(s, b''.join(chunk), literal=len(chunk) > 1)
            if t is None:
                continue
            if s.sasl_tag is not None and t.group(1) == s.sasl_tag:
                s.sasl_tag = None
            if t.group(2).upper() in (b'NO', b'BAD') and s.count_error():
                await self._error_limit(s)
                return

    async def _send(self, s, data, literal=False):
        """Server data to the client, at the pace the pacing rules allow."""
        pacers = [r for r in self.rules if r.paces]
        if not pacers:
            s.to_client(data)
            return
        for i in range(0, len(data), PACE_PIECE):
            piece = data[i:i + PACE_PIECE]
            wait = max(r.delay(s, len(piece), self, literal) for r in pacers)
            if wait > 0:
                await asyncio.sleep(wait)
            s.to_client(piece)
            if s.closed:
                return

    def _capabilities(self, line):
        m = re.match(rb'^(\* CAPABILITY |.*?\[CAPABILITY )([^\]\r\n]*)(.*)$', line, re.S | re.I)
        if m is None:
            return line
        kept = [c for c in m.group(2).split(b' ') if c.upper() not in self.drop_capabilities]
        return m.group(1) + b' '.join(kept) + m.group(3)

    def _greeting(self, line):
        if self.greeting is None:
            return line
        text = line.rstrip(b'\r\n')
        m = re.match(rb'^(\* OK (?:\[[^\]]*\] ?)?)', text)
        head = m.group(1) if m else b'* OK '
        if not head.endswith(b' '):
            head += b' '
        return head + self.greeting.encode() + b'\r\n'

    async def _read_command(self, s):
        """One complete command (or one SASL response line), answering synchronizing
        literals' continuation requests on the server's behalf."""
        lines, literals, sync = [], [], []
        while True:
            line = (await _readline(s.creader)).rstrip(b'\r\n')
            lines.append(line)
            m = _LITERAL.search(line)
            if m is None or s.sasl_tag is not None:
                return Command(s, lines, literals, sync)
            if len(lines) == 1:
                head = Command(s, lines, [], [])
                for r in self.rules:
                    inj = r.decide(head, self) if r.early else None
                    if inj is not None:
                        head.early = (r, inj)
                        return head
            n = int(m.group(2))
            synchronizing = m.group(3) == b''
            if synchronizing:
                s.to_client(b'+ Ready for literal data\r\n')
            literals.append(await _readexactly(s.creader, n))
            sync.append(synchronizing)

    async def _client_to_server(self, s):
        while not s.closed:
            cmd = await self._read_command(s)
            if s.sasl_tag is not None:  # a SASL response line of a relayed AUTHENTICATE
                s.swriter.write(cmd.lines[0] + b'\r\n')
                continue
            self._event('command', s.id, command=cmd.name, text=cmd.describe(),
                        literals=len(cmd.literals))
            if cmd.early is not None:
                await self._inject(s, cmd, *cmd.early)
                continue
            injection, rule = None, None
            for r in self.rules:
                injection = None if r.early else r.decide(cmd, self)
                if injection is not None:
                    rule = r
                    break
            if injection is None:
                if cmd.name == 'COMPRESS':
                    s.to_client(cmd.tag + b' NO COMPRESS is not relayed by the test proxy\r\n')
                    continue
                if cmd.name == 'AUTHENTICATE' and not cmd.has_initial_response:
                    s.sasl_tag = cmd.tag
                if cmd.name in ('AUTHENTICATE', 'LOGIN'):
                    s.login_tag = cmd.tag
                for r in self.rules:
                    r.forwarded(cmd, self)
                s.swriter.write(cmd.wire())
                continue
            await self._inject(s, cmd, rule, injection)

    async def _inject(self, s, cmd, rule, inj):
        if cmd.name == 'AUTHENTICATE' and not cmd.has_initial_response and \
                not inj.untagged_only:
            # The server asks for the client's response first, as Gmail does.
            s.to_client(b'+ \r\n')
            await _readline(s.creader)
        if inj.untagged_only:
            self._event('inject', s.id, rule=rule.name, command=cmd.name, text=inj.bye)
            await s.bye(inj.bye, rule.name)
            return
        answer = '%s %s' % (inj.status, inj.text)
        self._event('inject', s.id, rule=rule.name, command=cmd.name, text=answer)
        s.to_client(cmd.tag + b' ' + answer.encode() + b'\r\n')
        if inj.bye is not None:
            await s.bye(inj.bye, rule.name)
            return
        if inj.status in ('NO', 'BAD') and s.count_error():
            await self._error_limit(s)

    async def _error_limit(self, s):
        self._event('inject', s.id, rule='error-limit', text=EXCHANGE_BYE)
        await s.bye(EXCHANGE_BYE, 'error-limit')


# -- for the tests that run mailhaul through a proxy ---------------------------------------------

def run(job, proxy, *args, timeout=None):
    """job.run(*args) (a synctest.Job) with the proxy's transcript added to a timeout
    failure."""
    from mhtest import tap
    try:
        return job.run(*args, timeout=timeout)
    except tap.Failure as e:
        raise tap.Failure('%s\n%s' % (e, proxy.summary()))


def finish(checks, proxy, *runs):
    """checks.done() (a synctest.Checks) showing the runs, and the proxy's transcript when
    something failed."""
    for r in runs:
        checks.attach(r)
    if checks.failures:
        checks.context.append(proxy.summary())
    checks.done()
