"""The container lifecycle: HostConfig effects, state changes, restart policies,
health checks, OOM, waits, events."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import aiohttp
import docker
import pytest

from dockerd_py.daemon.validate import blkio_weight_supported
from shared.timeutil import parse_rfc3339

from .rawhttp import open_stream, read_until_closed, request

LOOP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


def wait_for(predicate, timeout: float = 15, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def cgroup_file(daemon, cid: str, controller: str, name: str) -> str:  # type: ignore[no-untyped-def]
    for base in (Path("/sys/fs/cgroup") / controller, Path("/sys/fs/cgroup")):
        path = base / daemon.prefix / cid / name
        if path.exists():
            return path.read_text().strip()
    raise FileNotFoundError(f"{controller}/{name} of {cid}")


@pytest.fixture
def running(client):  # type: ignore[no-untyped-def]
    made = []

    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("detach", True)
        c = client.containers.run("busybox", *args, **kwargs)
        made.append(c)
        return c
    yield run
    for c in made:
        try:
            c.remove(force=True)
        except docker.errors.NotFound:
            pass


def status_of(c) -> dict:  # type: ignore[no-untyped-def]
    c.reload()
    return c.attrs["State"]


# -- HostConfig --------------------------------------------------------------------
def test_resources_reach_the_cgroup(daemon, running):
    c = running(LOOP, mem_limit="64m", memswap_limit="128m", nano_cpus=500_000_000,
                cpu_shares=512, cpuset_cpus="0", pids_limit=50)
    assert cgroup_file(daemon, c.id, "memory", "memory.limit_in_bytes") == str(64 << 20)
    # the tested layout (README): cgroup v1 with swap accounting
    assert cgroup_file(daemon, c.id, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert cgroup_file(daemon, c.id, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgroup_file(daemon, c.id, "cpu", "cpu.shares") == "512"
    assert cgroup_file(daemon, c.id, "cpuset", "cpuset.cpus") == "0"
    assert cgroup_file(daemon, c.id, "pids", "pids.max") == "50"
    # the real CLI sends every field, zero meaning "leave alone"
    done = daemon.docker("update", "-m", "96m", "--memory-swap", "192m", "--cpus", "0.2",
                         "--pids-limit", "60", c.id)
    assert done.returncode == 0, done.stderr
    assert cgroup_file(daemon, c.id, "memory", "memory.limit_in_bytes") == str(96 << 20)
    assert cgroup_file(daemon, c.id, "cpu", "cpu.cfs_quota_us") == "20000"
    assert cgroup_file(daemon, c.id, "pids", "pids.max") == "60"
    c.reload()
    hc = c.attrs["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["CpuShares"]) == (96 << 20, 192 << 20, 512)
    refused = daemon.docker("update", "--cpu-quota", "20000", c.id)
    assert refused.returncode == 1 and refused.stderr.decode().count("\n") == 1
    assert "CPU Quota cannot be updated as NanoCPUs has already been set" in refused.stderr.decode()
    with pytest.raises(docker.errors.APIError) as err:
        c.update(mem_limit="500m")
    assert "update the memoryswap at the same time" in str(err.value)


@pytest.mark.parametrize("version, update, expect, in_cgroup", [
    ("v1.44", 16, 16, "16"), ("v1.44", 0, 0, "max"), ("v1.44", -1, 0, "max"),
    ("v1.44", -2, 0, "max"), ("v1.39", 16, 32, "32")])
def test_pids_limit_updates(daemon, running, version, update, expect, in_cgroup):
    """Zero or less lifts the limit (the cgroup's "max"); a client older than API
    1.40 cannot change it, as dockerd ignores its value (moby's TestUpdatePidsLimit)."""
    c = running(LOOP, pids_limit=32)
    r = request(daemon.sock, "POST", f"/{version}/containers/{c.id}/update",
                body=json.dumps({"PidsLimit": update}).encode(),
                headers={"Content-Type": "application/json"})
    assert r.status == 200, r.body
    c.reload()
    assert c.attrs["HostConfig"]["PidsLimit"] == expect
    assert cgroup_file(daemon, c.id, "pids", "pids.max") == in_cgroup


def test_a_real_time_budget_the_kernel_refuses_fails_the_start(client):
    """CpuRealtimeRuntime reaches the cgroup, as dockerd passes it: with no
    real-time budget in the parent cgroup the kernel refuses it and the start
    fails with its words, instead of the value being dropped silently."""
    c = client.containers.create("busybox", ["true"], cpu_rt_runtime=950000)
    try:
        assert c.attrs["HostConfig"]["CpuRealtimeRuntime"] == 950000
        with pytest.raises(docker.errors.APIError) as err:
            c.start()
        assert err.value.status_code == 500
        assert "cpu.rt_runtime_us: invalid argument" in err.value.explanation
    finally:
        c.remove(force=True)


def test_process_settings(client):
    out = client.containers.run(
        "busybox", ["sh", "-c", "id -u; id -G; pwd; hostname; ulimit -n; df -k /dev/shm | tail -1;"
                    " touch /rofail 2>/dev/null || echo ro; grep NoNewPrivs /proc/1/status;"
                    " df /scratch | tail -1; cat /proc/sys/kernel/domainname"],
        user="nobody", working_dir="/tmp/wd", hostname="h", domainname="example.org",
        ulimits=[docker.types.Ulimit(name="nofile", soft=1000, hard=2000)], shm_size="16m",
        read_only=True, security_opt=["no-new-privileges"], tmpfs={"/scratch": "size=1m"},
        remove=True).decode().splitlines()
    assert out[0] == "65534" and out[2] == "/tmp/wd" and out[3] == "h" and out[4] == "1000"
    assert out[5].split()[1] == "16384"
    assert out[6] == "ro"
    assert out[7].split() == ["NoNewPrivs:", "1"]
    assert out[8].startswith("tmpfs") and out[8].split()[1] == "1024"
    assert out[9] == "example.org"  # the NIS domain name, set as dockerd sets it (sysctl)


def test_dockerds_default_sysctls(client):
    """A network namespace of the container's own gets dockerd's defaults (ping and
    ports below 1024 without capabilities), which the request's Sysctls override;
    the host's namespace is left alone (moby's TestUnprivilegedPortsAndPing)."""
    read = ["cat", "/proc/sys/net/ipv4/ping_group_range",
            "/proc/sys/net/ipv4/ip_unprivileged_port_start"]
    out = client.containers.run("busybox", read, remove=True).decode().split()
    assert out == ["0", "2147483647", "0"]
    out = client.containers.run("busybox", read, remove=True,
                                sysctls={"net.ipv4.ip_unprivileged_port_start": "1024"})
    assert out.decode().split() == ["0", "2147483647", "1024"]
    out = client.containers.run("busybox", read, remove=True, network_mode="host")
    with open("/proc/sys/net/ipv4/ping_group_range") as a, \
            open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as b:
        assert out.decode().split() == (a.read() + b.read()).split()
    # as a user with no capabilities, a port below 1024 opens
    out = client.containers.run("busybox", ["sh", "-c", "nc -l -p 80 & sleep 0.5; netstat -ltn"],
                                user="nobody", remove=True, stderr=True)
    assert b":80 " in out, out


def test_capabilities_seccomp_and_masked_paths(client):
    status = client.containers.run("busybox", ["cat", "/proc/1/status"], remove=True).decode()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapBnd"], 16) == 0xa80425fb  # Docker's 14 defaults exactly
    assert int(fields["CapInh"], 16) == 0 and int(fields["CapAmb"], 16) == 0
    assert fields["Seccomp"].strip() == "2"
    dropped = client.containers.run("busybox", ["grep", "CapBnd", "/proc/1/status"],
                                    cap_drop=["ALL"], cap_add=["NET_ADMIN"], remove=True)
    assert int(dropped.split()[1], 16) == 1 << 12
    unconfined = client.containers.run("busybox", ["grep", "Seccomp:", "/proc/1/status"],
                                       security_opt=["seccomp=unconfined"], remove=True)
    assert unconfined.split()[1] == b"0"
    out = client.containers.run("busybox", ["sh", "-c", "stat -c '%t:%T' /proc/keys; "
                                            "ls /proc/acpi | wc -l; echo 1 > /proc/sysrq-trigger "
                                            "2>/dev/null || echo ro; mknod /tmp/x c 1 3 && echo mk"],
                                remove=True).decode().split()
    assert out[0] == "1:3" and out[1] == "0" and out[2] == "ro" and out[3] == "mk"
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox", ["mknod", "/tmp/x", "c", "1", "3"],
                              cap_drop=["MKNOD"], remove=True)


def test_masked_and_read_only_paths_are_the_host_configs(daemon, client):
    """Create fills HostConfig.MaskedPaths and ReadonlyPaths with the defaults
    (Docker 28's masked list, /proc/interrupts included) unless given or privileged;
    the container gets what its HostConfig says (moby's TestCreateWithCustomReadonlyPaths)."""
    api = client.api
    # /proc/keys masked is /dev/null (1:3); /proc/sys read-only is a mount of its own, ro
    probe = ("stat -c %t:%T /proc/keys; "
             "awk '$2 == \"/proc/sys\" {split($4, o, \",\"); print o[1]}' /proc/mounts")
    made = []
    try:
        made.append(api.create_container("busybox", "true")["Id"])
        hc = api.inspect_container(made[-1])["HostConfig"]
        assert hc["ReadonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                       "/proc/sysrq-trigger"]
        assert hc["MaskedPaths"][:3] == ["/proc/asound", "/proc/acpi", "/proc/interrupts"]
        made.append(api.create_container(
            "busybox", "true", host_config=api.create_host_config(privileged=True))["Id"])
        hc = api.inspect_container(made[-1])["HostConfig"]
        assert (hc["MaskedPaths"], hc["ReadonlyPaths"]) == (None, None)
        r = request(daemon.sock, "POST", "/v1.44/containers/create",
                    headers={"Content-Type": "application/json"}, body=json.dumps({
                        "Image": "busybox", "Cmd": ["sh", "-c", probe],
                        "HostConfig": {"MaskedPaths": ["/proc/keys"], "ReadonlyPaths": []}
                    }).encode())
        made.append(r.json()["Id"])
        hc = api.inspect_container(made[-1])["HostConfig"]
        assert (hc["MaskedPaths"], hc["ReadonlyPaths"]) == (["/proc/keys"], [])
        api.start(made[-1])
        api.wait(made[-1])
        assert api.logs(made[-1]).decode().split() == ["1:3"]  # masked, nothing read-only
        made.append(api.create_container("busybox", ["sh", "-c", probe])["Id"])
        api.start(made[-1])
        api.wait(made[-1])
        assert api.logs(made[-1]).decode().split() == ["1:3", "ro"]  # the defaults
    finally:
        for cid in made:
            api.remove_container(cid, force=True)
    # docker's --security-opt systempaths=unconfined: empty lists, as its CLI sends them
    out = daemon.docker_py("run", "--rm", "--security-opt", "systempaths=unconfined",
                           "busybox", "sh", "-c", probe)
    assert out.stdout.decode().split() == ["0:0"], out


def test_seccomp_profile_inline_as_compose_sends_it(client):
    """`security_opt: ["seccomp={...}"]` (compose's inline profile): split at the
    first `=` only, as dockerd does, so the JSON's own colons stay."""
    profile = json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]})
    out = client.containers.run("busybox", ["sh", "-c", "mkdir /tmp/d || echo denied; "
                                            "grep Seccomp: /proc/1/status"],
                                security_opt=[f"seccomp={profile}"], remove=True).decode()
    assert out.split() == ["denied", "Seccomp:", "2"]  # the profile's rule, filtering
    legacy = client.containers.run("busybox", ["grep", "Seccomp:", "/proc/1/status"],
                                   security_opt=["seccomp:unconfined"], remove=True)
    assert legacy.split()[1] == b"0"  # the old `:` form, where there is no `=`


