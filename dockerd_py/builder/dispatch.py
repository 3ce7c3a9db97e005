"""Each Dockerfile instruction's effect on a stage: the config it changes, the
container it runs, the files it copies."""
from __future__ import annotations

import json
import posixpath
from typing import Any

from ..errors import InvalidParameter
from .dockerfile import parse_healthcheck, parse_key_values, parse_ports, set_env
from .parser import Instruction
from .shell import split_words
from .state import StageState
from .step import BuildError, StepHost
from .transfer import copy_step


def go_list(items: list[str]) -> str:
    """Go's %q of a string slice: `["a" "b"]`."""
    return "[" + " ".join(json.dumps(i) for i in items) + "]"


async def run(b: StepHost, state: StageState, ins: Instruction) -> None:
    handler = _HANDLERS.get(ins.keyword)
    if handler is None:
        raise InvalidParameter(f"{ins.keyword} is not allowed here")
    await handler(b, state, ins)


def _words(b: StepHost, state: StageState, ins: Instruction) -> list[str]:
    return b.lexer.process_words(ins.args, state.env_map())


def _key_values(b: StepHost, state: StageState, ins: Instruction) -> list[tuple[str, str]]:
    return parse_key_values(ins.args, ins.keyword, state.env_map(), b.lexer.escape)


# -- config-only instructions ---------------------------------------------------------------
async def _env(b: StepHost, state: StageState, ins: Instruction) -> None:
    pairs = _key_values(b, state, ins)
    env = list(state.run_config.get("Env") or [])
    for key, value in pairs:
        env = set_env(env, key, value)
    state.run_config["Env"] = env
    await b.nop(state, "ENV " + " ".join(f"{k}={v}" for k, v in pairs))


async def _label(b: StepHost, state: StageState, ins: Instruction) -> None:
    pairs = _key_values(b, state, ins)
    labels = dict(state.run_config.get("Labels") or {})
    labels.update(pairs)
    state.run_config["Labels"] = labels
    await b.nop(state, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs))


async def _maintainer(b: StepHost, state: StageState, ins: Instruction) -> None:
    state.author = ins.args.strip()
    await b.nop(state, "MAINTAINER " + state.author)


async def _expose(b: StepHost, state: StageState, ins: Instruction) -> None:
    words = _words(b, state, ins)
    if not words:
        raise InvalidParameter("EXPOSE requires at least one argument")
    ports = dict(state.run_config.get("ExposedPorts") or {})
    for word in words:
        for port in parse_ports(word):
            ports[port] = {}
    state.run_config["ExposedPorts"] = ports
    await b.nop(state, "EXPOSE " + " ".join(words))


async def _volume(b: StepHost, state: StageState, ins: Instruction) -> None:
    paths = ins.json_args
    paths = [b.lexer.process_word(p, state.env_map()) for p in paths] if paths is not None \
        else _words(b, state, ins)
    if not paths:
        raise InvalidParameter("VOLUME requires at least one argument")
    volumes = dict(state.run_config.get("Volumes") or {})
    for path in paths:
        if not path.strip():
            raise InvalidParameter("VOLUME specified can not be an empty string")
        volumes[path] = {}
    state.run_config["Volumes"] = volumes
    await b.nop(state, "VOLUME [" + " ".join(paths) + "]")


async def _one_word(b: StepHost, state: StageState, ins: Instruction) -> None:
    """USER and STOPSIGNAL: one expanded word into the config."""
    value = b.lexer.process_word(ins.args.strip(), state.env_map())
    if not value:
        raise InvalidParameter(f"{ins.keyword} requires exactly one argument")
    state.run_config[_ONE_WORD[ins.keyword]] = value
    await b.nop(state, f"{ins.keyword} {value}")


_ONE_WORD = {"USER": "User", "STOPSIGNAL": "StopSignal"}


async def _shell(b: StepHost, state: StageState, ins: Instruction) -> None:
    shell = ins.json_args
    if not shell:
        raise InvalidParameter("SHELL requires the arguments to be in JSON form")
    state.run_config["Shell"] = shell
    await b.nop(state, "SHELL " + go_list(shell))


