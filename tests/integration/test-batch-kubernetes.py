#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""deploy/kubernetes without a cluster: the manifests against the Kubernetes schemas, and the
Job's command run here for every index.

The schema check is offline: tests/k8s/validate.mjs validates each document against the
Kubernetes OpenAPI schema of its kind as bundled by the npm package kubernetes-models
(compiled JSON Schema validators; `npm ci` in tests/k8s, which scripts/test runs). Those
schemas, like the API server's, accept fields they do not know, so the test also checks the
fields that matter by name.

Then the Job's container command itself runs here, once per completion index, as the pod
would run it: its args after Kubernetes' own $(VAR) expansion, under /bin/sh, with the env of
the manifest (its directories pointed at temporary ones) and JOB_COMPLETION_INDEX set, and
`mailhaul` on PATH being the real binary. The sample batch file's rows point at a port that
refuses connections, so every row fails fast; what counts is which rows each index took:
every row exactly once over all indexes, in the shard directories the report Job reads. The
report Job's command then merges them.
"""
import json
import os
import re
import shutil
import subprocess

from mhtest import batchtest, cli, ports, tap

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
DEPLOY = os.path.join(ROOT, 'deploy', 'kubernetes')
K8S = os.path.join(ROOT, 'tests', 'k8s')
ROWS = 40
S = {}


def validate(paths):
    p = subprocess.run(['node', os.path.join(K8S, 'validate.mjs')] + list(paths), cwd=K8S,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    docs = json.loads(p.stdout) if p.stdout.strip() else []
    return p.returncode, docs, p.stderr


def manifests():
    if 'docs' not in S:
        files = sorted(os.path.join(DEPLOY, f) for f in os.listdir(DEPLOY)
                       if f.endswith('.yaml'))
        S['files'] = files
        S['code'], S['docs'], S['stderr'] = validate(files)
    return S['docs']


def find(kind, name):
    found = [d['object'] for d in manifests() if d['kind'] == kind and d['name'] == name]
    tap.eq(len(found), 1, '%s %s in deploy/kubernetes' % (kind, name))
    return found[0]


def container(job):
    spec = job['spec']['template']['spec']
    tap.eq(len(spec['containers']), 1, 'containers of %s' % job['metadata']['name'])
    return spec['containers'][0]


def k8s_expand(text, env):
    """Kubernetes' expansion of command and args: $(NAME) of a defined variable becomes its
    value, $$ becomes $, anything else stays as written."""
    out, i = [], 0
    while i < len(text):
        if text.startswith('$$', i):
            out.append('$')
            i += 2
            continue
        if text.startswith('$(', i):
            end = text.find(')', i + 2)
            if end > 0 and text[i + 2:end] in env:
                out.append(env[text[i + 2:end]])
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return ''.join(out)


def run_container(c, env_override, extra_env=None):
    """Run container c's command here as its pod would, with env_override applied to the
    manifest's env. Returns the CompletedProcess."""
    env = {e['name']: e['value'] for e in c.get('env', [])}
    env.update(extra_env or {})
    env.update(env_override)
    argv = [k8s_expand(a, env) for a in c['command'] + c.get('args', [])]
    bindir = os.path.join(S['tmp'], 'bin')
    if not os.path.isdir(bindir):
        os.mkdir(bindir)
        os.symlink(os.path.abspath(cli.binary()), os.path.join(bindir, 'mailhaul'))
    full = cli.environment(env)
    full['PATH'] = bindir + os.pathsep + os.environ.get('PATH', '/usr/bin:/bin')
    return subprocess.run(argv, env=full, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)


@tap.test
def manifests_pass_the_schema_check():
    docs = manifests()
    for d in docs:
        tap.diag('%s: %s %s: %s' % (os.path.basename(d['file']), d['kind'], d['name'],
                                    d['error'] or 'valid'))
    tap.eq(S['code'], 0, 'validator exit code\n%s' % S['stderr'])
    tap.eq(sorted({d['kind'] for d in docs}), ['Job', 'PersistentVolumeClaim', 'Secret'],
           'kinds')
    tap.check(all(d['error'] is None for d in docs), 'every document valid')


@tap.test
def the_schema_check_refuses_a_broken_job():
    job = json.loads(json.dumps(find('Job', 'mailhaul-batch')))
    job['spec']['completions'] = '3'
    job['spec']['completionMode'] = 'Indexd'
    del job['spec']['template']['spec']['containers'][0]['name']
    path = os.path.join(S['tmp'], 'broken.yaml')
    with open(path, 'w') as f:
        json.dump(job, f)  # JSON is YAML
    code, docs, _ = validate([path])
    tap.eq(code, 1, 'validator exit code')
    error = docs[0]['error'] or ''
    tap.diag(error)
    for field in ('completions', 'completionMode', 'name'):
        tap.contains(field, error, 'the error')


