"""`anbi campaigns | donations | recurring | mandates | agreements | reports`: the
command-line edge of the fundraising package.

Commands parse options, open the one session of the command, call the services and
print; they hold no rules of their own. Other packages add commands to these groups
(`anbi agreements form|check` from the statements, `anbi reports income` from the
subsidies), wired in anbi/cli.py."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click

from anbi.context import AppContext
from anbi.core import formatting
from anbi.core.cli_options import YEAR, cut, euro_cents, option_value, print_json
from anbi.core.clock import parse_date
from anbi.core.errors import InvalidInput, Problem
from anbi.core.money import format_dutch, parse_money

FILE = click.Path(dir_okay=False, path_type=Path)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")


_print_json = print_json
_option = option_value


def _amount(text: str) -> int:
    return euro_cents(text, "campaigns")


def _kept(kept: list[Problem]) -> str:
    return f", {len(kept)} kept as they were" if kept else ""


def _kept_lines(kept: list[Problem]) -> None:
    if kept:
        click.echo("kept as they were:")
        for item in kept:
            click.echo(f"  {item}")


def _warnings(warnings: list[Problem]) -> None:
    if warnings:
        click.echo(_count(len(warnings), "warning") + ":")
        for warning in warnings:
            click.echo(f"  {warning}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _dry(dry_run: bool) -> str:
    return " (dry run: nothing written)" if dry_run else ""


def _dutch(cents: str | None) -> str:
    """A JSON amount ("1234.56") as people read it (€ 1.234,56)."""
    if cents is None:
        return "-"
    return format_dutch(parse_money(cents).cents)


# --- campaigns ------------------------------------------------------------------


@click.group()
def campaigns() -> None:
    """Fundraising campaigns: add, list, and report what each raised."""


@campaigns.command("add")
@click.argument("code")
@click.option("--name", required=True, help="What the campaign is called.")
@click.option("--goal", help="What it should raise, in euro (1234.56 or 1.234,56).")
@click.option("--start", help="First day (2025-03-01 or 01-03-2025).")
@click.option("--end", help="Last day.")
@click.option("--cost", help="What it costs, in euro (for cost per euro raised).")
@click.option("--channel", help="How it reaches donors: online, mail, street, event, telephone, major_donors or legacy.")
@click.option("--parent", help="Code of the campaign this one is part of; its report then includes this one.")
@click.pass_obj
def campaigns_add(app: AppContext, code: str, name: str, goal: str | None, start: str | None, end: str | None,
                  cost: str | None, channel: str | None, parent: str | None) -> None:
    """Add a campaign with code CODE (letters, digits, - _ .)."""
    from fundraising.campaigns import CampaignInput, add_campaign

    values = CampaignInput(
        code=code,
        name=name,
        goal_cents=_option(goal, "--goal", _amount),
        cost_cents=_option(cost, "--cost", _amount) or 0,
        start_on=_option(start, "--start", parse_date),
        end_on=_option(end, "--end", parse_date),
        channel=channel,
        parent_code=parent,
    )
    with app.session() as session:
        campaign = add_campaign(session, values, actor=app.actor)
        click.echo(f"Campaign {campaign.code} added: {campaign.name}")


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: code, name, channel, start, end, goal, cost, parent, includes, gifts, gross, "
                   "refunds, lost_disputes, fees, net, progress_pct.")
@click.pass_obj
def campaigns_list(app: AppContext, as_json: bool) -> None:
    """All campaigns with what each raised so far, in EUR, counted as `campaigns
    report` counts: a campaign's gifts include its sub-campaigns'. Gross is what was
    received; net is gross less refunds, lost disputes and payment fees; progress is
    net as a share of the goal. `cost` is the campaign's own (the report adds its
    sub-campaigns')."""
    from fundraising.campaigns import list_campaigns

    with app.session() as session:
        items = list_campaigns(session)
    if as_json:
        _print_json(items)
        return
    width = max([16, *(len(item["code"]) for item in items)])
    if items:
        click.echo(f"{'code':<{width}} {'name':<36} {'channel':<12} {'period':<22} {'gifts':>7} {'gross':>16} {'net':>16}  goal")
    for item in items:
        period = f"{item['start'] or ''}..{item['end'] or ''}" if item["start"] or item["end"] else ""
        goal = ""
        if item["goal"]:
            progress = f"{item['progress_pct']:.2f}%".replace(".", ",")
            goal = f"{_dutch(item['goal'])} ({progress})"
        click.echo(f"{item['code']:<{width}} {cut(item['name'], 36):<36} {item['channel'] or '':<12} {period:<22} "
                   f"{item['gifts']:>7} {_dutch(item['gross']):>16} {_dutch(item['net']):>16}  {goal}".rstrip())
        if item["includes"]:
            click.echo(f"{'':<{width}} includes {', '.join(item['includes'])}")
    click.echo(_count(len(items), "campaign"), err=True)


