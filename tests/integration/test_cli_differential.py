"""The same command lines through the real `docker` command and through
`docker-py` against the same daemon: stdout, the first line of stderr and the
exit code must match once IDs, names, times and spacing are normalised. Each
line that may not match says why, in KNOWN."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from .daemonctl import DOCKER_CLI

pytestmark = pytest.mark.skipif(not os.path.exists(DOCKER_CLI),
                                reason=f"the Docker CLI ({DOCKER_CLI}) is not installed")

# {n} is a name of this CLI's own (the two runs must not clash); {c} a container
# of its own made in the setup, {v} a volume, {net} a network.
LINES = [
    "version --format {{.Server.APIVersion}}",
    "version --format {{.Server.Os}}/{{.Server.Arch}}",
    "info --format {{.OSType}}",
    "info --format {{.Driver}}",
    "info --format '{{json .Plugins.Volume}}'",
    "ps",
    "ps -q",
    "ps --format {{.Names}}",
    "ps -a --filter name={c} --format {{.Names}}",
    "ps -a --filter name={c} --format {{.Status}}",
    "ps -a --filter name={c} --format {{.Command}}",
    "ps -a --filter name={c} --format {{.Image}}",
    "ps -a --filter label=diff={n} --format {{.Names}}",
    "ps -a --filter status=exited --filter name={c} -q",
    "ps -a -n 1 --format {{.Names}}",
    "ps --format json --filter name=nothing-matches",
    "ps --format {{.Nope}}",
    "container ls -a --filter name={c} --format {{.State}}",
    "images --format {{.Repository}}:{{.Tag}} busybox",
    "images busybox --format {{.Size}}",
    "images -q busybox",
    "image ls --filter reference=busybox --format {{.Tag}}",
    "image inspect busybox --format {{.Os}}",
    "image inspect --format '{{json .Config.Cmd}}' busybox",
    "inspect --type image --format {{.Architecture}} busybox",
    "inspect --format {{.State.Status}} {c}",
    "inspect --format {{.Name}} {c}",
    "inspect --format '{{json .Config.Labels}}' {c}",
    "inspect nosuchthing-at-all",
    "container inspect --format {{.HostConfig.NetworkMode}} {c}",
    "history --format {{.CreatedBy}} busybox",
    "image history -q busybox",
    "network ls --filter name=^bridge$ --format '{{.Name}} {{.Driver}}'",
    "network inspect bridge --format {{.Driver}}",
    "network inspect {net} --format '{{.Name}} {{.Driver}} {{.Internal}}'",
    "network inspect nosuchnet",
    "network ls --filter name={net} -q --no-trunc",
    "volume ls --filter name={v} --format '{{.Name}} {{.Driver}}'",
    "volume inspect {v} --format '{{.Driver}} {{.Scope}}'",
    "volume inspect nosuchvolume",
    "run --rm busybox echo hello",
    "run --rm busybox sh -c 'echo to-stderr >&2; exit 3'",
    "run --rm busybox /no/such/binary",
    "run --rm busybox sh -c 'cat /etc/hostname | wc -c'",
    "run --rm -e A=1 -e B=two busybox sh -c 'echo $A $B'",
    "run --rm -w /tmp busybox pwd",
    "run --rm -u 1:2 busybox id",
    "run --rm --entrypoint echo busybox overridden",
    "run --rm --name {n}-run busybox true",
    "run --rm -p abc busybox true",
    "run --rm -p 80:80:80:80 busybox true",
    "run --rm --memory 1x busybox true",
    "run --rm --nosuchflag busybox true",
    "run --rm busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000 true",
    "create --name {n}-created busybox true",
    # run/create parse their own flags as Docker's parser does (docker_cli/flags.py)
    "run",
    "create",
    "container run --rm busybox echo long-form",
    "run -e",
    "run --name",
    "run -z busybox",
    "run -dz busybox",
    "run --cpu-shares abc busybox",
    "run --cpus abc busybox",
    "run --rm=maybe busybox true",
    "run --rm -e=A=1 -eB=2 busybox sh -c 'echo $A $B'",
    "run -it=false --rm busybox echo grouped",
    "run --rm --tty=false --net=none busybox echo values",
    "run --rm -- busybox echo dashes",
    "run --rm busybox -- echo",
    "run --rm --userns host --pid host --uts host busybox cat /proc/self/uid_map",
    "run --rm --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward",
    "run --rm --userns nonsense busybox true",
    "run --rm --uts bad busybox true",
    "run --rm --pid bad busybox true",
    "start {n}-created",
    "wait {n}-created",
    "logs {c}",
    "logs --tail 1 {c}",
    "logs nosuchcontainer",
    "port {c}",
    "diff {c}",
    "top nosuchcontainer",
    "exec {c} true",
    "rename {n}-created {n}-renamed",
    "rm {n}-renamed",
    "rm nosuchcontainer",
    "rm -f nosuchcontainer",
    "stop nosuchcontainer",
    "kill {c}",
    "start nosuchcontainer",
    "rmi nosuchimage:never",
    "tag busybox {n}/tagged:1",
    "images -q",  # an ID per row: busybox tagged three times shows three times
    "rmi {n}/tagged:1",
    "tag busybox Bad/Name",
    "volume create {n}-vol",
    "volume rm {n}-vol",
    "volume rm nosuchvolume",
    "network create {n}-net",
    "network rm {n}-net",
    "network rm nosuchnet",
    "network create --driver nosuchdriver {n}-bad",
    "system df --format {{.Type}}",
    "container prune --filter label=nothing-has-this -f",
    "volume prune --filter label=nothing-has-this -f",
    "image prune --filter label=nothing-has-this -f",
    "pull 127.0.0.1:9/nothing/here:1",
    "ps -a --filter name={c} --format '{{.Names}} {{.Labels}}'",
    "ps -a --filter name={c} --no-trunc --format {{.Command}}",
    "ps -a --filter name={c} --format 'table {{.Names}}'",
    "ps -a --filter name={c} --format 'table {{.Names}}\t{{.Image}}'",
    "ps -a -s --filter name={c} --format {{.Size}}",
    "ps -a --filter ancestor=busybox --filter name={c} --format {{.Names}}",
    "ps -a --filter exited=0 --filter name={c} --format {{.Names}}",
    "ps --filter bogus=1",
    "ps -a --filter name={c} --format '{{.Label \"diff\"}}'",
    "images --filter dangling=bogus",
    "images --format {{.Repository}} --filter reference=busy*",
    "images nosuchrepo",
    "image inspect nosuchimage",
    "image inspect --format {{.RootFS.Type}} busybox",
    "history --format {{.Size}} busybox",
    "inspect --type container --format {{.Config.Image}} {c}",
    "inspect --type network --format {{.Name}} bridge",
    "inspect --type volume --format {{.Name}} {v}",
    "inspect --type bogus x",
    "inspect -f {{.State.ExitCode}} {c}",
    "inspect -f {{.Config.Cmd}} {c}",
    "inspect -f '{{index .Config.Labels \"diff\"}}' {c}",
    "inspect -f '{{upper .State.Status}}' {c}",
    "inspect -f '{{lower .Name}}' {c}",
    "inspect -f '{{json .State.Running}}' {c}",
    "inspect -f '{{join .Config.Cmd \",\"}}' {c}",
    "inspect -f '{{len .Config.Cmd}}' {c}",
    "inspect -f '{{split .Config.Image \"b\"}}' {c}",
    "inspect -f '{{truncate .Name 5}}' {c}",
    "logs -n 1 {c}",
    "container logs {c}",
    "logs --timestamps nosuchcontainer",
    "port {c} 80",
    "top {c}",
    "wait nosuchcontainer",
    "pause {c}",
    "unpause {c}",
    "restart nosuchcontainer",
    "update --memory 1x {c}",
    "export nosuchcontainer",
    "cp nosuchcontainer:/x /tmp/diff-cp-out",
    "commit nosuchcontainer",
    "network ls --filter type=builtin --format {{.Name}}",
    "network inspect --format {{.IPAM.Driver}} bridge",
    "network connect nosuchnet {c}",
    "network disconnect bridge nosuchcontainer",
    "network create --subnet 10.999.0.0/16 {n}-badnet",
    "network create --internal {n}-int",
    "network inspect {n}-int --format {{.Internal}}",
    "network rm {n}-int",
    "volume create --label a=b {n}-lab",
    "volume inspect {n}-lab --format '{{json .Labels}}'",
    "volume rm {n}-lab",
    "volume ls -q --filter name={v}",
    "volume ls --filter dangling=bogus",
    "volume create bad/name",
    "system df --format '{{.Type}} {{.TotalCount}}'",
    "image prune -f --filter until=bogus",
    "run --rm --network none busybox cat /sys/class/net/lo/operstate",
    "run --rm --hostname myhost busybox hostname",
    "run --rm --add-host h:1.2.3.4 busybox grep -c 1.2.3.4 /etc/hosts",
    "run --rm --read-only busybox touch /x",
    "run --rm --cap-drop ALL busybox id -u",
    "run --rm --restart always busybox true",
    "run --rm --user nosuchuser busybox true",
    "run --rm busybox sh -c 'exit 255'",
    "run --rm busybox false",
    "create --name {n}-c2 busybox",
    "rm {n}-c2",
    "container rename nosuchcontainer x",
    "image tag nosuchimage:1 x:1",
    "image rm nosuchimage:1",
    "load -i /nonexistent-archive.tar",
    "logout 127.0.0.1:9",
    "info --format {{.Images}}",
    "events --since 1h --until 1s --filter container=nosuchcontainer",
    "events --since 1h --until 1s --filter container={c} --filter event=start"
    " --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'",
    "events --since 1h --until 1s --filter volume={v} --format '{{json .Action}}'",
    "stats --no-stream nosuchcontainer",
    "stats --no-stream --format {{.Name}} {c}",
    "container stats --no-stream --all --filter name=nosuch",
    "attach nosuchcontainer",
    "exec nosuchcontainer true",
    "exec -it {c} true",
    "container ls --filter name={c} -a --format {{.Names}}",
    "image ls busybox --format {{.Repository}}",
    "container top {c}",
    "container port {c}",
    "container diff nosuchcontainer",
    "volume inspect --format {{.Name}} {v} nosuchvolume",
    "network inspect --format {{.Name}} bridge nosuchnet",
    "builder prune -f --filter until=1s",
    "nosuchcommand",
    "ps --nosuchflag",
    "ps extra-argument",
    "ps --last x",
    "container ls -a -n 1 --no-trunc --format {{.Names}}",
    # the one context there is: default; another is the CLI's "context not found"
    "--context default ps -a --filter name={c} --format {{.Names}}",
    "-c default volume ls -q --filter name={v}",
    "--context nosuch ps",
    # cobra's argument counts, for the commands click parses too
    "stop", "logs", "logs a b", "rename x", "port", "tag", "volume inspect",
    "network connect x", "exec", "cp x", "rm", "start", "kill", "inspect", "pause", "wait",
    "image rm", "network rm", "volume rm", "history", "top",
    # a boolean flag with a value, as pflag takes it (Go's ParseBool), on click commands too
    "logs --follow=false {c}",
    "logs -f=false --timestamps=0 {c}",
    "logs --timestamps=maybe {c}",
    "volume ls -q=true --filter name={v}",
    "network ls --no-trunc=false -q --filter name=^none$",
    "image ls -q=1 busybox",
    "rm -f=true nosuchcontainer",
    "container rm --force=F nosuchcontainer",
    # a row as JSON: every field of the CLI's context, sorted, Go's escaping; .Size asks sizes
    "ps -a --filter name={c} --format '{{json .}}'",
    "ps -a --filter name={c} --format json",
    "ps -a --filter name={c} --format '{{.Size}}'",
    "ps -a --filter name={c} --format 'table {{.Names}}\t{{.Mounts}}\t{{.LocalVolumes}}"
    "\t{{.State}}\t{{.Networks}}\t{{.Platform}}'",
    "ps -a --filter name={c} --format 'table {{.Label \"diff\"}}\t{{.CreatedAt}}'",
    # Go's templates: parse and execution errors in Go's words, fmt verbs, builtins
    "ps --format '{{.Names'",
    "ps --format '{{.Names}} {{end}}'",
    "ps --format '{{if .Names}}x'",
    "ps --format '{{nosuchfunc .Names}}'",
    "ps -a --filter name={c} --format '{{printf \"%-12s|%5d|%x|%q\" .State 42 255 .Image}}'",
    "ps -a --filter name={c} --format '{{printf \"%d %s\" .State}}'",
    "ps -a --filter name={c} --format '{{if gt (len .Names) 1}}long{{else}}short{{end}}'",
    "ps -a --filter name={c} --format '{{lt 1 2}} {{le 2 2}} {{ge 1 2}} {{ne 1 2}} {{eq 1 3 1}}'",
    "ps -a --filter name={c} --format '{{lt 1 \"a\"}}'",
    "ps -a --filter name={c} --format '{{slice .Names 0 4}}'",
    "ps -a --filter name={c} --format '{{index .Labels \"x\"}}'",
    "images --format '{{.Nope}}'",
    "images --format '{{.Repository'",
    "images busybox --format '{{json .}}'",
    "images busybox --format json",
    "images busybox --format 'table {{.Repository}}\t{{.SharedSize}}\t{{.UniqueSize}}"
    "\t{{.VirtualSize}}\t{{.Containers}}'",
    "network ls --filter name={net} --format '{{json .}}'",
    "network ls --filter name={net} --format 'table {{.Name}}\t{{.IPv4}}\t{{.IPv6}}"
    "\t{{.Internal}}\t{{.CreatedAt}}'",
    "network ls --format 'table {{.Nope}}'",
    "volume ls --filter name={v} --format '{{json .}}'",
    "volume ls --filter name={v} --format 'table {{.Name}}\t{{.Links}}\t{{.Size}}\t{{.Group}}'",
    "volume ls --filter name=nothing-matches --format '{{.Nope'",
    "volume ls --filter name=nothing-matches --format 'table {{.Nope}}'",
    "version --format '{{.Nope'",
    "version --format '{{.Name}}'",
    "info --format '{{.Nope'",
    "inspect --format '{{.Name' {c}",
    "inspect --format '{{slice .Name 0 1}}' {c}",
]

# Lines whose output may differ, and why (kept short; empty when all match).
KNOWN: dict[str, tuple[str, bool]] = {   # line -> (why, whether the exit code still matches)
    "builder prune -f --filter until=1s": ("the Docker CLI warns that its legacy builder "
                                           "is deprecated; docker-py has only that one", True),
}

_HEX = re.compile(r"\b[0-9a-f]{12}(?:[0-9a-f]{52})?\b")
_TIME = re.compile(r"(About an? \w+|Less than a second|\d+ \w+) ago|Up (About an? \w+|"
                   r"Less than a second|\d+ \w+)|Exited \((\d+)\) (About an? \w+|Less than a "
                   r"second|\d+ \w+) ago")


def _normal(text: str, names: dict[str, str]) -> str:
    for real, placeholder in names.items():
        text = text.replace(real, placeholder)
    text = _HEX.sub("<ID>", text)
    text = _TIME.sub("<TIME>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \w+", "<DATE>", text)
    text = re.sub(r"\bdocker(-py)?\b", "<CLI>", text)
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())


@pytest.fixture(scope="module")
def state(daemon):  # type: ignore[no-untyped-def]
    """A container, volume and network per CLI, made by that CLI."""
    made = {}
    for who, run in (("docker", daemon.docker), ("py", daemon.docker_py)):
        names = {"n": f"diff-{who}", "c": f"diff-{who}-c", "v": f"diff-{who}-v",
                 "net": f"diff-{who}-net"}
        assert run("run", "--name", names["c"], "-l", f"diff={names['n']}", "busybox",
                   "sh", "-c", "echo line one; echo line two").returncode == 0
        assert run("volume", "create", names["v"]).returncode == 0
        assert run("network", "create", names["net"]).returncode == 0
        made[who] = (run, names)
    yield made
    for run, names in made.values():
        for args in (("rm", "-f", names["c"], f"{names['n']}-created", f"{names['n']}-renamed"),
                     ("volume", "rm", "-f", names["v"], f"{names['n']}-vol"),
                     ("network", "rm", names["net"], f"{names['n']}-net", f"{names['n']}-int"),
                     ("volume", "rm", "-f", f"{names['n']}-lab"),
                     ("rm", "-f", f"{names['n']}-c2"),
                     ("rmi", f"{names['n']}/tagged:1")):
            run(*args)


def _run(run, line: str, names: dict[str, str]) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    import shlex
    words = [w.format(**names) for w in shlex.split(line.replace("{{", "\0").replace(
        "}}", "\1"))]
    words = [w.replace("\0", "{{").replace("\1", "}}") for w in words]
    return run(*words)


@pytest.mark.parametrize("line", LINES)
def test_docker_py_answers_as_docker(state, line):
    run_docker, docker_names = state["docker"]
    run_py, py_names = state["py"]
    theirs = _run(run_docker, line, docker_names)
    ours = _run(run_py, line, py_names)
    placeholders = {v: "<" + k + ">" for k, v in sorted(docker_names.items(),
                                                         key=lambda kv: -len(kv[1]))}
    placeholders.update({v: "<" + k + ">" for k, v in sorted(py_names.items(),
                                                             key=lambda kv: -len(kv[1]))})
    got = (_normal(ours.stdout.decode(errors="replace"), placeholders),
           _normal((ours.stderr.decode(errors="replace").strip().splitlines() or [""])[0],
                   placeholders), ours.returncode)
    want = (_normal(theirs.stdout.decode(errors="replace"), placeholders),
            _normal((theirs.stderr.decode(errors="replace").strip().splitlines() or [""])[0],
                    placeholders), theirs.returncode)
    if line in KNOWN:
        if KNOWN[line][1]:
            assert got[2] == want[2], (line, got, want)
        return
    assert got == want, line


def test_ps_and_images_formats_from_config_json(daemon, tmp_path, state):  # type: ignore[no-untyped-def]
    """psFormat and imagesFormat in $DOCKER_CONFIG/config.json, as the docker
    command reads them (--format still wins)."""
    import json as _json
    (tmp_path / "config.json").write_text(_json.dumps({
        "psFormat": "table {{.Names}}\t{{.Status}}", "imagesFormat": "{{.Repository}}/{{.Tag}}",
        "statsFormat": "{{.Name}}"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    _, names = state["py"]
    for args in (("ps", "-a", "--filter", f"name={names['c']}"),
                 ("images", "busybox"), ("images", "busybox", "--format", "{{.Tag}}"),
                 ("stats", "--no-stream", names["c"])):
        theirs, ours = daemon.docker(*args, env=env), daemon.docker_py(*args, env=env)
        assert ours.returncode == theirs.returncode == 0
        assert _normal(ours.stdout.decode(), {}) == _normal(theirs.stdout.decode(), {}), args


def test_ports_column_and_port_command_as_docker_draws_them(daemon):  # type: ignore[no-untyped-def]
    """One container with exposed ports, a run published on the same numbers, a
    loopback binding and [::] bindings: the PORTS column groups and orders them
    as the Docker CLI does, and `port` lists them in its natural order."""
    made = daemon.docker("run", "-d", "--name", "diff-ports", "--expose", "7", "--expose", "8",
                         "--expose", "90", "-p", "28000-28001:28000-28001",
                         "-p", "127.0.0.1:28005:5/udp", "-p", "28443:443", "busybox",
                         "sleep", "60")
    assert made.returncode == 0, made.stderr
    try:
        for args in (("ps", "--filter", "name=diff-ports", "--format", "{{.Ports}}"),
                     ("port", "diff-ports"), ("port", "diff-ports", "443")):
            theirs, ours = daemon.docker(*args), daemon.docker_py(*args)
            assert ours.returncode == theirs.returncode == 0, (args, ours.stderr)
            assert ours.stdout.decode() == theirs.stdout.decode(), args
        shown = daemon.docker_py("ps", "--filter", "name=diff-ports", "--format",
                                 "{{.Ports}}").stdout.decode()
        assert shown.startswith("7-8/tcp, 90/tcp, 0.0.0.0:28000-28001->28000-28001/tcp, ")
        assert "[::]:28443->443/tcp" in shown
    finally:
        daemon.docker("rm", "-f", "diff-ports")
