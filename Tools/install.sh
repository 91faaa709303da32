#!/usr/bin/env bash
# Installs lomad as a system service: binaries, systemd unit, sysusers.d entry, default
# configuration and the shipped model, under the usual prefixes. See docs/service.md.
#
#   Tools/install.sh                      build (release) and install under /usr/local
#   PREFIX=/usr Tools/install.sh          install under /usr
#   DESTDIR=/tmp/pkg Tools/install.sh     stage into /tmp/pkg (packaging); nothing outside it is touched
#   BUILD=none BINDIR_SOURCE=DIR ...      install already-built binaries from DIR instead of building
#
# The configuration goes to $SYSCONFDIR/lomad (default /etc/lomad, where the unit's
# ConfigurationDirectory= looks) and is never overwritten: an edited file is kept, and the new
# default lands next to it as lomad.toml.default.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
BINDIR=${BINDIR:-$PREFIX/bin}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
DATADIR=${DATADIR:-$PREFIX/share/lomad}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/lomad}
BUILD=${BUILD:-release}

if [ "$BUILD" = none ]; then
    source_bin=${BINDIR_SOURCE:?BUILD=none needs BINDIR_SOURCE, the folder holding lomad and lomactl}
else
    swift build -c "$BUILD" --product lomad
    swift build -c "$BUILD" --product lomactl
    source_bin=$(swift build -c "$BUILD" --show-bin-path)
fi

install -d "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$SYSCONFDIR/lomad" "$DESTDIR$DOCDIR"
install -m 0755 "$source_bin/lomad" "$source_bin/lomactl" "$DESTDIR$BINDIR/"
# The unit names the binary by its installed path.
sed "s|^ExecStart=/usr/local/bin/lomad |ExecStart=$BINDIR/lomad |; s|/etc/lomad/lomad.toml|$SYSCONFDIR/lomad/lomad.toml|" \
    systemd/lomad.service > "$DESTDIR$UNITDIR/lomad.service"
chmod 0644 "$DESTDIR$UNITDIR/lomad.service"
install -m 0644 systemd/lomad.sysusers.conf "$DESTDIR$SYSUSERSDIR/lomad.conf"
# The configuration names the clients file by its installed path.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
sed "s|/etc/lomad/clients.toml|$SYSCONFDIR/lomad/clients.toml|" systemd/lomad.toml > "$config"
if [ -e "$DESTDIR$SYSCONFDIR/lomad/lomad.toml" ] && ! cmp -s "$config" "$DESTDIR$SYSCONFDIR/lomad/lomad.toml"; then
    install -m 0644 "$config" "$DESTDIR$SYSCONFDIR/lomad/lomad.toml.default"
    echo "kept $SYSCONFDIR/lomad/lomad.toml; the new default is lomad.toml.default"
else
    install -m 0644 "$config" "$DESTDIR$SYSCONFDIR/lomad/lomad.toml"
fi
# The clients file (public keys and uids only, so world-readable like the configuration) is the
# operator's from the first install on: never replaced.
if [ ! -e "$DESTDIR$SYSCONFDIR/lomad/clients.toml" ]; then
    install -m 0644 systemd/clients.toml "$DESTDIR$SYSCONFDIR/lomad/clients.toml"
fi
install -m 0644 docs/service.md "$DESTDIR$DOCDIR/service.md"
# The shipped model, where `lomad serve` looks when no model is configured
# (<bindir>/../share/lomad/models/loma-tiny).
if [ -f Models/loma-tiny/config.json ]; then
    install -d "$DESTDIR$DATADIR/models"
    rm -rf "$DESTDIR$DATADIR/models/loma-tiny"
    cp -R Models/loma-tiny "$DESTDIR$DATADIR/models/loma-tiny"
    chmod -R u=rwX,go=rX "$DESTDIR$DATADIR/models/loma-tiny"
else
    echo "warning: Models/loma-tiny is not in this checkout; configure a model in $SYSCONFDIR/lomad/lomad.toml" >&2
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemd-sysusers "$SYSUSERSDIR/lomad.conf"
    systemctl daemon-reload
    echo "installed; start with: systemctl enable --now lomad"
else
    echo "installed under ${DESTDIR:-/}; on the target run: systemd-sysusers && systemctl daemon-reload && systemctl enable --now lomad"
fi