EMPTY_REMOVES = 'An empty value ("") removes it.'


@campaigns.command("edit")
@click.argument("code")
@click.option("--name", help="What the campaign is called.")
@click.option("--goal", help=f"What it should raise, in euro (1234.56 or 1.234,56). {EMPTY_REMOVES}")
@click.option("--cost", help="What it costs, in euro (for cost per euro raised).")
@click.option("--start", help=f"First day (2025-03-01 or 01-03-2025). {EMPTY_REMOVES}")
@click.option("--end", help=f"Last day. {EMPTY_REMOVES}")
@click.option("--channel", help=f"online, mail, street, event, telephone, major_donors or legacy. {EMPTY_REMOVES}")
@click.option("--parent", help=f"Code of the campaign this one is part of. {EMPTY_REMOVES}")
@click.pass_obj
def campaigns_edit(app: AppContext, code: str, name: str | None, goal: str | None, cost: str | None,
                   start: str | None, end: str | None, channel: str | None, parent: str | None) -> None:
    """Change campaign CODE: only the options given change. Checked as `campaigns
    add` checks a new campaign (the end not before the start, a goal above zero, a
    cost not below it), and a campaign cannot be put under itself or under one of its
    own sub-campaigns. The audit trail keeps each change, before and after."""
    from fundraising.campaigns import edit_campaign

    changes: dict = {}
    if name is not None:
        changes["name"] = name
    if cost is not None:
        changes["cost_cents"] = _option(cost, "--cost", _amount)
    for value, key, option, convert in ((goal, "goal_cents", "--goal", _amount), (start, "start_on", "--start", parse_date),
                                        (end, "end_on", "--end", parse_date), (channel, "channel", "--channel", str),
                                        (parent, "parent_code", "--parent", str)):
        if value is not None:
            changes[key] = _option(value, option, convert) if value.strip() else None
    with app.session() as session:
        changed = edit_campaign(session, code, changes, actor=app.actor)
    if changed:
        click.echo(f"Campaign {code} changed: {', '.join(_FIELD_WORDS[name] for name in changed)}")
    else:
        click.echo(f"Campaign {code}: nothing changed")


_FIELD_WORDS = {"name": "name", "goal_cents": "goal", "cost_cents": "cost", "start_on": "start", "end_on": "end",
                "channel": "channel", "parent_code": "parent"}


