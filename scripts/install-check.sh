#!/usr/bin/env bash
# The installed binary on a machine without Swift: `make install` into a clean Debian root made by
# debootstrap (minbase, plus the two libraries the binary links: libsodium23 and libsqlite3-0), then
# the README's Quick start pasted line by line into a fresh shell inside that root (chroot).
# A line whose comment says "refused" must exit 65; every other line must exit 0.
# Needs root (debootstrap, chroot) and Debian's registry. Usage: scripts/install-check.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-.build/install-check}
root="$work/root"
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "install-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap

# The clean root is made once per work folder (about 20 s); it never sees the toolchain.
if [ ! -x "$root/bin/bash" ]; then
  rm -rf "$root"
  mkdir -p "$work"
  debootstrap --variant=minbase --include=libsodium23,libsqlite3-0 "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || fail "debootstrap failed; see $work/debootstrap.log"
fi
rm -rf "$root/usr/local/bin/gigaledger" "$root/home/officer"
# A machine has /proc (Foundation reads /proc/self); unmounted again however the script ends.
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
make install DESTDIR="$(cd "$root" && pwd)" PREFIX=/usr/local

# Nothing of Swift's in the root, and nothing the binary needs is missing from it.
chroot "$root" /bin/sh -c 'command -v swift' >/dev/null 2>&1 && fail "the clean root has swift"
libs=$(chroot "$root" /usr/bin/ldd /usr/local/bin/gigaledger) || fail "ldd failed in the clean root"
echo "$libs" | grep -q 'not found' && fail "a library is missing in the clean root: $libs"
echo "$libs" | grep -qi swift && fail "the binary links a Swift library: $libs"
for f in share/man/man1/gigaledger.1 share/bash-completion/completions/gigaledger \
         share/zsh/site-functions/_gigaledger share/fish/vendor_completions.d/gigaledger.fish \
         share/gigaledger/nginx/gigaledger-publication.conf; do
  [ -s "$root/usr/local/$f" ] || fail "make install did not write $f"
done
# The services: their units, and their users and folders made in the root.
for f in lib/systemd/system/gigaledger.service lib/systemd/system/gigaledger-witness.service \
         lib/sysusers.d/gigaledger.conf lib/tmpfiles.d/gigaledger.conf; do
  [ -s "$root/usr/local/$f" ] || fail "make install did not write $f"
done
grep -q '^ExecStart=/usr/local/bin/gigaledger ' "$root/usr/local/lib/systemd/system/gigaledger.service" || fail "the unit does not run the installed binary"
for user in gigaledger gigaledger-witness; do
  grep -q "^$user:" "$root/etc/passwd" || fail "make install did not create the user $user"
done
[ "$(chroot "$root" stat -c %U /etc/gigaledger)" = gigaledger ] || fail "/etc/gigaledger is not owned by gigaledger"
# The completions complete files for file options and the enumerated values of a value option.
grep -q -- '--ledger' "$root/usr/local/share/bash-completion/completions/gigaledger" || fail "bash completion lacks --ledger"
grep -q 'compgen -f\|_filedir\|__gigaledger_complete_files\|-o filenames' "$root/usr/local/share/bash-completion/completions/gigaledger" \
  || fail "bash completion does not complete files"
chroot "$root" /usr/local/bin/gigaledger --version | grep -Eq '^gigaledger [0-9]+\.[0-9]+\.[0-9]+, source [0-9a-f]{12}' \
  || fail "--version does not give the version and the source commit"

# The Quick start: continuation lines joined; "   # ..." after a command and comment lines below it
# say what it does. One line per command: EXPECT<TAB>COMMAND.
quickstart=$(awk '
  /^## Quick start/ { inside = 1; next }
  inside && /^```sh/ { block = 1; next }
  block && /^```/ { if (cmd != "") print expect "\t" cmd; exit }
  block {
    line = $0
    if (line ~ /\\$/) { pending = pending substr(line, 1, length(line) - 1) " "; next }
    line = pending line; pending = ""
    if (line ~ /^[ \t]*$/) next
    if (line ~ /^[ \t]*#/) { if (line ~ /refused/) expect = 65; next }
    if (cmd != "") print expect "\t" cmd
    expect = 0
    n = index(line, "   #")
    if (n > 0) { if (substr(line, n) ~ /refused/) expect = 65; line = substr(line, 1, n - 1) }
    cmd = line
  }' README.md)
[ "$(echo "$quickstart" | wc -l)" -ge 10 ] || fail "found fewer than 10 Quick start commands in README.md"

mkdir -p "$root/home/officer"
printf 'a passphrase long enough\n' > "$root/home/officer/pass"
chmod 0600 "$root/home/officer/pass"
count=0
while IFS=$'\t' read -r expect cmd; do
  count=$((count + 1))
  set +e
  out=$(chroot "$root" /usr/bin/env -i HOME=/home/officer PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
        GIGALEDGER_PASSPHRASE_FILE=/home/officer/pass XDG_CONFIG_HOME=/home/officer/.config \
        /bin/bash -c "cd /home/officer && $cmd" 2>&1)
  status=$?
  set -e
  [ "$status" = "$expect" ] || fail "Quick start line $count exited $status, expected $expect: $cmd
$out"
done <<< "$quickstart"
echo "install-check: the installed static binary ran the README's Quick start ($count commands) in a clean $suite root without Swift"
