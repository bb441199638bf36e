"""One grant's report gathered from the database: the scenario's figures to the cent,
an interim period, payments and outputs imports."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from subsidies.errors import GrantNotFound
from subsidies.payments import import_outputs, import_payments
from subsidies.models import GrantPayment, Output
from subsidies.report import figures_json, gather
from tests.factories import make_grant
from tests.subsidies.scenario import EXPECTED, load


def test_the_three_scenario_grants_to_the_cent(session, tmp_path):
    load(session, tmp_path)
    for reference, expected in EXPECTED.items():
        document = figures_json(gather(session, reference))
        for key, value in expected.items():
            assert document[key] == value, (reference, key)
    amif = figures_json(gather(session, "AMIF-2024-017"))
    assert amif["period"] == {"start": "2024-01-01", "end": "2025-12-31"}
    assert amif["funding_rate"] == "0.75" and amif["awarded"] == "400000.00"
    items = {item["reference"]: item for item in amif["ineligible_items"]}
    assert set(items) == {"X4", "X5", "TS0344"} | {f"TS{n:04d}" for n in range(273, 281)}
    assert items["X4"] == {"kind": "expense", "reference": "X4", "date": "2025-06-30", "budget_line": "material",
                           "employee": None, "hours": None, "amount": "1000.00", "reason": "Geen factuur"}
    assert items["TS0344"]["amount"] == "116.00" and items["TS0344"]["hours"] == "4.00"
    assert items["TS0273"]["amount"] == "240.00" and items["TS0273"]["employee"] == "E002"
    assert any("travel is 14,20% over its budget" in w for w in amif["warnings"])


def test_an_interim_report_counts_only_its_period(session, tmp_path):
    load(session, tmp_path)
    document = figures_json(gather(session, "AMIF-2024-017", period_from=dt.date(2024, 1, 1), period_to=dt.date(2024, 12, 31)))
    # 2024 only: staff 22.400,00 + 41.280,00; material 20.345,67; travel 3.210,00 → 87.235,67;
    # 7% → 6.106,50; 93.342,17; 75% → 70.006,63; received 40.000,00 (the 2024 advance); outputs 750
    assert [line["actual"] for line in document["budget_lines"]] == ["63680.00", "20345.67", "3210.00"]
    assert (document["direct_eligible"], document["indirect"], document["total_eligible"]) == ("87235.67", "6106.50", "93342.17")
    assert (document["funder_share"], document["received"], document["balance"]) == ("70006.63", "40000.00", "30006.63")
    assert document["indicators"][0]["actual"] == 750
    assert document["ineligible"] == "1920.00"            # the 64 hours past E002's ceiling
    assert document["warnings"][0] == "interim report: costs, payments and outputs from 2024-01-01 to 2024-12-31 only"


def test_unknown_grant(session):
    with pytest.raises(GrantNotFound):
        gather(session, "NOPE")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_payments_and_outputs_for_unknown_grants_or_indicators_write_nothing(session, tmp_path):
    make_grant(session, reference="G1", indicators=[("clients", "Cliënten", 10)])
    with pytest.raises(InvalidInput) as caught:
        import_payments(session, write(tmp_path, "p.csv", (
            "grant,date,amount,kind,reference\n"
            "G1,2025-01-01,100.00,advance,P1\n"
            "NOPE,2025-01-01,100.00,advance,P2\n"
            "G1,2025-01-01,-100.00,advance,P3\n"
            "G1,2025-01-01,100.00,gift,P4\n")))
    assert [(p.line, p.field, p.reason) for p in caught.value.problems] == [
        (3, "grant", "no grant 'NOPE'"),
        (4, "amount", "'-100.00' is negative; a positive amount is required"),
        (5, "kind", "'gift' is not one of advance, settlement, repayment"),
    ]
    with pytest.raises(InvalidInput) as caught:
        import_outputs(session, write(tmp_path, "o.csv", (
            "reference,grant,indicator,date,value\n"
            "O1,G1,clients,2025-01-01,3\n"
            "O2,G1,visits,2025-01-01,3\n"
            "O3,NOPE,clients,2025-01-01,3\n"
            "O4,G1,clients,2025-01-01,2.5\n"
            "O5,G1,clients,2025-01-01,111111111111111111111111111111\n"  # once a database error
            "O6,G1,clients,2025-01-01,1_000\n")))
    assert [(p.line, p.field, p.reason) for p in caught.value.problems] == [
        (3, "indicator", "grant G1 has no indicator 'visits' (its indicators: clients)"),
        (4, "grant", "no grant 'NOPE'"),
        (5, "value", "'2.5' is not a whole number"),
        (6, "value", "'111111111111111111111111111111' is too large"),
        (7, "value", "'1_000' is not a whole number"),
    ]
    assert session.scalar(select(func.count()).select_from(GrantPayment)) == 0
    assert session.scalar(select(func.count()).select_from(Output)) == 0


def test_payments_are_idempotent_and_changed_money_is_refused(session, tmp_path):
    make_grant(session, reference="G1")
    text = "grant,date,amount,kind,reference\nG1,2025-01-01,100.00,advance,P1\n"
    assert import_payments(session, write(tmp_path, "a.csv", text)).created == 1
    assert import_payments(session, write(tmp_path, "b.csv", text)).unchanged == 1
    with pytest.raises(InvalidInput, match="payment 'P1' was imported before with other amount_cents"):
        import_payments(session, write(tmp_path, "c.csv", text.replace("100.00", "90.00")))