@campaigns.command("report")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
def campaigns_report(app: AppContext, code: str, as_json: bool) -> None:
    """What campaign CODE raised (sub-campaigns included), in EUR: gross; refunds and
    lost disputes (on their own dates); payment fees; net (gross less all three);
    gifts and donors, new (their first gift ever was in this campaign) and
    returning; average and median gift (the median is exact, computed from the
    distinct amounts and their counts, grouped in the database); progress to goal
    (net / goal); cost per euro of net income; and the same by month. Gifts in other
    currencies are listed apart and never added to the EUR figures."""
    from fundraising.reports import campaign_report

    with app.session() as session:
        report = campaign_report(session, code)
    document = report.as_json()
    if as_json:
        _print_json(document)
        return
    click.echo(f"Campaign {report.code}: {report.name}" + (f" ({report.channel})" if report.channel else ""))
    if report.includes:
        click.echo(f"  includes        {', '.join(report.includes)}")
    lines = [
        ("gross raised", _dutch(document["gross"])),
        ("refunds", _dutch(document["refunds"])),
        ("lost disputes", _dutch(document["lost_disputes"])),
        ("payment fees", _dutch(document["fees"])),
        ("net raised", _dutch(document["net"])),
        ("gifts", f"{report.gifts} ({report.anonymous_gifts} anonymous)"),
        ("donors", f"{report.donors} ({report.new_donors} new, {report.returning_donors} returning)"),
        ("average gift", _dutch(document["average_gift"])),
        ("median gift", _dutch(document["median_gift"])),
    ]
    if report.goal_cents:
        progress = f"{document['progress_pct']:.2f}%".replace(".", ",")
        lines.append(("goal", f"{_dutch(document['goal'])} ({progress} reached)"))
    lines.append(("cost", _dutch(document["cost"])))
    if document["cost_per_euro"] is not None:
        lines.append(("cost per euro", f"€ {document['cost_per_euro'].replace('.', ',')}"))
    for label, value in lines:
        click.echo(f"  {label:<15} {value}")
    if report.months:
        click.echo(f"  {'month':<8} {'gifts':>7} {'gross':>16} {'refunds':>14} {'lost':>12} {'fees':>12} {'net':>16}")
        for month in document["months"]:
            click.echo(f"  {month['month']:<8} {month['gifts']:>7} {_dutch(month['gross']):>16} {_dutch(month['refunds']):>14} "
                       f"{_dutch(month['lost_disputes']):>12} {_dutch(month['fees']):>12} {_dutch(month['net']):>16}")
    for other in document["other_currencies"]:
        click.echo(f"  not in the figures above: {other['gifts']} gifts in {other['currency']}, gross {other['gross']}, "
                   f"refunds {other['refunds']}")


# --- donations ------------------------------------------------------------------


@click.group()
def donations() -> None:
    """Money received from donors: import from a file, list."""


