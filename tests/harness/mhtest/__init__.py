# SPDX-License-Identifier: MIT
"""mailhaul's test harness: real servers on loopback for the integration tests.

Modules:
  ports     free loopback ports (and a port that is sure to refuse connections)
  cleanup   stop every started server also when the test is killed (SIGTERM, atexit)
  certs     a per-run test CA, a good server certificate and a wrong-name one
  dovecot   a private Dovecot instance per configuration (class Dovecot)
  imapcheck an independent IMAP checker on Python's imaplib: preload, list, snapshot
  cli       run the mailhaul binary and check its exit code and messages
  tap       a tiny TAP producer for meson (protocol: 'tap')
  batchtest what the `mailhaul batch` tests share (users, batch files, the checker)
  sshhosts  hosts as network namespaces, each with its own sshd (needs root)

Only the Python 3 standard library is used.
"""
