"""Registry credentials as the Docker CLI keeps them: `config.json` in
$DOCKER_CONFIG (default ~/.docker), `auths` with base64 `user:password`, or a
`credsStore`/`credHelpers` program (`docker-credential-<name> get|store|erase`).
The daemon gets them per request in X-Registry-Auth."""
from __future__ import annotations

import base64
import json
import os

from .errors import CLIError

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import Any

INDEX_SERVER = "https://index.docker.io/v1/"


def config_path() -> str:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def check_context(name: str | None) -> None:
    """--context / DOCKER_CONTEXT: the one context there is, "default" (the daemon
    -H or DOCKER_HOST names); any other is the docker CLI's "context not found"."""
    if not name or name == "default":
        return
    import hashlib
    meta = os.path.join(os.path.dirname(config_path()), "contexts", "meta",
                        hashlib.sha256(name.encode()).hexdigest(), "meta.json")
    raise CLIError(f'Failed to initialize: unable to resolve docker endpoint: context "{name}": '
                   f"context not found: open {meta}: no such file or directory", 1)


def load_config() -> dict[str, Any]:
    try:
        with open(config_path()) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CLIError(f"loading config file {config_path()}: {exc}", 1) from None
    return doc if isinstance(doc, dict) else {}


def setting(key: str) -> str | None:
    """A string setting of config.json (psFormat, imagesFormat, detachKeys...);
    None when absent or the file cannot be read."""
    try:
        value = load_config().get(key)
    except CLIError:
        return None
    return value if isinstance(value, str) and value else None


def detach_keys(flag: str | None) -> str | None:
    """--detach-keys, else config.json's detachKeys, else the daemon's ctrl-p,ctrl-q."""
    return flag or setting("detachKeys")


def save_config(doc: dict[str, Any]) -> None:
    path = config_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    import tempfile  # imports here keep `docker-py run` quick
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="config.json")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent="\t")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def server_key(registry: str | None) -> str:
    """The key Docker files a registry's credentials under."""
    if not registry or registry in ("docker.io", "index.docker.io", "registry-1.docker.io",
                                    INDEX_SERVER.rstrip("/"), INDEX_SERVER):
        return INDEX_SERVER
    for prefix in ("https://", "http://"):
        if registry.startswith(prefix):
            registry = registry[len(prefix):]
    return registry.rstrip("/")


def key_for_image(image: str) -> str:
    from shared import reference as refs  # here: `run` without a pull never needs it
    try:
        domain = refs.parse(image).domain
    except refs.ReferenceError:
        return INDEX_SERVER
    return server_key(domain)


def _helper(doc: dict[str, Any], key: str) -> str | None:
    helpers = doc.get("credHelpers") or {}
    host = key if key != INDEX_SERVER else "docker.io"
    return helpers.get(host) or helpers.get(key) or doc.get("credsStore") or None


def _run_helper(name: str, action: str, payload: str) -> str:
    import subprocess  # here: most commands never run a helper
    try:
        done = subprocess.run([f"docker-credential-{name}", action], input=payload.encode(),
                              capture_output=True, timeout=30)
    except FileNotFoundError:
        raise CLIError(f"error getting credentials - err: exec: \"docker-credential-{name}\": "
                       "executable file not found in $PATH", 1) from None
    if done.returncode != 0:
        text = (done.stdout or done.stderr).decode(errors="replace").strip()
        if "credentials not found" in text.lower():
            return ""
        verb = {"get": "getting", "store": "storing", "erase": "erasing"}[action]
        raise CLIError(f"error {verb} credentials - err: {text}", 1)
    return done.stdout.decode()


def get(key: str) -> dict[str, str]:
    """An AuthConfig for the registry key, or {}."""
    doc = load_config()
    helper = _helper(doc, key)
    if helper:
        reply = _run_helper(helper, "get", key)
        if not reply:
            return {}
        found = json.loads(reply)
        user, secret = found.get("Username", ""), found.get("Secret", "")
        if user == "<token>":
            return {"identitytoken": secret, "serveraddress": key}
        return {"username": user, "password": secret, "serveraddress": key}
    entry = (doc.get("auths") or {}).get(key) or {}
    out: dict[str, str] = {"serveraddress": key}
    if entry.get("auth"):
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        out.update(username=user, password=password)
    if entry.get("identitytoken"):
        out["identitytoken"] = entry["identitytoken"]
    return out if len(out) > 1 else {}


def store(key: str, username: str, password: str, identity_token: str = "") -> None:
    doc = load_config()
    helper = _helper(doc, key)
    if helper:
        user, secret = ("<token>", identity_token) if identity_token else (username, password)
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": user,
                                                 "Secret": secret}))
        doc.setdefault("auths", {})[key] = {}
    else:
        entry: dict[str, str] = {"auth": base64.b64encode(
            f"{username}:{'' if identity_token else password}".encode()).decode()}
        if identity_token:
            entry["identitytoken"] = identity_token
        doc.setdefault("auths", {})[key] = entry
    save_config(doc)


def erase(key: str) -> bool:
    """Forget the registry's credentials; False when there were none."""
    doc = load_config()
    helper = _helper(doc, key)
    had = key in (doc.get("auths") or {})
    if helper:
        _run_helper(helper, "erase", key)
        had = True
    if key in (doc.get("auths") or {}):
        del doc["auths"][key]
        save_config(doc)
    return had


def header_for(image_or_key: str, is_key: bool = False) -> dict[str, str]:
    """The X-Registry-Auth header for an image's registry (empty when none)."""
    auth = get(image_or_key if is_key else key_for_image(image_or_key))
    if not auth:
        return {}
    raw = json.dumps(auth).encode()
    return {"X-Registry-Auth": base64.urlsafe_b64encode(raw).decode()}


def all_for_build() -> str:
    """X-Registry-Config: every registry's credentials (FROM may pull from any)."""
    doc = load_config()
    keys = set(doc.get("auths") or {}) | set(doc.get("credHelpers") or {})
    configs = {}
    for key in sorted(keys):
        try:
            auth = get(key)
        except CLIError:
            continue
        if auth:
            configs[key] = auth
    if not configs:
        return ""
    return base64.urlsafe_b64encode(json.dumps(configs).encode()).decode()
