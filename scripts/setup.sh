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
packages=(runc crun conmon golang-github-containers-common iptables iproute2 util-linux
          procps busybox-static tini catatonit docker-registry curl ca-certificates
          python3 python3-venv python3-pip systemd)
missing=()
for pkg in "${packages[@]}"; do  # only what is missing: nothing present is upgraded
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "all present"
fi

echo "==> Python package in $venv"
# The system's Python (not a per-user one first on PATH), so that every user in
# the docker group can run docker-py.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
if [ -f "$venv/pyvenv.cfg" ] && ! grep -qx "home = $(dirname "$py")" "$venv/pyvenv.cfg"; then
    echo "rebuilding $venv from $py"
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/pip" install -q "$here[test]"
ln -sf "$venv/bin/dockerd-py" /usr/local/bin/dockerd-py
ln -sf "$venv/bin/docker-py" /usr/local/bin/docker-py
install -d "$venv/share/doc/dockerd-py"
install -m 0644 "$here/README.md" "$here"/docs/*.md "$venv/share/doc/dockerd-py/"

echo "==> the docker group (its members may use the socket, as with Docker)"
getent group docker >/dev/null || groupadd --system docker

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
    echo "dockerd-py runs under systemd: systemctl status dockerd-py, journalctl -u dockerd-py"
else
    # No systemd here (a container or a minimal VM): run it in the background.
    setsid /usr/local/bin/dockerd-py >>/var/log/dockerd-py.log 2>&1 < /dev/null &
    echo "dockerd-py runs in the background (pid $!); its log is /var/log/dockerd-py.log"
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
    # the users and groups of Docker Hub's busybox image (exec -u nobody, -u daemon...)
    cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
    cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
GROUP
    chmod 1777 "$rootfs/tmp"
    tar -C "$rootfs" -c . | docker-py import -c 'CMD ["sh"]' - busybox:latest
fi

echo "==> first container"
docker-py run --rm busybox echo "hello from dockerd-py"
