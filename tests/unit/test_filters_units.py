import pytest

from shared import timeutil, units
from shared.filters import FilterError, Filters


def test_both_filter_forms():
    new = Filters.from_json('{"label": {"a=b": true}, "status": {"running": true}}')
    old = Filters.from_json('{"label": ["a=b"], "status": ["running"]}')
    assert new.fields == old.fields == {"label": {"a=b"}, "status": {"running"}}


def test_malformed_filters():
    for text in ("garb1age}", "[1]", '{"a": 1}'):
        with pytest.raises(FilterError):
            Filters.from_json(text)
    with pytest.raises(FilterError, match="invalid filter 'x'"):
        Filters.from_json('{"x": ["1"]}').validate({"label"})


def test_until():
    assert Filters.from_json('{"until":["1700000000"]}').until_ns() == 1_700_000_000 * 1e9
    assert Filters().until_ns() is None
    with pytest.raises(FilterError, match="more than one until filter"):
        Filters.from_json('{"until":["1","2"]}').until_ns()
    with pytest.raises(FilterError, match="failed to parse value as time or duration"):
        Filters.from_json('{"until":["soon"]}').until_ns()


def test_label_matching():
    f = Filters.from_json('{"label": ["a", "b=2"]}')
    assert f.match_labels({"a": "1", "b": "2"})
    assert not f.match_labels({"a": "1", "b": "3"})
    assert not f.match_labels({"b": "2"})


def test_human_sizes_and_durations():
    assert units.human_size(1982256) == "1.98MB"
    assert units.human_size(999) == "999B"
    assert units.parse_ram("512m") == 512 * 1024 * 1024
    assert units.parse_ram("1g") == 1 << 30
    with pytest.raises(ValueError):
        units.parse_ram("lots")
    assert units.human_duration(0.2) == "Less than a second"
    assert units.human_duration(90) == "About a minute"
    assert units.human_duration(3 * 3600) == "3 hours"


def test_rfc3339():
    ns = 1_700_000_000_123_456_789
    text = timeutil.rfc3339_nano(ns)
    assert text == "2023-11-14T22:13:20.123456789Z"
    assert timeutil.parse_rfc3339(text) == ns
    assert timeutil.parse_rfc3339("2023-11-14T23:13:20.123456789+01:00") == ns
    assert timeutil.rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert timeutil.parse_timestamp("1700000000.5") == 1700000000.5
    assert abs(timeutil.parse_timestamp("10m", now=1000.0) - 400.0) < 1e-6


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (999, "999ns"), (1_000, "1µs"), (1_500, "1.5µs"),
    (50_000_000, "50ms"), (1_250_000, "1.25ms"), (1_000_000_000, "1s"),
    (1_500_000_000, "1.5s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (3_723_000_000_001, "1h2m3.000000001s"), (-50_000_000, "-50ms"),
])
def test_go_durations(ns, text):
    assert timeutil.go_duration(ns) == text  # Go's time.Duration.String()
