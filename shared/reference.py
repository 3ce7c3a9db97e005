"""Image references, parsed and normalised as Docker's distribution/reference does.

`busybox` is `docker.io/library/busybox:latest`; the familiar form drops the
default registry and the `library/` namespace again (`busybox:latest`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
ID_RE = re.compile(r"^[a-f0-9]{64}$")
SHA256_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
NAME_TOTAL_LENGTH_MAX = 255


class ReferenceError(ValueError):
    """An image reference that Docker would refuse."""


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The fully qualified repository name: `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as Docker shows it: `busybox`, `localhost:5000/x/y`."""
        if self.domain == DEFAULT_DOMAIN:
            prefix = OFFICIAL_NAMESPACE + "/"
            if self.path.startswith(prefix) and "/" not in self.path[len(prefix):]:
                return self.path[len(prefix):]
            return self.path
        return self.name

    def __str__(self) -> str:
        return self.canonical()

    def canonical(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def familiar(self) -> str:
        out = self.familiar_name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def with_default_tag(self) -> Reference:
        """Docker's TagNameOnly: a bare name gets `:latest`."""
        if self.tag is None and self.digest is None:
            return Reference(self.domain, self.path, DEFAULT_TAG, None)
        return self

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    def repository(self) -> Reference:
        return Reference(self.domain, self.path)


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"
                   and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    return domain, path


def parse(text: str) -> Reference:
    """Parse and normalise a reference; raise ReferenceError with Docker's text."""
    if ID_RE.match(text):
        raise ReferenceError(f"invalid repository name ({text}), cannot specify 64-byte "
                             "hexadecimal strings")
    domain, remainder = _split_domain(text)
    remote = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote.lower() != remote:
        raise ReferenceError(
            f"invalid reference format: repository name ({remote}) must be lowercase")
    match = _REFERENCE_RE.match(text)
    if not text or not match:
        raise ReferenceError("invalid reference format")
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise ReferenceError("invalid reference format: repository name must not be more "
                             f"than {NAME_TOTAL_LENGTH_MAX} characters")
    domain, path = _split_domain(name)
    if digest is not None:
        algo, _, hexpart = digest.partition(":")
        if algo == "sha256" and len(hexpart) != 64:
            raise ReferenceError("invalid reference format")
    return Reference(domain, path, tag, digest)


def parse_normalized_named(text: str) -> Reference:
    """Parse a reference and add `:latest` when it names neither tag nor digest."""
    return parse(text).with_default_tag()


def parse_repository_tag(repo: str, tag: str | None) -> Reference:
    """Combine the `repo` and `tag` query parameters that several endpoints take."""
    if tag:
        if "@" in repo:
            raise ReferenceError("invalid reference format")
        if tag.startswith("sha256:"):
            return parse(f"{repo}@{tag}")
        return parse(f"{repo}:{tag}")
    return parse_normalized_named(repo)


def is_full_id(text: str) -> bool:
    return bool(ID_RE.match(text))


def is_digest(text: str) -> bool:
    return bool(SHA256_DIGEST_RE.match(text))
