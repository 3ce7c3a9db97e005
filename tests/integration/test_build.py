"""docker build with the classic builder: the real Docker CLI (DOCKER_BUILDKIT=0),
the Docker SDK and docker-py against the daemon."""
from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest

from .archives import layer_tar
from .daemonctl import DOCKER_CLI

SEED_DOCKERFILE = """\
FROM busybox
ARG V=1
ENV A=b C="d e"
RUN echo hi $V > /x && cat /x
COPY f.txt /f.txt
WORKDIR /app
EXPOSE 80/tcp 81
VOLUME /data
CMD ["cat", "/f.txt"]
"""


@pytest.fixture(autouse=True, scope="module")
def _leave_no_build_cache(daemon):  # type: ignore[no-untyped-def]
    """The untagged images these builds leave are the shared daemon's build cache:
    other modules expect busybox without children."""
    yield
    daemon.api().prune_builds()


def _context(tmp_path: Path, dockerfile: str, files: dict[str, str | bytes] | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, data in (files or {}).items():
        path = ctx / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return ctx


def _stream(api, **kw) -> list[dict]:  # type: ignore[no-untyped-def]
    kw.setdefault("rm", True)   # the SDK's low-level default is False (intermediates kept)
    return list(api.build(decode=True, **kw))


def _text(events: list[dict]) -> str:
    return "".join(e.get("stream", "") for e in events)


def _containers(api) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["Id"] for c in api.containers(all=True)}


def _remove(api, *names: str) -> None:  # type: ignore[no-untyped-def]
    for name in names:
        try:
            api.remove_image(name, force=True)
        except docker.errors.APIError:
            pass