def test_init_reaps_and_stops_with_sigterm(client, running):
    c = running(["sleep", "300"], init=True)
    top = c.top()
    assert "docker-init" in top["Processes"][0][-1]
    start = time.time()
    c.stop(timeout=10)
    assert time.time() - start < 5
    assert status_of(c)["ExitCode"] == 143  # tini passed SIGTERM on; sleep died of it


def test_devices_and_privileged(client):
    out = client.containers.run("busybox", ["ls", "/dev/extra-null"],
                                devices=["/dev/null:/dev/extra-null:rwm"], remove=True)
    assert out.strip() == b"/dev/extra-null"
    out = client.containers.run("busybox", ["sh", "-c", "grep CapBnd /proc/1/status; "
                                            "ip link add dummy0 type bridge && echo net-admin"],
                                privileged=True, remove=True).decode()
    assert "net-admin" in out and int(out.split()[1], 16) > 0xa80425fb


# -- state changes ------------------------------------------------------------------
def test_pause_unpause_restart(daemon, running):
    c = running(LOOP)
    c.pause()
    state = status_of(c)
    assert state["Paused"] and state["Status"] == "paused"
    assert cgroup_file(daemon, c.id, "freezer", "freezer.state") == "FROZEN"
    with pytest.raises(docker.errors.APIError) as err:
        c.exec_run("true")
    assert err.value.status_code == 409
    c.unpause()
    assert status_of(c)["Status"] == "running"
    pid = status_of(c)["Pid"]
    c.restart(timeout=5)
    state = status_of(c)
    assert state["Status"] == "running" and state["Pid"] != pid


