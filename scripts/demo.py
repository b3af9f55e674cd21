#!/usr/bin/env python3
"""The demo: a real Dovecot on loopback with a sample mailbox, and mailhaul against it."""
import os
import subprocess
import sys
import tempfile

from mhtest import certs, dovecot, imapcheck

MAILHAUL = os.environ['MAILHAUL']


def say(text):
    print('\n\033[1m==> %s\033[0m' % text if sys.stdout.isatty() else '\n==> %s' % text,
          flush=True)


def run(args, env=None):
    print('$ mailhaul ' + ' '.join(args[1:]), flush=True)
    return subprocess.run(args, env=env).returncode


def sample_mailbox():
    msg = imapcheck.make_message
    return {
        'INBOX': [msg(i) for i in range(12)],
        'Work/Projects': [msg(100 + i, subject='Project update %d' % i) for i in range(5)],
        'Work/Reports 2019': [msg(200 + i, size=20000) for i in range(3)],
        'Entwürfe': [msg(300)],
        'Sent': [msg(400 + i) for i in range(4)],
    }


def main():
    with tempfile.TemporaryDirectory(prefix='mailhaul-demo-') as tmp:
        say('starting a private Dovecot IMAP server on 127.0.0.1 with its own test CA')
        pki = certs.TestPKI()
        with dovecot.Dovecot(pki=pki, users={'alice': 'demo-password'}) as server:
            say('filling the mailbox of alice with folders and messages')
            server.preload('alice', sample_mailbox())
            passfile = os.path.join(tmp, 'pass')
            with open(passfile, 'w') as f:
                f.write('demo-password\n')
            os.chmod(passfile, 0o600)
            say('mailhaul check over STARTTLS, certificate checked against the test CA')
            rc = run([MAILHAUL, 'check', '--host', '127.0.0.1', '--port',
                      str(server.imap_port), '--tls', '--user', 'alice', '--passfile',
                      passfile, '--cafile', server.cafile])
            say('the same without the CA: mailhaul refuses an untrusted certificate')
            bad = run([MAILHAUL, 'check', '--host', '127.0.0.1', '--port',
                       str(server.imaps_port), '--ssl', '--user', 'alice', '--passfile',
                       passfile])
            print('(exit code %d)' % bad)
            say('a wrong password: exit code 16 and the server\'s own words')
            with open(passfile, 'w') as f:
                f.write('not-the-password\n')
            wrong = run([MAILHAUL, 'check', '--host', '127.0.0.1', '--port',
                         str(server.imaps_port), '--ssl', '--user', 'alice', '--passfile',
                         passfile, '--cafile', server.cafile])
            print('(exit code %d)' % wrong)
        pki.close()
        say('server stopped; copying mail between servers (mailhaul sync) comes next')
    return 0 if rc == 0 and bad == 12 and wrong == 16 else 1


if __name__ == '__main__':
    sys.exit(main())
