"""Container names: validation as dockerd does it, and random names for the
unnamed (an adjective and a scientist, like Docker's, from our own lists)."""
from __future__ import annotations

import random
import re
from collections.abc import Container

from ..errors import InvalidParameter

VALID_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_LEFT = ["agile", "bold", "brave", "bright", "calm", "clever", "cool", "crisp", "daring",
         "eager", "earnest", "fair", "fervent", "fond", "gallant", "gentle", "happy", "hardy",
         "humble", "jolly", "keen", "kind", "lively", "loyal", "lucid", "merry", "modest",
         "nimble", "noble", "patient", "plucky", "proud", "quick", "quiet", "rapid", "serene",
         "sharp", "shrewd", "steady", "stoic", "sunny", "swift", "tender", "tidy", "upbeat",
         "valiant", "vivid", "warm", "wise", "witty", "zealous"]
_RIGHT = ["agnesi", "archimedes", "babbage", "banach", "bohr", "boole", "cantor", "carson",
          "curie", "darwin", "dijkstra", "euclid", "euler", "faraday", "fermat", "feynman",
          "franklin", "galileo", "gauss", "germain", "goodall", "hamilton", "hawking",
          "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "maxwell",
          "meitner", "mendel", "noether", "newton", "pascal", "pasteur", "planck", "ramanujan",
          "ritchie", "sagan", "shannon", "somerville", "tesla", "thompson", "torvalds",
          "turing", "volta", "wilson", "wozniak", "yalow"]


def validate(name: str) -> str:
    """Return the name without its leading slash; refuse what dockerd refuses."""
    if not _VALID_NAME.match(name):
        raise InvalidParameter(f"Invalid container name ({name}), only {VALID_NAME_CHARS} "
                               "are allowed")
    return name.lstrip("/")


def generate(taken: Container[str], retry: int = 0) -> str:
    for attempt in range(100):
        name = f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}"
        if attempt >= 10 or retry:
            name += str(random.randint(0, 9999))
        if name not in taken:
            return name
    raise RuntimeError("could not generate a unique container name")
