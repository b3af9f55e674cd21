#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check --send-test` against a real submission server: a private Postfix
(unpacked from Debian's package into the private root, see mhtest.postfix) whose SMTP AUTH is
checked by a real Dovecot (Postfix's Dovecot SASL over Dovecot's auth listener: the same
passwords, and OAuth2 tokens through Dovecot's oauth2 passdb and the local authorization
server), delivering into that Dovecot's INBOXes over LMTP.

Cases: a password account's round trip over STARTTLS and over implicit TLS (delay reported,
the message gone afterwards and INBOX as it was); --keep-test-message; a stored OAuth2
sign-in's round trip (XOAUTH2 at the submission server); SMTP AUTH refused while IMAP works;
a sender the server will not take from this user (exit 17); a message the server holds and
never delivers (exit 18 after --send-timeout); no server on the port, no TLS where implicit
TLS was asked for, and a certificate for another host name; and that --debug all never shows the password or the token.
Every check of the mailbox is made by an independent IMAP client (imaplib)."""
import contextlib
import email
import os
import re
import shutil
import subprocess
import sys
import tempfile

from mhtest import certs, cleanup, cli, dovecot, imapcheck, oauth, ports, postfix, tap

DOMAIN = 'example.test'
ALICE = 'alice@' + DOMAIN          # a password account
BOB = 'bob@' + DOMAIN              # another one: alice may not send as bob
DORA = 'dora@' + DOMAIN            # her mail is held by the submission server
ERIN = 'erin@' + DOMAIN            # SMTP AUTH refused for her, IMAP works
OLGA = 'olga@' + DOMAIN            # an OAuth2 account
USERS = {ALICE: 'Alice-pw-7431', BOB: 'Bob-pw-2290', DORA: 'Dora-pw-6618',
         ERIN: 'Erin-pw-5092', OLGA: 'Olga-pw-unused-3321'}
EXIT_SEND_REFUSED = 17
EXIT_NOT_DELIVERED = 18
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, oauth.OAuthServer() as idp:
        dv = dovecot.Dovecot(pki, users=USERS, lmtp=True, smtp_denied=(ERIN,),
                             **oauth.dovecot_options(idp))
        with dovecot.running(dv), postfix.Postfix(pki, dv, DOMAIN, hold=(DORA,)) as pf:
            S.update(pki=pki, idp=idp, dv=dv, pf=pf, tmp=cli.scratch_dir())
            for user in USERS:
                dv.preload(user, {'INBOX': [imapcheck.make_message(n) for n in range(3)]})
            yield


def send_args(user, *extra, mode='tls'):
    """check --send-test for user over IMAPS, submitting over STARTTLS (mode 'tls') or
    implicit TLS ('ssl') to the test Postfix."""
    pf = S['pf']
    port = pf.submission_port if mode == 'tls' else pf.smtps_port
    return cli.check_args(S['dv'], user, 'ssl', extra=[
        '--send-test', '--smtp-host', pf.host, '--smtp-port', port,
        '--smtp-tls' if mode == 'ssl' else '--smtp-starttls'] + [str(e) for e in extra])


def run_send(user, *extra, mode='tls', password=None, timeout=120):
    return cli.run(send_args(user, *extra, mode=mode),
                   password_env=USERS[user] if password is None else password,
                   timeout=timeout)


def inbox(user):
    return S['dv'].snapshot(user, 'INBOX')


def inbox_messages(user):
    """{Message-ID: email.message.Message} of user's INBOX, by an independent client."""
    out = {}
    with imapcheck.session(S['dv'], user) as conn:
        conn.select('INBOX', readonly=True)
        typ, data = conn.uid('FETCH', '1:*', '(BODY.PEEK[])')
        for item in data:
            if isinstance(item, tuple):
                msg = email.message_from_bytes(item[1])
                out[msg['Message-ID']] = msg
    return out


SENT_RE = r'^Send test: accepted (<mailhaul-send-test-[0-9a-f-]+@%s>) with (\S+): 2\d\d ' % (
    re.escape(DOMAIN))
ARRIVED_RE = r'^Send test: arrived in INBOX after (\d+\.\d) s \(UID (\d+)\)$'


def expect_round_trip(r, mech=None):
    """Success with the submission and the arrival reported; returns (Message-ID, seconds)."""
    cli.expect_ok(r)
    sent = tap.match(SENT_RE, r.stdout, 'stdout (submission line)')
    if mech is not None:
        tap.eq(sent.group(2), mech, 'mechanism used at the submission server')
    arrived = tap.match(ARRIVED_RE, r.stdout, 'stdout (arrival line)')
    seconds = float(arrived.group(1))
    tap.check(0 <= seconds < 60, 'round trip of %.1f s reported' % seconds)
    return sent.group(1), seconds


def expect_delivered_by_postfix(msgid):
    """Postfix's log: the message came in authenticated and went out over LMTP."""
    log = S['pf'].wait_log(msgid)
    tap.match(r'message-id=%s' % re.escape(msgid), log, 'Postfix log')
    tap.match(r'lmtp\[\d+\]: \w+: to=<[^>]+>, relay=%s\[%s\]:%d, .*status=sent' % (
        re.escape(S['dv'].host), re.escape(S['dv'].host), S['dv'].lmtp_port), log,
        'Postfix log (delivery over LMTP)')


