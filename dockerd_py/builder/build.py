"""The classic builder: the Dockerfile's stages run step by step, each step an
image (a container committed, or a config change), reused from the cache when
the parent image and the step's config match; the output is dockerd's stream
(`Step 1/5 : …`, ` ---> Running in …`, ` ---> Using cache`, `Successfully built
…`), so the Docker CLI and the SDK read it unchanged."""
from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from ..errors import InvalidParameter
from . import dispatch
from .backend import Backend, BaseImage, Commit
from .parser import Dockerfile, Instruction, parse_instruction
from .shell import Lexer
from .state import BuildArgs, Stage, StageState, split_stages, stages_to_build
from .step import BuildError, BuildOptions, Output, Sink, short


class Builder:
    def __init__(self, backend: Backend, context: str, dockerfile: Dockerfile,
                 options: BuildOptions, sink: Sink, scratch_dir: str) -> None:
        self.backend = backend
        self.context = context               # the unpacked context directory
        self.dockerfile = dockerfile
        self.options = options
        self.out = Output(sink, options.quiet)
        self.lexer = Lexer(dockerfile.escape)
        self.args = BuildArgs(options.build_args)
        self.scratch_dir = scratch_dir       # ADD downloads
        self.stage_images: dict[int, BaseImage | None] = {}
        self.stage_names: dict[str, int] = {}
        self.kept_containers: list[str] = []
        self.cache_sources: set[str] | None = None
        self.step = 0
        self.total = 0

    # -- the whole build ---------------------------------------------------------------
    async def build(self) -> str:
        for warning in self.dockerfile.warnings:
            await self.out.stream(warning + "\n")
        meta, stages = split_stages(self.dockerfile.instructions)
        for ins in meta:
            name, _, default = ins.args.partition("=")
            self.args.declare_meta(name.strip(), self.lexer.process_word(
                default, self.args.meta_env()) if "=" in ins.args else None)
        run = stages_to_build(stages, self.options.target)
        if self.options.labels:
            run[-1].instructions.append(parse_instruction(
                "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}"
                                    for k, v in sorted(self.options.labels.items())), 0))
        self.total = len(meta) + sum(1 + len(s.instructions) for s in run)
        for ins in meta:
            await self.begin_step(ins)
        state: StageState | None = None
        for stage in run:
            state = await self._stage(stage)
            if state.image is not None:  # each stage's image, as dockerd's emitImageID
                await self.out.aux({"ID": state.image.id})
        assert state is not None
        if state.image is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        image_id = state.image.id
        unused = self.args.unconsumed()
        if unused:
            await self.out.stream(f"[Warning] One or more build-args [{' '.join(unused)}] "
                                  "were not consumed\n")
        await self.out.stream(f"Successfully built {short(image_id)}\n")
        for name in await self.backend.tag(image_id, self.options.tags):
            await self.out.stream(f"Successfully tagged {name}\n")
        if self.options.quiet:
            await self.out.stream(image_id + "\n", always=True)
        return image_id

    async def begin_step(self, ins: Instruction) -> None:
        self.step += 1
        await self.out.stream(f"Step {self.step}/{self.total} : {ins.original}\n")

    async def _stage(self, stage: Stage) -> StageState:
        await self.begin_step(stage.from_instruction)
        state = await self._from(stage)
        for ins in stage.instructions:
            await self.begin_step(ins)
            await dispatch.run(self, state, ins)
        self.stage_images[stage.index] = state.image
        if stage.name:
            self.stage_names[stage.name] = stage.index
        return state

    async def _from(self, stage: Stage) -> StageState:
        base = self.lexer.process_word(stage.base, self.args.meta_env())
        if not base:
            raise InvalidParameter("base name (" + stage.base + ") should not be blank")
        image: BaseImage | None
        if base.lower() in self.stage_names:
            image = self.stage_images[self.stage_names[base.lower()]]
        elif base == "scratch":
            image = None
        else:
            image = await self.backend.image(base, self.options.pull,
                                             stage.platform or self.options.platform, self.out)
        if image is not None:
            await self.out.stream(f" ---> {short(image.id)}\n")
        state = StageState.begin(image, self.options.build_args)
        triggers = list(state.run_config.get("OnBuild") or [])
        state.run_config["OnBuild"] = None
        if triggers:
            plural = "s" if len(triggers) > 1 else ""
            await self.out.stream(f"# Executing {len(triggers)} build trigger{plural}\n")
            for text in triggers:
                trigger = parse_instruction(text, stage.from_instruction.line)
                if trigger.keyword in ("ONBUILD", "FROM", "MAINTAINER"):
                    raise InvalidParameter(f"{trigger.keyword} isn't allowed as an ONBUILD "
                                           "trigger")
                await dispatch.run(self, state, trigger)
        return state

    def stage_image(self, ref: str) -> BaseImage | None | Literal[False]:
        """The image of an earlier stage named or numbered ref; False when ref
        names no stage."""
        ref = ref.lower()
        if ref in self.stage_names:
            return self.stage_images[self.stage_names[ref]]
        if ref.isdigit() and int(ref) in self.stage_images:
            return self.stage_images[int(ref)]
        return False

    # -- steps that make an image ----------------------------------------------------------
    def probe(self, state: StageState, cmd: list[str]) -> dict[str, Any]:
        config = copy.deepcopy(state.run_config)
        config["Cmd"] = cmd
        return config

    async def from_cache(self, state: StageState, probe: dict[str, Any]) -> bool:
        if self.options.no_cache:
            return False
        hit = self.backend.cached(state.image.id if state.image else None, probe,
                                  self.cache_sources)
        if hit is None:
            return False
        await self.out.stream(" ---> Using cache\n")
        await self.out.stream(f" ---> {short(hit.id)}\n")
        state.image = hit
        return True

    async def commit(self, state: StageState, container_id: str | None,
                     probe: dict[str, Any], announce_removal: bool = True) -> None:
        """Commit the step's container (or only the config), then let it go."""
        image = await self.backend.commit(container_id, Commit(
            state.image, copy.deepcopy(state.run_config), probe,
            " ".join(probe.get("Cmd") or []), state.author))
        if container_id is not None:
            await self.release(container_id, announce_removal)
        state.image = image
        await self.out.stream(f" ---> {short(image.id)}\n")

    async def release(self, container_id: str, announce: bool = True) -> None:
        if self.options.remove or self.options.force_remove:
            await self.backend.remove(container_id)
            if announce:
                await self.out.stream(f"Removing intermediate container {short(container_id)}\n")
        else:
            self.kept_containers.append(container_id)

    async def nop(self, state: StageState, comment: str, split: bool = True) -> None:
        """A step that changes only the config (ENV, LABEL, CMD...): a container
        is made and committed, as dockerd's classic builder does."""
        cmd = state.shell + (["#(nop) ", comment] if split else ["#(nop) " + comment])
        await self.container_step(state, self.probe(state, cmd))

    async def container_step(self, state: StageState, probe: dict[str, Any],
                             work: Callable[[str], Awaitable[None]] | None = None) -> None:
        """From the cache, or: a container of the step's config, `work` done in it
        (WORKDIR makes its directory), committed and let go."""
        if await self.from_cache(state, probe):
            return
        if state.image is None:
            await self.commit(state, None, probe)
            return
        cid = await self.backend.create(state.image, probe, self.options.run)
        await self.out.stream(f" ---> Running in {short(cid)}\n")
        if work is not None:
            await work(cid)
        await self.commit(state, cid, probe)

    def cleanup_scratch(self) -> None:
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