async def _healthcheck(b: StepHost, state: StageState, ins: Instruction) -> None:
    text = " ".join([f"--{k}={v}" for k, v in ins.flags.items()] + [ins.args])
    check = parse_healthcheck(text)
    if check.get("Test") != ["NONE"] and len(check.get("Test") or []) < 2:
        raise InvalidParameter("Missing command after HEALTHCHECK CMD")
    state.run_config["Healthcheck"] = check
    await b.nop(state, "HEALTHCHECK " + json.dumps(check, sort_keys=True))


def _command(state: StageState, ins: Instruction) -> list[str]:
    exec_form = ins.json_args
    if exec_form is not None:
        return exec_form
    return state.shell + [ins.args]


async def _cmd(b: StepHost, state: StageState, ins: Instruction) -> None:
    cmd = _command(state, ins)
    state.run_config["Cmd"] = cmd
    state.cmd_set = True
    await b.nop(state, "CMD " + go_list(cmd))


async def _entrypoint(b: StepHost, state: StageState, ins: Instruction) -> None:
    entrypoint = _command(state, ins) if ins.args.strip() else []
    state.run_config["Entrypoint"] = entrypoint or None
    if not state.cmd_set:
        state.run_config["Cmd"] = None  # an inherited CMD does not outlive a new ENTRYPOINT
    await b.nop(state, "ENTRYPOINT " + go_list(entrypoint))


async def _onbuild(b: StepHost, state: StageState, ins: Instruction) -> None:
    keyword, _, rest = ins.args.strip().partition(" ")
    trigger = f"{keyword.upper()} {rest.strip()}".strip()
    state.run_config["OnBuild"] = list(state.run_config.get("OnBuild") or []) + [trigger]
    await b.nop(state, "ONBUILD " + trigger)


async def _arg(b: StepHost, state: StageState, ins: Instruction) -> None:
    words = split_words(ins.args, b.lexer.escape)
    if not words:
        raise InvalidParameter("ARG requires exactly one argument")
    shown = []
    for word in words:
        name, sep, default = word.partition("=")
        value = b.lexer.process_word(default, state.env_map()) if sep else None
        state.args[name] = b.args.value(name, value)
        shown.append(f"{name}={value}" if sep else name)
    await b.nop(state, "ARG " + " ".join(shown))


# -- instructions that change files ------------------------------------------------------------
async def _run(b: StepHost, state: StageState, ins: Instruction) -> None:
    if state.image is None:
        raise InvalidParameter("Please provide a source image with `from` prior to run")
    cmd = _command(state, ins)
    build_env = state.run_args()
    saved = ([f"|{len(build_env)}"] + build_env + cmd) if build_env else cmd
    probe = b.probe(state, saved)
    probe["Entrypoint"] = None
    if await b.from_cache(state, probe):
        return
    config = b.probe(state, cmd)
    config["Entrypoint"] = []  # the image's entrypoint does not wrap a RUN
    config["Env"] = list(config.get("Env") or []) + build_env
    cid = await b.backend.create(state.image, config, b.options.run)
    await b.out.stream(f" ---> Running in {cid[:12]}\n")
    code = await b.backend.run(cid, b.out.stream)
    if code != 0:
        if b.options.force_remove:
            await b.backend.remove(cid)
        raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}",
                         code)
    await b.commit(state, cid, probe)


async def _workdir(b: StepHost, state: StageState, ins: Instruction) -> None:
    path = b.lexer.process_word(ins.args.strip(), state.env_map())
    if not path:
        raise InvalidParameter("WORKDIR requires exactly one argument")
    current = state.run_config.get("WorkingDir") or "/"
    path = posixpath.normpath(path if path.startswith("/") else posixpath.join(current, path))
    state.run_config["WorkingDir"] = path
    probe = b.probe(state, state.shell + ["#(nop) WORKDIR " + path])
    await b.container_step(state, probe, lambda cid: b.backend.mkdir(cid, path, None))


async def _copy(b: StepHost, state: StageState, ins: Instruction) -> None:
    await copy_step(b, state, ins)


_HANDLERS: dict[str, Any] = {
    "ENV": _env, "LABEL": _label, "MAINTAINER": _maintainer, "EXPOSE": _expose,
    "VOLUME": _volume, "USER": _one_word, "STOPSIGNAL": _one_word, "SHELL": _shell,
    "HEALTHCHECK": _healthcheck, "CMD": _cmd, "ENTRYPOINT": _entrypoint, "ONBUILD": _onbuild,
    "ARG": _arg, "RUN": _run, "WORKDIR": _workdir, "COPY": _copy, "ADD": _copy,
}