def test_docker_cli_builds_the_seed_kind_of_image_and_reuses_the_cache(daemon, tmp_path):
    if not os.path.exists(DOCKER_CLI):
        pytest.skip("the Docker CLI is not installed")
    ctx = _context(tmp_path, SEED_DOCKERFILE, {"f.txt": "hello\n"})
    env = {"DOCKER_BUILDKIT": "0"}
    api = daemon.api()
    before = _containers(api)
    try:
        first = daemon.docker("build", "-t", "built/seed:1", str(ctx), env=env)
        out = first.stdout.decode()
        assert first.returncode == 0, first.stderr
        assert "Sending build context to Docker daemon" in out
        assert "Step 1/9 : FROM busybox\n" in out
        assert "Step 4/9 : RUN echo hi $V > /x && cat /x\n ---> Running in " in out
        assert "\nhi 1\nRemoving intermediate container " in out
        assert "Step 5/9 : COPY f.txt /f.txt\n ---> " in out
        assert "Successfully tagged built/seed:1" in out
        image_id = api.inspect_image("built/seed:1")["Id"]
        assert f"Successfully built {image_id[7:19]}" in out
        second = daemon.docker("build", "-t", "built/seed:1", str(ctx), env=env)
        assert second.stdout.decode().count(" ---> Using cache") == 8
        assert api.inspect_image("built/seed:1")["Id"] == image_id
        config = api.inspect_image("built/seed:1")["Config"]
        assert config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "A=b", "C=d e"]
        assert config["Cmd"] == ["cat", "/f.txt"]
        assert config["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}}
        assert config["Volumes"] == {"/data": {}}
        assert config["WorkingDir"] == "/app"
        history = [h["CreatedBy"] for h in api.history("built/seed:1")]
        assert history[:4] == ['/bin/sh -c #(nop)  CMD ["cat" "/f.txt"]',
                               "/bin/sh -c #(nop)  VOLUME [/data]",
                               "/bin/sh -c #(nop)  EXPOSE 80/tcp 81",
                               "/bin/sh -c #(nop) WORKDIR /app"]
        assert history[4].startswith("/bin/sh -c #(nop) COPY file:")
        assert history[5] == "|1 V=1 /bin/sh -c echo hi $V > /x && cat /x"
        assert daemon.docker("run", "--rm", "built/seed:1").stdout == b"hello\n"
        assert _containers(api) == before           # no intermediate container left
    finally:
        _remove(api, "built/seed:1")


def test_sdk_build_args_labels_failures_and_kept_containers(daemon, tmp_path):
    client = daemon.client()
    api = client.api
    ctx = _context(tmp_path, "FROM busybox\nARG WHO=nobody\nRUN echo hello $WHO\n")
    image, logs = client.images.build(path=str(ctx), tag="built/args:1", rm=True,
                                      buildargs={"WHO": "sdk", "NOPE": "x"},
                                      labels={"team": "dpy"})
    text = "".join(line.get("stream", "") for line in logs)
    assert "hello sdk" in text
    assert "[Warning] One or more build-args [NOPE] were not consumed" in text
    assert image.labels == {"team": "dpy"}
    assert image.attrs["Config"]["Labels"] == {"team": "dpy"}
    _remove(api, "built/args:1")

    failing = _context(tmp_path, "FROM busybox\nRUN echo before && exit 3\n")
    before = _containers(api)
    with pytest.raises(docker.errors.BuildError) as err:
        client.images.build(path=str(failing), rm=True)
    assert err.value.msg == "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3"
    kept = _containers(api) - before
    assert len(kept) == 1                          # kept for a look, as dockerd keeps it
    api.remove_container(kept.pop(), force=True)
    events = _stream(api, path=str(failing), forcerm=True)
    assert events[-1]["errorDetail"] == {
        "code": 3, "message": "The command '/bin/sh -c echo before && exit 3' returned a "
                              "non-zero code: 3"}
    assert _containers(api) == before


def test_multi_stage_target_and_copy_from(daemon, tmp_path):
    api = daemon.api()
    ctx = _context(tmp_path, """\
ARG BASE=busybox
FROM $BASE AS build
RUN mkdir /out && echo built > /out/result
FROM busybox AS unused
RUN echo the unused stage ran
FROM ${BASE}
COPY --from=build /out/result /result
COPY --from=0 /out /out2
COPY --from=busybox /bin/busybox /copied-busybox
CMD ["cat", "/result"]
""")
    try:
        events = _stream(api, path=str(ctx), tag="built/ms:1")
        text = _text(events)
        assert "error" not in events[-1], events[-1]
        # the classic builder runs every stage up to the target, and names each
        # stage's image in an aux message (moby's TestBuildMultiStageOnBuild)
        assert "the unused stage ran" in text
        assert "Step 1/10 : ARG BASE=busybox" in text
        ids = [e["aux"]["ID"] for e in events if "aux" in e]
        assert len(ids) == 3 and ids[-1] == api.inspect_image("built/ms:1")["Id"]
        ctr = api.create_container("built/ms:1", ["sh", "-c",
                                   "cat /result /out2/result; test -x /copied-busybox && echo x"])
        api.start(ctr)
        api.wait(ctr)
        assert api.logs(ctr) == b"built\nbuilt\nx\n"
        api.remove_container(ctr)
        events = _stream(api, path=str(ctx), tag="built/ms:build", target="build")
        assert "Successfully tagged built/ms:build" in _text(events)
        assert api.inspect_image("built/ms:build")["Config"]["Cmd"] == ["sh"]
        with pytest.raises(docker.errors.APIError) as err:   # a 400, as from dockerd
            _stream(api, path=str(ctx), target="nope")
        assert err.value.explanation == 'target stage "nope" could not be found'
    finally:
        _remove(api, "built/ms:1", "built/ms:build")


def test_every_instruction(daemon, tmp_path):
    api = daemon.api()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner/from-archive.txt")
        data = b"unpacked\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    served = tmp_path / "served"
    served.mkdir()
    (served / "remote.txt").write_text("fetched over http\n")
    os.utime(served / "remote.txt", (1_600_000_000, 1_600_000_000))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/remote.txt"
    ctx = _context(tmp_path, f"""\
# escape=`
FROM busybox
MAINTAINER someone@example.com
LABEL one=1 "two words"="a b"
ENV BASE=/opt EMPTY= DIR=${{BASE}}/same-line
ENV DIR=${{BASE}}/app
ENV OLDFORM value with spaces
WORKDIR $DIR
WORKDIR sub
RUN echo "user:x:1234:4321::/home:/bin/sh" >> /etc/passwd && `
    echo "grp:x:4321:" >> /etc/group
COPY --chown=user:grp owned.txt ./
COPY --chmod=0751 --chown=1:1 owned.txt /moded.txt
ADD files.tgz /added/
ADD {url} /remote/
COPY ["spaced name.txt", "/json form/"]
USER user
SHELL ["/bin/sh", "-ec"]
RUN test "$(id -u)" = 1234 && echo "${{EMPTY:-default}} ${{BASE:+set}}" > /tmp/expanded
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo triggered > /tmp/trigger
ENTRYPOINT ["sh", "-c"]
""", {"owned.txt": "mine\n", "files.tgz": archive.getvalue(),
      "spaced name.txt": "spaces\n"})
    try:
        events = _stream(api, path=str(ctx), tag="built/all:1")
        assert "error" not in events[-1], _text(events) + str(events[-1])
        info = api.inspect_image("built/all:1")
        config = info["Config"]
        assert info["Author"] == "someone@example.com"
        assert config["Labels"] == {"one": "1", "two words": "a b"}
        # one ENV sees the values from before it (DIR was /same-line), the next sees them
        assert "DIR=/opt/app" in config["Env"] and "OLDFORM=value with spaces" in config["Env"]
        assert config["WorkingDir"] == "/opt/app/sub"
        assert config["User"] == "user"
        assert config["Shell"] == ["/bin/sh", "-ec"]
        assert config["StopSignal"] == "SIGUSR1"
        assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000,
                                         "Retries": 2}
        assert config["OnBuild"] == ["RUN echo triggered > /tmp/trigger"]
        assert config["Entrypoint"] == ["sh", "-c"] and config["Cmd"] is None
        ctr = api.create_container("built/all:1", [
            "stat -c '%U:%G %a %n' /opt/app/sub/owned.txt; stat -c '%u:%g %a %n' /moded.txt; "
            "cat /added/inner/"
            "from-archive.txt /remote/remote.txt '/json form/spaced name.txt' /tmp/expanded; "
            "stat -c '%Y %a' /remote/remote.txt"], user="root")
        api.start(ctr)
        api.wait(ctr)
        assert api.logs(ctr).decode().splitlines() == [
            "user:grp 644 /opt/app/sub/owned.txt", "1:1 751 /moded.txt", "unpacked",
            "fetched over http", "spaces", "default set", "1600000000 600"]
        api.remove_container(ctr)
        child = _context(tmp_path / "child", "FROM built/all:1\nCMD [\"cat /tmp/trigger\"]\n")
        events = _stream(api, path=str(child), tag="built/child:1")
        assert "error" not in events[-1], _text(events) + str(events[-1])
        assert "# Executing 1 build trigger\n" in _text(events)
        ctr = api.create_container("built/child:1", user="root")
        api.start(ctr)
        api.wait(ctr)
        assert api.logs(ctr) == b"triggered\n", _text(events) + json.dumps(
            api.history("built/child:1")[:3]) + str(api.inspect_image("built/child:1")["Config"])
        api.remove_container(ctr)
        assert api.inspect_image("built/child:1")["Config"]["OnBuild"] is None
    finally:
        httpd.shutdown()
        httpd.server_close()
        _remove(api, "built/child:1", "built/all:1")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_dockerignore_with_docker_py_and_the_docker_cli(daemon, tmp_path):
    ctx = _context(tmp_path, "FROM busybox\nCOPY . /ctx/\nCMD [\"sh\", \"-c\", \"cd /ctx && find . -type f | sort\"]\n",
                   {"keep.txt": "k", "app.log": "l", "logs/keep.log": "k", "logs/x.log": "x",
                    "build/out.o": "o", "src/a/b/c.md": "m", "src/main.c": "c",
                    ".dockerignore": "*.log\n!logs/keep.log\nbuild\n**/*.md\nlogs/x*\nDockerfile\n"})
    expected = "./.dockerignore\n./keep.txt\n./logs/keep.log\n./src/main.c\n"
    api = daemon.api()
    try:
        ours = daemon.docker_py("build", "-q", "-t", "built/ignore:1", str(ctx))
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout.decode().strip() == api.inspect_image("built/ignore:1")["Id"]
        out = daemon.docker("run", "--rm", "built/ignore:1") if os.path.exists(DOCKER_CLI) \
            else daemon.docker_py("run", "--rm", "built/ignore:1")
        assert out.stdout.decode() == expected
        if os.path.exists(DOCKER_CLI):
            theirs = daemon.docker("build", "-q", "-t", "built/ignore:2", str(ctx),
                                   env={"DOCKER_BUILDKIT": "0"})
            assert theirs.returncode == 0, theirs.stderr
            assert daemon.docker("run", "--rm", "built/ignore:2").stdout.decode() == expected
        client = daemon.client()
        image, _ = client.images.build(path=str(ctx), tag="built/ignore:3", rm=True)
        assert client.containers.run(image.id, remove=True) == expected.encode()
    finally:
        _remove(api, "built/ignore:1", "built/ignore:2", "built/ignore:3")


