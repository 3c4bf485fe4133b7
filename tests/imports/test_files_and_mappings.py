"""Files as people have them (BOM, cp1252, `;` or tab, CRLF, quoted fields, local times) and
mappings of one's own: their transforms, and readable errors naming the YAML path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.store.leads import load_lead
from cli.common import open_database
from tests.utils.cli import run_nurture

HEADER = ["id", "email", "name", "company", "industry", "employees"]
ROWS = [
    ["L1", "dana@northwind.example", "Dana Reyes", "Northwind; Freight, Inc.", "logistics", "250"],
    ["L2", "lena@hafen.example", "Lena Großmann", "Hafen Logistik", "logistics", "40"],
]


def write(path: Path, delimiter: str, encoding: str, *, bom: bool = False) -> Path:
    def cell(value: str) -> str:
        return f'"{value}"' if any(c in value for c in ",;\t") else value

    text = "\r\n".join(delimiter.join(cell(v) for v in row) for row in [HEADER, *ROWS]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("name", "delimiter", "encoding", "bom"),
    [
        ("excel-utf8-bom.csv", ",", "utf-8", True),
        ("semicolon.csv", ";", "utf-8", False),
        ("windows.csv", ";", "cp1252", False),
        ("tabs.tsv", "\t", "utf-8", False),
    ],
)
def test_csv_files_as_excel_and_people_write_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    delimiter: str,
    encoding: str,
    bom: bool,
) -> None:
    file = write(tmp_path / name, delimiter, encoding, bom=bom)
    code, out, err = run_nurture(monkeypatch, capsys, "import", "leads", str(file))
    assert code == 0, out + err
    assert "2 leads stored, 0 already there, 0 rejected" in out
    db = open_database()
    dana, lena = load_lead(db, "L1"), load_lead(db, "L2")
    assert dana is not None and lena is not None
    assert dana.company == "Northwind; Freight, Inc."
    assert lena.name == "Lena Großmann"
    assert dana.attributes == {"industry": "logistics", "employees": "250"}


def test_naive_event_times_take_the_timezone_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = write(tmp_path / "leads.csv", ",", "utf-8")
    assert run_nurture(monkeypatch, capsys, "import", "leads", str(leads))[0] == 0
    events = tmp_path / "events.csv"
    events.write_text(
        "id,lead_id,type,occurred_at,path\n"
        "e1,L1,page_view,2026-11-20 09:30:00,/pricing\n"
        "e2,L1,page_view,2026-11-20T09:30:00+00:00,/blog/x\n"
    )
    code, out, _ = run_nurture(monkeypatch, capsys, "import", "events", str(events))
    assert code == 1 and "│ 2    │ occurred_at: Input should have timezone info" in out
    code, out, _ = run_nurture(
        monkeypatch, capsys, "import", "events", str(events), "--timezone", "America/Chicago"
    )
    assert code == 0 and "1 events stored, 1 already there" in out
    code, out, err = run_nurture(
        monkeypatch, capsys, "import", "events", str(events), "--timezone", "Mars/Olympus"
    )
    assert code == 2 and "unknown time zone 'Mars/Olympus'" in err


MAPPING = """\
kind: leads
fields:
  id: {column: Kundennummer}
  email: {column: E-Mail, transform: [lower]}
  name: {join: [Vorname, Nachname]}
  owner: {column: Betreuer}
  do_not_contact: {column: Werbesperre, values: {ja: true, nein: false}}
attributes:
  industry:
    column: Branche
    values: {Spedition: logistics, "Software & IT": software}
  employees: {column: Mitarbeiter, type: integer}
  newsletter: {column: Newsletter, type: boolean}
  since:
    column: Kunde seit
    type: datetime
    format: ["%d.%m.%Y %H:%M"]
    timezone: Europe/Berlin
