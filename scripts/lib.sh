# shellcheck shell=bash
# Shared by scripts/test, scripts/demo and scripts/bench: install what is missing
# from Debian's packages, then configure and build.

MH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages to build mailhaul and to run its tests against real servers. parallel,
# openssh-server, openssh-client and rsync: the batch shards run on hosts over SSH
# (tests/integration/test-batch-ssh.py).
MH_BUILD_PACKAGES="gcc meson ninja-build pkg-config libglib2.0-dev libssl-dev
 libcurl4-openssl-dev libjson-c-dev libsecret-1-dev libsqlite3-dev zlib1g-dev libgmime-3.0-dev scdoc"
MH_TEST_PACKAGES="dovecot-imapd dovecot-lmtpd openssl python3 clang-format gnome-keyring dbus
 libsecret-tools libpython3.11-testsuite chromium python3-jsonschema parallel openssh-server
 openssh-client rsync man-db groff-base systemd zsh tmux util-linux mount"
# Only for the Debian package's test (suite "package", run by scripts/test in the normal build).
MH_PACKAGE_PACKAGES="debhelper build-essential"

mh_say() {
	printf '==> %s\n' "$*" >&2
}

# Sets sudo=(sudo) when not root (root runs apt-get directly, with or without sudo
# installed); fails saying what could not be installed ($1) when neither is available.
mh_root_or_sudo() {
	sudo=()
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null || { echo "need root or sudo to install: $1" >&2; return 1; }
	sudo=(sudo)
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
	mh_root_or_sudo "${missing[*]}" || return 1
	mh_say "installing Debian packages with apt-get${sudo:+ through sudo}: ${missing[*]}"
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
	mh_say "installing the test OAuth2 server with npm ci in tests/oauth: oidc-provider and the packages its package-lock.json lists"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# The Cyrus and Courier test servers conflict with dovecot-imapd as installed packages, and
# Postfix with every other mail transport agent: their packages are downloaded and unpacked
# into a private root (tests/harness/mhtest/privroot.py names it and the packages), and only
# their runtime libraries are installed. Once per root: the file .complete in it lists what
# was unpacked (.complete-postfix for Postfix, unpacked on its own).
mh_install_private_servers() {
	local py=(env PYTHONPATH="$MH_ROOT/tests/harness" python3 -m mhtest.privroot)
	local root pkgs runtime kind
	root=$("${py[@]}") && pkgs=$("${py[@]}" packages) && runtime=$("${py[@]}" runtime) || return 1
	# shellcheck disable=SC2086
	mh_install_packages $runtime || return 1
	mh_unpack_private "$root" .complete "$pkgs" || return 1
	for kind in $("${py[@]}" separate); do
		pkgs=$("${py[@]}" packages "$kind") || return 1
		mh_unpack_private "$root" ".complete-$kind" "$pkgs" || return 1
	done
}

# Downloads the Debian packages $3 and unpacks them into $1, unless the marker file $1/$2
# already lists them.
mh_unpack_private() {
	local root=$1 marker=$2 pkgs=$3 tmp sudo=() deb
	[ -f "$root/$marker" ] && [ "$(cat "$root/$marker")" = "$pkgs" ] && return 0
	mh_root_or_sudo "$pkgs" || return 1
	mh_say "downloading with apt-get${sudo:+ through sudo} and unpacking into $root (not installing): $pkgs"
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
	[ $rc -eq 0 ] && chmod 755 "$root" && printf '%s\n' "$pkgs" >"$root/$marker" || rc=1
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