def test_cache_rules(daemon, tmp_path):
    api = daemon.api()
    ctx = _context(tmp_path, "FROM busybox\nARG X=1\nCOPY data.txt /data.txt\nRUN echo $X > /x\n",
                   {"data.txt": "one"})
    try:
        _stream(api, path=str(ctx), tag="built/cache:1")
        again = _text(_stream(api, path=str(ctx), tag="built/cache:1"))
        assert again.count("Using cache") == 3
        os.utime(ctx / "data.txt", (1_000_000, 1_000_000))   # times are not content
        assert _text(_stream(api, path=str(ctx))).count("Using cache") == 3
        (ctx / "data.txt").write_text("two")
        changed = _text(_stream(api, path=str(ctx)))
        assert changed.count("Using cache") == 1               # ARG only
        other_arg = _text(_stream(api, path=str(ctx), buildargs={"X": "2"}))
        assert other_arg.count("Using cache") == 2             # RUN sees X=2
        assert "Using cache" not in _text(_stream(api, path=str(ctx), nocache=True))
    finally:
        _remove(api, "built/cache:1")


@pytest.mark.parametrize("files,dockerfile,status,message", [
    ({}, None, 400, "Cannot locate specified Dockerfile: Dockerfile"),
    ({"Dockerfile": b""}, None, 400, "the Dockerfile (Dockerfile) cannot be empty"),
    ({"Dockerfile": b"  \n# only a comment\n"}, None, 400,
     "failed to parse Dockerfile: file with no instructions"),
    ({"Dockerfile": b"FROM busybox\nFOO bar\n"}, None, 400,
     "dockerfile parse error line 2: unknown instruction: FOO"),
    ({"Dockerfile": b"# escape=x\nFROM busybox\n"}, None, 400,
     "invalid escape token 'x' does not match ` or \\"),
    ({"Dockerfile": b"RUN true\n"}, None, 400, "no build stage in current context"),
])
def test_bad_dockerfiles_are_clear_errors(daemon, files, dockerfile, status, message):
    api = daemon.api()
    before = _containers(api)
    with pytest.raises(docker.errors.APIError) as err:
        list(api.build(fileobj=io.BytesIO(layer_tar(files)), custom_context=True, decode=True,
                       dockerfile=dockerfile))
    assert err.value.status_code == status
    assert message in err.value.explanation
    assert _containers(api) == before


