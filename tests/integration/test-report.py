#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The reports people read, against real Dovecot ('/' source, '.' destination): a sync, a
verify that finds a missing and an extra message, a sync into a Dovecot over quota (a
failed message) and budget pauses each write `--report FILE.json --report FILE.html`. The
JSON is validated against docs/report-schema.json (python3-jsonschema), which must reject
a report with a property it does not describe. The HTML page is opened in a real headless
Chromium (Debian's `chromium`; as root it runs with --no-sandbox): it renders (a non-empty
screenshot), says the verdict, shows the same figures as the JSON of the same run (read
from its data-* attributes in the DOM Chromium built) and keeps a hostile subject as text.
A 500-folder verify renders in reasonable time with the folders that differ first. The
log tells what happened on its own: accounts, every folder, every skipped and failed
message, totals, duration and verdict, each line with a timestamp."""
import contextlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from mhtest import certs, cli, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Report-src-pw-8101', 'Report-dst-pw-8102'
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs',
                      'report-schema.json')
HOSTILE = '<script>alert("x")</script> & \'single\' "double" <b>bold</b>'
USERS = ('rep', 'wait', 'many', 'inc')
MANY = 500
S = {}


def messages():
    inbox = [imapcheck.make_message(n, subject='Note %d' % n) for n in range(1, 5)]
    inbox.append(imapcheck.make_message(5, subject='Note 5'))
    inbox.append(imapcheck.make_message(6, subject=HOSTILE, size=60000))  # over --maxsize
    work = [imapcheck.make_message(n, subject='Project %d' % n, size=4000) for n in (10, 11, 12)]
    return {'INBOX': inbox, 'Work/Projects': work}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in USERS + ('q',)}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in USERS}, separator='.')
        quota = dovecot.Dovecot(pki, users={'q': PW2}, separator='.', quota='1M')
        with dovecot.running(src, dst, quota):
            S.update(src=src, dst=dst, quota=quota, msgs=messages())
            src.preload('rep', S['msgs'])
            yield


# -- checking tools -------------------------------------------------------------------------

def validator():
    try:
        import jsonschema
    except ImportError:
        tap.skip('python3-jsonschema is not installed (scripts/test installs it)')
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(report):
    return ['%s: %s' % ('/'.join(str(p) for p in e.absolute_path), e.message)
            for e in validator().iter_errors(report)]


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    tap.skip('Chromium is not installed (Debian package chromium; scripts/test installs it)')


def browse(page, *what, timeout=120):
    """Runs headless Chromium on file `page`: returns (stdout, seconds)."""
    profile = tempfile.mkdtemp(prefix='mhtest-chromium-')
    args = [chromium(), '--headless', '--disable-gpu', '--no-first-run',
            '--disable-extensions', '--disable-dev-shm-usage', '--user-data-dir=' + profile]
    if os.geteuid() == 0:
        args.append('--no-sandbox')  # Chromium refuses to start as root with its sandbox
    t0 = time.monotonic()
    try:
        p = subprocess.run(args + list(what) + ['file://' + os.path.abspath(page)],
                           capture_output=True, timeout=timeout,
                           env=dict(os.environ, HOME=profile))
    except subprocess.TimeoutExpired:
        tap.fail('Chromium did not finish within %d s on %s' % (timeout, page))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    took = time.monotonic() - t0
    if p.returncode != 0:
        tap.fail('Chromium could not start or render (exit %d%s):\n%s' % (
            p.returncode, ', running as root with --no-sandbox' if os.geteuid() == 0 else '',
            p.stderr.decode(errors='replace')[-3000:]))
    return p.stdout.decode(errors='replace'), took


def screenshot(page, png):
    browse(page, '--screenshot=' + png, '--window-size=1280,2000', '--hide-scrollbars')
    with open(png, 'rb') as f:
        data = f.read()
    tap.check(data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 20000,
              'the screenshot of %s is empty or no PNG (%d bytes)' % (page, len(data)))
    return len(data)


class Dom(html.parser.HTMLParser):
    """What the test reads from the DOM Chromium dumped: elements with data-* attributes
    (with the text of the innermost open one), open <details>, script elements."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.stack, self.scripts, self.ids = [], [], 0, {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        el = {'tag': tag, 'attrs': a, 'text': '', 'parents': list(self.stack), 'cells': {}}
        if 'data-key' in a:
            v = a['data-value']
            for p in self.stack:
                p['cells'][a['data-key']] = float(v) if '.' in v else int(v)
        if tag == 'script':
            self.scripts += 1
        if 'id' in a:
            self.ids[a['id']] = el
        self.elements.append(el)
        if tag not in ('br', 'meta', 'img', 'input', 'link', 'hr'):
            self.stack.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]['tag'] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for el in self.stack:
            el['text'] += data

    def rows(self, cls):
        return [e for e in self.elements if e['tag'] == 'tr' and
                cls in e['attrs'].get('class', '').split()]

    def cells(self, row):
        """{data-key: int or float value} of the cells inside `row`."""
        return row['cells']


