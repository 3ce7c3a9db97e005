import json

import pytest

from dockerd_py import config


def test_defaults():
    cfg, _ = config.from_argv(["--config-file", "/nonexistent/daemon.json"])
    assert cfg.hosts == ["unix:///run/dockerd-py.sock"]
    assert cfg.data_root == "/var/lib/dockerd-py"
    assert cfg.storage_driver == "overlay2"
    assert cfg.default_runtime == "runc"
    assert cfg.live_restore is True
    assert cfg.bridge == "dpy0"
    assert cfg.chain_prefix == "DPY"


def test_flags_and_file_merge(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"bip": "10.9.0.1/24", "live-restore": False,
                                "dns": ["192.0.2.1"]}))
    cfg, _ = config.from_argv(["--config-file", str(path), "-H", "unix:///tmp/a.sock",
                               "-H", "fd://", "--storage-driver", "vfs"])
    assert cfg.hosts == ["unix:///tmp/a.sock", "fd://"]
    assert cfg.bip == "10.9.0.1/24"
    assert cfg.live_restore is False
    assert cfg.storage_driver == "vfs"
    assert cfg.dns == ["192.0.2.1"]


def test_conflict_between_flag_and_file(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"storage-driver": "vfs"}))
    with pytest.raises(config.ConfigError) as err:
        config.from_argv(["--config-file", str(path), "--storage-driver", "overlay2"])
    assert "specified both as a flag and in the configuration file: storage-driver: " \
           "(from flag: overlay2, from file: vfs)" in str(err.value)


def test_unknown_key_and_bad_types(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"nope": 1}))
    with pytest.raises(config.ConfigError, match="don't match any configuration option: nope"):
        config.from_argv(["--config-file", str(path)])
    path.write_text(json.dumps({"live-restore": "yes"}))
    with pytest.raises(config.ConfigError, match="live-restore"):
        config.from_argv(["--config-file", str(path)])
    path.write_text("{broken")
    with pytest.raises(config.ConfigError, match="unable to configure"):
        config.from_argv(["--config-file", str(path)])


def test_boolean_flags_accept_dockerd_forms():
    cfg, _ = config.from_argv(["--config-file", "/nonexistent", "--live-restore=false",
                               "--iptables", "false"])
    assert cfg.live_restore is False and cfg.iptables is False


@pytest.mark.parametrize("args,message", [
    (["--storage-driver", "zfs"], "unsupported storage driver"),
    (["--instance-prefix", "Bad-Prefix"], "instance-prefix"),
    (["-H", "ssh://somewhere"], "unsupported host"),
    (["-H", "tcp://0.0.0.0:2375"], "without TLS"),
    (["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", "/nonexistent/ca.pem"],
     "could not load the TLS file"),
    (["-b", "a-very-long-bridge-name"], "longer than 15"),
])
def test_invalid_values(args, message):
    with pytest.raises(config.ConfigError, match=message):
        config.from_argv(["--config-file", "/nonexistent"] + args)
