"""The flag parser of `run`/`create`: Docker's (pflag's) reading of the words,
and its error texts; and the CLI's query encoding, which must equal urllib's."""
from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docker_cli import http
from docker_cli.commands.container.run import CREATE, RUN
from docker_cli.errors import CLIError, FlagError
from docker_cli.flags import HelpRequested


def parse(line: str) -> tuple[dict, list[str]]:
    return RUN.parse(line.split())


def test_grouped_shorts_values_and_the_first_positional_ends_the_flags():
    opts, rest = parse("-itd -e A=1 -eB=2 -e=C=3 --name=web --rm busybox sh -c -x")
    assert (opts["interactive"], opts["tty"], opts["detach"], opts["rm"]) == (True,) * 4
    assert opts["env"] == ("A=1", "B=2", "C=3")
    assert opts["name"] == "web"
    assert rest == ["busybox", "sh", "-c", "-x"]


def test_booleans_take_explicit_values_and_aliases_fill_one_flag():
    opts, _ = parse("--rm=false -t=false -i --net=none --network br busybox")
    assert (opts["rm"], opts["tty"], opts["interactive"]) == (False, False, True)
    assert opts["network"] == ("none", "br")


def test_double_dash_ends_the_flags_and_defaults_are_unset():
    opts, rest = parse("-- --rm busybox")
    assert rest == ["--rm", "busybox"]
    assert opts["rm"] is False and opts["name"] is None and opts["publish"] == ()


def test_typed_values():
    opts, _ = parse("-c 512 --cpus 1.5 --stop-timeout 3 busybox")
    assert (opts["cpu_shares"], opts["cpus"], opts["stop_timeout"]) == (512, 1.5, 3)


@pytest.mark.parametrize("line,message", [
    ("--nosuch busybox", "unknown flag: --nosuch"),
    ("-z busybox", "unknown shorthand flag: 'z' in -z"),
    ("-dz busybox", "unknown shorthand flag: 'z' in -z"),
    ("-e", "flag needs an argument: 'e' in -e"),
    ("--name", "flag needs an argument: --name"),
    ("-c abc busybox", 'invalid argument "abc" for "-c, --cpu-shares" flag: strconv.ParseInt: '
                       'parsing "abc": invalid syntax'),
    ("--rm=maybe busybox", 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: '
                           'parsing "maybe": invalid syntax'),
    ("--cpus x busybox", 'invalid argument "x" for "--cpus" flag: failed to parse x as a '
                         'rational number'),
])
def test_docker_error_texts_exit_125(line, message):
    with pytest.raises(FlagError) as err:
        parse(line)
    assert err.value.message == message and err.value.status == 125


def test_no_image_is_exit_1_with_usage():
    with pytest.raises(CLIError) as err:
        CREATE.parse(["--rm"])
    assert err.value.status == 1
    assert err.value.message.splitlines()[0] == \
        "docker-py: 'docker-py create' requires at least 1 argument"


def test_help_lists_every_flag_once():
    with pytest.raises(HelpRequested) as help_:
        parse("--rm --help busybox")
    text = help_.value.text
    assert text.startswith("Usage:  docker-py run [OPTIONS] IMAGE [COMMAND] [ARG...]")
    for flag in RUN.flags:
        assert text.count(f"--{flag.long} ") == 1, flag.long
    assert "  -e, --env list" in text and "      --rm " in text


@given(st.lists(st.tuples(st.text(), st.text()), max_size=4))
def test_query_encoding_equals_urllib(items):
    assert http.urlencode(items) == urllib.parse.urlencode(items)


def test_ps_takes_flags_anywhere_and_no_arguments():
    from docker_cli.commands.container.listing import PS
    opts, rest = PS.parse(["-a", "--format", "{{.ID}}", "-n", "3", "--no-trunc"])
    assert (opts["all"], opts["format"], opts["last"], opts["no_trunc"], rest) == \
        (True, "{{.ID}}", 3, True, [])
    with pytest.raises(CLIError) as err:
        PS.parse(["-a", "extra", "-q"])
    assert err.value.status == 1
    assert err.value.message.splitlines()[0] == "docker-py: 'docker-py ps' accepts no arguments"
