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


# Go's text/template and fmt, as facts (checked against the docker CLI 28.2 on this
# machine where a listing can show them, else from Go's own tests and docs)
@pytest.mark.parametrize("template,expected", [
    ('{{printf "%-6s|" "ab"}}', "ab    |"),
    ('{{printf "%5d|%x|%q|%v|%05.1f" 42 255 "a" "run" 3.14159}}', '   42|ff|"a"|run|003.1'),
    ('{{printf "%6.2f|%-8v|%+d|%#x|%e" 3.14159 "up" 5 255 1234.5}}',
     "  3.14|up      |+5|0xff|1.234500e+03"),
    ('{{printf "%.3s" "abcdef"}}', "abc"),
    ('{{printf "%d %s" "x"}}', "%!d(string=x) %!s(MISSING)"),
    ('{{printf "%s" "a" 1}}', "a%!(EXTRA int=1)"),
    ('{{printf "%d%%" 5}}', "5%"),
    ("{{lt 1 2}} {{le 2 2}} {{ge 1 2}} {{ne 1 2}} {{eq 1 3 1}} {{gt \"b\" \"a\"}}",
     "true true false true true true"),
    ("{{if gt (len .Names) 1}}long{{end}}", "long"),
    ('{{slice "hello" 1 3}}|{{slice "hello" 2}}|{{slice .Names 1}}', "el|llo|[/b]"),
    ('{{index .Names 1}}|{{index .Labels "nope"}}|', "/b||"),
])
def test_go_semantics(template, expected):
    assert render(template, DOC) == expected


@pytest.mark.parametrize("template,words", [
    ("{{lt 1 \"a\"}}", 'executing "" at <lt 1 "a">: error calling lt: incompatible types for '
                       "comparison"),
    ("{{lt true false}}", 'executing "" at <lt true false>: error calling lt: invalid type for '
                          "comparison"),
    ('{{slice "abc" 2 1}}', 'executing "" at <slice "abc" 2 1>: error calling slice: invalid '
                            "slice index: 2 > 1"),
    ('{{slice "abc" 1 9}}', 'executing "" at <slice "abc" 1 9>: error calling slice: index out '
                            "of range: 9"),
    ("{{index .Names 5}}", 'executing "" at <index .Names 5>: error calling index: index out '
                           "of range: 5"),
    ('{{index "abc" "x"}}', 'executing "" at <index "abc" "x">: error calling index: cannot '
                            "index slice/array with type string"),
])
def test_go_execution_errors(template, words):
    with pytest.raises(TemplateError) as err:
        render(template, DOC)
    assert str(err.value) == words and not err.value.parse


@pytest.mark.parametrize("template,words", [
    ("{{.Names", "template: :1: unclosed action"),
    ("a\n{{.A}}\n{{.B", "template: :3: unclosed action"),
    ("{{.Names}} {{end}}", "template: :1: unexpected {{end}}"),
    ("{{if .Count}}x", "template: :1: unexpected EOF"),
    ("{{nosuch .Names}}", 'template: :1: function "nosuch" not defined'),
])
def test_go_parse_errors(template, words):
    with pytest.raises(TemplateError) as err:
        render(template, DOC)
    assert str(err.value) == words and err.value.parse


def test_an_execution_error_names_where_it_is():
    from docker_cli.formatting.templates import go_error_text
    source = "x {{.State.Status}}\n  {{slice .Names 2 1}}"
    with pytest.raises(TemplateError) as err:
        render(source, DOC)
    assert go_error_text(source, err.value) == (
        'template: :2:4: executing "" at <slice .Names 2 1>: error calling slice: invalid '
        "slice index: 2 > 1")
