# shellcheck shell=bash
# Shared by scripts/test, scripts/demo and scripts/bench: install what is missing
# from Debian's packages, then configure and build.

MH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages to build mailhaul and to run its tests against real servers.
MH_BUILD_PACKAGES="gcc meson ninja-build pkg-config libglib2.0-dev libssl-dev
 libcurl4-openssl-dev libjson-c-dev libsecret-1-dev libsqlite3-dev zlib1g-dev"
MH_TEST_PACKAGES="dovecot-imapd openssl python3 clang-format gnome-keyring dbus libsecret-tools"

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
