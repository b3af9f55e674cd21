#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` errors that need no IMAP server: usage errors (64), unreachable servers
(10: refused, unresolvable, timed out). Each ends with exactly one "mailhaul: error:" line."""
import socket
import time

from mhtest import cli, ports, tap

BASE = ['check', '--host', '127.0.0.1', '--port', '1', '--ssl', '--user', 'alice']
PW = {'password_env': 'some-password'}


def usage_test(name, args):
    def t():
        r = cli.run(args, **PW)
        cli.expect_error(r, cli.EXIT_USAGE)
    tap.test(t, name='usage_' + name)


usage_test('unknown_option', BASE + ['--no-such-option'])
usage_test('unknown_option_justlogin', ['--justlogin', '--host1', '127.0.0.1',
                                        '--user1', 'alice', '--bogus1'])
usage_test('missing_value_at_end', ['check', '--user', 'alice', '--host'])
usage_test('missing_value_port', ['check', '--host', '127.0.0.1', '--user', 'alice', '--port'])
usage_test('missing_host', ['check', '--user', 'alice', '--ssl'])
usage_test('missing_user', ['check', '--host', '127.0.0.1', '--ssl'])
usage_test('missing_host_justlogin', ['--justlogin', '--user1', 'alice'])
usage_test('missing_user_justlogin', ['--justlogin', '--host1', '127.0.0.1'])
usage_test('port_not_a_number', ['check', '--host', '127.0.0.1', '--port', 'imaps',
                                 '--user', 'alice'])
usage_test('port_out_of_range', ['check', '--host', '127.0.0.1', '--port', '99999',
                                 '--user', 'alice'])
usage_test('tls_modes_exclude_each_other', BASE + ['--tls'])
usage_test('unknown_authmech', BASE + ['--authmech', 'DIGEST-MD5'])
usage_test('unknown_debug_category', BASE + ['--debug', 'no-such-category'])
usage_test('unknown_command', ['no-such-command', '--host', '127.0.0.1', '--user', 'alice'])


@tap.test
def usage_no_password_and_no_terminal():
    # No --passfile, no MAILHAUL_PASSWORD, no --password, and stdin is not a terminal.
    r = cli.run(BASE)
    cli.expect_error(r, cli.EXIT_USAGE, ('password', 'passfile'))


@tap.test
def usage_error_names_the_option():
    r = cli.run(BASE + ['--no-such-option'], **PW)
    cli.expect_error(r, cli.EXIT_USAGE, '--no-such-option')


@tap.test
def help_succeeds():
    r = cli.run(['check', '--help'])
    tap.eq(r.code, 0, 'exit code of check --help')
    tap.check('--host' in r.stdout and '--cafile' in r.stdout,
              'check --help does not describe --host and --cafile\n%s' % r)


@tap.test
def connection_refused():
    with ports.refusing_port() as port:
        for mode in ('--ssl', '--tls', '--notls'):
            r = cli.run(['check', '--host', '127.0.0.1', '--port', port, mode,
                         '--user', 'alice'], **PW)
            cli.expect_error(r, cli.EXIT_CONNECT, ('refused', 'connect'))


@tap.test
def host_not_resolvable():
    r = cli.run(['check', '--host', 'no-such-host.invalid', '--port', '993', '--ssl',
                 '--user', 'alice'], **PW)
    cli.expect_error(r, cli.EXIT_CONNECT, 'no-such-host.invalid')


@tap.test
def silent_server_times_out():
    # A listening socket that never accepts: the TCP connection is made by the kernel, the
    # greeting never comes.
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        srv.bind((ports.LOOPBACK, 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        t0 = time.monotonic()
        r = cli.run(['check', '--host', '127.0.0.1', '--port', port, '--notls',
                     '--user', 'alice', '--timeout', '2'], timeout=60, **PW)
        took = time.monotonic() - t0
        cli.expect_error(r, cli.EXIT_CONNECT, ('timed out', 'timeout', 'no answer', 'within 2'))
        tap.check(took < 15, '--timeout 2 took %.1f s' % took)
    finally:
        srv.close()


if __name__ == '__main__':
    tap.main()
