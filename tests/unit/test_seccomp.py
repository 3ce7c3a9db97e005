"""The default profile carries Docker's capability gates."""
from __future__ import annotations

import os

import pytest

from dockerd_py.runtime import seccomp
from dockerd_py.runtime.spec import DEFAULT_CAPS

pytestmark = pytest.mark.skipif(not os.path.exists(seccomp.DEBIAN_PROFILE),
                                reason="Debian's seccomp profile is not installed")


def rules_for(name: str, caps: frozenset[str]) -> list[dict]:
    profile = seccomp.to_oci(seccomp.load_profile(seccomp.DEBIAN_PROFILE), caps,
                             arch="amd64", kernel="6.1.0")
    return [r for r in profile["syscalls"] if name in r["names"]]


@pytest.mark.parametrize("name", ["unshare", "mount", "setns", "umount2", "keyctl"])
def test_namespace_and_mount_calls_need_sys_admin(name):
    default = frozenset(DEFAULT_CAPS)
    assert [(r["action"], r.get("errnoRet")) for r in rules_for(name, default)] == \
        [("SCMP_ACT_ERRNO", 1)]
    admin = default | {"CAP_SYS_ADMIN"}
    assert [r["action"] for r in rules_for(name, admin)] == ["SCMP_ACT_ALLOW"]


def test_clone_without_namespace_flags_only():
    rules = rules_for("clone", frozenset(DEFAULT_CAPS))
    assert len(rules) == 1 and rules[0]["args"][0]["index"] == 0
    assert rules[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    assert [r["errnoRet"] for r in rules_for("clone3", frozenset(DEFAULT_CAPS))] == [38]


def test_ordinary_calls_stay_allowed():
    assert [r["action"] for r in rules_for("read", frozenset(DEFAULT_CAPS))] == ["SCMP_ACT_ALLOW"]
    assert [r["action"] for r in rules_for("ptrace", frozenset(DEFAULT_CAPS))] == ["SCMP_ACT_ALLOW"]


def test_a_chosen_profile_is_used_as_given(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                    '[{"names": ["mount"], "action": "SCMP_ACT_ALLOW"}]}')
    assert seccomp.load_profile(str(path))["syscalls"] == [
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW"}]