@pytest.mark.parametrize("dockerfile,files,message", [
    ("FROM busybox\nCOPY ../outside /x\n", {}, "COPY failed: forbidden path outside the build "
     "context: ../outside ()"),
    ("FROM busybox\nCOPY missing.txt /x\n", {}, "COPY failed: file not found in build context "
     "or excluded by .dockerignore: stat missing.txt: file does not exist"),
    ("FROM busybox\nCOPY link/passwd /x\n", {"link": "SYMLINK:/etc"}, "COPY failed: file not "
     "found in build context or excluded by .dockerignore: stat link/passwd: file does not exist"),
    ("FROM busybox\nCOPY a b /x\n", {"a": b"a", "b": b"b"}, "When using COPY with more than one "
     "source file, the destination must be a directory and end with a /"),
    # not a stage: an image, pulled from a registry that is not there (on loopback)
    ("FROM busybox\nCOPY --from=127.0.0.1:9/nostage /x /x\n", {}, "127.0.0.1:9"),
    ("FROM Not/Valid:Ref\n", {}, "invalid reference format"),
])
def test_bad_copies_fail_in_the_stream_and_leave_nothing(daemon, tmp_path, dockerfile, files,
                                                         message):
    api = daemon.api()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **files}.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, str) and data.startswith("SYMLINK:"):
                info.type, info.linkname = tarfile.SYMTYPE, data[len("SYMLINK:"):]
                tar.addfile(info)
                continue
            payload = data if isinstance(data, bytes) else data.encode()
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    before = _containers(api)
    images_before = {i["Id"] for i in api.images(all=True)}
    events = list(api.build(fileobj=io.BytesIO(buf.getvalue()), custom_context=True,
                            decode=True))
    assert message in events[-1].get("error", ""), events[-1]
    assert _containers(api) == before
    new_images = {i["Id"] for i in api.images(all=True)} - images_before
    assert not new_images


