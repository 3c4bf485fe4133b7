"""HubSpot and Salesforce exports, as the products (and Excel) write them, import with a preset:
exact counts, every rejection with its line and reason, and decisions that use the fit score and
honour opt-out and lifecycle."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.store.leads import load_lead
from agent.timeline import Lead
from cli.common import open_database
from tests.utils.cli import run_nurture

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


def rejected_lines(out: str) -> dict[int, str]:
    """The rejection table: line number -> reason."""
    return {int(n): reason.strip() for n, reason in re.findall(r"│ (\d+)\s+│ (.+?)\s*│", out)}


def import_leads(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, file: Path, *options: str
) -> tuple[int, str, str]:
    """`nurture import leads FILE OPTIONS`: (exit code, stdout, stderr)."""
    return run_nurture(monkeypatch, capsys, "import", "leads", str(file), *options)


def decide(monkeypatch: pytest.MonkeyPatch, capsys: Any, lead_id: str) -> dict[str, Any]:
    code, out, err = run_nurture(monkeypatch, capsys, "next", lead_id, "--json")
    assert code == 0, out + err
    decision: dict[str, Any] = json.loads(out)
    return decision


def first_rule(decision: dict[str, Any]) -> tuple[str, str]:
    return decision["action"], decision["reasons"][0]["rule"]


def rule_of(monkeypatch: pytest.MonkeyPatch, capsys: Any, lead_id: str) -> tuple[str, str]:
    """The action `nurture next` decides for the lead, and the rule that decided it."""
    return first_rule(decide(monkeypatch, capsys, lead_id))


def stored_lead(lead_id: str) -> Lead:
    lead = load_lead(open_database(), lead_id)
    assert lead is not None, lead_id
    return lead


def test_hubspot_contacts_export_imports_with_the_preset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = FIXTURES / "hubspot_contacts.csv"
    code, out, err = import_leads(monkeypatch, capsys, file, "--from", "hubspot")
    assert code == 1, out + err  # three lines are rejected
    assert "Traceback" not in out + err
    assert "19 leads stored, 0 already there, 3 rejected" in out
    # the one column the preset does not read is named once
    assert out.count("Original Source") == 1
    rejected = rejected_lines(out)
    assert set(rejected) == {13, 14, 15}
    assert rejected[13].startswith("email: ")  # zoe.martin@
    assert rejected[14].startswith("id: ") and "Record ID" in rejected[14]
    assert "Create Date: '31/02/2026 10:00' is not a date" in rejected[15]

    dana = decide(monkeypatch, capsys, "51001")  # logistics, 1,200 people, VP: full fit
    assert dana["score"]["attribute"] == 30 and dana["action"] == "send_email"
    sam = decide(monkeypatch, capsys, "51002")  # TRANSPORTATION_TRUCKING_RAILROAD, 85, manager
    assert sam["score"]["attribute"] == 25
    ola = decide(monkeypatch, capsys, "51022")  # "Transportation", "1.500" people, VP
    assert ola["score"]["attribute"] == 30
    assert rule_of(monkeypatch, capsys, "51004") == ("suppress", "suppress.customer")
    assert rule_of(monkeypatch, capsys, "51008") == ("suppress", "suppress.customer")
    assert rule_of(monkeypatch, capsys, "51006") == (
        "suppress",
        "suppress.non_marketing",
    )
    assert rule_of(monkeypatch, capsys, "51005") == (
        "suppress",
        "suppress.do_not_contact",
    )
    assert rule_of(monkeypatch, capsys, "51011") == (
        "suppress",
        "suppress.do_not_contact",
    )
    # an empty or "No" opt-out is not an opt-out
    assert decide(monkeypatch, capsys, "51010")["action"] == "send_email"
    assert decide(monkeypatch, capsys, "51016")["action"] == "send_email"

    lead = stored_lead("51001")
    assert (lead.name, lead.company, lead.owner) == (
        "Dana Reyes",
        "Northwind Freight, Inc.",
        "Priya Shah",
    )
    assert lead.attributes["industry"] == "logistics"
    assert lead.attributes["employees"] == 1200
    assert lead.attributes["lifecycle_stage"] == "marketingqualifiedlead"
    assert lead.attributes["crm_created_at"] == "2026-11-02T09:15:00"

    # the same file again stores the same leads again (an update), and rejects the same lines
    code, out, _ = import_leads(monkeypatch, capsys, file, "--from", "hubspot")
    assert code == 1 and "19 leads stored, 0 already there, 3 rejected" in out


def test_salesforce_report_export_from_a_german_excel_imports_with_the_preset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # cp1252, ';', dd/mm/yyyy dates, '.' thousands, Email Opt Out as 1/0
    file = FIXTURES / "salesforce_leads_report.csv"
    code, out, err = import_leads(monkeypatch, capsys, file, "--from", "salesforce")
    assert code == 1, out + err
    assert "19 leads stored, 0 already there, 2 rejected" in out
    rejected = rejected_lines(out)
    assert set(rejected) == {16, 17}
    assert rejected[16].startswith("email: ")
    assert "Create Date: '2026-13-45 10:00' is not a date" in rejected[17]

    juergen = decide(monkeypatch, capsys, "00Q5g00000A1aa1")  # Transportation, "1.200"
    assert juergen["score"]["attribute"] == 20 and juergen["action"] == "send_email"
    sofia = decide(monkeypatch, capsys, "00Q5g00000A1aa6")  # Banking, "4.800", CFO
    assert sofia["score"]["attribute"] == 30
    opted_out = decide(monkeypatch, capsys, "00Q5g00000A1aa3")
    assert first_rule(opted_out) == ("suppress", "suppress.do_not_contact")
    converted = decide(monkeypatch, capsys, "00Q5g00000A1aa5")  # Closed - Converted
    assert first_rule(converted) == ("suppress", "suppress.customer")

    lead = stored_lead("00Q5g00000A1aa1")
    assert (lead.name, lead.company, lead.owner) == (
        "Jürgen Müller",
        "Spedition Müller GmbH",
        "Maria Schmidt",
    )
    assert lead.attributes["crm_created_at"] == "2026-11-30T17:00:00"
    assert lead.attributes["lead_status"] == "Open - Not Contacted"


def test_salesforce_data_loader_export_uses_the_api_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = FIXTURES / "salesforce_dataloader.csv"
    code, out, err = import_leads(monkeypatch, capsys, file, "--from", "salesforce")
    assert code == 1, out + err
    assert "19 leads stored, 0 already there, 1 rejected" in out
    assert set(rejected_lines(out)) == {16}
    assert "not imported" not in out  # every column is read or deliberately left out
    sofia = decide(monkeypatch, capsys, "00Q5g00000B2005")
    assert sofia["score"]["attribute"] == 30
    assert rule_of(monkeypatch, capsys, "00Q5g00000B2002") == (
        "suppress",
        "suppress.do_not_contact",
    )
    assert rule_of(monkeypatch, capsys, "00Q5g00000B2004") == (
        "suppress",
        "suppress.customer",
    )

    lead = stored_lead("00Q5g00000B2000")
    assert lead.owner == "0055g00000XyZ01"
    assert lead.attributes["crm_created_at"] == "2026-11-30T17:00:00+00:00"


def test_without_a_mapping_a_crm_export_is_refused_with_the_closest_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = FIXTURES / "hubspot_contacts.csv"
    code, out, err = import_leads(monkeypatch, capsys, file)
    assert code == 2
    assert "email: no column 'email'" in out + err and "did you mean 'Email'?" in out + err
    assert "--from hubspot" in out + err
