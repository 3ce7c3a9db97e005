"""Requests that race each other (reliability notes §4, 32–33)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from .rawhttp import request

JSON = {"Content-Type": "application/json"}
pytestmark = pytest.mark.usefixtures("cpu_load")  # races show up under load


def create(daemon, body: dict, name: str | None = None):  # type: ignore[no-untyped-def]
    path = "/containers/create" + (f"?name={name}" if name else "")
    return request(daemon.sock, "POST", path, body=json.dumps(body).encode(), headers=JSON)


def test_parallel_creates_of_one_name(daemon, client):
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: create(daemon, {"Image": "busybox", "Cmd": ["true"]},
                                                 "racer"), range(20)))
    made = [r for r in results if r.status == 201]
    refused = [r for r in results if r.status == 409]
    try:
        assert len(made) == 1 and len(refused) == 19, [r.status for r in results]
        winner = made[0].json()["Id"]
        assert {r.json()["message"] for r in refused} == {
            f'Conflict. The container name "/racer" is already in use by container "{winner}". '
            "You have to remove (or rename) that container to be able to reuse that name."}
        assert [c["Id"] for c in client.api.containers(all=True, filters={"name": "racer"})] \
            == [winner]
    finally:
        client.api.remove_container("racer", force=True)


def test_parallel_creates_keep_their_own_env(daemon, client):
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda i: create(daemon, {"Image": "busybox", "Cmd": ["true"],
                                                          "Env": [f"ME={i}"]}), range(50)))
    ids = [r.json()["Id"] for r in results]
    try:
        assert all(r.status == 201 for r in results)
        for i, cid in enumerate(ids):
            env = client.api.inspect_container(cid)["Config"]["Env"]
            assert [e for e in env if e.startswith("ME=")] == [f"ME={i}"]
    finally:
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda cid: client.api.remove_container(cid, force=True), ids))


def test_parallel_force_removes(daemon, client):
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: request(daemon.sock, "DELETE",
                                                  f"/containers/{c.id}?force=1"), range(10)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(204) == 1 and set(statuses) <= {204, 404, 409}, statuses
    for r in results:
        if r.status != 204:
            assert r.json()["message"]
    assert request(daemon.sock, "GET", f"/containers/{c.id}/json").status == 404


def test_image_removal_racing_a_create(daemon, client):
    """rmi racing create never leaves a container without its layers."""
    image = client.images.get("busybox")
    image.tag("racy", "1")
    with ThreadPoolExecutor(2) as pool:
        made = pool.submit(create, daemon, {"Image": "racy:1", "Cmd": ["true"]})
        gone = pool.submit(request, daemon.sock, "DELETE", "/images/racy:1")
        made_r, gone_r = made.result(), gone.result()
    assert made_r.status in (201, 404) and gone_r.status in (200, 409, 404)
    if made_r.status == 201:
        cid = made_r.json()["Id"]
        c = client.containers.get(cid)
        c.start()
        assert c.wait(timeout=10)["StatusCode"] == 0
        c.remove()
    if client.api.images("racy:1"):
        client.api.remove_image("racy:1")