@tap.test
def job_is_indexed_with_one_shard_per_index():
    job = find('Job', 'mailhaul-batch')
    spec, pod = job['spec'], job['spec']['template']['spec']
    c = container(job)
    env = {e['name']: e.get('value') for e in c.get('env', [])}
    tap.eq(spec['completionMode'], 'Indexed', 'completionMode')
    tap.eq(int(env['SHARDS']), spec['completions'], 'env SHARDS = completions')
    tap.check(1 <= spec['parallelism'] <= spec['completions'], 'parallelism in 1..completions')
    tap.eq(pod['restartPolicy'], 'Never', 'restartPolicy (retries are per index)')
    tap.check(spec.get('backoffLimitPerIndex', 0) >= 1, 'retried per index')
    ctx = pod['securityContext']
    tap.check(ctx['runAsNonRoot'] and ctx['runAsUser'] != 0, 'non-root pod')
    tap.eq(c['securityContext']['allowPrivilegeEscalation'], False, 'no privilege escalation')
    tap.eq(c['securityContext']['capabilities']['drop'], ['ALL'], 'capabilities dropped')
    for what in ('requests', 'limits'):
        tap.check('memory' in c['resources'][what], 'memory %s' % what)
    tap.check('cpu' in c['resources']['requests'], 'cpu request')
    mounts = {m['name']: m['mountPath'] for m in c['volumeMounts']}
    volumes = {v['name']: v for v in pod['volumes']}
    tap.eq(mounts['secret'], env['SECRET_DIR'], 'the Secret is mounted at SECRET_DIR')
    tap.eq(volumes['secret']['secret']['secretName'], find('Secret', 'mailhaul-batch')
           ['metadata']['name'], 'the Secret')
    tap.eq(mounts['run'], env['RUN_DIR'], 'RUN_DIR is a volume')
    tap.eq(volumes['run']['emptyDir'].get('medium'), 'Memory', 'passwords stay in memory')
    tap.eq(mounts['state'], env['STATE_DIR'], 'STATE_DIR is the state volume')
    claim = volumes['state']['persistentVolumeClaim']['claimName']
    pvc = find('PersistentVolumeClaim', claim)
    tap.eq(pvc['spec']['accessModes'], ['ReadWriteMany'], 'the claim is shared by the pods')
    tap.contains('accounts.csv', find('Secret', 'mailhaul-batch')['stringData'],
                 'the Secret holds the batch file')
    report = find('Job', 'mailhaul-batch-report')
    tap.eq(report['spec']['template']['spec']['volumes'][0]['persistentVolumeClaim']
           ['claimName'], claim, 'the report Job reads the same claim')


@tap.test
def job_command_takes_every_row_exactly_once():
    job = find('Job', 'mailhaul-batch')
    c = container(job)
    n = job['spec']['completions']
    tmp = S['tmp']
    secret, state = os.path.join(tmp, 'secret'), os.path.join(tmp, 'state')
    os.makedirs(secret, 0o700)
    os.makedirs(state, 0o700)
    with ports.refusing_port() as closed:
        lines = ['host1,user1,passfile1,port1,host2,user2,passfile2,port2\r\n']
        for i in range(ROWS):
            for side in (1, 2):
                cli.write_passfile(secret, batchtest.password(i, side),
                                   name='%s.%d.pass' % (batchtest.user(i), side))
            lines.append(batchtest.row(i, '127.0.0.1', '%s.1.pass' % batchtest.user(i), closed,
                                       '%s.2.pass' % batchtest.user(i), closed))
        batchtest.write_csv(os.path.join(secret, 'accounts.csv'), lines)
        seen = []
        for index in range(n):
            run = os.path.join(tmp, 'run-%d' % index)
            os.mkdir(run, 0o700)
            r = run_container(c, {'SECRET_DIR': secret, 'RUN_DIR': run, 'STATE_DIR': state,
                                  'HOME': state, 'TMPDIR': tmp},
                              {'JOB_COMPLETION_INDEX': str(index)})
            tap.eq(r.returncode, 1, 'index %d: exit code (its rows cannot connect)\n%s' % (
                index, r.stderr[-2000:]))
            shard = os.path.join(state, 'mailhaul-batch-accounts-shard-%d-of-%d' % (index + 1,
                                                                                     n))
            s = batchtest.summary(shard)
            tap.eq((s['shard'], s['shards']), (index + 1, n), 'index %d runs --shard' % index)
            tap.check(s['rows'], 'index %d has rows' % index)
            tap.eq({x['exit_code'] for x in s['rows']}, {cli.EXIT_CONNECT}, 'why they failed')
            seen += [x['line'] for x in s['rows']]
            mode = os.stat(os.path.join(run, '%s.1.pass' % batchtest.user(0))).st_mode
            tap.eq(oct(mode & 0o777), oct(0o600), 'the pass files copied with mode 0600')
            tap.not_contains('can be read by other users', r.stderr, 'warnings')
    tap.eq(sorted(seen), list(range(2, ROWS + 2)), 'every line in exactly one index')
    S['state'] = state


@tap.test
def report_job_merges_the_shards():
    tap.check('state' in S, 'the shards ran (previous test)')
    c = container(find('Job', 'mailhaul-batch-report'))
    r = run_container(c, {'STATE_DIR': S['state'], 'HOME': S['state']})
    tap.eq(r.returncode, 1, 'exit code (rows failed)\n%s' % r.stderr[-2000:])
    tap.check(not re.search(r'shard \d+ of \d+ is missing', r.stderr), 'no shard missing')
    rows = batchtest.summary(os.path.join(S['state'], 'report'))['rows']
    tap.eq(sorted(x['line'] for x in rows), list(range(2, ROWS + 2)), 'merged lines')
    tap.contains('%d rows: 0 done' % ROWS, r.stdout, 'the table')


def main():
    if shutil.which('node') is None:
        tap.skip_all('not installed: node (scripts/test installs it)')
    if not os.path.isdir(os.path.join(K8S, 'node_modules', 'kubernetes-models')):
        tap.skip_all('tests/k8s/node_modules is missing: run npm ci there (scripts/test does)')
    S['tmp'] = cli.scratch_dir()
    tap.main()


if __name__ == '__main__':
    main()
