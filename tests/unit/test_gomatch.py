"""Go's path.Match, as reference filters use it."""
import pytest

from shared.gomatch import go_path_match


@pytest.mark.parametrize("pattern, name, matches", [
    ("busybox", "busybox", True),
    ("busy*", "busybox", True),
    ("*", "library/busybox", False),      # `*` never crosses a `/`
    ("*/*", "library/busybox", True),
    ("b?sybox:*", "busybox:latest", True),
    ("[a-c]usybox", "busybox", True),
    ("[^a-c]usybox", "busybox", False),
    ("busybox", "busybox:latest", False),  # the whole name
    ("a\\*b", "a*b", True),
    ("[", "[", False),                     # a malformed pattern matches nothing
    ("x\\", "x", False),
])
def test_go_path_match(pattern, name, matches):
    assert go_path_match(pattern, name) is matches
