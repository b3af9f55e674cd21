#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` and TLS against real Dovecot: certificates from the run's test CA are
rejected without --cafile and accepted with it, --insecure works with a warning, a certificate
for another host name is rejected even with --cafile, and --tls insists on STARTTLS."""
import contextlib

from mhtest import certs, cli, dovecot, tap

USER, PASSWORD = 'alice', 'Alice-tls-pw-3310'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, certs.TestPKI() as other_pki:
        good = dovecot.Dovecot(pki, users={USER: PASSWORD})
        wrong = dovecot.Dovecot(pki, users={USER: PASSWORD}, cert='wrong')
        plain = dovecot.Dovecot(None, users={USER: PASSWORD}, ssl='no')
        with dovecot.running(good, wrong, plain):
            S.update(good=good, wrong=wrong, plain=plain, other_ca=other_pki.ca)
            yield


def run(server, mode, cafile=True, extra=()):
    return cli.run(cli.check_args(server, USER, mode, cafile=cafile, extra=extra),
                   password_env=PASSWORD)


def assert_logged_in(r, mode):
    cli.expect_ok(r)
    out = cli.parse_check(r.stdout)
    tap.check(out.authenticated is not None and out.authenticated[0] == USER,
              'no "Authenticated as %s" line\n%s' % (USER, r))
    tap.check('INBOX' in out.folders, 'INBOX not listed\n%s' % r)
    if mode == 'tls':
        tap.check(out.connected and 'STARTTLS' in out.connected[2].upper(),
                  'connection line does not say STARTTLS\n%s' % r)
    return out


@tap.test
def untrusted_certificate_rejected_implicit_tls():
    r = run(S['good'], 'ssl', cafile=None)
    cli.expect_error(r, cli.EXIT_TLS, 'not trusted', '--cafile')


@tap.test
def untrusted_certificate_rejected_starttls():
    r = run(S['good'], 'tls', cafile=None)
    cli.expect_error(r, cli.EXIT_TLS, 'not trusted', '--cafile')


@tap.test
def certificate_from_another_ca_rejected():
    for mode in ('ssl', 'tls'):
        r = run(S['good'], mode, cafile=S['other_ca'])
        cli.expect_error(r, cli.EXIT_TLS, 'not trusted')


@tap.test
def cafile_makes_certificate_trusted():
    for mode in ('ssl', 'tls'):
        assert_logged_in(run(S['good'], mode), mode)


@tap.test
def cafile_missing_is_an_error():
    path = '/nonexistent/mhtest-ca.pem'
    r = run(S['good'], 'ssl', cafile=path)
    tap.check(r.code in (cli.EXIT_TLS, cli.EXIT_NOINPUT),
              'a missing --cafile should end with exit 12 or 66\n%s' % r)
    cli.expect_error(r, r.code, path, ('No such file', 'not found', 'does not exist',
                                       'cannot open', 'cannot read'))


@tap.test
def cafile_not_pem_is_an_error():
    path = cli.write_passfile(cli.scratch_dir(), 'this is not a certificate', 'not-a-ca.pem')
    r = run(S['good'], 'ssl', cafile=path)
    tap.check(r.code in (cli.EXIT_TLS, cli.EXIT_NOINPUT),
              'a --cafile without certificates should end with exit 12 or 66\n%s' % r)
    cli.expect_error(r, r.code, path)


@tap.test
def insecure_accepted_with_warning():
    for mode in ('ssl', 'tls'):
        r = run(S['good'], mode, cafile=None, extra=['--insecure'])
        assert_logged_in(r, mode)
        tap.check(r.warning_lines, 'no warning for --insecure\n%s' % r)


@tap.test
def insecure_also_accepts_wrong_host_name():
    r = run(S['wrong'], 'ssl', cafile=None, extra=['--insecure'])
    assert_logged_in(r, 'ssl')
    tap.check(r.warning_lines, 'no warning for --insecure\n%s' % r)


@tap.test
def host_name_mismatch_rejected_implicit_tls():
    r = run(S['wrong'], 'ssl')
    cli.expect_error(r, cli.EXIT_TLS, 'does not match', '127.0.0.1')


@tap.test
def host_name_mismatch_rejected_starttls():
    r = run(S['wrong'], 'tls')
    cli.expect_error(r, cli.EXIT_TLS, 'does not match', '127.0.0.1')


@tap.test
def host_name_mismatch_by_dns_name():
    dv = S['wrong']
    args = cli.check_args(dv, USER, 'ssl')
    args[args.index('--host') + 1] = 'localhost'
    r = cli.run(args, password_env=PASSWORD)
    cli.expect_error(r, cli.EXIT_TLS, 'does not match', 'localhost')


@tap.test
def dns_name_in_certificate_accepted():
    # The good certificate names DNS:localhost; Dovecot listens on 127.0.0.1 only, so this
    # also needs the client to try every address localhost resolves to.
    dv = S['good']
    for mode in ('ssl', 'tls'):
        args = cli.check_args(dv, USER, mode)
        args[args.index('--host') + 1] = 'localhost'
        assert_logged_in(cli.run(args, password_env=PASSWORD), mode)


@tap.test
def starttls_required_but_not_offered():
    r = run(S['plain'], 'tls', cafile=None)
    cli.expect_error(r, cli.EXIT_TLS, 'STARTTLS')


@tap.test
def cleartext_when_asked_for():
    r = run(S['plain'], 'notls', cafile=None)
    out = assert_logged_in(r, 'notls')
    tap.check(out.connected is not None and 'TLS' not in (out.connected[3] or ''),
              'a cleartext connection is shown with a TLS version\n%s' % r)


@tap.test
def implicit_tls_to_a_cleartext_port_fails():
    # A TLS handshake against a port that speaks cleartext IMAP: not a certificate problem,
    # but still no session; the error must be a TLS or connection error, not a crash.
    dv = S['plain']
    args = cli.check_args(dv, USER, 'notls', cafile=None)
    args[args.index('--notls')] = '--ssl'
    r = cli.run(args, password_env=PASSWORD, timeout=60)
    tap.check(r.code in (cli.EXIT_CONNECT, cli.EXIT_TLS, cli.EXIT_PROTOCOL),
              'expected exit 10, 12 or 76\n%s' % r)
    tap.eq(len(r.error_lines), 1, 'number of error lines')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
