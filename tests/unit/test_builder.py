"""The builder's pure parts: the Dockerfile parser, variable substitution,
.dockerignore patterns, stages and build-argument scoping."""
from __future__ import annotations

import pytest

from dockerd_py.builder.parser import json_array, parse
from dockerd_py.builder.shell import Lexer, split_words
from dockerd_py.builder.state import BuildArgs, StageState, split_stages, stages_to_build
from dockerd_py.errors import InvalidParameter
from shared.ignore import Matcher, read_patterns


def test_parser_directives_continuations_comments_and_flags():
    df = parse(b"# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox AS base\n"
               b"# a comment\nRUN echo a `\n  # dropped\n\n  && echo b\n"
               b"COPY --from=base --chown=1:2 /x /y\nonbuild RUN echo hi\n")
    assert df.escape == "`"
    keywords = [(i.keyword, i.args) for i in df.instructions]
    assert keywords == [("FROM", "busybox AS base"), ("RUN", "echo a && echo b"),
                        ("COPY", "/x /y"), ("ONBUILD", "RUN echo hi")]
    assert df.instructions[2].flags == {"from": "base", "chown": "1:2"}
    assert df.warnings and "Empty continuation line" in df.warnings[0]


@pytest.mark.parametrize("text,message", [
    (b"", "the Dockerfile (Dockerfile) cannot be empty"),
    (b"# just a comment\n", "failed to parse Dockerfile: file with no instructions"),
    (b"FROM x\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO"),
    (b"# escape=x\nFROM x\n", "invalid escape token 'x' does not match ` or \\"),
    (b"# escape=`\n# escape=\\\nFROM x\n", "only one escape parser directive can be used"),
    (b"FROM x\nCOPY --bogus=1 a b\n", "unknown flag: bogus"),
    (b"FROM x\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    (b"FROM x\nONBUILD FROM y\n", "FROM isn't allowed as an ONBUILD trigger"),
])
def test_parser_errors_read_as_dockers(text, message):
    with pytest.raises(InvalidParameter, match=None) as err:
        parse(text)
    assert message in err.value.message


def test_json_form_and_its_fallback():
    assert json_array('["a", "b c"]') == ["a", "b c"]
    assert json_array("[not json]") is None        # shell form, as in Docker
    assert json_array('["a", 1]') is None


def test_variable_substitution():
    lex = Lexer()
    env = {"A": "x", "E": ""}
    cases = {"$A": "x", "${A}b": "xb", "${B:-def}": "def", "${E:-d}": "d", "${E-d}": "",
             "${A:+yes}": "yes", "${B:+yes}": "", "'$A'": "$A", '"$A \\$A"': "x $A",
             "a\\ b": "a b", "$": "$", "pre${A}post": "prexpost"}
    for word, expected in cases.items():
        assert lex.process_word(word, env) == expected, word
    assert Lexer("`").process_word("a`$A", env) == "a$A"
    with pytest.raises(InvalidParameter):
        lex.process_word("${B:?must be set}", env)
    assert split_words('A=b C="d e" F=g\\ h') == ["A=b", 'C="d e"', "F=g\\ h"]


def test_dockerignore_patterns():
    m = Matcher(read_patterns("# c\n*.log\n!keep.log\nbuild/\n**/tmp\n/secret\ndocs/**/*.md\n"))
    for path, excluded in {"a.log": True, "keep.log": False, "sub/a.log": False, "build": True,
                           "build/x/y": True, "a/b/tmp": True, "tmp/x": True, "secret": True,
                           "docs/a/b/c.md": True, "docs/x.md": True, "src/main.c": False}.items():
        assert m.matches(path) is excluded, path


def test_stages_targets_and_args():
    df = parse(b"ARG BASE=busybox\nFROM $BASE AS build\nRUN a\nFROM busybox AS unused\n"
               b"RUN b\nFROM busybox\nCOPY --from=build /x /x\n")
    meta, stages = split_stages(df.instructions)
    assert [m.args for m in meta] == ["BASE=busybox"]
    names = [s.name for s in stages_to_build(stages, None)]
    assert names == ["build", "unused", None]       # the classic builder runs them all
    assert [s.name for s in stages_to_build(stages, "UNUSED")] == ["build", "unused"]
    with pytest.raises(InvalidParameter, match='target stage "nope" could not be found'):
        stages_to_build(stages, "nope")
    with pytest.raises(InvalidParameter, match="no build stage in current context"):
        split_stages(parse(b"RUN x\n").instructions)

    args = BuildArgs({"V": "2", "HTTP_PROXY": "http://p", "UNUSED": "x"})
    args.declare_meta("BASE", "busybox")
    assert args.value("V", "1") == "2" and args.value("W", None) is None
    assert args.value("BASE", None) == "busybox"    # a meta ARG re-declared in a stage
    assert args.unconsumed() == ["UNUSED"]
    state = StageState.begin(None, args.given)
    state.args = {"V": "2", "W": None}
    state.run_config["Env"].append("V=env-wins")
    assert state.run_args() == ["HTTP_PROXY=http://p"]
    assert state.env_map()["V"] == "env-wins"
    assert state.run_config["Env"][0].startswith("PATH=")


def test_change_env_and_label_parse_as_the_dockerfile_does():
    """`--change` and the Dockerfile share one ENV/LABEL reading: quotes, the
    legacy form, and $VARs from the image's Env."""
    from dockerd_py.builder.dockerfile import parse_key_values
    env = {"PATH": "/bin", "HOME": "/root"}
    assert parse_key_values('A="x y" B=$PATH:/x C=\'$HOME\'', "ENV", env) == [
        ("A", "x y"), ("B", "/bin:/x"), ("C", "$HOME")]
    assert parse_key_values("GREETING hello $HOME there", "ENV", env) == [
        ("GREETING", "hello /root there")]
    with pytest.raises(InvalidParameter, match="LABEL requires at least one key=value"):
        parse_key_values("lonely", "LABEL")
    with pytest.raises(InvalidParameter, match="must have two arguments"):
        parse_key_values("ONLYKEY", "ENV")
