"""Registry commands: pull, push, login, logout, search."""
from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Any

import click

from shared import reference as refs

from .. import credentials
from ..errors import APIError, CLIError
from ..formatting.progress import display
from ..formatting.table import echo_rows, format_rows, table
from . import client_of

if TYPE_CHECKING:
    from ..client import Client


def _split(image: str, all_tags: bool) -> tuple[refs.Reference, str]:
    """The reference and the `tag` query value (a tag or a digest)."""
    try:
        ref = refs.parse(image)
    except refs.ReferenceError as exc:
        raise CLIError(f"{exc}", 1) from None
    if all_tags:
        if ref.tag or ref.digest:
            raise CLIError("tag can't be used with --all-tags/-a", 1)
        return ref, ""
    if ref.tag is None and ref.digest is None:
        click.echo("Using default tag: latest")
        ref = ref.with_default_tag()
    return ref, ref.digest or ref.tag or ""


def pull_image(client: Client, image: str, all_tags: bool = False,
               platform: str | None = None, quiet: bool = False,
               out: Any = None) -> refs.Reference:
    """Pull with progress on out (stdout; `run` draws it on stderr)."""
    ref, tag = _split(image, all_tags)
    resp = client.request(
        "POST", "/images/create", params={"fromImage": ref.familiar_name, "tag": tag or None,
                                          "platform": platform},
        headers=credentials.header_for(image))
    messages = resp.iter_json()
    if quiet:
        for msg in messages:
            if msg.get("error"):
                raise CLIError(msg["error"], 1)
    else:
        display(messages, out or sys.stdout)
    return ref


@click.command()
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images in the repository")
@click.option("--disable-content-trust", is_flag=True, default=True, hidden=True)
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("image")
@click.pass_context
def pull(ctx: click.Context, all_tags: bool, disable_content_trust: bool,
         platform: str | None, quiet: bool, image: str) -> None:
    """Download an image from a registry."""
    ref = pull_image(client_of(ctx), image, all_tags, platform, quiet)
    click.echo(ref.canonical() if ref.tag or ref.digest else ref.name)


@click.command()
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository")
@click.option("--disable-content-trust", is_flag=True, default=True, hidden=True)
@click.option("--platform", default=None, hidden=True)
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("image")
@click.pass_context
def push(ctx: click.Context, all_tags: bool, disable_content_trust: bool,
         platform: str | None, quiet: bool, image: str) -> None:
    """Upload an image to a registry."""
    ref, tag = _split(image, all_tags)
    if ref.digest:
        raise CLIError("cannot push a digest reference", 1)
    resp = client_of(ctx).request(
        "POST", f"/images/{ref.familiar_name}/push", params={"tag": tag or None},
        headers=credentials.header_for(image))
    if quiet:
        for msg in resp.iter_json():
            if msg.get("error"):
                raise CLIError(msg["error"], 1)
        click.echo(ref.familiar())
        return
    display(resp.iter_json())


@click.command()
@click.option("-u", "--username", default=None, help="Username")
@click.option("-p", "--password", default=None, help="Password")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin")
@click.argument("server", required=False)
@click.pass_context
def login(ctx: click.Context, username: str | None, password: str | None,
          password_stdin: bool, server: str | None) -> None:
    """Authenticate to a registry."""
    if password is not None:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
              file=sys.stderr)
        if password_stdin:
            raise CLIError("--password and --password-stdin are mutually exclusive", 1)
    if password_stdin:
        if not username:
            raise CLIError("Must provide --username with --password-stdin", 1)
        password = sys.stdin.read().rstrip("\r\n")
    key = credentials.server_key(server)
    if not username:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device", 1)
        username = input("Username: ").strip()
    if password is None:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device", 1)
        password = getpass.getpass("Password: ")
    if not username:
        raise CLIError("Error: Non-null Username Required", 1)
    answer = client_of(ctx).post("/auth", body={"username": username, "password": password,
                                                "serveraddress": key})
    credentials.store(key, username, password, (answer or {}).get("IdentityToken") or "")
    click.echo(answer.get("Status") or "Login Succeeded")


@click.command()
@click.argument("server", required=False)
def logout(server: str | None) -> None:
    """Log out from a registry."""
    key = credentials.server_key(server)
    click.echo(f"Removing login credentials for {key}")   # as docker, logged in or not
    credentials.erase(key)


SEARCH_HEADERS = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
                  "IsOfficial": "OFFICIAL"}


@click.command()
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", default=None, help="Pretty-print search using a Go template")
@click.option("--limit", type=int, default=None, help="Max number of search results")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("term")
@click.pass_context
def search(ctx: click.Context, filters: tuple[str, ...], fmt: str | None, limit: int | None,
           no_trunc: bool, term: str) -> None:
    """Search Docker Hub for images."""
    from ..options import filters_json
    try:
        results = client_of(ctx).get("/images/search", params={
            "term": term, "limit": limit, "filters": filters_json(filters)},
            headers=credentials.header_for(term.split("/", 1)[0], is_key=True)
            if "/" in term else {})
    except APIError:
        raise
    rows = []
    for item in results or []:
        desc = (item.get("description") or "").replace("\n", " ")
        if not no_trunc and len(desc) > 45:
            desc = desc[:44] + "…"
        rows.append({"Name": item.get("name", ""), "Description": desc,
                     "StarCount": str(item.get("star_count", 0)),
                     "IsOfficial": "[OK]" if item.get("is_official") else "",
                     "IsAutomated": "[OK]" if item.get("is_automated") else ""})
    if fmt and fmt != "table":
        echo_rows(format_rows(fmt, rows, SEARCH_HEADERS, lambda r: r))
        return
    click.echo(table(list(SEARCH_HEADERS.values()), [[r[k] for k in SEARCH_HEADERS] for r in rows]))