def test_wait_conditions(daemon, client):
    c = client.containers.create("busybox", ["sh", "-c", "sleep 0.3; exit 5"])
    assert c.wait(condition="not-running") == {"StatusCode": 0}  # created: not running
    next_exit = {}

    def waiter():  # type: ignore[no-untyped-def]
        next_exit.update(client.api.wait(c.id, condition="next-exit"))
    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    c.start()
    thread.join(10)
    assert next_exit == {"StatusCode": 5}
    c.start()
    removed = {}

    def rwaiter():  # type: ignore[no-untyped-def]
        removed.update(client.api.wait(c.id, condition="removed"))
    thread = threading.Thread(target=rwaiter)
    thread.start()
    c.wait()
    time.sleep(0.2)
    c.remove()
    thread.join(10)
    assert removed.get("StatusCode") == 5


def test_rename_and_events(daemon, client, running):
    since = time.time() - 1
    c = running(LOOP, name="before-rename")
    c.rename("after-rename")
    c.pause()
    c.unpause()
    c.kill(signal="SIGUSR1")
    c.stop(timeout=5)
    c.remove()
    time.sleep(0.2)
    events = client.events(since=since, until=time.time(), decode=True,
                           filters={"container": c.id})
    actions = [e["Action"] for e in events]
    for action in ("create", "start", "rename", "pause", "unpause", "kill", "die", "stop",
                   "destroy"):
        assert action in actions, (action, actions)
    rename = next(e for e in client.events(since=since, until=time.time(), decode=True,
                                           filters={"event": "rename"}) if e["id"] == c.id)
    assert rename["Actor"]["Attributes"]["oldName"] == "/before-rename"
    assert rename["status"] == "rename" and rename["Type"] == "container"
    die = next(e for e in client.events(since=since, until=time.time(), decode=True,
                                        filters={"event": "die", "container": c.id}))
    assert die["Actor"]["Attributes"]["exitCode"] == "0"
    assert die["Actor"]["Attributes"]["name"] == "after-rename"
    with pytest.raises(docker.errors.APIError):
        c.rename("x")


