"""Shell completion: the script, and commands and subcommands completed."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _complete(words: str, cword: int) -> list[str]:
    env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(cword),
               _DOCKER_PY_COMPLETE="bash_complete")
    out = subprocess.run([sys.executable, "-m", "docker_cli"], env=env, capture_output=True,
                         text=True, timeout=30).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts(shell):
    out = subprocess.run([sys.executable, "-m", "docker_cli", "completion", shell],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "_DOCKER_PY_COMPLETE" in out.stdout


def test_commands_and_flags_complete():
    assert "network" in _complete("docker-py ne", 1)
    assert _complete("docker-py network cr", 2) == ["create"]
    assert "--all-tags" in _complete("docker-py pull --all", 2)
