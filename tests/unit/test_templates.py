import pytest

from docker_cli.formatting.table import table
from docker_cli.formatting.templates import TemplateError, render

DOC = {"State": {"Status": "running", "Running": True, "Paused": False},
       "Names": ["/a", "/b"], "Labels": {"x": "1", "a": "2"},
       "Mounts": [{"Type": "volume", "Destination": "/data"}], "Count": 3}


@pytest.mark.parametrize("template,expected", [
    ("{{.State.Status}}", "running"),
    ("{{.State.Paused}}", "false"),
    ("{{json .Names}}", '["/a","/b"]'),
    ("{{range .Names}}{{.}};{{end}}", "/a;/b;"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{index .Labels \"x\"}}", "1"),
    ("{{.Labels}}", "map[a:2 x:1]"),
    ("{{.Mounts}}", "[{volume /data}]"),
    ("{{join .Names \",\"}}", "/a,/b"),
    ("{{if eq .Count 1}}one{{else if eq .Count 3}}three{{else}}many{{end}}", "three"),
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", "a=2 x=1 "),
    ("{{printf \"%s/%d\" .State.Status .Count}}", "running/3"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Names | json}}", '["/a","/b"]'),
])
def test_go_templates(template, expected):
    assert render(template, DOC) == expected


def test_template_errors():
    with pytest.raises(TemplateError):
        render("{{if .X}}unclosed", DOC)
    with pytest.raises(TemplateError):
        render("{{nosuchfunc .X}}", DOC)


def test_table_matches_docker_layout():
    out = table(["CONTAINER ID", "IMAGE", "NAMES"], [["abc", "bb:v1", "c1"]])
    assert out.splitlines() == ["CONTAINER ID   IMAGE     NAMES", "abc            bb:v1     c1"]
