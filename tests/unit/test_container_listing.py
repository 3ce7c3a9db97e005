"""`docker ps` order and the before/since filters compare creation times, not
RFC 3339 strings (whose trailing zeros are trimmed: `…20.1Z` is before `…20.15Z`)."""
from __future__ import annotations

from dockerd_py.daemon.containers.listing import ContainerViews
from shared.filters import Filters

from .fakes import FakeImages, FakeLayers, FakeRepo, container


def views_of(*containers):  # type: ignore[no-untyped-def]
    return ContainerViews(FakeRepo(*containers), FakeLayers(), FakeImages())  # type: ignore[arg-type]


def names(rows: list[dict]) -> list[str]:
    return [r["Names"][0] for r in rows]


def test_order_by_nanoseconds():
    a = container("a", "2026-11-30T08:00:20.1Z")
    b = container("b", "2026-11-30T08:00:20.15Z")
    c = container("c", "2026-11-30T08:00:20Z")
    d = container("d", "2026-11-30T08:00:20.100000001Z")
    views = views_of(a, b, c, d)
    assert names(views.list(True, -1, False, Filters({}))) == ["/b", "/d", "/a", "/c"]


def test_before_and_since_with_sub_second_times():
    a = container("a", "2026-11-30T08:00:20.1Z")
    b = container("b", "2026-11-30T08:00:20.15Z")
    c = container("c", "2026-11-30T08:00:20.9Z")
    views = views_of(a, b, c)
    assert names(views.list(True, -1, False, Filters({"since": {"a"}}))) == ["/c", "/b"]
    assert names(views.list(True, -1, False, Filters({"before": {"c"}}))) == ["/b", "/a"]
    assert names(views.list(True, 1, False, Filters({}))) == ["/c"]


def test_command_quotes_arguments_with_spaces_as_dockerd():
    from dockerd_py.daemon.containers.listing import command_line
    assert command_line("/bin/sh", ["-c", "echo before && false"]) == \
        "/bin/sh -c 'echo before && false'"
    assert command_line("sleep", ["30"]) == "sleep 30"
    assert command_line("true", []) == "true"