ignore: [Notiz]
"""

TABLE = (
    "Kundennummer;Vorname;Nachname;E-Mail;Betreuer;Werbesperre;Branche;Mitarbeiter;Newsletter;"
    "Kunde seit;Notiz;Fax\r\n"
    "K1; Dana ;Reyes;Dana@Northwind.example;Priya;nein;Spedition;1.250;Y;30.11.2026 17:00;x;1\r\n"
    "K2;Sam;;sam@bolt.example;;ja;Software & IT;1,200;no;01.12.2026 08:00;;\r\n"
    "K3;Kim;Lee;kim@acme.example;;;Bergbau;viele;yes;;;\r\n"
    "K4;Jo;Park;jo@park.example;;;Spedition;12;vielleicht;;;\r\n"
    "K5;Al;Bo;al@bo.example;;;Spedition;12;1;31.11.2026 10:00;;\r\n"
)


def test_a_mapping_of_ones_own_with_every_transform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "crm.yaml"
    mapping.write_text(MAPPING)
    file = tmp_path / "kunden.csv"
    file.write_bytes(TABLE.encode("cp1252"))
    code, out, err = run_nurture(
        monkeypatch, capsys, "import", "leads", str(file), "--mapping", str(mapping)
    )
    assert code == 1, out + err
    assert "2 leads stored, 0 already there, 3 rejected" in out
    assert "'Fax'" in out and "Notiz" not in out  # unmapped warned once, ignored ones not
    assert "│ 4    │ Mitarbeiter: 'viele' is not a whole number" in out
    assert "│ 5    │ Newsletter: 'vielleicht' is not a yes or no" in out
    assert "│ 6    │ Kunde seit: '31.11.2026 10:00' is not a date" in out
    assert "30.11.2026 17:00" in out  # the expected format, shown as an example
    db = open_database()
    dana, sam = load_lead(db, "K1"), load_lead(db, "K2")
    assert dana is not None and sam is not None
    assert (dana.email, dana.name, dana.owner, dana.do_not_contact) == (
        "dana@northwind.example",
        "Dana Reyes",
        "Priya",
        False,
    )
    assert dana.attributes == {
        "industry": "logistics",
        "employees": 1250,
        "newsletter": True,
        "since": "2026-11-30T17:00:00+01:00",
    }
    assert (sam.name, sam.do_not_contact) == ("Sam", True)
    assert sam.attributes["industry"] == "software" and sam.attributes["employees"] == 1200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kind: leads\nfields:\n  id: {column: A}\n  email: {colum: B}\n",
            "crm.yaml:4: fields.email.colum: unknown key",
        ),
        (
            "kind: leads\nfields:\n  id: {column: A}\n  email: {column: B}\n  mail: {column: C}\n",
            "crm.yaml:5: fields.mail: unknown key",
        ),
        (
            "kind: leads\nfields:\n  id: {column: A, type: money}\n  email: {column: B}\n",
            "crm.yaml:3: fields.id.type: ",
        ),
        ("kind: events\nfields: {}\n", "this mapping is for events, not leads"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_yaml_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    mapping = tmp_path / "crm.yaml"
    mapping.write_text(text)
    file = tmp_path / "x.csv"
    file.write_text("A,B\n1,a@b.example\n")
    code, out, err = run_nurture(
        monkeypatch, capsys, "import", "leads", str(file), "--mapping", str(mapping)
    )
    assert code == 2, out + err
    assert message in out + err
    assert "Traceback" not in out + err


def test_a_required_column_missing_suggests_the_closest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "crm.yaml"
    mapping.write_text(
        "kind: leads\nfields:\n  id: {column: Record ID}\n  email: {column: Email}\n"
    )
    file = tmp_path / "x.csv"
    file.write_text("Record Number,E-mail\n1,a@b.example\n")
    code, out, err = run_nurture(
        monkeypatch, capsys, "import", "leads", str(file), "--mapping", str(mapping)
    )
    assert code == 2
    assert "id: no column 'Record ID' (did you mean 'Record Number'?)" in out + err
    assert "email: no column 'Email' (did you mean 'E-mail'?)" in out + err


def test_the_readme_jsonl_example_pastes_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("Import formats, one object a line")
    block = readme[
        readme.index("```json\n", start) + 8 : readme.index(
            "```", readme.index("```json\n", start) + 8
        )
    ]
    leads = [line for line in block.splitlines() if '"lead_id"' not in line]
    events = [line for line in block.splitlines() if '"lead_id"' in line]
    for kind, lines in (("leads", leads), ("events", events)):
        file = tmp_path / f"{kind}.jsonl"
        file.write_text("\n".join(lines) + "\n")
        code, out, err = run_nurture(monkeypatch, capsys, "import", kind, str(file))
        assert code == 0, out + err
    assert all(json.loads(line) for line in block.splitlines())


def test_a_jsonl_file_with_a_byte_order_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "leads.jsonl"
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "L1", "email": "a@b.example"}).encode())
    code, out, err = run_nurture(monkeypatch, capsys, "import", "leads", str(file))
    assert code == 0 and "1 leads stored" in out, out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["leads", "--from", "ga4"], "--from ga4 reads events, not leads: nurture import events"),
        (
            ["leads", "--from", "marketo"],
            "--from marketo: no such preset (ga4, hubspot, salesforce)",
        ),
    ],
)
def test_a_preset_for_the_other_kind_or_none_at_all_is_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    file = tmp_path / "x.csv"
    file.write_text("A,B\n1,a@b.example\n")
    kind, *options = args
    code, out, err = run_nurture(monkeypatch, capsys, "import", kind, str(file), *options)
    assert code == 2 and message in err, out + err