def check_html_matches_json(checks, page, report):
    """The page's verdict and figures against the JSON report of the same run."""
    dom_text, took = browse(page, '--dump-dom')
    dom = Dom(dom_text)
    verdict = dom.ids.get('verdict')
    checks.check(verdict is not None, 'the page has no verdict element')
    if verdict is None:
        return dom
    checks.eq(verdict['attrs'].get('data-ok'), 'true' if report['ok'] else 'false', 'data-ok')
    checks.eq(int(verdict['attrs'].get('data-exit-code', -1)), report['exit_code'],
              'data-exit-code')
    checks.check((report['verdict'] or '') in ' '.join(verdict['text'].split()),
                 'the verdict %r is not on the page: %r' % (report['verdict'], verdict['text']))
    totals = dom.rows('total')
    checks.eq(len(totals), 1, 'total rows')
    for key, value in dom.cells(totals[0]).items() if totals else ():
        checks.eq(value, report['totals'][key], 'total %s on the page' % key)
    rows = {r['attrs']['data-folder']: r for r in dom.rows('folder')}
    checks.eq(sorted(rows), sorted(f['source'] for f in report['folders']), 'folders on the page')
    for f in report['folders']:
        row = rows.get(f['source'])
        if row is None:
            continue
        shown = dom.cells(row)
        want = {k: f[k] for k in ('source_messages', 'destination_messages', 'source_bytes',
                                  'destination_bytes', 'copied', 'failed', 'missing', 'extra')}
        want['skipped'] = len(f['skipped'])
        got = {k: shown.get(k) for k in want}
        checks.eq(got, want, 'figures of folder %s on the page' % f['source'])
    for kind, key in (('missing', 'missing_messages'), ('extra', 'extra_messages'),
                      ('skipped', 'skipped'), ('failed', 'failed_messages')):
        want = sorted((m['folder'], m['uid'], m['size']) for f in report['folders']
                      for m in f[key])
        got = sorted((e['attrs']['data-folder'], int(e['attrs']['data-uid']),
                      int(e['attrs']['data-size'])) for e in dom.elements
                     if e['tag'] == 'tr' and e['attrs'].get('data-kind') == kind)
        checks.eq(got, want, '%s messages on the page' % kind)
    waits = [e for e in dom.elements if e['attrs'].get('class') == 'wait']
    checks.eq(len(waits), len(report['wait_timeline']), 'waits on the page')
    checks.eq(dom.scripts, 0, 'script elements in the DOM (a subject got out of its text)')
    tap.diag('%s: rendered by Chromium in %.1f s' % (os.path.basename(page), took))
    return dom


def check_log(checks, r, *words):
    """The log has timestamped lines and tells what happened."""
    with open(r.log_path, errors='replace') as f:
        log = f.read()
    lines = log.splitlines()
    stamp = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (info|warning|error|debug): ')
    checks.check(lines and all(stamp.match(line) for line in lines),
                 'log lines without a timestamp:\n%s' % '\n'.join(
                     line for line in lines if not stamp.match(line))[:2000])
    for w in ('run: mailhaul', 'options:', 'totals:', 'duration:', 'Verdict:') + words:
        checks.check(w in log, 'the log does not say %r:\n%s' % (w, log[-3000:]))
    return log


