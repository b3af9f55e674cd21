#!/usr/bin/env python3
"""The demo: two real Dovecot servers on loopback, a realistic sample mailbox on the
first, and mailhaul migrating it to the second, then resyncing after some changes."""
import os
import subprocess
import sys
import tempfile

import re

from mhtest import certs, corpus, dovecot, imapcheck, oauth, providerlike

MAILHAUL = os.environ['MAILHAUL']
BOLD = '\033[1m%s\033[0m' if sys.stdout.isatty() else '%s'


def say(text):
    print('\n' + BOLD % ('==> ' + text), flush=True)


def run(args, show):
    print('$ mailhaul ' + ' '.join(show), flush=True)
    return subprocess.run([MAILHAUL] + args).returncode


def account(side, server, user, passfile):
    return ['--host%d' % side, '127.0.0.1', '--port%d' % side, str(server.imaps_port),
            '--ssl%d' % side, '--user%d' % side, user, '--passfile%d' % side, passfile,
            '--cafile%d' % side, server.cafile]


def shown(args):
    """The command line as printed: temporary paths shortened."""
    return [os.path.basename(a) if a.startswith('/') else a for a in args]


def change_source(server):
    """New mail, flag changes and a deletion on the source, as a day of use would bring."""
    with imapcheck.session(server, 'alice') as conn:
        for mail in corpus.new_messages(seed=2, count=5):
            corpus.append_zoned(conn, 'INBOX', mail)
        conn.select('INBOX')
        conn.uid('STORE', '1:3', '+FLAGS', '(\\Flagged $Label1)')
        conn.uid('STORE', '4', '-FLAGS', '(\\Seen)')
    print('5 new messages in INBOX, 4 messages with changed flags', flush=True)


def oauth_demo(pki, tmp, dst, p2):
    """Sign-in with the device flow against a local OAuth2 server, then a sync that uses the
    stored token (XOAUTH2/OAUTHBEARER checked by Dovecot against that server)."""
    say('OAuth2: a local authorization server and a Dovecot that checks tokens with it')
    with oauth.OAuthServer(access_token_ttl=300, device_interval=1) as idp:
        src = dovecot.Dovecot(pki, users={'carol': 'unused'}, separator='/',
                              **oauth.dovecot_options(idp))
        with dovecot.running(src):
            src.preload('carol', {'INBOX': [imapcheck.make_message(900 + i) for i in range(8)]})
            cfg = os.path.join(tmp, 'config.ini')
            with open(cfg, 'w') as f:
                f.write('[provider demo]\nimap-host = 127.0.0.1\nimap-port = %d\n'
                        'imap-tls = ssl\ncafile = %s\ntoken-url = %s\ndevice-url = %s\n'
                        'revoke-url = %s\nscopes = %s\nclient-id = %s\nflow = device\n'
                        'token-store = file\n' % (
                            src.imaps_port, src.cafile, idp.token_endpoint,
                            idp.device_authorization_endpoint, idp.revocation_endpoint,
                            oauth.GOOGLE_SCOPE, idp.native_client_id))
            say('mailhaul login with the device flow (the demo approves the code itself, '
                'as you would in a browser)')
            print('$ mailhaul login demo:carol --config config.ini', flush=True)
            p = subprocess.Popen([MAILHAUL, 'login', 'demo:carol', '--config', cfg],
                                 stdout=subprocess.PIPE, text=True)
            code = None
            for line in p.stdout:
                print(line, end='', flush=True)
                m = re.search(r'enter the code (\S+)', line)
                code = m.group(1) if m else code
                if line.startswith('Waiting'):
                    break
            oauth.approve_device(idp, code, 'carol')
            print('(the demo approved code %s as carol on the authorization server)' % code,
                  flush=True)
            print(p.stdout.read(), end='', flush=True)
            if p.wait() != 0:
                return 1
            say('a sync that signs in with the stored token, no prompt')
            args = ['sync', 'demo:carol', '--config', cfg, '--folder', 'INBOX'] + \
                account(2, dst, 'bob', p2)
            return run(args, ['sync', 'demo:carol', '--config', 'config.ini', '--folder',
                              'INBOX'] + shown(account(2, dst, 'bob', p2)))