def test_unclean_context_names_stay_in_the_context(daemon):
    """moby's TestBuildUncleanTarFilenames: `../foo` and `/bar` in a context are
    `foo` and `bar` (dockerd unpacks it chrooted), and nothing lands outside."""
    api = daemon.api()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for member, data in (("Dockerfile", b"FROM busybox\nCOPY escape absolute /got/\n"),
                             ("../escape", b"x"), ("/absolute", b"y")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    events = list(api.build(fileobj=io.BytesIO(buf.getvalue()), custom_context=True,
                            decode=True, rm=True, tag="unclean:1"))
    assert "Successfully tagged unclean:1" in _text(events), events
    _remove(api, "unclean:1")
    with pytest.raises(docker.errors.APIError) as err:
        list(api.build(fileobj=io.BytesIO(b"this is not a tar at all" * 100),
                       custom_context=True))
    assert err.value.status_code == 400
    assert not os.path.exists("/escape") and not os.path.exists("/absolute")
    assert api.ping()


def test_remote_contexts_and_dockerfile_on_stdin(daemon, tmp_path):
    api = daemon.api()
    served = tmp_path / "served"
    served.mkdir()
    (served / "Dockerfile").write_text("FROM busybox\nRUN echo remote dockerfile\n")
    (served / "ctx.tar.gz").write_bytes(gzip.compress(layer_tar({
        "Dockerfile": b"FROM busybox\nCOPY hello /hello\n", "hello": b"from a tarball\n"})))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        text = _text(_stream(api, path=f"{base}/Dockerfile", tag="built/remote:1"))
        assert "remote dockerfile" in text and "Successfully tagged built/remote:1" in text
        _stream(api, path=f"{base}/ctx.tar.gz", tag="built/remote:2")
        out = daemon.docker_py("run", "--rm", "built/remote:2", "cat", "/hello")
        assert out.stdout == b"from a tarball\n"
        piped = daemon.docker_py("build", "-q", "-t", "built/remote:3", "-",
                                 input=b"FROM busybox\nLABEL piped=yes\n")
        assert piped.returncode == 0, piped.stderr
        assert api.inspect_image("built/remote:3")["Config"]["Labels"] == {"piped": "yes"}
    finally:
        httpd.shutdown()
        httpd.server_close()
        _remove(api, "built/remote:1", "built/remote:2", "built/remote:3")


def test_the_cache_survives_a_restart(fresh_daemon, tmp_path):
    ctx = _context(tmp_path, "FROM busybox\nRUN echo once > /once\n")
    list(fresh_daemon.api().build(path=str(ctx), tag="built/keep:1", decode=True))
    fresh_daemon.restart()
    events = list(fresh_daemon.api().build(path=str(ctx), tag="built/keep:1", decode=True))
    assert " ---> Using cache\n" in [e.get("stream") for e in events]
    _ = json


def test_build_cache_in_df_and_prune(daemon, tmp_path):
    api = daemon.api()
    ctx = _context(tmp_path, "FROM busybox\nRUN head -c 5000 /dev/urandom > /r\nENV X=1\n")
    events = _stream(api, path=str(ctx), tag="built/prune-keep:1")
    kept = api.inspect_image("built/prune-keep:1")["Id"]
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN head -c 7000 /dev/urandom > /r\nENV Y=2\n")
    events = _stream(api, path=str(ctx))           # untagged: all of it is cache
    untagged = [e["aux"]["ID"] for e in events if "aux" in e][0]
    records = api.df()["BuildCache"]
    ids = {r["ID"] for r in records}
    assert untagged[7:32] in ids
    assert sum(r["Size"] for r in records) >= 7000
    report = api.prune_builds()
    assert untagged[7:32] in report["CachesDeleted"]
    assert report["SpaceReclaimed"] >= 7000
    assert untagged[7:32] not in {r["ID"] for r in api.df()["BuildCache"]}
    assert api.inspect_image("built/prune-keep:1")["Id"] == kept   # tagged images stay
    _remove(api, "built/prune-keep:1")



def test_cache_from_limits_the_cache_to_those_images(daemon, tmp_path):
    api = daemon.api()
    ctx = _context(tmp_path, "FROM busybox\nRUN echo cached > /c\n")
    try:
        _stream(api, path=str(ctx), tag="built/source:1")
        hits = _text(_stream(api, path=str(ctx), cache_from=["built/source:1"]))
        assert "Using cache" in hits
        misses = _text(_stream(api, path=str(ctx), cache_from=["busybox:latest"]))
        assert "Using cache" not in misses       # busybox did not come from that RUN
    finally:
        _remove(api, "built/source:1")


def test_empty_options_sent_as_null_are_empty(daemon):
    """The Go client sends empty maps and lists as `null` (buildargs=null,
    labels=null, cachefrom=null): dockerd reads them as empty."""
    import io
    import tarfile

    from .rawhttp import request
    data = b"FROM busybox\nLABEL a=b\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    out = request(daemon.sock, "POST", "/build?buildargs=null&labels=null&cachefrom=null"
                  "&t=nulls:1", buf.getvalue(), {"Content-Type": "application/x-tar"})
    assert out.status == 200
    assert b"Successfully tagged nulls:1" in out.body, out.body
    daemon.api().remove_image("nulls:1")


