# SPDX-License-Identifier: MIT
"""FAKE IMAP server for faults that real servers will not produce on demand.

This is not an IMAP server: it is a small scripted responder for the fault tests (a malformed
response, an oversized line, a connection dropped after the greeting, a server offering only
mechanisms the client lacks). Everything that a real server can do is tested against real
Dovecot in tests/integration; use this only where no real server will misbehave on request.

    with FakeImap(capabilities='IMAP4rev1 AUTH=PLAIN',
                  handlers={'NAMESPACE': b'* NAMESPACE (("" "/")) NIL NIL\\r\\n{tag} OK\\r\\n'},
                  tls=(cert, key)) as fake:
        ... connect to fake.host, fake.port ...
        fake.transcript   # the lines the client sent (bytes, CRLF stripped)

By default it plays along: CAPABILITY, LOGIN, AUTHENTICATE (answering one "+ " continuation
when there is no initial response), NAMESPACE, LIST, LSUB, STATUS, SELECT/EXAMINE, NOOP,
ID, ENABLE and LOGOUT get plausible answers; anything else gets BAD. handlers maps an
upper-case command name to bytes (with {tag} replaced by the client's tag; may contain
{caps}) or to a callable(session, tag, args_bytes). Greeting and behaviour options:

  greeting       bytes sent on connect (default "* OK [CAPABILITY ...] Fake IMAP ready")
  after_greeting None, 'close' (FIN right after the greeting) or 'reset' (RST)
  tls            (cert, key): implicit TLS on accept (the greeting follows the handshake)
  starttls       (cert, key): offer and perform STARTTLS on the plain connection
"""
import socket
import ssl
import struct
import threading

LOOPBACK = '127.0.0.1'


class Session:
    def __init__(self, fake, sock):
        self.fake = fake
        self.sock = sock
        self.buf = b''
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        """One line without its CRLF, or None at end of stream."""
        while b'\n' not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                chunk = b''
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        line = line.rstrip(b'\r')
        self.fake.transcript.append(line)
        return line

    def close(self, reset=False):
        if self.closed:
            return
        self.closed = True
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack('ii', 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)  # also wakes a blocked reader
        except (OSError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def _answer(text):
    def handler(session, tag, args):
        session.send(text.replace(b'{tag}', tag))
    return handler


class FakeImap:
    def __init__(self, capabilities='IMAP4rev1 AUTH=PLAIN', greeting=None, handlers=None,
                 after_greeting=None, tls=None, starttls=None, host=LOOPBACK):
        self.capabilities = capabilities
        if starttls and 'STARTTLS' not in capabilities.split():
            self.capabilities += ' STARTTLS'
        self.greeting = greeting if greeting is not None else (
            b'* OK [CAPABILITY ' + self.capabilities.encode() + b'] Fake IMAP ready\r\n')
        self.handlers = dict(self._defaults())
        for name, h in (handlers or {}).items():
            self.handlers[name.upper()] = h if callable(h) else _answer(
                h.replace(b'{caps}', self.capabilities.encode()))
        self.after_greeting = after_greeting
        self.tls = tls
        self.starttls = starttls
        self.host = host
        self.port = None
        self.transcript = []
        self.errors = []
        self.connections = 0
        self._listener = None
        self._threads = []
        self._sessions = []
        self._stopping = False

    def _defaults(self):
        caps = lambda: self.capabilities.encode()  # noqa: E731 (may change after init)

        def capability(s, tag, args):
            s.send(b'* CAPABILITY ' + caps() + b'\r\n' + tag + b' OK CAPABILITY completed\r\n')

        def authenticate(s, tag, args):
            parts = args.split()
            if len(parts) < 2:  # no initial response: ask for it
                s.send(b'+ \r\n')
                if s.readline() is None:
                    return
            s.send(tag + b' OK [CAPABILITY ' + caps() + b'] Logged in\r\n')

        def starttls(s, tag, args):
            if not self.starttls:
                s.send(tag + b' BAD STARTTLS not offered\r\n')
                return
            s.send(tag + b' OK Begin TLS negotiation now\r\n')
            s.sock = self._wrap(s.sock, self.starttls)

        def logout(s, tag, args):
            s.send(b'* BYE Logging out\r\n' + tag + b' OK Logout completed\r\n')
            s.close()

        def status(s, tag, args):
            name = args.split(b' ', 1)[0]
            s.send(b'* STATUS ' + name + b' (MESSAGES 0)\r\n' + tag + b' OK STATUS done\r\n')

        return {
            'CAPABILITY': capability,
            'LOGIN': _answer(b'{tag} OK Logged in\r\n'),
            'AUTHENTICATE': authenticate,
            'STARTTLS': starttls,
            'NAMESPACE': _answer(b'* NAMESPACE (("" "/")) NIL NIL\r\n{tag} OK done\r\n'),
            'LIST': _answer(b'* LIST (\\HasNoChildren) "/" INBOX\r\n{tag} OK LIST done\r\n'),
            'LSUB': _answer(b'* LSUB () "/" INBOX\r\n{tag} OK LSUB done\r\n'),
            'STATUS': status,
            'SELECT': _answer(b'* 0 EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n'
                              b'{tag} OK [READ-WRITE] done\r\n'),
            'EXAMINE': _answer(b'* 0 EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n'
                               b'{tag} OK [READ-ONLY] done\r\n'),
            'NOOP': _answer(b'{tag} OK NOOP done\r\n'),
            'ID': _answer(b'* ID ("name" "fakeimap")\r\n{tag} OK ID done\r\n'),
            'ENABLE': _answer(b'* ENABLED\r\n{tag} OK ENABLE done\r\n'),
            'LOGOUT': logout,
        }

    @staticmethod
    def _wrap(sock, pair):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pair[0], pair[1])
        return ctx.wrap_socket(sock, server_side=True)

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self._listener.listen(8)
        self._listener.settimeout(0.1)  # accept() wakes up to notice stop()
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, sock):
        s = Session(self, sock)
        self._sessions.append(s)
        try:
            sock.settimeout(30)  # a blocking socket; the listener's timeout is not inherited
            if self.tls:
                s.sock = self._wrap(sock, self.tls)
            s.send(self.greeting)
            if self.after_greeting in ('close', 'reset'):
                s.close(reset=self.after_greeting == 'reset')
                return
            while not s.closed:
                line = s.readline()
                if line is None:
                    break
                parts = line.split(b' ', 2)
                if len(parts) < 2:
                    s.send(b'* BAD no command\r\n')
                    continue
                tag, name = parts[0], parts[1].upper().decode('ascii', 'replace')
                args = parts[2] if len(parts) > 2 else b''
                handler = self.handlers.get(name)
                if handler is None:
                    s.send(tag + b' BAD unknown command\r\n')
                else:
                    handler(s, tag, args)
        except (OSError, ssl.SSLError):
            pass  # the client went away; that is what faults are about
        except Exception as e:
            self.errors.append(repr(e))
        finally:
            s.close()

    def stop(self):
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
        for s in list(self._sessions):
            s.close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def sent_by_client(self):
        """The client's lines as text, one per line (for diagnostics)."""
        return '\n'.join(line.decode('utf-8', 'replace') for line in self.transcript)