def reports(job, name):
    html_path = os.path.join(job.dir, name + '.html')
    return html_path, ['--report', html_path]


def load_folders(server, user, folders):
    """Creates the folders and appends their messages over one IMAP session (many small
    folders load faster so than with doveadm's one process per folder)."""
    with imapcheck.session(server, user) as conn:
        for name, msgs in folders.items():
            if name != 'INBOX':
                imapcheck.create_folder(conn, name, subscribe=False)
            for body in msgs:
                imapcheck.append(conn, name, body)


# -- the tests ------------------------------------------------------------------------------

@tap.test
def sync_report_names_accounts_options_and_skipped_messages():
    src, dst = S['src'], S['dst']
    job = S['job'] = Job(src, 'rep', dst, 'rep', name='report-sync')
    page, extra = reports(job, 'sync')
    r = job.run('--maxsize', '50000', *extra)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'sync with a message over --maxsize')
    rep = r.need_report()
    checks.eq(schema_errors(rep), [], 'schema errors of the sync report')
    side = rep['accounts']['source']
    checks.eq((side['user'], side['host'], side['port'], side['tls'], side['provider']),
              ('rep', src.host, src.port('ssl'), 'implicit', 'generic'), 'the source account')
    checks.eq(rep['accounts']['destination']['port'], dst.port('ssl'), 'destination port')
    for key in ('started', 'ended'):
        checks.check(re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$',
                              rep.get(key) or ''), '%s is no ISO 8601 time with its offset: '
                     '%r' % (key, rep.get(key)))
    checks.eq(rep['options']['maxsize'], 50000, 'options.maxsize')
    checks.eq(rep['options']['delete2'], False, 'options.delete2')
    checks.eq(rep['mailhaul'], re.search(r'[\d.]+', cli.run(['--version']).stdout).group(0),
              'the version')
    skipped = r.folder('INBOX')['skipped']
    big = S['msgs']['INBOX'][5]
    checks.eq([(s['subject'], s['size'], s['folder']) for s in skipped],
              [(HOSTILE, len(big), 'INBOX')], 'the skipped message')
    checks.check(all(s['message_id'] and s['date'] and 'maxsize' in s['reason'].lower() or
                     'larger' in s['reason'] for s in skipped), 'skipped: %r' % skipped)
    checks.eq(rep['totals']['skipped'], 1, 'totals.skipped')
    secrets = open(job.passfile1).read().strip(), open(job.passfile2).read().strip()
    for path in (r.report_path, page, r.log_path):
        with open(path, errors='replace') as f:
            text = f.read()
        checks.check(not any(s in text for s in secrets), 'a password is in ' + path)
    with open(page) as f:
        raw = f.read()
    checks.check('<script' not in raw and 'http://' not in raw and 'https://' not in raw and
                 ' src=' not in raw, 'the page has a script or an external reference')
    checks.check('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;single&#39;' in raw,
                 'the hostile subject is not escaped in the page')
    dom = check_html_matches_json(checks, page, rep)
    shown = [e['text'] for e in dom.elements if e['attrs'].get('class') == 'subject']
    checks.check(HOSTILE in shown, 'the hostile subject is not shown as text: %r' % shown)
    size = screenshot(page, os.path.join(job.dir, 'sync.png'))
    tap.diag('screenshot of the sync report: %d bytes' % size)
    check_log(checks, r, 'folder INBOX', 'folder Work/Projects -> Work.Projects',
              'skipped: INBOX UID', 'Subject <script>alert("x")</script>')
    S['sync_report'] = r.report_path
    checks.done()


