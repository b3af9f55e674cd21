#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs "$@" inside a private D-Bus session with gnome-keyring's Secret Service, its login
# collection created and unlocked without a prompt (TESTBED.md, "gnome-keyring headless").
# HOME, XDG_RUNTIME_DIR and XDG_DATA_HOME point to a temporary directory, set before
# dbus-run-session so that the activated daemon gets them too; the daemon ends with the bus.
# Exits 77 (skipped) when a part is not installed.
set -u

for tool in setsid dbus-run-session dbus-send gnome-keyring-daemon; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "with-keyring: skipped: $tool is not installed (scripts/test installs gnome-keyring and dbus)" >&2
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mh-keyring-XXXXXX") || exit 1
child=
cleanup() {
	if [ -n "$child" ]; then
		# The session runs in a process group of its own (setsid): the bus, the test.
		kill -s TERM -- "-$child" 2>/dev/null || kill -s TERM "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap 'cleanup; exit 143' TERM INT HUP
mkdir -m 0700 "$tmp/home" "$tmp/run" "$tmp/data"
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data"
export XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS

# Inside the session: start and unlock the daemon (--unlock creates the login collection),
# wait until it owns its bus name so that no second copy gets activated, then run the test.
setsid dbus-run-session -- sh -c '
	printf %s mailhaul-test-password |
		gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null || exit 1
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
			org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
			grep -q "boolean true" && break
		sleep 0.1
	done
	exec "$@"' with-keyring "$@" &
child=$!
wait "$child"
status=$?
child=
cleanup
exit "$status"
