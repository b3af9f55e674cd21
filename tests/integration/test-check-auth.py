#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` against a real Dovecot: every SASL mechanism over implicit TLS and
STARTTLS, the default mechanism, master-user (authzid) login, wrong credentials, the ways to
give a password, and that --debug all never shows the password."""
import base64
import contextlib
import os
import re

from mhtest import certs, cli, dovecot, tap
from mhtest.imapcheck import make_message

USERS = {
    'alice': 'Alice-pw-4821',
    'bob': 'Bob-pw-1937',
    'carol': 'Canary-Zq7vX93Lk-pw',
}
MASTERS = {'admin': 'Admin-pw-5566'}
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        dv = dovecot.Dovecot(pki, users=USERS, master_users=MASTERS)
        nocram = dovecot.Dovecot(pki, users=USERS, mechanisms='plain login')
        with dovecot.running(dv, nocram):
            S.update(dv=dv, nocram=nocram, tmp=cli.scratch_dir())
            dv.preload('alice', {'INBOX': [make_message(i) for i in range(3)],
                                 'Alice-only': [make_message(10)]})
            dv.preload('bob', {'INBOX': [make_message(20)],
                               'Bob-only': [make_message(21), make_message(22)]})
            yield


def check_call(user='alice', mode='ssl', extra=(), password=None, cafile=True):
    """(args, kwargs) for cli.run / cli.run_parallel."""
    if password is None:
        password = USERS[user]
    return (cli.check_args(S['dv'], user, mode, cafile=cafile, extra=extra),
            {'password_env': password})


def run_check(*a, **kw):
    args, kwargs = check_call(*a, **kw)
    return cli.run(args, **kwargs)


def assert_session(r, user, mech, mode='ssl', by=None):
    """A successful check: connection line, greeting, capabilities, login line, INBOX."""
    return assert_session_on(S['dv'], r, user, mech, mode, by)


def assert_session_on(dv, r, user, mech, mode='ssl', by=None):
    cli.expect_ok(r)
    out = cli.parse_check(r.stdout)
    detail = '\n%s' % r
    tap.check(out.connected is not None, 'no "Connected to" line' + detail)
    host, port, how, version = out.connected
    tap.eq(host, dv.host, 'connected host')
    tap.eq(port, dv.port(mode), 'connected port')
    if mode == 'tls':
        tap.check('STARTTLS' in how.upper(), 'connection kind should say STARTTLS' + detail)
    else:
        tap.check('STARTTLS' not in how.upper(), 'implicit TLS shown as STARTTLS' + detail)
    tap.check(version is not None and re.match(r'TLSv1\.[23]$', version),
              'TLS version missing or unexpected' + detail)
    tap.check(out.greeting is not None and re.search(r'Dovecot.*ready', out.greeting),
              'greeting is not Dovecot\'s' + detail)
    tap.check('IMAP4REV1' in [c.upper() for c in out.capabilities],
              'capabilities lack IMAP4rev1' + detail)
    tap.eq(out.authenticated, (user, by, mech), 'Authenticated line (user, by, mechanism)')
    tap.check('INBOX' in out.folders, 'INBOX not listed' + detail)
    return out


def shown_mechanism(r, mech):
    """--authmech LOGIN may use the SASL mechanism or (as imapsync does) the LOGIN command."""
    if mech == 'LOGIN' and re.search(r'^Authenticated as .* with LOGIN command\s*$', r.stdout,
                                     re.M):
        return 'LOGIN command'
    return mech


def mechanism_test(mode, mech):
    def t():
        r = run_check('alice', mode, ['--authmech', mech])
        out = assert_session(r, 'alice', shown_mechanism(r, mech), mode)
        tap.eq(out.folders['INBOX'][1], 3, 'INBOX message count')
    tap.test(t, name='check_%s_authmech_%s' % (mode, mech.replace('-', '_').lower()))


for _mode in ('ssl', 'tls'):
    for _mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
        mechanism_test(_mode, _mech)


@tap.test
def default_mechanism_is_cram_md5():
    assert_session(run_check('alice', 'ssl'), 'alice', 'CRAM-MD5')
    assert_session(run_check('alice', 'tls'), 'alice', 'CRAM-MD5', 'tls')


@tap.test
def default_without_cram_md5_is_plain():
    r = cli.run(cli.check_args(S['nocram'], 'alice', 'ssl'), password_env=USERS['alice'])
    assert_session_on(S['nocram'], r, 'alice', 'PLAIN')


@tap.test
def noauthmd5_falls_back_to_plain():
    assert_session(run_check('alice', 'ssl', ['--noauthmd5']), 'alice', 'PLAIN')


@tap.test
def forced_mechanism_not_offered_is_auth_error():
    r = cli.run(cli.check_args(S['nocram'], 'alice', 'ssl', extra=['--authmech', 'CRAM-MD5']),
                password_env=USERS['alice'])
    line = cli.expect_error(r, cli.EXIT_AUTH, 'offers none of', 'PLAIN', 'LOGIN')
    tap.check('CRAM-MD5' in line, 'the error does not name the wanted CRAM-MD5\n%s' % r)


@tap.test
def authmech_is_case_insensitive():
    assert_session(run_check('alice', 'ssl', ['--authmech', 'plain']), 'alice', 'PLAIN')


@tap.test
def master_user_logs_in_as_target():
    r = run_check('bob', 'ssl', ['--authuser', 'admin'], password=MASTERS['admin'])
    out = assert_session(r, 'bob', 'PLAIN', by='admin')
    tap.check('Bob-only' in out.folders, 'the target user\'s folder is missing\n%s' % r)
    tap.check('Alice-only' not in out.folders, 'another user\'s folder is listed\n%s' % r)
    tap.eq(out.folders['Bob-only'][1], 2, 'Bob-only message count')
    tap.eq(out.folders['INBOX'][1], 1, 'bob\'s INBOX message count')


@tap.test
def master_user_over_starttls():
    r = run_check('alice', 'tls', ['--authuser', 'admin', '--authmech', 'PLAIN'],
                  password=MASTERS['admin'])
    out = assert_session(r, 'alice', 'PLAIN', 'tls', by='admin')
    tap.check('Alice-only' in out.folders and 'Bob-only' not in out.folders,
              'folder list is not alice\'s\n%s' % r)


@tap.test
def master_user_wrong_password_is_auth_error():
    r = run_check('bob', 'ssl', ['--authuser', 'admin'], password='not-the-admin-pw')
    cli.expect_error(r, cli.EXIT_AUTH, 'Authentication failed')


@tap.test
def master_user_target_must_exist():
    r = run_check('nobody-here', 'ssl', ['--authuser', 'admin'], password=MASTERS['admin'])
    cli.expect_error(r, cli.EXIT_AUTH)


@tap.test
def wrong_password_reports_dovecot_text():
    # Dovecot answers a failed login after about 0.5 s: run the variants side by side.
    calls = [check_call('alice', mode, extra, password='wrong-password')
             for mode in ('ssl', 'tls')
             for extra in ([], ['--authmech', 'PLAIN'], ['--authmech', 'LOGIN'])]
    for r in cli.run_parallel(calls):
        line = cli.expect_error(r, cli.EXIT_AUTH, 'Authentication failed',
                                'check the user and password')
        # A plain server gets no provider's advice.
        for word in ('Microsoft', 'Gmail', 'mailhaul login'):
            tap.not_contains(word, line, 'the error line')


@tap.test
def unknown_user_is_auth_error():
    r = run_check('mallory', 'ssl', password='whatever')
    cli.expect_error(r, cli.EXIT_AUTH, 'Authentication failed')


@tap.test
def password_from_environment():
    assert_session(run_check('alice', 'ssl'), 'alice', 'CRAM-MD5')


@tap.test
def password_from_passfile():
    dv = S['dv']
    for name, newline in (('pass-nl', True), ('pass-no-nl', False)):
        path = cli.write_passfile(S['tmp'], USERS['alice'], name, newline=newline)
        r = cli.run(cli.check_args(dv, 'alice', 'ssl', extra=['--passfile', path]))
        assert_session(r, 'alice', 'CRAM-MD5')


@tap.test
def passfile_over_starttls_for_another_user():
    dv = S['dv']
    path = cli.write_passfile(S['tmp'], USERS['bob'], 'bob-pass')
    r = cli.run(cli.check_args(dv, 'bob', 'tls', extra=['--passfile', path]))
    assert_session(r, 'bob', 'CRAM-MD5', 'tls')


@tap.test
def password_option_works_and_warns():
    dv = S['dv']
    r = cli.run(cli.check_args(dv, 'alice', 'ssl', extra=['--password', USERS['alice']]))
    assert_session(r, 'alice', 'CRAM-MD5')
    tap.check(r.warning_lines, 'no warning about --password\n%s' % r)
    tap.check(any(re.search(r'argv|command line|visible|other users|process list', w, re.I)
                  for w in r.warning_lines),
              'the warning does not say the password is visible to others\n%s' % r)
    tap.not_contains(USERS['alice'], r.stdout + r.stderr, 'output')


@tap.test
def passfile_missing_is_noinput():
    dv = S['dv']
    path = os.path.join(S['tmp'], 'no-such-passfile')
    r = cli.run(cli.check_args(dv, 'alice', 'ssl', extra=['--passfile', path]))
    cli.expect_error(r, cli.EXIT_NOINPUT, path)


@tap.test
def passfile_unreadable_is_noinput():
    dv = S['dv']
    path = os.path.join(S['tmp'], 'a-directory')
    os.mkdir(path)
    r = cli.run(cli.check_args(dv, 'alice', 'ssl', extra=['--passfile', path]))
    cli.expect_error(r, cli.EXIT_NOINPUT, path)


@tap.test
def justlogin_imapsync_style():
    dv = S['dv']
    path = cli.write_passfile(S['tmp'], USERS['alice'], 'justlogin-pass')
    for mode in ('ssl', 'tls'):
        r = cli.run(['--justlogin', '--host1', dv.host, '--port1', dv.port(mode),
                     '--user1', 'alice', '--passfile1', path, '--%s1' % mode,
                     '--cafile1', dv.cafile])
        out = assert_session(r, 'alice', 'CRAM-MD5', mode)
        tap.eq(out.folders['Alice-only'][1], 1, 'Alice-only message count')


def secret_forms(user, password, authuser=None):
    """The password and the base64 payloads that would carry it on the wire."""
    forms = {'password': password.encode()}
    blobs = {
        'PLAIN \\0user\\0password': b'\0' + user.encode() + b'\0' + password.encode(),
        'PLAIN user\\0user\\0password': (user + '\0' + user + '\0' + password).encode(),
        'LOGIN password': password.encode(),
    }
    if authuser:
        blobs['PLAIN authzid\\0admin\\0password'] = (
            user + '\0' + authuser + '\0' + password).encode()
        blobs['PLAIN \\0admin\\0password'] = ('\0' + authuser + '\0' + password).encode()
    for what, blob in blobs.items():
        forms['base64 of ' + what] = base64.b64encode(blob)
    # Base64 of the password at any alignment inside a longer payload: the groups that
    # only the password's bytes determine.
    for shift in range(3):
        enc = base64.b64encode(b'\0' * shift + password.encode())
        stable = enc[4 if shift else 0:-4]
        if len(stable) >= 12:
            forms['base64 of password at offset %d' % shift] = stable
    return forms


def assert_no_secret(r, user, password, authuser=None):
    blob = r.out_bytes + b'\n' + r.err_bytes
    for what, form in secret_forms(user, password, authuser).items():
        if form in blob:
            tap.fail('%s appears in the output\n%s' % (what, r))
    tap.check(re.search(rb'AUTHENTICATE', blob, re.I),
              '--debug all shows no AUTHENTICATE command: the test would prove nothing\n%s'
              % r)


@tap.test
def debug_all_never_shows_the_password():
    for mode in ('ssl', 'tls'):
        for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5'):
            r = run_check('carol', mode, ['--authmech', mech, '--debug', 'all'])
            assert_session(r, 'carol', shown_mechanism(r, mech), mode)
            assert_no_secret(r, 'carol', USERS['carol'])


@tap.test
def debug_categories_listed():
    r = run_check('alice', 'tls', ['--debug', 'imap,wire,auth'])
    assert_session(r, 'alice', 'CRAM-MD5', 'tls')
    tap.check('mailhaul: debug: ' in r.stderr, 'no debug output on stderr\n%s' % r)


@tap.test
def debug_all_with_passfile_and_master_user():
    dv = S['dv']
    path = cli.write_passfile(S['tmp'], MASTERS['admin'], 'admin-pass')
    r = cli.run(cli.check_args(dv, 'carol', 'ssl', extra=[
        '--authuser', 'admin', '--passfile', path, '--debug', 'all']))
    assert_session(r, 'carol', 'PLAIN', by='admin')
    assert_no_secret(r, 'carol', MASTERS['admin'], authuser='admin')


@tap.test
def debug_all_on_failed_login_never_shows_the_password():
    bad = 'Wrong-Canary-Qx81Lm'
    calls = [check_call('carol', 'ssl', ['--authmech', mech, '--debug', 'all'], password=bad)
             for mech in ('PLAIN', 'LOGIN', 'CRAM-MD5')]
    for r in cli.run_parallel(calls):
        cli.expect_error(r, cli.EXIT_AUTH)
        assert_no_secret(r, 'carol', bad)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
