#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for the user's web browser, for $BROWSER in mailhaul's OAuth2 tests.

    BROWSER=tests/oauth/fake-browser.py mailhaul login ...

Called with the URL as argv[1], it acts as the user on the test authorization server's real
pages (tests/oauth/server.mjs, devInteractions): it signs in as $MHTEST_BROWSER_LOGIN (default
alice), consents, and follows the final redirect to the client's loopback address like a
browser. A device verification URL (/device?user_code=...) is approved the same way.

Environment:
  MHTEST_BROWSER_LOGIN       the login name (the user; default alice)
  MHTEST_BROWSER_DENY=1      abort instead of consenting (the client gets access_denied)
  MHTEST_BROWSER_NOFOLLOW=1  stop before the loopback redirect (print it, as for pasting)
  MHTEST_BROWSER_LOG         append one line per call: the URL opened and the outcome
  MHTEST_BROWSER_WAIT=1      stay in the foreground (default: return at once and work in a
                             detached child, as xdg-open returns before the page loads)
"""
import os
import sys
import traceback
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))

from mhtest import oauth  # noqa: E402


class _Server:
    """Enough of an OAuthServer for approve_device: where the pages are."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.verification_uri = '%s://%s/device' % (parts.scheme, parts.netloc)


def _log(line):
    path = os.environ.get('MHTEST_BROWSER_LOG')
    if path:
        with open(path, 'a') as f:
            f.write(line.replace('\n', ' ') + '\n')


def act(url):
    login = os.environ.get('MHTEST_BROWSER_LOGIN', 'alice')
    deny = os.environ.get('MHTEST_BROWSER_DENY') == '1'
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if parts.path.rstrip('/') == '/device':
        code = (query.get('user_code') or [None])[0]
        if not code:
            raise SystemExit('fake-browser: a device URL without user_code: %s' % url)
        oauth.approve_device(_Server(url), code, login, deny=deny)
        return 'device %s %s' % (code, 'denied' if deny else 'approved')
    follow = os.environ.get('MHTEST_BROWSER_NOFOLLOW') != '1'
    final = oauth.approve_authorization(url, login, deny=deny, follow=follow)
    if not follow:
        print(final)
    return 'redirected %s' % final


def main():
    if len(sys.argv) < 2:
        print('usage: fake-browser.py URL', file=sys.stderr)
        return 2
    url = sys.argv[1]
    if os.environ.get('MHTEST_BROWSER_WAIT') != '1' and \
            os.environ.get('MHTEST_BROWSER_NOFOLLOW') != '1':
        if os.fork() > 0:
            return 0  # like xdg-open: the "browser" goes on by itself
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            _log('open %s -> %s' % (url, act(url)))
        except BaseException:
            _log('open %s -> error %s' % (url, traceback.format_exc()))
            os._exit(1)
        os._exit(0)
    try:
        _log('open %s -> %s' % (url, act(url)))
    except Exception as e:
        _log('open %s -> error %s' % (url, e))
        print('fake-browser: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