@donations.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def donations_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import donations from a CSV or XLSX file.

    Columns: date, amount, method, reference (required); donor_ref (empty:
    anonymous), currency (EUR), campaign (code), fund (earmark code; a new code
    creates the fund), kind (gift, lottery, purchase), consideration (value received
    in return; a purchase without one is all consideration), agreement (periodic gift
    agreement number, the donor's own), refunded (recorded as a refund on the gift's
    own date), recurring (reference of the donor's imported recurring gift this
    instalment was collected for), mandate; fee, status (money received: paid,
    partially_refunded, refunded, dispute_won, dispute_lost) and source, which
    `anbi export donations` writes (source is not read). Methods: bank_transfer,
    sepa_debit, ideal, card, bancontact, cash, other.

    Every row is checked first; if any is wrong, all problems are listed by line and
    column and nothing is written. Safe to run again: a row with a known reference
    and the same content is left unchanged; the same reference with different
    content is refused (money is corrected by a new row, never overwritten). A gift
    under an agreement but paid before it was signed or outside its term is imported
    with a warning: it counts as an ordinary gift."""
    from fundraising.imports.donations import amount_text, import_donations

    with app.importing("donations", file, dry_run=dry_run) as (session, outcome):
        summary = import_donations(session, file, actor=app.actor, dry_run=dry_run)
        outcome.rows = summary.created + summary.unchanged
        outcome.figures = {"created": summary.created, "unchanged": summary.unchanged, "refunds": summary.refunds}
    if as_json:
        _print_json({**summary.as_json(), "dry_run": dry_run})
        return
    amounts = f" ({amount_text(summary.created_cents)})" if summary.created_cents else ""
    click.echo(f"{file.name}: {summary.created} created{amounts}, {summary.unchanged} unchanged, "
               f"{summary.refunds} refunds recorded{_dry(dry_run)}")
    if summary.funds_created:
        click.echo(f"new funds: {', '.join(summary.funds_created)}")
    _warnings(summary.warnings)


def _print_json_list(items: Iterable[dict]) -> None:
    """Prints what `print_json(list(items))` prints, written as the items come, so
    that a list of millions never sits in memory as one document."""
    out: list[str] = []
    first = True
    for item in items:
        # An item of a list at indent 2 is the item at indent 2 with every line indented
        # once more (a JSON string holds no raw line break).
        out.append(("[\n  " if first else ",\n  ") + json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  "))
        first = False
        if len(out) >= 1000:
            click.echo("".join(out), nl=False)
            out.clear()
    out.append("[]\n" if first else "\n]\n")
    click.echo("".join(out), nl=False)


@donations.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: reference, donor_ref, date, amount, currency, method, campaign, fund, kind, "
                   "status, refunded, source.")
@click.option("--donor", "donor_ref", help="Only this donor's (a merged ref finds the donor it was merged into).")
@click.option("--year", type=YEAR, help="Only donations received in this calendar year.")
@click.option("--campaign", help="Only this campaign's (by code), its sub-campaigns' included.")
@click.pass_obj
def donations_list(app: AppContext, as_json: bool, donor_ref: str | None, year: int | None, campaign: str | None) -> None:
    """List donations, oldest first, with what was refunded of each."""
    from fundraising.queries import list_donations

    with app.session() as session:
        items = list_donations(session, donor_ref=donor_ref, year=year, campaign=campaign, with_names=not as_json)
        if as_json:
            _print_json_list(items)
            return
        count = 0
        for item in items:
            count += 1
            amount = format_dutch(parse_money(item["amount"]).cents, item["currency"])
            refunded = f" refunded {item['refunded']}" if item["refunded"] != "0.00" else ""
            donor = f"{item['donor_ref']:<14} {cut(item['donor_name'], 24):<24}" if item["donor_ref"] else f"{'(anonymous)':<39}"
            click.echo(f"{formatting.date(item['date'])} {cut(item['reference'], 24):<24} {donor} {amount:>14} "
                       f"{item['method']:<13} {item['kind']:<8} {item['status']:<18} {item['campaign'] or '':<12}{refunded}".rstrip())
        click.echo(_count(count, "donation"), err=True)


# --- recurring gifts ------------------------------------------------------------


@click.group()
def recurring() -> None:
    """Recurring gifts: a donor's standing commitment (monthly, quarterly, yearly)."""