@tap.test
def verify_report_names_the_missing_and_the_extra_message():
    dst = S['dst']
    job = S['job']
    inbox = S['msgs']['INBOX']
    with imapcheck.session(dst, 'rep') as conn:
        uids = synctest.uids(conn, 'INBOX')
        conn.uid('STORE', str(uids[0]), '+FLAGS', '(\\Deleted)')
        conn.expunge()
        imapcheck.append(conn, 'INBOX', inbox[1])  # Note 2, twice now
    page, extra = reports(job, 'verify')
    r = job.run(*extra, command='verify', state=False)
    checks = Checks()
    checks.attach(r)
    checks.code(r, synctest.EXIT_DIFFERENCES, 'verify with a missing and an extra message')
    rep = r.need_report()
    checks.eq(schema_errors(rep), [], 'schema errors of the verify report')
    f = r.folder('INBOX')
    # verify knows nothing of the sync's --maxsize: the message it skipped is missing too
    checks.eq([m['subject'] for m in f['missing_messages']], ['Note 1', HOSTILE],
              'missing subjects')
    checks.eq([m['subject'] for m in f['extra_messages']], ['Note 2'], 'extra subject')
    checks.eq(rep['ok'], False, 'ok')
    dom = check_html_matches_json(checks, page, rep)
    shown = [e['text'] for e in dom.elements
             if e['attrs'].get('class') == 'subject' and
             any(p['attrs'].get('data-kind') == 'missing' for p in e['parents'])]
    checks.eq(shown, ['Note 1', HOSTILE], 'the subjects, as text, in the page\'s missing list')
    check_log(checks, r, 'missing: INBOX UID', 'extra (a duplicate): INBOX UID')
    checks.done()


@tap.test
def failing_sync_report_names_the_failed_message():
    src, q = S['src'], S['quota']
    hog = imapcheck.make_message(40, subject='Bigger than the quota', size=1200000)
    with imapcheck.session(src, 'q') as conn:
        for n in range(30, 33):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(n, subject='Small %d' % n))
        imapcheck.append(conn, 'INBOX', hog)
    job = Job(src, 'q', q, 'q', name='report-quota')
    page, extra = reports(job, 'quota')
    r = job.run(*extra)
    checks = Checks()
    checks.attach(r)
    checks.code(r, synctest.EXIT_QUOTA, 'sync into a mailbox over quota')
    rep = r.need_report()
    checks.eq(schema_errors(rep), [], 'schema errors of the failing sync\'s report')
    failed = r.folder('INBOX')['failed_messages']
    checks.eq([(m['subject'], m['size']) for m in failed], [('Bigger than the quota', len(hog))],
              'the failed message')
    checks.check(all(m.get('reason') and m.get('message_id') for m in failed),
                 'failed messages need a reason and a Message-ID: %r' % failed)
    check_html_matches_json(checks, page, rep)
    check_log(checks, r, 'failed: INBOX UID', 'Bigger than the quota')
    checks.done()


@tap.test
def budget_pauses_are_on_the_timeline():
    src, dst = S['src'], S['dst']
    with imapcheck.session(src, 'wait') as conn:
        for n in range(50, 56):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(n, size=20000))
    job = Job(src, 'wait', dst, 'wait', name='report-waits')
    page, extra = reports(job, 'waits')
    r = job.run('--max-upload-per-day', '50000', '--budget-window', '2', '--jobs', '1', *extra)
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'sync with a small upload budget')
    rep = r.need_report()
    checks.eq(schema_errors(rep), [], 'schema errors of the report with waits')
    waits = rep['wait_timeline']
    checks.check(len(waits) >= 1 and len(waits) == rep['waits'],
                 'waits %r against the timeline %r' % (rep['waits'], waits))
    checks.check(all(w['why'] == 'budget' and w['seconds'] > 0 for w in waits),
                 'the waits: %r' % waits)
    checks.eq(rep['options']['max_upload_per_day'], 50000, 'options.max_upload_per_day')
    dom = check_html_matches_json(checks, page, rep)
    spans = [e for e in dom.elements if e['tag'] == 'span' and
             any(p['attrs'].get('class') == 'timeline' for p in e['parents'])]
    checks.eq(len(spans), len(waits), 'waits drawn on the timeline')
    check_log(checks, r, 'waited ')
    checks.done()


@tap.test
def report_format_follows_the_file_name():
    job = S['job']
    r = cli.run(job.args('--report', os.path.join(job.dir, 'report.txt')))
    cli.expect_error(r, 64, 'report.txt', '.json', '.html')