def test_events_stream_headers_first(daemon, client):
    s, status, _, hdrs, rest = open_stream(daemon.sock, "GET", '/events?filters={"type":["container"]}')
    assert status == 200 and hdrs["content-type"] == "application/json"
    c = client.containers.create("busybox", ["true"], name="evstream")
    c.remove()
    s.settimeout(5)
    data = rest
    while b"destroy" not in data:
        data += s.recv(65536)
    s.close()
    assert b'"Action":"create"' in data.replace(b" ", b"")


def test_stop_with_timeout_minus_one_waits_for_the_exit(client, running):
    """t=-1: dockerd signals, then waits as long as the container takes (no
    SIGKILL): a process that takes 2 s to leave on SIGTERM exits with its code."""
    c = running(["sh", "-c", "trap 'sleep 2; exit 42' TERM; while true; do sleep 0.1; done"])
    start = time.time()
    client.api.stop(c.id, timeout=-1)
    assert time.time() - start >= 1.5
    assert status_of(c)["ExitCode"] == 42


def test_a_restarted_container_keeps_its_last_stop_time(client, running):
    """dockerd's SetRunning leaves FinishedAt alone: after `docker restart` it is
    the stop's time, before the new StartedAt (never the zero time)."""
    c = running(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"])
    assert status_of(c)["FinishedAt"] == "0001-01-01T00:00:00Z"  # never stopped yet
    c.restart(timeout=5)
    state = status_of(c)
    assert state["Status"] == "running"
    zero = parse_rfc3339("0001-01-01T00:00:00Z")
    assert zero < parse_rfc3339(state["FinishedAt"]) < parse_rfc3339(state["StartedAt"])


def test_restart_policies(client, running):
    c = running(["sh", "-c", "exit 3"], restart_policy={"Name": "on-failure",
                                                          "MaximumRetryCount": 2})
    assert wait_for(lambda: status_of(c)["Status"] == "exited" and
                    c.attrs["RestartCount"] == 2, 20)
    assert status_of(c)["ExitCode"] == 3
    ok = running(["true"], restart_policy={"Name": "on-failure"})
    time.sleep(1)
    assert status_of(ok)["Status"] == "exited" and ok.attrs["RestartCount"] == 0
    always = running(["sh", "-c", "exit 0"], restart_policy={"Name": "always"})
    # the backoff doubles from 100 ms: it soon waits long enough to be seen waiting
    state = wait_for(lambda: (st := status_of(always))["Status"] == "restarting" and
                     always.attrs["RestartCount"] >= 3 and st, 20, step=0.02)
    assert state and state["Running"] and state["Restarting"] and state["Pid"] == 0
    with pytest.raises(docker.errors.APIError) as err:
        always.remove()
    assert err.value.status_code == 409 and "cannot remove a restarting container" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:
        always.exec_run("true")
    assert err.value.status_code == 409 and "is restarting" in str(err.value)
    count = always.attrs["RestartCount"]
    always.stop(timeout=1)
    time.sleep(1.5)
    state = status_of(always)
    assert state["Status"] == "exited" and not state["Running"] and not state["Restarting"]
    assert always.attrs["RestartCount"] == count
    always.update(restart_policy={"Name": "no"})
    always.start()  # a user's start begins the count anew
    always.wait(timeout=10)
    assert status_of(always)["Status"] == "exited" and always.attrs["RestartCount"] == 0
    assert always.attrs["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}


def test_a_restarting_container_is_never_seen_exited_between_runs(client, running, cpu_load):
    """moby's TestUpdateRestartPolicy: the policy decides at the exit (dockerd's
    handleContainerExit), so a client polling for "exited" sees the last exit
    only, with every restart counted; an update of the policy applies. Polled as
    fast as it answers, with every CPU busy (the old window was one SQLite write)."""
    c = running(["sh", "-c", "sleep 0.3 && false"],
                restart_policy={"Name": "on-failure", "MaximumRetryCount": 3})
    c.update(restart_policy={"Name": "on-failure", "MaximumRetryCount": 5})
    seen = []
    deadline = time.time() + 60
    while time.time() < deadline:
        state = status_of(c)
        seen.append(state["Status"])
        if state["Status"] == "exited":
            break
    assert c.attrs["RestartCount"] == 5 and state["ExitCode"] == 1
    assert set(seen) <= {"running", "restarting", "exited"} and seen.count("exited") == 1


def test_restart_policies_after_daemon_restart(fresh_daemon):
    client = fresh_daemon.client()
    always = client.containers.run("busybox", LOOP, detach=True, restart_policy={"Name": "always"})
    unless = client.containers.run("busybox", LOOP, detach=True,
                                   restart_policy={"Name": "unless-stopped"})
    stopped = client.containers.run("busybox", LOOP, detach=True,
                                    restart_policy={"Name": "unless-stopped"})
    plain = client.containers.run("busybox", LOOP, detach=True)
    stopped.stop(timeout=5)
    fresh_daemon.restart()  # live restore: the running ones simply keep running
    client = fresh_daemon.client()
    pids = {}
    for c in (always, unless, plain):
        live = client.containers.get(c.id)
        assert live.status == "running"
        pids[c.id] = live.attrs["State"]["Pid"]
    fresh_daemon.stop()
    for pid in pids.values():  # they die while no daemon watches
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    fresh_daemon.start()
    client = fresh_daemon.client()
    for c in (always, unless):
        assert wait_for(lambda: client.containers.get(c.id).status == "running", 15)
        assert client.containers.get(c.id).attrs["State"]["Pid"] != pids[c.id]
    assert client.containers.get(stopped.id).status == "exited"
    state = client.containers.get(plain.id).attrs["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137


def test_health_checks(client, running):
    healthy = running(LOOP, healthcheck={"Test": ["CMD-SHELL", "test -e /tmp/ok"],
                                         "Interval": 200_000_000, "Retries": 2,
                                         "Timeout": 2_000_000_000})
    assert status_of(healthy)["Health"]["Status"] == "starting"
    assert wait_for(lambda: status_of(healthy)["Health"]["Status"] == "unhealthy", 10)
    assert "(unhealthy)" in client.api.containers(filters={"id": healthy.id})[0]["Status"]
    healthy.exec_run(["touch", "/tmp/ok"])
    assert wait_for(lambda: status_of(healthy)["Health"]["Status"] == "healthy", 10)
    health = status_of(healthy)["Health"]
    assert health["FailingStreak"] == 0 and health["Log"][-1]["ExitCode"] == 0
    assert [c.id for c in client.containers.list(filters={"health": "healthy"})] == [healthy.id]
    none = running(LOOP, healthcheck={"Test": ["NONE"]})
    assert "Health" not in status_of(none)
    slow = running(LOOP, healthcheck={"Test": ["CMD", "sleep", "5"], "Interval": 100_000_000,
                                      "Timeout": 50_000_000})
    log = wait_for(lambda: (status_of(slow).get("Health") or {}).get("Log"), 10)
    assert log[0]["Output"] == "Health check exceeded timeout (50ms)"  # Go's duration words


def test_oom_killed(client, running):
    c = running(["sh", "-c", "x=a; while true; do x=$x$x; done"], mem_limit="8m",
                memswap_limit="8m")
    state = wait_for(lambda: (s := status_of(c))["Status"] == "exited" and s, 30)
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    ok = running(["true"])
    ok.wait(timeout=10)
    assert status_of(ok)["OOMKilled"] is False


def test_list_filters_and_sizes(client, running):
    a = running(LOOP, labels={"f": "1"}, name="filt-a")
    b = client.containers.run("busybox", ["sh", "-c", "echo x > /f; exit 2"], name="filt-b",
                              detach=True)
    try:
        b.wait(timeout=10)
        ids = lambda **f: {c["Id"] for c in client.api.containers(all=True, filters=f)}  # noqa: E731
        assert ids(status="exited", name="filt-") == {b.id}
        assert ids(exited="2") >= {b.id} and a.id not in ids(exited="2")
        assert ids(label="f=1") == {a.id}
        assert ids(id=a.id[:10]) == {a.id}
        assert a.id in ids(ancestor="busybox")
        assert ids(before="filt-b") & {a.id} == {a.id}
        assert ids(since="filt-a") & {b.id} == {b.id}
        assert a.id in ids(network="bridge")
        bound = client.containers.create("busybox", ["true"], volumes=["/tmp:/data:ro"])
        try:
            assert ids(volume="/data") == {bound.id} and ids(volume="/tmp") == {bound.id}
            assert not ids(volume="/nope")
        finally:
            bound.remove()
        summary = client.api.containers(all=True, size=True, filters={"id": b.id})[0]
        assert summary["SizeRw"] > 0 and summary["SizeRootFs"] > summary["SizeRw"]
        doc = client.api._result(client.api._get(client.api._url(
            "/containers/{0}/json", b.id), params={"size": 1}), True)
        assert doc["SizeRw"] > 0 and doc["SizeRootFs"] > doc["SizeRw"]
        assert client.api.containers(limit=1)[0]["Id"] in ids()
        report = client.api.prune_containers(filters={"label": "nosuch"})
        assert report["ContainersDeleted"] is None
    finally:
        b.remove()


def test_logs_since_until(client, running):
    c = running(["sh", "-c", "echo first; sleep 1.5; echo second; sleep 100"])
    assert wait_for(lambda: b"first" in c.logs(), 10)
    middle = time.time() + 0.5  # well between the two lines
    assert wait_for(lambda: b"second" in c.logs(), 10)
    assert c.logs(since=middle) == b"second\n"
    assert c.logs(until=middle) == b"first\n"
    stamped = c.logs(timestamps=True).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["first", "second"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", line.split()[0])
               for line in stamped)


def test_attach_logs_replay_and_detach_keys(daemon, client, running):
    c = running(["sh", "-c", "echo early; cat"], stdin_open=True, tty=True)
    time.sleep(0.3)
    s, status, _, _, rest = open_stream(
        daemon.sock, "POST", f"/containers/{c.id}/attach?stream=1&logs=1&stdin=1&stdout=1"
        "&detachKeys=ctrl-a,x", headers={"Connection": "Upgrade", "Upgrade": "tcp"})
    assert status == 101
    s.sendall(b"typed\n")
    time.sleep(0.3)
    s.sendall(b"\x01x")
    data = rest + read_until_closed(s)
    s.close()
    assert b"early" in data and b"typed" in data
    assert status_of(c)["Status"] == "running"  # detached, not stopped
    r = request(daemon.sock, "POST", f"/containers/{c.id}/attach?stream=1&stdin=1&detachKeys=ctrl-%3F%3F",
                headers={"Connection": "Upgrade", "Upgrade": "tcp"})
    assert r.status == 400


def test_client_disconnects_leave_daemon_healthy(daemon, running):
    c = running(["sh", "-c", "while true; do echo spam; sleep 0.01; done"])
    fds = len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))
    for _ in range(20):
        s, *_ = open_stream(daemon.sock, "GET", f"/containers/{c.id}/logs?follow=1&stdout=1")
        s.recv(100)
        s.close()
        s, *_ = open_stream(daemon.sock, "POST", f"/containers/{c.id}/attach?stream=1&stdout=1",
                            headers={"Connection": "Upgrade", "Upgrade": "tcp"})
        s.recv(100)
        s.close()
    time.sleep(1)
    assert request(daemon.sock, "GET", "/_ping").status == 200
    assert wait_for(lambda: len(os.listdir(f"/proc/{daemon.proc.pid}/fd")) <= fds + 3, 10)
    assert status_of(c)["Status"] == "running"


def test_log_rotation(daemon, client):
    c = client.containers.run("busybox", ["sh", "-c", "i=0; while [ $i -lt 60000 ]; do "
                                          "echo line-$i-padding-padding-padding; i=$((i+1)); done"],
                              log_config={"Type": "json-file", "Config": {"max-size": "200k",
                                                                          "max-file": "3"}},
                              detach=True)
    try:
        c.wait(timeout=60)
        time.sleep(0.3)
        log_path = Path(c.attrs["LogPath"])
        files = [p for p in log_path.parent.iterdir() if p.name.startswith(log_path.name)
                 and not p.name.endswith(".hold")]
        total = sum(p.stat().st_size for p in files)
        assert len(files) <= 3 and total <= 3 * 200 * 1024 + 200
        assert c.logs(tail=2) == b"line-59998-padding-padding-padding\nline-59999-padding-padding-padding\n"
        lines = c.logs().splitlines()
        assert lines[-1] == b"line-59999-padding-padding-padding"
        numbers = [int(x.split(b"-")[1]) for x in lines]
        assert numbers == sorted(numbers)
    finally:
        c.remove()
    # as dockerd: max-file without max-size is accepted (and nothing rotates)
    ok = client.containers.create("busybox", log_config={"Type": "json-file",
                                                         "Config": {"max-file": "2"}})
    ok.remove()
    with pytest.raises(docker.errors.APIError):
        client.containers.create("busybox", log_config={"Type": "nosuchdriver"})


def test_attach_websocket(daemon, running):
    c = running(["sh", "-c", "echo early; cat"], stdin_open=True)
    time.sleep(0.3)

    async def session() -> tuple[bytes, bytes]:
        connector = aiohttp.UnixConnector(path=daemon.sock)
        async with aiohttp.ClientSession(connector=connector) as http:
            url = f"http://docker/v1.44/containers/{c.id}/attach/ws?logs=1&stream=1&stdin=1&stdout=1"
            async with http.ws_connect(url) as ws:
                first = await asyncio.wait_for(ws.receive(), 5)
                await ws.send_str("through websocket\n")
                echoed = await asyncio.wait_for(ws.receive(), 5)
                assert first.type == aiohttp.WSMsgType.BINARY
                return first.data, echoed.data
    first, echoed = asyncio.run(session())
    assert first == b"early\n"  # the log replay, raw: never multiplexed
    assert echoed == b"through websocket\n"
    assert status_of(c)["Status"] == "running"


def test_blkio_weight_applied_or_discarded_with_a_warning(client):
    created = client.api.create_container("busybox", ["true"],
                                          host_config=client.api.create_host_config(
                                              blkio_weight=300))
    try:
        weight = client.api.inspect_container(created["Id"])["HostConfig"]["BlkioWeight"]
        if blkio_weight_supported():
            assert weight == 300 and not created["Warnings"]
        else:  # as dockerd on a kernel without CFQ's blkio.weight
            assert weight == 0 and created["Warnings"] == [
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                "Weight discarded."]
    finally:
        client.api.remove_container(created["Id"])


def test_stats_and_top(running):
    c = running(["sh", "-c", "while true; do x=$((1+1)); done"])
    time.sleep(0.5)
    one = c.stats(stream=False)
    assert one["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and one["cpu_stats"]["online_cpus"] >= 1
    memory = one["memory_stats"]
    assert memory["usage"] > 0 and ("cache" in memory["stats"] or "file" in memory["stats"])
    assert one["pids_stats"]["current"] >= 1
    assert "eth0" in one["networks"] and "rx_bytes" in one["networks"]["eth0"]
    assert one["precpu_stats"]["cpu_usage"]["total_usage"] > 0  # a sample a second before
    stream = c.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    stream.close()
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == \
        first["cpu_stats"]["cpu_usage"]["total_usage"]
    assert second["cpu_stats"]["cpu_usage"]["total_usage"] > \
        first["cpu_stats"]["cpu_usage"]["total_usage"]
    top = c.top(ps_args="-o pid,comm")
    assert top["Titles"] == ["PID", "COMMAND"] and any(p[1] == "sh" for p in top["Processes"])


def test_leftovers_and_odd_commands(daemon, client):
    """Regressions: a `Cmd` of [null] (Go reads it as "") must not break listing;
    a removed container leaves no exit file behind."""
    import json as jsonlib
    r = request(daemon.sock, "POST", "/containers/create", body=jsonlib.dumps(
        {"Image": "busybox", "Cmd": [None]}).encode(), headers={"Content-Type":
                                                             "application/json"})
    assert r.status == 201, r.body
    cid = r.json()["Id"]
    try:
        listing = request(daemon.sock, "GET", "/containers/json?all=1")
        assert listing.status == 200 and cid in [c["Id"] for c in listing.json()]
    finally:
        client.containers.get(cid).remove(force=True)
    c = client.containers.run("busybox", ["true"], detach=True)
    c.wait()
    exits = daemon.exec_root / "exits"
    assert (exits / c.id).exists()
    c.remove()
    assert not (exits / c.id).exists()