def provider_demo(pki, tmp):
    """Gmail to Microsoft 365, on servers laid out like them: labels copied once, Starred,
    Important, Spam and Trash left out, folders mapped by role, Exchange's fix-ups."""
    say('Gmail to Microsoft 365: two more Dovecots laid out like them')
    g = providerlike.gmail_like(pki, users={'alice': 'gmail-pw'})
    m = providerlike.m365_like(pki, users={'alice': 'm365-pw'}, exchange_greeting=True)
    with dovecot.running(g, m):
        seed = providerlike.seed_gmail(g, 'alice')
        labelled = sum(1 for x in seed.messages if len(x.labels) > 1)
        print('%d messages in Gmail-like labels, %d of them with several labels'
              % (len(seed.messages), labelled), flush=True)
        p1, p2 = os.path.join(tmp, 'gmail.pass'), os.path.join(tmp, 'm365.pass')
        for path, pw in ((p1, 'gmail-pw'), (p2, 'm365-pw')):
            with open(path, 'w') as f:
                f.write(pw + '\n')
            os.chmod(path, 0o600)
        args = account(1, g, 'alice', p1) + account(2, m, 'alice', p2)
        say('the migration, with --gmail1 (the destination is detected by its greeting)')
        rc = run(['sync', '--gmail1'] + args, ['sync', '--gmail1'] + shown(args))
        say('verify knows the labels too')
        return rc or run(['verify', '--gmail1'] + args, ['verify', '--gmail1'] + shown(args))


def private_dirs(tmp):
    """Points mailhaul's state, config, data (the file token store) and cache at the demo's
    temporary directory, and hides the user's D-Bus session, so that nothing the demo runs
    reads or writes the user's config, state, token store or keyring."""
    for var, sub in (('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                     ('XDG_DATA_HOME', 'data'), ('XDG_CACHE_HOME', 'cache')):
        os.environ[var] = os.path.join(tmp, sub)
        os.mkdir(os.environ[var], 0o700)
    for var in [v for v in os.environ if v.startswith('MAILHAUL_')] + \
            ['DBUS_SESSION_BUS_ADDRESS']:
        os.environ.pop(var, None)


def main():
    pki = certs.TestPKI()
    with tempfile.TemporaryDirectory(prefix='mailhaul-demo-') as tmp:
        private_dirs(tmp)
        say('starting two private Dovecot IMAP servers on 127.0.0.1 (separators / and .)')
        with dovecot.Dovecot(pki=pki, users={'alice': 'source-pw'}, separator='/') as src, \
                dovecot.Dovecot(pki=pki, users={'bob': 'dest-pw'}, separator='.') as dst:
            c = corpus.generate(seed=1, scale=300, sep='/')
            say('filling the source with a sample mailbox: %d messages, %.1f MB, %d folders'
                % (c.messages, c.bytes / 1e6, len(c.folders)))
            corpus.load(src, 'alice', c.folders)
            p1, p2 = os.path.join(tmp, 'alice.pass'), os.path.join(tmp, 'bob.pass')
            for path, pw in ((p1, 'source-pw'), (p2, 'dest-pw')):
                with open(path, 'w') as f:
                    f.write(pw + '\n')
                os.chmod(path, 0o600)
            args = account(1, src, 'alice', p1) + account(2, dst, 'bob', p2)
            say('the migration: every folder and message, with flags and dates')
            first = run(['sync'] + args, ['sync'] + shown(args))
            say('changes on the source')
            change_source(src)
            say('the same command again: only what changed is carried over')
            second = run(['sync'] + args, ['sync'] + shown(args))
            say('an independent comparison of both sides')
            third = run(['verify'] + args, ['verify'] + shown(args))
            fourth = oauth_demo(pki, tmp, dst, p2) if oauth.available() is None else 0
        fifth = provider_demo(pki, tmp)
        say('servers stopped; nothing is left running')
    pki.close()
    return 0 if (first, second, third, fourth, fifth) == (0, 0, 0, 0, 0) else 1


if __name__ == '__main__':
    sys.exit(main())