@tap.test
def schema_rejects_what_it_does_not_describe():
    with open(S['sync_report']) as f:
        base = json.load(f)
    tap.eq(schema_errors(base), [], 'the last report as written')
    cases = {
        'a new top-level property': lambda r: r.update(surprise=1),
        'a new folder property': lambda r: r['folders'][0].update(surprise=1),
        'a new account property': lambda r: r['accounts']['source'].update(password='x'),
        'a new totals property': lambda r: r['totals'].update(surprise=1),
        'a missing folder count': lambda r: r['folders'][0].pop('source_bytes'),
        'a count that is a string': lambda r: r['totals'].update(copied='3'),
    }
    for what, change in cases.items():
        r = json.loads(json.dumps(base))
        change(r)
        tap.check(schema_errors(r), 'the schema accepts a report with %s' % what)


@tap.test
def incremental_sync_reports_the_source_size_verify_measures():
    src, dst = S['src'], S['dst']
    with imapcheck.session(src, 'inc') as conn:
        imapcheck.create_folder(conn, 'Sent')
        for n in range(60, 66):
            imapcheck.append(conn, 'Sent', imapcheck.make_message(n, size=30000 + n * 100))
    job = Job(src, 'inc', dst, 'inc', name='report-inc')
    checks = Checks()
    first = job.run()
    checks.code(first, 0, 'first sync')
    with imapcheck.session(src, 'inc') as conn:
        for n in range(66, 69):
            imapcheck.append(conn, 'Sent', imapcheck.make_message(n, size=50000))
        for uid in synctest.uids(conn, 'Sent')[:2]:
            synctest.store_flags(conn, 'Sent', uid, add=('\\Seen',))
    second = job.run()
    checks.attach(second)
    checks.code(second, 0, 'incremental sync')
    v = job.run(command='verify', state=False)
    checks.attach(v)
    checks.code(v, 0, 'verify')
    for key in ('source_messages', 'source_bytes', 'destination_messages', 'destination_bytes'):
        checks.eq(second.folder('Sent')[key], v.folder('Sent')[key], 'Sent ' + key)
        checks.eq(second.totals[key], v.totals[key], 'totals ' + key)
    checks.done()


@tap.test
def five_hundred_folders_render_with_the_differences_first():
    src, dst = S['src'], S['dst']
    folders = {'INBOX': [imapcheck.make_message(1000)]}
    for i in range(1, MANY):
        folders['Box%03d' % i] = [imapcheck.make_message(1000 + i)]
    differing = ('Box007', 'Box250', 'Box499')
    t0 = time.monotonic()
    side = threading.Thread(target=load_folders, args=(
        dst, 'many', {k: ([] if k in differing else v) for k, v in folders.items()}))
    side.start()
    load_folders(src, 'many', folders)
    side.join()
    tap.diag('%d folders loaded on both sides in %.1f s' % (MANY, time.monotonic() - t0))
    job = Job(src, 'many', dst, 'many', name='report-many')
    page, extra = reports(job, 'many')
    r = job.run(*extra, command='verify', state=False, timeout=300)
    checks = Checks()
    checks.attach(r)
    checks.code(r, synctest.EXIT_DIFFERENCES, 'verify of %d folders, 3 of them differing' % MANY)
    rep = r.need_report()
    checks.check(len(rep['folders']) >= MANY, 'folders in the report: %d' % len(rep['folders']))
    checks.eq(schema_errors(rep), [], 'schema errors of the 500-folder report')
    t0 = time.monotonic()
    dom = check_html_matches_json(checks, page, rep)
    took = time.monotonic() - t0
    checks.check(took < 60, 'Chromium took %.1f s to load the 500-folder page' % took)
    section = dom.ids.get('folders-same')
    checks.check(section is not None and 'open' not in section['attrs'],
                 'the folders without differences are not folded away')
    first = [r['attrs']['data-folder'] for r in dom.rows('folder')][:3]
    checks.eq(first, list(differing), 'the folders that differ come first')
    size = screenshot(page, os.path.join(job.dir, 'many.png'))
    tap.diag('%d-folder page: %d bytes, loaded in %.1f s, screenshot %d bytes' % (
        MANY, os.path.getsize(page), took, size))
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
