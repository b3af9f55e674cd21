# shellcheck shell=bash
# Shared by scripts/test, scripts/demo and scripts/bench: install what is missing
# from Debian's packages, then configure and build.

MH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages to build mailhaul and to run its tests against real servers.
MH_BUILD_PACKAGES="gcc meson ninja-build pkg-config libglib2.0-dev libssl-dev
 libcurl4-openssl-dev libjson-c-dev libsecret-1-dev libsqlite3-dev zlib1g-dev libgmime-3.0-dev"
MH_TEST_PACKAGES="dovecot-imapd openssl python3 clang-format gnome-keyring dbus libsecret-tools tmux
 libpython3.11-testsuite"

mh_say() {
	printf '==> %s\n' "$*" >&2
}

# Installs the Debian packages among "$@" that are not installed yet.
mh_install_packages() {
	local missing=() pkg sudo=()
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; return 1; }
		sudo=(sudo)
	fi
	mh_say "installing Debian packages: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node.js and npm for the test OAuth2 server (tests/oauth): only when missing, as a command
# (a machine may have them from elsewhere than Debian's packages).
mh_install_node() {
	local want=()
	command -v node >/dev/null || want+=(nodejs)
	command -v npm >/dev/null || want+=(npm)
	[ ${#want[@]} -eq 0 ] || mh_install_packages "${want[@]}"
}

# Installs the test OAuth2 server's npm packages (npm ci, from the committed lockfile).
mh_npm_ci() {
	local dir=$MH_ROOT/tests/oauth
	[ -f "$dir/package-lock.json" ] || return 0
	[ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
	mh_say "installing the test OAuth2 server (npm ci)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# The Cyrus and Courier test servers conflict with dovecot-imapd as installed packages: their
# packages are downloaded and unpacked into a private root (tests/harness/mhtest/privroot.py
# names it and the packages), and only their runtime libraries are installed. Once per root:
# the file .complete in it lists what was unpacked.
mh_install_private_servers() {
	local py=(env PYTHONPATH="$MH_ROOT/tests/harness" python3 -m mhtest.privroot)
	local root pkgs runtime tmp sudo=() deb
	root=$("${py[@]}") && pkgs=$("${py[@]}" packages) && runtime=$("${py[@]}" runtime) || return 1
	# shellcheck disable=SC2086
	mh_install_packages $runtime || return 1
	[ -f "$root/.complete" ] && [ "$(cat "$root/.complete")" = "$pkgs" ] && return 0
	[ "$(id -u)" -ne 0 ] && sudo=(sudo)
	mh_say "unpacking the Cyrus and Courier test servers into $root"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
	tmp=$(mktemp -d) || return 1
	chmod 755 "$tmp"
	local rc=0
	# shellcheck disable=SC2086
	(cd "$tmp" && "${sudo[@]}" apt-get download -qq $pkgs >/dev/null) && mkdir -p "$root" || rc=1
	for deb in "$tmp"/*.deb; do
		[ $rc -eq 0 ] || break
		dpkg-deb -x "$deb" "$root" || rc=1
	done
	[ $rc -eq 0 ] && chmod 755 "$root" && printf '%s\n' "$pkgs" >"$root/.complete" || rc=1
	"${sudo[@]}" rm -rf "$tmp"
	return $rc
}

# Configures the build directory $1 once, with meson options "${@:2}".
mh_configure() {
	local dir=$1
	shift
	[ -f "$MH_ROOT/$dir/build.ninja" ] && return 0
	meson setup "$MH_ROOT/$dir" "$MH_ROOT" "$@" >/dev/null
}

# Configures and builds everything in $1 (meson options "${@:2}").
mh_build() {
	local dir=$1
	mh_configure "$@" || return 1
	ninja -C "$MH_ROOT/$dir" >/dev/null || ninja -C "$MH_ROOT/$dir"
}