@tap.test
def password_round_trip_over_starttls():
    before = inbox(ALICE)
    r = run_send(ALICE)
    msgid, _ = expect_round_trip(r)
    tap.contains('through %s port %d (STARTTLS)' % (S['pf'].host, S['pf'].submission_port),
                 r.stdout, 'stdout')
    tap.match(r'^Send test: removed from INBOX$', r.stdout, 'stdout')
    expect_delivered_by_postfix(msgid)
    tap.eq(inbox(ALICE), before, 'INBOX after the test (the test message removed)')


@tap.test
def password_round_trip_over_implicit_tls():
    before = inbox(BOB)
    r = run_send(BOB, mode='ssl')
    expect_round_trip(r)
    tap.contains('through %s port %d (implicit TLS)' % (S['pf'].host, S['pf'].smtps_port),
                 r.stdout, 'stdout')
    tap.eq(inbox(BOB), before, 'INBOX after the test')


@tap.test
def keep_test_message_leaves_it_in_inbox():
    before = inbox(ALICE)
    r = run_send(ALICE, '--keep-test-message')
    msgid, _ = expect_round_trip(r)
    tap.match(r'^Send test: kept in INBOX \(--keep-test-message\)$', r.stdout, 'stdout')
    tap.not_contains('removed from INBOX', r.stdout, 'stdout')
    after = inbox(ALICE)
    tap.eq(len(after), len(before) + 1, 'INBOX messages after a kept test')
    msgs = inbox_messages(ALICE)
    tap.check(msgid in msgs, 'the kept message %s is not in INBOX: %s' % (msgid, list(msgs)))
    kept = msgs[msgid]
    tap.eq((kept['From'], kept['To']), ('<%s>' % ALICE, '<%s>' % ALICE), 'From and To')
    tap.match(r'^mailhaul send test [0-9a-f-]+$', kept['Subject'], 'Subject')


@tap.test
def oauth2_account_round_trip_with_xoauth2():
    home = tempfile.mkdtemp(prefix='mhtest-send-oauth-')
    cleanup.register(lambda: shutil.rmtree(home, ignore_errors=True))
    env = {'HOME': home, 'XDG_CONFIG_HOME': home + '/config', 'XDG_STATE_HOME': home + '/state',
           'XDG_DATA_HOME': home + '/data', 'XDG_CACHE_HOME': home + '/cache'}
    config = os.path.join(home, 'mailhaul.ini')
    pf = S['pf']
    with open(config, 'w') as f:
        f.write(S['idp'].provider_section('idp', S['dv'], oauth.GOOGLE_SCOPE) +
                'smtp-host = %s\nsmtp-port = %d\nsmtp-tls = starttls\n' % (
                    pf.host, pf.submission_port))
    r = cli.run(['provider', 'show', '--config', config, 'idp'], env=env)
    cli.expect_ok(r)
    tap.match(r'^\s*smtp-port\s+%d$' % pf.submission_port, r.stdout, 'provider show')
    login_device(['login', '--config', config, 'idp:' + OLGA], env, OLGA)
    tokens = stored_secrets(os.path.join(home, 'data', 'mailhaul', 'secrets'))
    before = inbox(OLGA)
    r = cli.run(['check', '--config', config, 'idp:' + OLGA, '--send-test', '--debug', 'all'],
                env=env, timeout=120)
    msgid, _ = expect_round_trip(r, mech='XOAUTH2')
    tap.match(r'^Authenticated as %s with (XOAUTH2|OAUTHBEARER)$' % re.escape(OLGA), r.stdout,
              'stdout (IMAP login)')
    log = S['pf'].wait_log(msgid)
    tap.match(r'sasl_method=XOAUTH2, sasl_username=%s' % re.escape(OLGA), log, 'Postfix log')
    tap.eq(inbox(OLGA), before, 'INBOX after the test')
    for secret in tokens:
        for form in secret_forms(OLGA, secret):
            tap.not_contains(form, r.stdout + r.stderr, 'output of --debug all')


