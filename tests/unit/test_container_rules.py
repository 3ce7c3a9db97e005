"""The container state machine and restart policy's rules (no root, no runtime).
The restart manager itself (backoff, retry limit, stop while restarting) is
tested end to end: test_lifecycle.test_restart_policies and
test_races.test_restart_policy_against_stop."""
from __future__ import annotations

import signal

import pytest

from dockerd_py.daemon.containers import rules
from dockerd_py.daemon.containers.record import Internal
from dockerd_py.errors import Conflict, InvalidParameter, NotModified

from .fakes import container


@pytest.mark.parametrize("policy,code,count,expected", [
    ({"Name": "no"}, 1, 0, False),
    ({"Name": "always"}, 0, 0, True),
    ({"Name": "unless-stopped"}, 0, 5, True),
    ({"Name": "on-failure"}, 0, 0, False),
    ({"Name": "on-failure"}, 3, 0, True),
    ({"Name": "on-failure", "MaximumRetryCount": 2}, 3, 1, True),
    ({"Name": "on-failure", "MaximumRetryCount": 2}, 3, 2, False),
    ({}, 1, 0, False),
])
def test_should_restart(policy, code, count, expected):
    assert rules.should_restart(policy, code, count, False, False) is expected


def test_no_restart_after_a_stop_or_during_removal():
    assert not rules.should_restart({"Name": "always"}, 0, 0, True, False)
    assert not rules.should_restart({"Name": "always"}, 0, 0, False, True)


def test_backoff_doubles_caps_and_resets():
    delays, backoff = [], 0
    for _ in range(12):
        delay, backoff = rules.next_backoff(backoff, ran_seconds=0.5)
        delays.append(delay)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == rules.MAX_RESTART_DELAY
    assert rules.next_backoff(backoff, ran_seconds=10) == (0.1, 1)


@pytest.mark.parametrize("policy,code,user_stopped,expected", [
    ("always", 0, True, True), ("unless-stopped", 0, False, True),
    ("unless-stopped", 0, True, False), ("on-failure", 0, False, False),
    ("on-failure", 2, False, True), ("no", 2, False, False)])
def test_restarts_on_boot(policy, code, user_stopped, expected):
    assert rules.restarts_on_boot({"Name": policy}, code, user_stopped) is expected


def test_signals():
    assert rules.parse_signal("KILL") == rules.parse_signal("SIGKILL") == signal.SIGKILL
    assert rules.parse_signal("15") == signal.SIGTERM
    assert rules.parse_signal(None, signal.SIGTERM) == signal.SIGTERM
    assert rules.parse_signal("RTMIN+1") == signal.SIGRTMIN + 1
    for bad in ("NOPE", "0", "65"):
        with pytest.raises(InvalidParameter, match="Invalid signal"):
            rules.parse_signal(bad)


def test_start_error_exit_codes():
    assert rules.start_error("exec: \"nope\": executable file not found in $PATH")[1] == 127
    assert rules.start_error("permission denied")[1] == 126
    assert rules.start_error("something else")[1] == 128


def test_state_machine_checks():
    c = container()
    rules.check_startable(c)
    c.set_status("running")
    assert c.state["Running"] and not c.state["Paused"]
    with pytest.raises(NotModified):
        rules.check_startable(c)
    with pytest.raises(Conflict, match="container is running"):
        rules.check_removable(c, force=False)
    rules.check_removable(c, force=True)
    c.set_status("paused")
    with pytest.raises(Conflict, match="try unpause"):
        rules.check_startable(c)
    with pytest.raises(Conflict, match="unpaused first"):
        rules.check_removable(c, force=False)
    c.set_status("restarting")
    assert c.state["Running"] and c.state["Restarting"]
    with pytest.raises(Conflict, match="restarting"):
        rules.require_running(c)
    with pytest.raises(Conflict, match="restarting container"):
        rules.check_removable(c, force=False)
    c.set_status("exited")
    with pytest.raises(Conflict, match="is not running"):
        rules.require_running(c)


def test_internal_record_round_trip_ignores_unknown_keys():
    doc = {"rw_layer": "a", "top_layer": None, "runtime": "runc", "mounts": [],
           "conmon_pid": 7, "from_an_older_daemon": True}
    internal = Internal.from_json(doc)
    assert internal.conmon_pid == 7
    assert Internal.from_json(internal.to_json()) == internal
