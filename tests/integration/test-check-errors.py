#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` errors that need no IMAP server: usage errors (64), unreachable servers
(10: refused, unresolvable, timed out). Each ends with exactly one "mailhaul: error:" line.
Also `mailhaul sync --search` values that are not IMAP search keys: refused before any
connection is made."""
import select
import socket
import subprocess
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
def sync_search_with_a_line_break_is_refused_before_connecting():
    # A server that would see the injected command if anything connected to it.
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(8)
    lsock.setblocking(False)
    port = lsock.getsockname()[1]
    side = ['--host1', '127.0.0.1', '--port1', port, '--notls1', '--user1', 'alice',
            '--host2', '127.0.0.1', '--port2', port, '--notls2', '--user2', 'bob']
    try:
        for search, words in (('ALL\r\nX1 CREATE chaos-inj', ('--search', 'line break')),
                              ('ALL\nX1 DELETE INBOX', ('--search', 'line break')),
                              ('ALL X1 DELETE INBOX', ('--search', 'not an IMAP search key',
                                                         'X1'))):
            r = cli.run(['sync'] + side + ['--search', search], **PW)
            line = cli.expect_error(r, cli.EXIT_USAGE, *words)
            tap.check('\r' not in line and 'CREATE' not in line.split('near')[0],
                      'the error line repeats the injected text: %r' % line)
        try:
            conn, _ = lsock.accept()
            conn.close()
            tap.fail('mailhaul connected although --search was refused')
        except BlockingIOError:
            pass
    finally:
        lsock.close()
    # Valid criteria pass the check and reach the connection (refused here: exit 10).
    with ports.refusing_port() as port:
        side[side.index('--port1') + 1] = side[side.index('--port2') + 1] = port
        r = cli.run(['sync'] + side + ['--search', 'SINCE 1-Jan-2020 NOT (DELETED OR '
                                       'FROM "a b" LARGER 10)'], **PW)
        tap.check(r.code == cli.EXIT_CONNECT and 'refused' in r.stderr,
                  'valid --search did not reach the connection\n%s' % r)


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
            tap.check(r.code == cli.EXIT_CONNECT and 'refused' in r.stderr,
                  'valid --search did not reach the connection\n%s' % r)


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


def cmdline_while_waiting(args, secret):
    """Starts mailhaul against a server that never greets and returns what
    /proc/PID/cmdline shows while it waits, as every local user may read it."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind((ports.LOOPBACK, 0))
    srv.listen(8)
    port = str(srv.getsockname()[1])
    args = [a.replace('PORT', port) for a in args]
    p = subprocess.Popen([cli.binary()] + args, env=cli.environment(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    seen = []
    try:
        # Once it connects it has parsed its options (the wipe comes before that); the
        # moment between exec and main() cannot be helped.
        ready, _, _ = select.select([srv], [], [], 30)
        tap.check(ready, 'mailhaul did not connect within 30 s')
        for _ in range(20):
            if p.poll() is not None:
                break
            with open('/proc/%d/cmdline' % p.pid, 'rb') as f:
                seen.append(f.read())
            time.sleep(0.02)
    finally:
        p.kill()
        p.wait()
        srv.close()
    tap.check(len(seen) >= 10, 'mailhaul ended before its command line could be read')
    leaked = [c for c in seen if secret.encode() in c]
    tap.check(not leaked, '%d of %d readings of /proc/PID/cmdline show the secret: %r' % (
        len(leaked), len(seen), leaked[:1]))
    return seen[-1]


@tap.test
def password_on_the_command_line_is_wiped_from_the_process_list():
    last = cmdline_while_waiting(['check', '--host', '127.0.0.1', '--port', 'PORT', '--notls',
                                  '--user', 'alice', '--password', 'Zebra-Canary-5823',
                                  '--timeout', '10'], 'Zebra-Canary-5823')
    tap.check(b'--password' in last and b'alice' in last,
              'the rest of the command line was wiped too: %r' % last)
    cmdline_while_waiting(['sync', '--host1', '127.0.0.1', '--port1', 'PORT', '--notls1',
                           '--user1', 'alice', '--password1=Yak-Canary-1137', '--host2',
                           '127.0.0.1', '--port2', 'PORT', '--notls2', '--user2', 'bob',
                           '--oauthaccesstoken2', 'ya29.Token-Canary-7741', '--timeout1', '10',
                           '--timeout2', '10'], 'Canary')


if __name__ == '__main__':
    tap.main()