def login_device(args, env, user):
    """`mailhaul login` with the device flow, approved on the authorization server's pages."""
    p = subprocess.Popen([cli.binary()] + args, env=cli.environment(env),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    cleanup.register(lambda: p.poll() is None and p.kill())
    seen = []
    for raw in iter(p.stdout.readline, b''):
        line = raw.decode('utf-8', 'replace')
        seen.append(line)
        m = re.search(r'enter the code ([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)', line)
        if m:
            oauth.approve_device(S['idp'], m.group(1), user)
            break
    out, err = p.communicate(timeout=60)
    r = cli.Result([cli.binary()] + args, p.returncode, ''.join(seen).encode() + out, err, 0)
    cli.expect_ok(r)
    tap.match(r'^Signed in as %s\b' % re.escape(user), r.stdout, 'stdout of login')


def stored_secrets(directory):
    """The access and refresh tokens in the file token store (its record format is
    mailhaul's: access_token=... and refresh_token=... lines)."""
    found = []
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as f:
            for line in f:
                key, _, value = line.strip().partition('=')
                if key in ('access_token', 'refresh_token') and value:
                    found.append(value)
    tap.check(found, 'no token in the file store %s' % directory)
    return found


def secret_forms(user, secret):
    """The secret, its base64 forms at each alignment, and the SASL responses holding it."""
    import base64
    forms = {secret, base64.b64encode(oauth.xoauth2_initial(user, secret)).decode(),
             base64.b64encode(b'\0%s\0%s' % (user.encode(), secret.encode())).decode()}
    raw = secret.encode()
    for k in range(3):
        enc = base64.b64encode(b'\0' * k + raw).decode().rstrip('=')
        core = enc[((k + 2) // 3) * 4:len(enc) - 4]
        if len(core) >= 8:
            forms.add(core)
    return forms


@tap.test
def debug_all_shows_the_dialogue_but_no_password():
    r = run_send(ALICE, '--debug', 'all')
    expect_round_trip(r)
    tap.match(r'smtp S: 250[ -]AUTH', r.stderr, 'stderr (the EHLO reply in the wire log)')
    tap.match(r'smtp C: AUTH \S+( <redacted \d+ bytes>)?$', r.stderr, 'stderr (AUTH redacted)')
    for form in secret_forms(ALICE, USERS[ALICE]):
        tap.not_contains(form, r.stdout + r.stderr, 'output of --debug all')


@tap.test
def smtp_auth_refused_exits_16():
    before = inbox(ERIN)
    r = run_send(ERIN)
    cli.expect_error(r, cli.EXIT_AUTH, 'submission server', 'refused the sign-in', ERIN,
                     '535', 'SMTP AUTH may be switched off for this mailbox')
    tap.match(r'^Authenticated as %s with ' % re.escape(ERIN), r.stdout,
              'stdout (IMAP login worked)')
    tap.eq(inbox(ERIN), before, 'INBOX')


@tap.test
def sender_refused_by_the_submission_server_exits_17():
    r = run_send(ALICE, '--mail-address', BOB)
    cli.expect_error(r, EXIT_SEND_REFUSED, 'submission server', 'refused', 'not owned by user')


@tap.test
def held_message_times_out_with_exit_18():
    before = inbox(DORA)
    r = run_send(DORA, '--send-timeout', 4)
    line = cli.expect_error(r, EXIT_NOT_DELIVERED, 'did not arrive in INBOX within 4 s',
                            '--send-timeout')
    msgid = re.search(r'<mailhaul-send-test-[^>]+>', line).group(0)
    tap.match(SENT_RE, r.stdout, 'stdout (the submission was accepted)')
    queue = S['pf'].queue()
    tap.match(r'^\w+!\s', queue, 'postqueue -p (a held message)')
    tap.contains(DORA, queue, 'postqueue -p')
    tap.contains(msgid, S['pf'].log(), 'Postfix log')
    tap.eq(inbox(DORA), before, 'INBOX')


@tap.test
def no_submission_server_exits_10():
    with ports.refusing_port() as port:
        r = cli.run(cli.check_args(S['dv'], ALICE, 'ssl', extra=[
            '--send-test', '--smtp-host', S['pf'].host, '--smtp-port', str(port)]),
            password_env=USERS[ALICE])
    cli.expect_error(r, cli.EXIT_CONNECT, 'cannot connect to the submission server',
                     str(port))


@tap.test
def implicit_tls_on_a_starttls_port_exits_12():
    r = cli.run(cli.check_args(S['dv'], ALICE, 'ssl', extra=[
        '--send-test', '--smtp-host', S['pf'].host, '--smtp-port',
        str(S['pf'].submission_port), '--smtp-tls', '--send-timeout', '10']),
        password_env=USERS[ALICE])
    cli.expect_error(r, cli.EXIT_TLS, 'TLS', 'submission server')


@tap.test
def certificate_for_another_host_exits_12():
    r = cli.run(cli.check_args(S['dv'], ALICE, 'ssl', extra=[
        '--send-test', '--smtp-host', S['pf'].host, '--smtp-port',
        str(S['pf'].wrong_cert_port), '--smtp-tls']), password_env=USERS[ALICE])
    cli.expect_error(r, cli.EXIT_TLS, 'TLS', 'submission server', ('wrong.example',
                                                                    'certificate'))


@tap.test
def send_options_without_send_test_are_usage_errors():
    r = cli.run(cli.check_args(S['dv'], ALICE, 'ssl', extra=['--keep-test-message']),
                password_env=USERS[ALICE])
    cli.expect_error(r, cli.EXIT_USAGE, '--send-test')
    r = run_send(ALICE, '--smtp-tls')  # with --smtp-starttls from send_args
    cli.expect_error(r, cli.EXIT_USAGE, '--smtp-tls', '--smtp-starttls')


if __name__ == '__main__':
    for why in (postfix.available(), oauth.available()):
        if why:
            print('1..0 # SKIP %s' % why)
            sys.exit(0)
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
