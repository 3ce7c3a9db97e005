#!/usr/bin/env bash
# Install dockerd-py on Debian 12 and run a first container:
#   Debian packages (runtimes, conmon, seccomp profile, iptables, busybox...),
#   a virtualenv in /opt/dockerd-py with the package and its test extras,
#   the commands in /usr/local/bin, the systemd units, the daemon (under systemd
#   when systemd runs, else in the background), a busybox image built locally
#   from busybox-static, and `docker-py run --rm busybox echo ...`.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
venv=/opt/dockerd-py
sock=/run/dockerd-py.sock
export DOCKER_HOST="unix://$sock"

echo "==> Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    runc crun conmon golang-github-containers-common iptables iproute2 util-linux \
    procps busybox-static tini catatonit docker-registry curl ca-certificates \
    python3 python3-venv python3-pip systemd

echo "==> Python package in $venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "$here[test]"
ln -sf "$venv/bin/dockerd-py" /usr/local/bin/dockerd-py
ln -sf "$venv/bin/docker-py" /usr/local/bin/docker-py

echo "==> systemd units"
install -m 0644 "$here/systemd/dockerd-py.service" "$here/systemd/dockerd-py.socket" \
    /etc/systemd/system/
mkdir -p /etc/dockerd-py

daemon_up() { curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

echo "==> daemon"
if daemon_up; then
    echo "dockerd-py already answers on $sock"
elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now dockerd-py.socket dockerd-py.service
else
    # No systemd here (a container or a minimal VM): run it in the background.
    setsid /usr/local/bin/dockerd-py >>/var/log/dockerd-py.log 2>&1 < /dev/null &
fi
for _ in $(seq 100); do daemon_up && break; sleep 0.1; done
daemon_up || { echo "dockerd-py did not start; see /var/log/dockerd-py.log" >&2; exit 1; }

echo "==> busybox image, built from busybox-static"
if ! docker-py image inspect busybox:latest >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    mkdir -p "$rootfs"/{bin,etc,tmp,root}
    cp /usr/bin/busybox "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
    echo 'root:x:0:' > "$rootfs/etc/group"
    chmod 1777 "$rootfs/tmp"
    tar -C "$rootfs" -c . | docker-py import -c 'CMD ["sh"]' - busybox:latest
fi

echo "==> first container"
docker-py run --rm busybox echo "hello from dockerd-py"
