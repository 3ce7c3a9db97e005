"""The cli suite of bench.py: `docker-py` beside the Docker CLI, against the
same daemon, the two alternating so that both see the same machine."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess

from harness import timed

COMMANDS = {"version": ["--version"], "ps": ["ps"], "run_rm": ["run", "--rm", "{image}", "true"]}


def bench_cli(host: str, image: str, runs: int, docker_py: str) -> dict[str, float]:
    """Median wall time (ms) of each command line with docker-py and with the
    `docker` command (when installed), and their ratio."""
    docker = shutil.which("docker")
    env = dict(os.environ, DOCKER_HOST=host)
    results: dict[str, float] = {}
    for name, words in COMMANDS.items():
        args = [w.format(image=image) for w in words]
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(runs + 1):  # the first of each is a warm-up
            ours.append(_wall_ms([docker_py, *args], env))
            if docker:
                theirs.append(_wall_ms([docker, *args], env))
        results[f"{name}_docker_py_ms"] = statistics.median(ours[1:])
        if docker:
            results[f"{name}_docker_ms"] = statistics.median(theirs[1:])
            results[f"{name}_ratio"] = results[f"{name}_docker_py_ms"] / \
                results[f"{name}_docker_ms"]
    return results


def _wall_ms(argv: list[str], env: dict[str, str]) -> float:
    return timed(lambda: _run(argv, env)) * 1000


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()}")