def test_every_extra_host_reaches_the_build(daemon, tmp_path):
    """`extrahosts` repeated once per host (the SDK's and the CLI's --add-host):
    dockerd uses every value."""
    api = daemon.api()
    ctx = _context(tmp_path, "FROM busybox\nRUN grep -E 'one|two' /etc/hosts\n")
    events = _stream(api, path=str(ctx), extra_hosts={"one.example": "192.0.2.1",
                                                      "two.example": "192.0.2.2"}, tag="hosts:1")
    text = _text(events)
    assert "192.0.2.1\tone.example" in text and "192.0.2.2\ttwo.example" in text, text
    _remove(api, "hosts:1")


def test_a_runs_stderr_reaches_the_stream_in_red(daemon, tmp_path):
    """RUN's stderr as dockerd's stderr writer sends it: a stream message wrapped in
    ANSI red (\\033[91m ... \\033[0m); stdout as it is."""
    api = daemon.api()
    ctx = _context(tmp_path, "FROM busybox\nRUN echo to-out; echo to-err >&2\n")
    events = _stream(api, path=str(ctx), nocache=True)
    streams = [e["stream"] for e in events if "stream" in e]
    assert "to-out\n" in streams
    assert "\033[91mto-err\n\033[0m" in streams
    ids = [e["aux"]["ID"] for e in events if "aux" in e]
    api.remove_image(ids[-1])
