"""What a build's steps share: the options, the output stream, the step error,
and StepHost, what an instruction's handler (dispatch, transfer) may use of the
build it runs in. Kept apart from build.py so that the handlers do not import
the builder that calls them."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shared import jsonstream

from ..errors import DockerError
from .backend import Backend, BaseImage, RunOptions
from .shell import Lexer
from .state import BuildArgs, StageState

Sink = Callable[[bytes], Awaitable[None]]


class BuildError(DockerError):
    """A step failed; `code` is the exit code of a failed RUN."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    remove: bool = True
    force_remove: bool = False
    platform: str | None = None
    cache_from: list[str] = field(default_factory=list)
    run: RunOptions = field(default_factory=RunOptions)


class Output:
    """dockerd's build stream: `stream` text, `aux`, and pull progress."""

    def __init__(self, sink: Sink, quiet: bool) -> None:
        self._sink = sink
        self.quiet = quiet

    async def stream(self, text: str, always: bool = False) -> None:
        if not self.quiet or always:
            await self._sink(jsonstream.message(stream=text))

    async def aux(self, doc: dict[str, Any]) -> None:
        await self._sink(jsonstream.message(aux=doc))

    async def raw(self, data: bytes) -> None:
        """Pull progress, as the pull itself writes it."""
        if not self.quiet:
            await self._sink(data)


def short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


class StepHost(Protocol):
    """The build as its instruction handlers see it (Builder implements it)."""

    backend: Backend
    context: str  # the unpacked context directory
    options: BuildOptions
    out: Output
    lexer: Lexer
    args: BuildArgs
    scratch_dir: str  # ADD downloads

    def stage_image(self, ref: str) -> BaseImage | None | Literal[False]: ...

    def probe(self, state: StageState, cmd: list[str]) -> dict[str, Any]: ...

    async def from_cache(self, state: StageState, probe: dict[str, Any]) -> bool: ...

    async def commit(self, state: StageState, container_id: str | None,
                     probe: dict[str, Any], announce_removal: bool = True) -> None: ...

    async def nop(self, state: StageState, comment: str, split: bool = True) -> None: ...

    async def container_step(self, state: StageState, probe: dict[str, Any],
                             work: Callable[[str], Awaitable[None]] | None = None) -> None: ...