@recurring.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON: created, updated, unchanged, funds_created, warnings, kept, dry_run.")
@click.pass_obj
def recurring_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import recurring gifts from a CSV or XLSX file, keyed by `reference`.

    Columns: reference (required); for a new gift also donor_ref, amount, interval
    (monthly, quarterly, yearly), method (sepa_debit, stripe) and start_date;
    optional end_date, mandate_id (required for sepa_debit: a mandate of the same
    donor), campaign, fund, agreement (the donor's periodic gift agreement).
    Re-importing updates; an empty cell leaves the field as it is. History does not
    move back: a cancelled gift (stopped, or ended by the bank's MD07) stays
    cancelled with its end date, whatever the file says, and the summary lists what
    was kept. No instalment is created in advance: donations are booked when the
    money moves."""
    from fundraising.imports.recurring import import_recurring

    with app.session() as session:
        summary = import_recurring(session, file, actor=app.actor, dry_run=dry_run)
    if as_json:
        _print_json({**summary.as_json(), "dry_run": dry_run})
        return
    click.echo(f"{file.name}: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged"
               f"{_kept(summary.kept)}{_dry(dry_run)}")
    if summary.funds_created:
        click.echo(f"new funds: {', '.join(summary.funds_created)}")
    _warnings(summary.warnings)
    _kept_lines(summary.kept)


@recurring.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: reference, source, donor_ref, amount, currency, interval, method, start_date, "
                   "end_date, status, status_reason, failed_attempts, mandate_id, campaign, fund, agreement, "
                   "donations, donated.")
@click.pass_obj
def recurring_list(app: AppContext, as_json: bool) -> None:
    """Recurring gifts with their status (active; failing: a collection came back and
    the next regular one is the retry; paused; cancelled), why (a return reason, who
    paused or stopped it), failed attempts in a row, and the donations they
    produced: how many (not counting failed ones) and the total received (EUR, less
    refunds)."""
    from fundraising.recurring import list_recurring

    with app.session() as session:
        items = list_recurring(session)
    if as_json:
        _print_json(items)
        return
    for item in items:
        click.echo(f"{item['reference'][:20]:<20} {item['donor_ref']:<14} {_dutch(item['amount']):>12} {item['interval']:<10} "
                   f"{item['method']:<10} {item['status']:<10} failed {item['failed_attempts']:>2}  "
                   f"{item['donations']:>4} donations {_dutch(item['donated']):>14}"
                   + (f"  ({item['status_reason']})" if item["status_reason"] else ""))
    click.echo(_count(len(items), "recurring gift"), err=True)


SOURCE_OPTION = click.option("--source", default=None,
                             help="The gift's source (import, stripe), when two sources use the same reference.")


@recurring.command("pause")
@click.argument("reference")
@click.option("--reason", default=None, help="Why, for the person who follows it up (kept with the gift).")
@SOURCE_OPTION
@click.pass_obj
def recurring_pause(app: AppContext, reference: str, reason: str | None, source: str | None) -> None:
    """Pause a recurring gift: no SEPA batch collects it until it is resumed (each
    batch lists it as left out, with the reason). An active or failing gift can be
    paused; a stopped one cannot. A Stripe subscription is paused in Stripe."""
    from anbi.core.clock import today
    from fundraising.recurring import change_gift

    with app.session() as session:
        gift = change_gift(session, reference, "pause", actor=app.actor, on=today(), reason=reason, source=source)
        click.echo(f"Recurring gift {gift.reference} paused.")


@recurring.command("resume")
@click.argument("reference")
@SOURCE_OPTION
@click.pass_obj
def recurring_resume(app: AppContext, reference: str, source: str | None) -> None:
    """Resume a paused (or failing) recurring gift: active again, its failure count
    cleared; the next SEPA batch collects it. A SEPA gift needs an active mandate
    first; a stopped gift is not resumed (import a new one)."""
    from anbi.core.clock import today
    from fundraising.recurring import change_gift

    with app.session() as session:
        gift = change_gift(session, reference, "resume", actor=app.actor, on=today(), source=source)
        click.echo(f"Recurring gift {gift.reference} is active again.")


@recurring.command("stop")
@click.argument("reference")
@click.option("--date", "on_text", default=None,
              help="The day it ends (default today; not in the future). An earlier planned end date stays.")
@click.option("--reason", default=None, help="Why (the donor's request, ...), kept with the gift.")
@SOURCE_OPTION
@click.pass_obj
def recurring_stop(app: AppContext, reference: str, on_text: str | None, reason: str | None, source: str | None) -> None:
    """Stop a recurring gift for good: status cancelled, with an end date. Nothing is
    collected after it; an import never makes it active again. A Stripe
    subscription is cancelled in Stripe."""
    from anbi.core.clock import today
    from fundraising.recurring import change_gift

    now = today()
    on = _option(on_text, "--date", parse_date)
    if on is not None and on > now:
        raise InvalidInput([Problem(None, "--date", f"{on.isoformat()} is in the future: a gift is stopped on or "
                                                    "before today (a planned end is the end_date of an import)")])
    with app.session() as session:
        gift = change_gift(session, reference, "stop", actor=app.actor, on=on or now, reason=reason, source=source)
        assert gift.end_date is not None  # a stopped gift has its end date
        click.echo(f"Recurring gift {gift.reference} stopped: cancelled, ending on {gift.end_date.isoformat()}.")


# --- mandates -------------------------------------------------------------------


@click.group()
def mandates() -> None:
    """SEPA direct-debit mandates (doorlopende machtigingen): the register."""


@mandates.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON: created, updated, unchanged, kept, dry_run.")
@click.pass_obj
def mandates_import(app: AppContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Import mandates from a CSV or XLSX file, keyed by `mandate_id` (at most 35 characters).

    Columns: mandate_id (required); for a new mandate also donor_ref, iban (checked)
    and signed_on; optional bic, signed_place, status (active, revoked),
    last_collected_on (for mandates moved from another system). Re-importing
    updates; an empty cell leaves the field as it is. History does not move back: a
    last_collected_on earlier than the one known (bank statements move it forward)
    is kept, and a revoked or expired mandate is not made active again; the summary
    lists what was kept."""
    from fundraising.imports.mandates import import_mandates

    with app.importing("mandates", file, dry_run=dry_run) as (session, outcome):
        summary = import_mandates(session, file, actor=app.actor, dry_run=dry_run)
        outcome.rows = summary.created + summary.updated + summary.unchanged
        outcome.figures = {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}
    if as_json:
        _print_json({**summary.as_json(), "dry_run": dry_run})
        return
    click.echo(f"{file.name}: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged"
               f"{_kept(summary.kept)}{_dry(dry_run)}")
    _kept_lines(summary.kept)


@mandates.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: mandate_id, donor_ref, iban, bic, signed_on, signed_place, status, last_collected_on.")
@click.pass_obj
def mandates_list(app: AppContext, as_json: bool) -> None:
    """The mandates in the register."""
    from fundraising.mandates import list_mandates

    with app.session() as session:
        items = list_mandates(session)
    if as_json:
        _print_json(items)
        return
    for item in items:
        click.echo(f"{item['mandate_id']:<24} {item['donor_ref']:<14} {item['iban']:<22} signed {formatting.date(item['signed_on'])} "
                   f"{item['status']:<8} last collected {item['last_collected_on'] or '-'}")
    click.echo(_count(len(items), "mandate"), err=True)


# --- periodic gift agreements -----------------------------------------------------


@click.group()
def agreements() -> None:
    """Periodic gift agreements (overeenkomsten periodieke gift): the register."""


@agreements.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
@click.pass_obj
def agreements_import(app: AppContext, file: Path, dry_run: bool) -> None:
    """Import agreements from a CSV or XLSX file, keyed by `number` (the transactienummer).

    Columns: number (required); for a new agreement also donor_ref, annual_amount,
    start_date and signed_on; optional years (5 or more; empty: indefinite, until
    death), end_date and end_reason (both or neither: death, job_loss, incapacity,
    anbi_status_lost, other); currency (EUR) and status (ended with an end date,
    active without), which `anbi export agreements` writes. An agreement must be
    signed on or before its start date. Re-importing updates; an empty cell leaves
    the field as it is."""
    from fundraising.imports.agreements import import_agreements

    with app.importing("agreements", file, dry_run=dry_run) as (session, outcome):
        summary = import_agreements(session, file, actor=app.actor, dry_run=dry_run)
        outcome.rows = summary.created + summary.updated + summary.unchanged
        outcome.figures = {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}
    click.echo(f"{file.name}: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged{_dry(dry_run)}")


@agreements.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: number, donor_ref, annual_amount, currency, start_date, years, term_ends, "
                   "signed_on, end_date, end_reason, status.")
@click.pass_obj
def agreements_list(app: AppContext, as_json: bool) -> None:
    """The agreements in the register, with the last day of each term."""
    from fundraising.agreements import list_agreements

    with app.session() as session:
        items = list_agreements(session, with_names=not as_json)
    if as_json:
        _print_json(items)
        return
    for item in items:
        term = f"{item['years']} years" if item["years"] else "indefinite"
        # An ended agreement says when and why in place of its status ("ended 03-01-2025 (death)").
        state = f"ended {formatting.date(item['end_date'])} ({item['end_reason']})" if item["end_date"] else item["status"]
        click.echo(f"{item['number']:<16} {item['donor_ref']:<14} {cut(item['donor_name'], 28):<28} "
                   f"{_dutch(item['annual_amount']):>12}/year from {formatting.date(item['start_date'])} "
                   f"{term:<10} signed {formatting.date(item['signed_on'])} {state}")
    click.echo(_count(len(items), "agreement"), err=True)


@agreements.command("end")
@click.argument("number")
@click.option("--date", "end_date", required=True, help="The day it ended (2025-03-01 or 01-03-2025).")
@click.option("--reason", required=True,
              help="Why it ended early: death, job_loss, incapacity, anbi_status_lost or other.")
@click.pass_obj
def agreements_end(app: AppContext, number: str, end_date: str, reason: str) -> None:
    """End agreement NUMBER early. An agreement that has already ended cannot be
    ended again."""
    from fundraising.agreements import end_agreement

    day = _option(end_date, "--date", parse_date)
    with app.session() as session:
        agreement = end_agreement(session, number, end_date=day, reason=reason, actor=app.actor)
        click.echo(f"Agreement {agreement.number} ended on {formatting.date(day)} ({reason})")


# --- reports --------------------------------------------------------------------


@click.group()
def reports() -> None:
    """Reports: donor retention, lapsed donors (LYBUNT, SYBUNT) and the RJ 650 income
    statement (income). What a campaign raised is `anbi campaigns report`."""


def _lapsed(app: AppContext, year: int, as_json: bool, *, last_year_only: bool) -> None:
    from fundraising.reports import lapsed_donors

    with app.session() as session:
        items = lapsed_donors(session, year, last_year_only=last_year_only)
    if as_json:
        _print_json([item.as_json() for item in items])
        return
    for item in items:
        click.echo(f"{item.ref:<14} {item.name[:36]:<36} {item.postcode or '':<8} {item.email or '':<32} "
                   f"last gift {item.last_gift_on.isoformat()} {format_dutch(item.last_year_total_cents):>12}")
    click.echo(_count(len(items), "donor"), err=True)


JSON_LAPSED = "Print a JSON list: ref, name, postcode, email, last_gift_date, last_year_total."


@reports.command("lybunt")
@click.option("--year", required=True, type=YEAR, help="This year: donors who gave in the year before it but not in it.")
@click.option("--json", "as_json", is_flag=True, help=JSON_LAPSED)
@click.pass_obj
def reports_lybunt(app: AppContext, year: int, as_json: bool) -> None:
    """LYBUNT: donors who gave Last Year But Unfortunately Not This year, for a
    mailing. `last_year_total` is what they gave in the last year they gave (EUR,
    less refunds dated in that year). Merged, restricted, purged and deceased donors
    are left out."""
    _lapsed(app, year, as_json, last_year_only=True)


@reports.command("sybunt")
@click.option("--year", required=True, type=YEAR, help="This year: donors who gave in some year before it but not in it.")
@click.option("--json", "as_json", is_flag=True, help=JSON_LAPSED)
@click.pass_obj
def reports_sybunt(app: AppContext, year: int, as_json: bool) -> None:
    """SYBUNT: donors who gave Some Year But Unfortunately Not This year (the LYBUNT
    donors included), for a mailing. `last_year_total` is what they gave in the last
    year they gave (EUR, less refunds dated in that year). Merged, restricted,
    purged and deceased donors are left out."""
    _lapsed(app, year, as_json, last_year_only=False)


@reports.command("retention")
@click.option("--year", required=True, type=YEAR, help="The year to compare with the year before it.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: year, previous_year_donors, retained, lapsed, rate, donors, new, reactivated.")
@click.pass_obj
def reports_retention(app: AppContext, year: int, as_json: bool) -> None:
    """Donor retention: of the donors who gave in the year before YEAR, how many gave
    again in YEAR (rate in %); also the year's donors, new ones and reactivated ones."""
    from fundraising.reports import retention

    with app.session() as session:
        figures = retention(session, year)
    if as_json:
        _print_json(figures.as_json())
        return
    rate = "-" if figures.rate_pct is None else f"{figures.rate_pct:.2f}%".replace(".", ",")
    click.echo(f"Retention {year - 1} -> {year}: {figures.retained} of {figures.previous_year_donors} donors gave again ({rate}); "
               f"{figures.lapsed} lapsed")
    click.echo(f"Donors in {year}: {figures.donors} ({figures.new} new, {figures.reactivated} reactivated)")

