#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` against a FAKE IMAP server (fakeimap.py) for faults that real servers do
not produce on demand: malformed responses and an oversized line (76), a connection dropped
after the greeting (10), a server offering only a mechanism mailhaul lacks (16), and Gmail
refusing an OAuth2 sign-in with its error challenge, once for a bad token (16) and once because
the account has too many connections (10: a busy account, not a bad token)."""
import base64
import contextlib

from fakeimap import FakeImap
from mhtest import certs, cli, tap

USER, PASSWORD = 'alice', 'Fault-pw-2468'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        S['pki'] = pki
        yield


def run_against(fake, mode, extra=()):
    args = ['check', '--host', fake.host, '--port', fake.port, '--' + mode, '--user', USER]
    if mode != 'notls':
        args += ['--cafile', S['pki'].ca]
    r = cli.run(list(args) + list(extra), password_env=PASSWORD, timeout=60)
    return r


def fake(**kw):
    if kw.pop('implicit_tls', False):
        kw['tls'] = (S['pki'].server_cert, S['pki'].server_key)
    return FakeImap(**kw)


def expect(r, fk, code, *words):
    try:
        return cli.expect_error(r, code, *words)
    except tap.Failure as e:
        raise tap.Failure('%s\nclient sent to the fake server:\n%s' % (e, fk.sent_by_client()))


CAPS = 'IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN'
MALFORMED = b'* LIST (\\HasNoChildren "/" INBOX\r\n'          # list never closed
OVERSIZED = b'* CAPABILITY IMAP4rev1 ' + b'X' * (70 * 1024) + b'\r\n'


def every_command_gets(reply):
    """Handlers answering every command the client could send first with reply."""
    names = ('CAPABILITY', 'LOGIN', 'AUTHENTICATE', 'NAMESPACE', 'LIST', 'LSUB', 'STATUS',
             'ID', 'ENABLE', 'NOOP', 'STARTTLS', 'SELECT', 'EXAMINE')
    return {n: reply for n in names}


@tap.test
def malformed_response_is_protocol_error():
    for mode in ('ssl', 'notls'):
        with fake(capabilities=CAPS, handlers=every_command_gets(MALFORMED),
                  implicit_tls=mode == 'ssl') as fk:
            r = run_against(fk, mode)
            expect(r, fk, cli.EXIT_PROTOCOL, ('protocol', 'malformed', 'parse', 'invalid'))


@tap.test
def malformed_greeting_is_protocol_error():
    with fake(greeting=MALFORMED.replace(b'LIST', b'OK [CAPABILITY'), implicit_tls=True) as fk:
        r = run_against(fk, 'ssl')
        expect(r, fk, cli.EXIT_PROTOCOL, ('protocol', 'malformed', 'parse', 'invalid'))


@tap.test
def bare_cr_inside_a_line_is_protocol_error():
    reply = b'* CAPABILITY IMAP4rev1 AUTH=PLAIN\rX\r\n{tag} OK done\r\n'
    with fake(capabilities=CAPS, handlers=every_command_gets(reply), implicit_tls=True) as fk:
        r = run_against(fk, 'ssl')
        expect(r, fk, cli.EXIT_PROTOCOL)


@tap.test
def not_an_imap_server_is_protocol_error():
    # Something else (here an SMTP greeting) answers on the port.
    with fake(greeting=b'220 mail.example.com ESMTP ready\r\n') as fk:
        r = run_against(fk, 'notls')
        expect(r, fk, cli.EXIT_PROTOCOL)


@tap.test
def malformed_response_after_login_is_protocol_error():
    handlers = {'NAMESPACE': MALFORMED, 'LIST': MALFORMED, 'LSUB': MALFORMED}
    with fake(capabilities=CAPS, handlers=handlers, implicit_tls=True) as fk:
        r = run_against(fk, 'ssl', ['--authmech', 'PLAIN'])
        expect(r, fk, cli.EXIT_PROTOCOL, ('protocol', 'malformed', 'parse', 'invalid'))


@tap.test
def oversized_greeting_is_protocol_error():
    with fake(greeting=b'* OK ' + b'A' * (70 * 1024) + b'\r\n', implicit_tls=True) as fk:
        r = run_against(fk, 'ssl')
        expect(r, fk, cli.EXIT_PROTOCOL, ('too long', 'too large', 'oversized', 'exceeds',
                                          'limit', 'protocol'))


@tap.test
def oversized_response_line_is_protocol_error():
    for mode in ('ssl', 'notls'):
        with fake(capabilities=CAPS, handlers=every_command_gets(OVERSIZED),
                  implicit_tls=mode == 'ssl') as fk:
            r = run_against(fk, mode)
            expect(r, fk, cli.EXIT_PROTOCOL, ('too long', 'too large', 'oversized', 'exceeds',
                                              'limit', 'protocol'))


@tap.test
def oversized_line_after_login_is_protocol_error():
    big_list = b'* LIST () "/" "' + b'F' * (70 * 1024) + b'"\r\n{tag} OK done\r\n'
    handlers = {'LIST': big_list, 'LSUB': big_list}
    with fake(capabilities=CAPS, handlers=handlers, implicit_tls=True) as fk:
        r = run_against(fk, 'ssl', ['--authmech', 'PLAIN'])
        expect(r, fk, cli.EXIT_PROTOCOL)


@tap.test
def dropped_after_greeting_is_connection_error():
    for mode, how in (('ssl', 'close'), ('notls', 'close'), ('notls', 'reset')):
        with fake(capabilities=CAPS, after_greeting=how, implicit_tls=mode == 'ssl') as fk:
            r = run_against(fk, mode)
            expect(r, fk, cli.EXIT_CONNECT)


@tap.test
def only_unsupported_mechanism_is_auth_error():
    caps = 'IMAP4rev1 SASL-IR AUTH=DIGEST-MD5 LOGINDISABLED'
    with fake(capabilities=caps, implicit_tls=True) as fk:
        r = run_against(fk, 'ssl')
        expect(r, fk, cli.EXIT_AUTH, 'offers none of', 'DIGEST-MD5')
        tap.check(not any(line.upper().split()[1:2] in ([b'AUTHENTICATE'], [b'LOGIN'])
                          for line in fk.transcript),
                  'the client tried to log in anyway:\n%s' % fk.sent_by_client())


@tap.test
def starttls_not_offered_is_tls_error():
    with fake(capabilities='IMAP4rev1 AUTH=PLAIN') as fk:
        r = run_against(fk, 'tls')
        expect(r, fk, cli.EXIT_TLS, 'STARTTLS')
        tap.check(not any(b'AUTHENTICATE' in line.upper() or b' LOGIN ' in line.upper()
                          for line in fk.transcript),
                  'credentials were sent over cleartext:\n%s' % fk.sent_by_client())


# Gmail's capabilities, and its error challenge (base64 JSON, decoded from MailKit#377's
# capture), which Gmail sends inside AUTHENTICATE before the tagged refusal, whatever the
# refusal is (docs/providers.md, Gmail: "Connection and capabilities", "Sign-in").
GMAIL_CAPS = ('IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 '
              'XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER')
GMAIL_CHALLENGE = b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
TOO_MANY = b'NO [ALERT] Too many simultaneous connections. (Failure)'
INVALID = b'NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)'
TOKEN_WORDS = ('rejected the access token', 'mailhaul login', 'sign in again', 'password')


def gmail_refusal(refusal):
    """An AUTHENTICATE handler: Gmail's error challenge, then (after the client's dummy
    response) `<tag> refusal`."""
    def handler(session, tag, args):
        session.send(b'+ ' + base64.b64encode(GMAIL_CHALLENGE) + b'\r\n')
        if session.readline() is not None:
            session.send(tag + b' ' + refusal + b'\r\n')
    return handler


def oauth_check(fk):
    return cli.run(['check', '--host', fk.host, '--port', fk.port, '--ssl', '--cafile',
                    S['pki'].ca, '--user', 'alice@example.com', '--oauthaccesstoken',
                    'ya29.mhtest-token'], timeout=60)


@tap.test
def too_many_connections_inside_oauth_is_not_a_token_error():
    # OAUTHBEARER where offered (as Gmail does), XOAUTH2 alone on an older server.
    for caps, mech, dummy in ((GMAIL_CAPS, b'OAUTHBEARER', b'AQ=='),
                              (GMAIL_CAPS.replace(' AUTH=OAUTHBEARER', ''), b'XOAUTH2', b'')):
        with fake(capabilities=caps, handlers={'AUTHENTICATE': gmail_refusal(TOO_MANY)},
                  implicit_tls=True) as fk:
            r = oauth_check(fk)
            line = expect(r, fk, cli.EXIT_CONNECT, 'too many simultaneous connections',
                          '--jobs')
            said = [w for w in TOKEN_WORDS if w in r.stderr.lower()]
            tap.check(not said, 'a busy account is called a credentials problem (%s):\n%s'
                      % (', '.join(said), line))
            sent = [x.split() for x in fk.transcript]
            tap.check([mech] in [x[2:3] for x in sent if x[1:2] == [b'AUTHENTICATE']],
                      'no AUTHENTICATE %s:\n%s' % (mech.decode(), fk.sent_by_client()))
            tap.check(dummy in fk.transcript, 'the error challenge was not answered with %r:'
                      '\n%s' % (dummy, fk.sent_by_client()))


@tap.test
def bad_token_refusal_inside_oauth_is_an_auth_error():
    with fake(capabilities=GMAIL_CAPS, handlers={'AUTHENTICATE': gmail_refusal(INVALID)},
              implicit_tls=True) as fk:
        r = oauth_check(fk)
        expect(r, fk, cli.EXIT_AUTH, 'rejected the access token', 'status 400',
               'Invalid credentials')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('openssl',))
