"""`anbi stripe events` and `anbi stripe sync` through the CLI, on both databases."""
import json

from fundraising.stripe.webhook import receive
from tests.fundraising.stripe import payloads as p


def test_events_lists_the_inbox_with_what_each_event_did(cli, session):
    receive(session, p.payment_succeeded(pi_id="pi_cmd", name="Sanne Mulder", event_id="evt_paid"))
    receive(session, p.charge_refunded(charge_id="ch_nope", pi_id="pi_nope", amount=100,
                                       refunds=[p.refund_item(100, refund_id="re_nope")], event_id="evt_waits"))
    receive(session, p.stripe_object("event"))
    session.commit()
    rows = json.loads(cli("stripe", "events", "--json").stdout)
    by_id = {row["event"]: row for row in rows}
    assert by_id["evt_paid"]["status"] == "applied"
    assert (by_id["evt_waits"]["status"], by_id["evt_waits"]["object"]) == ("waiting", "pi_nope")
    assert "has not been booked yet" in by_id["evt_waits"]["note"]
    waiting = json.loads(cli("stripe", "events", "--status", "waiting", "--json").stdout)
    assert [row["event"] for row in waiting] == ["evt_waits"]
    text = cli("stripe", "events").stdout
    assert text.splitlines()[0] == "Inbox: 1 applied, 1 ignored, 1 waiting"


def test_sync_without_an_api_key_says_what_to_set(cli):
    result = cli("stripe", "sync")
    assert result.exit_code == 1
    assert "api_key" in result.stderr and "ANBI_STRIPE_API_KEY" in result.stderr


def test_sync_refuses_a_bad_date(cli):
    result = cli("stripe", "sync", "--since", "yesterday", env={"ANBI_STRIPE_API_KEY": "sk_test_x"})
    assert result.exit_code != 0
    assert "not a date" in result.stderr
