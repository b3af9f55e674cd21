# SPDX-License-Identifier: MIT
"""A tiny TAP producer for meson's `protocol: 'tap'`.

    from mhtest import tap

    @tap.test
    def login_with_plain():
        tap.eq(result.code, 0, 'exit code')

    if __name__ == '__main__':
        tap.main(setup=start_servers)   # setup: optional context manager factory

main() prints `1..N` (or `1..0 # SKIP` when a required program is missing), runs every
registered test in order and prints `ok N - name` or `not ok N - name` followed by the
failure as `# ` lines, and exits 0 only if every test passed.
A test may call tap.skip(reason) only when a part is genuinely unavailable; it is reported as
`ok N - name # SKIP reason`. If setup raises, every test fails with that error (nothing runs
against half-started servers). Assertion helpers raise tap.Failure with a readable message;
a plain `assert` or any other exception fails the test too (with its traceback).
"""
import contextlib
import fnmatch
import re
import os
import sys
import time
import traceback

_tests = []


class Failure(AssertionError):
    pass


class Skip(Exception):
    pass


def test(fn=None, *, name=None):
    """Decorator: register fn as a test, named after the function (or name=)."""
    def register(f):
        _tests.append((name or f.__name__, f))
        return f
    return register(fn) if fn is not None else register


def skip(reason):
    raise Skip(reason)


def fail(message):
    raise Failure(message)


def check(cond, message):
    if not cond:
        raise Failure(message)


def eq(got, expected, what='value'):
    if got != expected:
        raise Failure('%s: expected %r, got %r' % (what, expected, got))


def match(pattern, text, what='output', flags=re.M):
    """Assert that regex pattern is found in text; return the match object."""
    m = re.search(pattern, text, flags)
    if m is None:
        raise Failure('%s does not match /%s/:\n%s' % (what, pattern, text))
    return m


def contains(needle, haystack, what='output'):
    if needle not in haystack:
        raise Failure('%s does not contain %r:\n%s' % (what, needle, haystack))


def not_contains(needle, haystack, what='output'):
    if needle in haystack:
        raise Failure('%s contains %r but must not' % (what, needle))


def diag(text):
    """Print text as TAP diagnostic lines (to stdout, '# ' prefixed)."""
    for line in str(text).splitlines() or ['']:
        print('# ' + line)
    sys.stdout.flush()


def _report(n, name, ok, extra='', details=None):
    print('%s %d - %s%s' % ('ok' if ok else 'not ok', n, name, extra))
    if details:
        diag(details.rstrip('\n'))
    sys.stdout.flush()


def skip_all(reason):
    """Skip the whole file (a part it needs is genuinely unavailable here) and exit."""
    print('1..0 # SKIP %s' % reason)
    sys.stdout.flush()
    sys.exit(0)


def main(tests=None, setup=None, requires=()):
    """Run the registered tests (or the given list of (name, fn)) and exit.

    requires: programs that must be on PATH (such as 'dovecot'); if one is missing the whole
    file is skipped ("1..0 # SKIP"), which is only right for parts genuinely unavailable
    on this machine (scripts/test installs them).
    """
    import shutil
    from . import cleanup
    missing = [p for p in requires if shutil.which(p) is None]
    if missing:
        skip_all('not installed: %s' % ', '.join(missing))
    cleanup.install()
    tests = list(_tests if tests is None else tests)
    only = os.environ.get('MH_TEST_ONLY')
    if only:
        patterns = only.split(',')
        tests = [t for t in tests if any(fnmatch.fnmatchcase(t[0], p) for p in patterns)]
    print('1..%d' % len(tests))
    sys.stdout.flush()
    failed = 0
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        setup_error = None
        if setup is not None:
            try:
                stack.enter_context(setup())
            except Exception:
                setup_error = 'setup failed:\n' + traceback.format_exc()
        for n, (name, fn) in enumerate(tests, 1):
            if setup_error is not None:
                failed += 1
                _report(n, name, False, details=setup_error if n == 1 else
                        'setup failed (see test 1)')
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Skip as e:
                _report(n, name, True, ' # SKIP %s' % e)
            except Failure as e:
                failed += 1
                _report(n, name, False, details=str(e))
            except Exception:
                failed += 1
                _report(n, name, False, details=traceback.format_exc())
            else:
                _report(n, name, True)
            dt = time.monotonic() - t0
            if dt > 5:
                diag('%s took %.1f s' % (name, dt))
    diag('%d of %d passed in %.1f s' % (len(tests) - failed, len(tests),
                                        time.monotonic() - start))
    sys.exit(1 if failed else 0)
