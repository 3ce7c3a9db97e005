"""Flags parsed as the Docker CLI's parser (spf13/pflag) parses them, for the
commands on the hot path (`run`, `create`, `ps`): without click's import, and with
Docker's semantics where click's differ (`--rm=false`, `-e=A=1`, `-itd`) and
Docker's error texts (`unknown shorthand flag: 'z' in -z`)."""
from __future__ import annotations

from .errors import CLIError, FlagError

TYPE_CHECKING = False  # typing's import is a tenth of this command's start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Runner = Callable[[dict[str, Any], dict[str, Any], list[str]], None]

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
# kind -> (the type name help shows, why Docker's parser refuses a bad value)
_KINDS = {"bool": ("", 'strconv.ParseBool: parsing "{}": invalid syntax'),
          "string": ("string", ""), "list": ("list", ""),
          "int": ("int", 'strconv.ParseInt: parsing "{}": invalid syntax'),
          "decimal": ("decimal", "failed to parse {} as a rational number")}  # --cpus


class Flag:
    """One flag: `long` without dashes, `short` one letter, `kind` a key of _KINDS."""
    __slots__ = ("long", "short", "kind", "help", "aliases", "dest", "shown")

    def __init__(self, long: str, short: str = "", kind: str = "string", help: str = "",
                 aliases: tuple[str, ...] = ()) -> None:
        self.long, self.short, self.kind, self.help, self.aliases = \
            long, short, kind, help, aliases
        self.dest = long.replace("-", "_")
        self.shown = f"-{short}, --{long}" if short else f"--{long}"

    def default(self) -> Any:
        return {"bool": False, "list": ()}.get(self.kind)

    def convert(self, text: str) -> Any:
        try:
            if self.kind == "bool":
                if text in _TRUE or text in _FALSE:
                    return text in _TRUE
                raise ValueError(text)
            if self.kind == "int":
                return int(text, 10)
            if self.kind == "decimal":
                return float(text)
        except ValueError:
            why = _KINDS[self.kind][1].format(text)
            raise FlagError(f'invalid argument "{text}" for "{self.shown}" flag: {why}') from None
        return text


class FlagSet:
    """A command's flags. Flags may come after positionals unless interspersed
    is off (Docker's run takes the image's command as it is, flags and all)."""

    def __init__(self, command: str, usage: str, summary: str, flags: tuple[Flag, ...],
                 min_args: int = 0, max_args: int | None = None,
                 interspersed: bool = True) -> None:
        self.command = command  # "run"
        self.usage = usage      # "[OPTIONS] IMAGE [COMMAND] [ARG...]"
        self.summary, self.flags = summary, flags
        self.min_args, self.max_args, self.interspersed = min_args, max_args, interspersed

    def parse(self, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Option values by dest, and the positionals."""
        by_long = {name: f for f in self.flags for name in (f.long, *f.aliases)}
        by_short = {f.short: f for f in self.flags if f.short}
        values = {f.dest: f.default() for f in self.flags}
        rest = list(args)
        positionals: list[str] = []
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                positionals += rest
                break
            if not arg.startswith("-") or arg == "-":
                positionals.append(arg)
                if not self.interspersed:
                    positionals += rest
                    break
            elif arg == "--help":
                raise HelpRequested(self.help())
            elif arg.startswith("--"):
                self._long(arg[2:], by_long, values, rest)
            else:
                self._shorts(arg[1:], by_short, values, rest)
        self._check_count(positionals)
        return values, positionals

    def _check_count(self, positionals: list[str]) -> None:
        """Cobra's argument checks, with its texts (exit status 1)."""
        if len(positionals) < self.min_args:
            why = f"requires at least {self.min_args} argument"
        elif self.max_args == 0 and positionals:
            why = "accepts no arguments"
        else:
            return
        raise CLIError(f"docker-py: 'docker-py {self.command}' {why}\n\nUsage:  docker-py "
                       f"{self.command} {self.usage}\n\nSee 'docker-py {self.command} --help'.",
                       1)

    @staticmethod
    def _long(text: str, by_long: dict[str, Flag], values: dict[str, Any],
              rest: list[str]) -> None:
        name, eq, value = text.partition("=")
        flag = by_long.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}")
        if not eq and flag.kind != "bool":
            if not rest:
                raise FlagError(f"flag needs an argument: --{name}")
            value = rest.pop(0)
        _store(flag, value if eq or flag.kind != "bool" else "true", values)

    @staticmethod
    def _shorts(text: str, by_short: dict[str, Flag], values: dict[str, Any],
                rest: list[str]) -> None:
        while text:
            letter, text = text[0], text[1:]
            flag = by_short.get(letter)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: '{letter}' in -{letter}{text}")
            if text.startswith("="):  # -e=A=1, -t=false
                _store(flag, text[1:], values)
                return
            if flag.kind == "bool":
                _store(flag, "true", values)
                continue
            if not text:
                if not rest:
                    raise FlagError(f"flag needs an argument: '{letter}' in -{letter}")
                text = rest.pop(0)
            _store(flag, text, values)
            return

    def help(self) -> str:
        """Docker's layout: usage, summary, then the flags by long name."""
        lefts = {f: ("" if f.short else "    ") + f"{f.shown} {_KINDS[f.kind][0]}".rstrip()
                 for f in self.flags}
        width = max(map(len, lefts.values())) + 3
        lines = [f"Usage:  docker-py {self.command} {self.usage}", "", self.summary, "",
                 "Options:"]
        lines += [f"  {lefts[f]:<{width}}{f.help}".rstrip()
                  for f in sorted(self.flags, key=lambda f: f.long)]
        return "\n".join(lines)


class HelpRequested(Exception):
    """`--help`: the text to print, exit status 0."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _store(flag: Flag, text: str, values: dict[str, Any]) -> None:
    value = flag.convert(text)
    if flag.kind == "list":
        values[flag.dest] = (*values[flag.dest], value)
    else:
        values[flag.dest] = value


def flag_command(flagset: FlagSet) -> Callable[[Runner], Runner]:
    """Mark a function `(global options, flag values, positionals)` as a command
    that flagset parses: main() runs it without click; the click tree wraps it."""
    def mark(func: Runner) -> Runner:
        func.flagset = flagset  # type: ignore[attr-defined]
        return func
    return mark


def run_flag_command(func: Runner, args: list[str], options: dict[str, Any]) -> None:
    """Parse args with the command's flag set and run it (`--help` prints its help)."""
    try:
        values, positionals = func.flagset.parse(args)  # type: ignore[attr-defined]
    except HelpRequested as help_:
        print(help_.text)
        return
    func(options, values, positionals)
