"""The Odoo adapter against the double, without a database: both protocols give the
same normalised answers, connection failures are retried, a timeout on a write is
not, and Odoo's refusals become errors that say what to do."""
from __future__ import annotations

import httpx
import pytest

from exports.odoo.client import OdooClient, OdooSettings
from exports.odoo.errors import AnalyticAccountingOff, OdooAuthenticationFailed, OdooRefused, OdooUnreachable
from tests.odoo_double import OdooDouble, OdooState


@pytest.fixture(params=["json2", "jsonrpc"])
def double(request):
    state = OdooState()
    with OdooDouble(state) as running:
        yield running, request.param


def settings(url, protocol, **fields) -> OdooSettings:
    values = dict(url=url, database="anbi_test", protocol=protocol, login="admin", api_key="secret", timeout=5, retries=3)
    values.update(fields)
    return OdooSettings(**values)


class Flaky(httpx.BaseTransport):
    """Fails the first `failures` requests the given way, then passes them on."""

    def __init__(self, failures: int, error=httpx.ConnectError):
        self.failures = failures
        self.error = error
        self.inner = httpx.HTTPTransport()
        self.seen = 0

    def handle_request(self, request):
        self.seen += 1
        if self.seen <= self.failures:
            raise self.error("simulated", request=request)
        return self.inner.handle_request(request)


def test_both_protocols_give_the_same_answers(double):
    server, protocol = double
    with OdooClient(settings(server.url, protocol)) as client:
        client.check_login()
        partner = client.create("res.partner", {"name": "Jan de Vries", "ref": "D1", "country_id": 165})
        assert isinstance(partner, int)
        assert client.search("res.partner", [["ref", "=", "D1"]]) == [partner]
        [row] = client.read("res.partner", [partner], ["name", "country_id", "email"])
        assert row == {"id": partner, "name": "Jan de Vries", "country_id": [165, "Netherlands"], "email": False}
        client.write("res.partner", [partner], {"email": "jan@example.nl"})
        assert client.search_read("res.partner", [["ref", "=", "D1"]], ["email"]) == [{"id": partner, "email": "jan@example.nl"}]
        assert client.create_many("res.partner", [{"name": "A"}, {"name": "B"}]) == [partner + 1, partner + 2]


def test_connection_failures_are_retried(double):
    server, protocol = double
    flaky = Flaky(2)
    with OdooClient(settings(server.url, protocol), transport=flaky) as client:
        assert client.search("res.country", [["code", "=", "NL"]]) == [165]
    with OdooClient(settings(server.url, protocol, retries=1), transport=Flaky(5)) as client, \
            pytest.raises(OdooUnreachable, match="tried 2 times"):
        client.search("res.country", [["code", "=", "NL"]])


def test_a_timeout_on_a_write_is_not_retried(double):
    server, protocol = double
    flaky = Flaky(1, httpx.ReadTimeout)
    with OdooClient(settings(server.url, protocol), transport=flaky) as client:
        if protocol == "jsonrpc":
            client.check_login()   # the login is a read; let it through first
            flaky.seen, flaky.failures = 0, 1
        with pytest.raises(OdooUnreachable, match="Odoo may have done it"):
            client.create("res.partner", {"name": "X"})
    assert flaky.seen == 1
    assert server.state.search("res.partner", [["name", "=", "X"]]) == []


def test_wrong_key_and_refusals(double):
    server, protocol = double
    with OdooClient(settings(server.url, protocol, api_key="wrong")) as client:
        with pytest.raises(OdooAuthenticationFailed, match="refused our"):
            client.check_login()
        with pytest.raises(OdooAuthenticationFailed):
            client.search("res.partner", [])
    with OdooClient(settings(server.url, protocol)) as client:
        with pytest.raises(AnalyticAccountingOff, match="turn it on under Accounting > Configuration > Settings"):
            client.search("account.analytic.plan", [])
        with pytest.raises(OdooRefused, match=r"Invalid field res.partner.x_no_such_field"):
            client.search("res.partner", [["x_no_such_field", "=", "1"]])
        with pytest.raises(OdooRefused, match="is the Accounting app installed"):
            client.search("x_no.such.model", [])


def test_unreachable():
    with OdooClient(settings("http://127.0.0.1:9", "json2", retries=1)) as client, \
            pytest.raises(OdooUnreachable, match=r"Odoo at http://127.0.0.1:9 is unreachable"):
        client.check_login()
