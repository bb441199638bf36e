"""The REST API under /api/v1: donors, donations and campaigns, for programs.

Every endpoint names the permission it needs (`require(...)`, decided by
`anbi.core.roles`); a token is made with `anbi tokens create --role ROLE`.
Request bodies are strict JSON (unknown fields refused, no type coercion); amounts
are strings with a dot (`"1234.56"`) in and out, dates ISO 8601. Validation errors
are 422 with the field named in `loc`; a body over 1 MiB is refused with 413.

The API holds no rules of its own: donors are validated and written by the donor
importer's own functions (a one-row import), donations are booked by the money-in
service with source `api` (so a replay of the same `reference` returns the
donation already booked), campaigns by the campaigns service. Viewers never see
IBANs; merged, restricted and purged donors are not listed.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sqlalchemy import false, func, or_, select

from anbi.core import roles
from anbi.core.clock import FIRST_YEAR, LAST_YEAR, parse_date
from anbi.core.csvfile import CsvRow
from anbi.core.errors import Conflict, InvalidInput, NotFound, Problem
from anbi.core.money import MoneyError, cents_to_str, parse_money
from anbi.core.text import control_character
from anbi.web.identity.auth import Principal, require
from anbi.web.deps import ApiRoute, DbSession
from donors import names
from donors.errors import DonorNotFound
from donors.importer import apply_plan, load_existing, parse_row, plan_import
from donors.models import DONOR_KINDS, LANGUAGES, ORGANISATION_TYPES, Donor, DonorTag
from donors.service import (
    DonorListItem,
    active_filter,
    donor_detail,
    find_by_ref,
    resolve_ref,
    shown_donor,
    sort_name_order,
)
from fundraising.campaigns import CampaignInput, add_campaign, get_campaign, list_campaigns
from fundraising.donations import record_donation, taken_back_by_donation
from fundraising.errors import AgreementNotFound, CampaignNotFound
from fundraising.models import CAMPAIGN_CHANNELS, DONATION_KINDS, DONATION_STATUSES, METHODS, Donation, Fund
from fundraising.queries import list_donations
from fundraising.reports import campaign_report

class Detail(BaseModel):
    """Why a request was refused."""

    detail: str


def _refusal(description: str) -> dict:
    return {"model": Detail, "description": description}


# The answers every endpoint may give besides its own, so that the schema lists them.
router = APIRouter(prefix="/api/v1", route_class=ApiRoute, tags=["api"], responses={
    401: _refusal("No API token, or one that is unknown or revoked"),
    403: _refusal("The token's role may not do this"),
})
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _refusal("No such donor, donation or campaign")}
REFUSED_BODY: dict[int | str, dict[str, Any]] = {409: _refusal("It exists already, or conflicts with what exists"),
                413: _refusal("The request body is larger than 1 MiB")}

API_SOURCE = "api"
MAX_PAGE = 500
# Far beyond any list here, and within a 32-bit integer for every database.
MAX_OFFSET = 1_000_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many items")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many items")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and (problem := control_character(text)):
                raise ValueError(problem)
        return value


def _page(items: list, limit: int, offset: int, more: bool, total: int | None = None) -> dict:
    page: dict[str, Any] = {"items": items, "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}
    if total is not None:
        page["total"] = total
    return page


# ---------------------------------------------------------------------------
# Donors
# ---------------------------------------------------------------------------


class DonorFields(Strict):
    """The donor import's columns (DESIGN.md, Import files: donors), as JSON."""

    kind: Literal[DONOR_KINDS] | None = None  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    initials: str | None = Field(None, max_length=20)
    first_name: str | None = Field(None, max_length=100)
    prefix: str | None = Field(None, max_length=30, description="tussenvoegsel, e.g. 'van der'")
    last_name: str | None = Field(None, max_length=150)
    organisation: str | None = Field(None, max_length=200)
    organisation_type: Literal[ORGANISATION_TYPES] | None = None  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    street: str | None = Field(None, max_length=200)
    house_number: str | None = Field(None, max_length=20)
    house_number_suffix: str | None = Field(None, max_length=20)
    postcode: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, description="ISO 3166 alpha-2; NL when left out on create")
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=30)
    iban: str | None = Field(None, max_length=40)
    consent_email: bool | None = None
    consent_post: bool | None = None
    consent_phone: bool | None = None
    tags: list[str] | None = None
    language: Literal[LANGUAGES] | None = None  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values


class DonorCreate(DonorFields):
    ref: str = Field(min_length=1, max_length=64)


class DonorUpdate(DonorFields):
    """Fields left out (or null) are left as they are, as an empty cell in an import."""


class DonorSummary(BaseModel):
    ref: str
    kind: str
    name: str
    postcode: str | None
    city: str | None
    country: str
    email: str | None


class DonorPage(BaseModel):
    items: list[DonorSummary]
    limit: int
    offset: int
    next_offset: int | None
    total: int


def _cells(ref: str, fields: DonorFields) -> dict[str, str]:
    cells = {"ref": ref}
    for key, value in fields.model_dump(exclude_none=True).items():
        if isinstance(value, bool):
            cells[key] = "yes" if value else "no"
        elif isinstance(value, list):
            if any("|" in tag for tag in value):
                raise InvalidInput([Problem(None, "tags", "a tag may not contain '|'")], "donor")
            cells[key] = "|".join(value)
        else:
            cells[key] = str(value).strip()
    return {k: v for k, v in cells.items() if v != ""}


def _write_donor(session, ref: str, fields: DonorFields, principal: Principal, *, creating: bool) -> None:
    """A one-row donor import: the importer's validation, plan and writer."""
    problems: list[Problem] = []
    row = parse_row(CsvRow(1, _cells(ref, fields)), problems)
    existing = {} if creating else load_existing(session, [ref])
    plan = plan_import([row], existing, problems)
    if problems:
        raise InvalidInput([Problem(None, p.field, p.reason) for p in problems], f"donor {ref}")
    if plan.skipped:
        raise Conflict(f"donor {ref}: {plan.skipped[0].message}")
    apply_plan(session, plan, source=f"api:{principal.name}", actor=principal.actor)
    # The writer uses bulk statements: what the session holds is now stale.
    session.expire_all()


def _detail(session, ref: str, principal: Principal) -> dict:
    detail = donor_detail(session, ref)
    if detail["status"] != "active":
        # Restricted after an erasure request (AVG art. 18): not processed through the API.
        raise DonorNotFound(ref)
    if not principal.may(roles.DONORS_SEE_IBAN):
        detail.pop("iban", None)
    return detail


@router.get("/donors", response_model=DonorPage, summary="List active donors")
def donors_list(
    session: DbSession,
    principal: Annotated[Principal, Depends(require(roles.DONORS_READ))],
    limit: Limit = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name (case and accents aside), ref or e-mail")] = None,
    postcode: Annotated[str | None, Query(max_length=20)] = None,
    city: Annotated[str | None, Query(max_length=100)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    kind: Literal[DONOR_KINDS] | None = None,  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
) -> dict:
    """Active donors (not merged, restricted or purged), by sort name, a page at a time."""
    conditions = list(active_filter())
    if q:
        pattern = f"%{q.strip().lower()}%"
        # The name as it is searched (folded: case and accents aside, on both databases).
        folded = names.search_text(q)
        conditions.append(or_(Donor.search_name.like(f"%{folded}%") if folded else false(),
                              func.lower(Donor.ref).like(pattern), func.lower(Donor.email).like(pattern)))
    if postcode:
        conditions.append(func.replace(func.upper(Donor.postcode), " ", "") == postcode.replace(" ", "").upper())
    if city:
        conditions.append(func.lower(Donor.city) == city.strip().lower())
    if email:
        conditions.append(func.lower(Donor.email) == email.strip().lower())
    if kind:
        conditions.append(Donor.kind == kind)
    if tag:
        conditions.append(Donor.id.in_(select(DonorTag.donor_id).where(DonorTag.tag == tag)))
    total = session.execute(select(func.count()).select_from(Donor).where(*conditions)).scalar_one()
    rows = session.execute(
        select(Donor.ref, Donor.kind, Donor.initials, Donor.first_name, Donor.prefix, Donor.last_name,
               Donor.organisation_name, Donor.language, Donor.postcode, Donor.city, Donor.country, Donor.email)
        .where(*conditions)
        .order_by(sort_name_order(session), Donor.ref)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        DonorListItem(row.ref, row.kind, names.display_name(names.Name(
            kind=row.kind, initials=row.initials, first_name=row.first_name, prefix=row.prefix, last_name=row.last_name,
            organisation_name=row.organisation_name, language=row.language,
        )), row.postcode, row.city, row.country, row.email).as_json()
        for row in rows
    ]
    return _page(items, limit, offset, offset + len(items) < total, total)


@router.get("/donors/{ref}", summary="Everything held on one donor", responses=NOT_FOUND)
def donors_show(ref: str, session: DbSession, principal: Annotated[Principal, Depends(require(roles.DONORS_READ))]) -> dict:
    """A merged ref shows the donor it was merged into. Viewers get no IBAN."""
    return _detail(session, ref, principal)


@router.post("/donors", status_code=201, summary="Create a donor", responses=REFUSED_BODY)
def donors_create(body: DonorCreate, session: DbSession,
                  principal: Annotated[Principal, Depends(require(roles.DONORS_WRITE))]) -> dict:
    """Validated as a row of the donor import; an existing ref is a 409 (use PATCH)."""
    if find_by_ref(session, body.ref) is not None:
        raise Conflict(f"donor {body.ref!r} already exists: update it with PATCH /api/v1/donors/{body.ref}")
    _write_donor(session, body.ref, body, principal, creating=True)
    return _detail(session, body.ref, principal)


@router.patch("/donors/{ref}", summary="Update a donor", responses={**NOT_FOUND, **REFUSED_BODY})
def donors_update(ref: str, body: DonorUpdate, session: DbSession,
                  principal: Annotated[Principal, Depends(require(roles.DONORS_WRITE))]) -> dict:
    """Only the fields given change; a merged ref updates the donor it was merged into."""
    donor = resolve_ref(session, ref)
    _write_donor(session, donor.ref, body, principal, creating=False)
    return _detail(session, donor.ref, principal)


# ---------------------------------------------------------------------------
# Donations
# ---------------------------------------------------------------------------


class DonationCreate(Strict):
    """A donation received outside Stripe and the bank (e.g. by a partner's system)."""

    reference: str = Field(min_length=1, max_length=100, description="Your unique id for this donation: a replay is a no-op")
    donor_ref: str | None = Field(None, max_length=64, description="Empty for an anonymous gift")
    date: str = Field(min_length=1, max_length=30, description="The day the money was received: 2025-03-01 or 01-03-2025")
    amount: str = Field(min_length=1, max_length=30, description='"1234.56"')
    currency: str = Field("EUR", min_length=3, max_length=3)
    method: Literal[METHODS]  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    kind: Literal[DONATION_KINDS] = "gift"  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    consideration: str | None = Field(None, max_length=30, description="Value received in return (tegenprestatie)")
    campaign: str | None = Field(None, max_length=50)
    fund: str | None = Field(None, max_length=50)
    agreement: str | None = Field(None, max_length=50, description="Periodic gift agreement number")


class DonationOut(BaseModel):
    reference: str
    donor_ref: str | None
    date: str
    amount: str
    currency: str
    method: str
    campaign: str | None
    fund: str | None
    kind: str
    status: str
    refunded: str
    source: str


class DonationPage(BaseModel):
    items: list[DonationOut]
    limit: int
    offset: int
    next_offset: int | None


def _money(field: str, text: str | None, currency: str, problems: list[Problem]) -> int | None:
    if text is None:
        return None
    try:
        return parse_money(text, currency=currency).cents
    except MoneyError as exc:
        problems.append(Problem(None, field, str(exc)))
        return None


def _donation_json(session, donation: Donation) -> dict:
    taken = taken_back_by_donation()
    refunded = session.scalar(select(taken.c.taken_back_cents).where(taken.c.donation_id == donation.id)) or 0
    return {
        "reference": donation.reference,
        "donor_ref": donation.donor.ref if donation.donor else None,
        "date": donation.received_on.isoformat(),
        "amount": cents_to_str(donation.amount_cents),
        "currency": donation.currency,
        "method": donation.method,
        "campaign": donation.campaign.code if donation.campaign else None,
        "fund": donation.fund.code if donation.fund else None,
        "kind": donation.kind,
        "status": donation.status,
        "refunded": cents_to_str(int(refunded)),
        "source": donation.source,
        "consideration": cents_to_str(donation.consideration_cents),
        "fee": cents_to_str(donation.fee_cents) if donation.fee_cents is not None else None,
        "agreement": donation.agreement.number if donation.agreement else None,
        "recurring_gift": donation.recurring_gift.reference if donation.recurring_gift else None,
        "flag": donation.flag,
        "adjustments": [
            {"kind": a.kind, "amount": cents_to_str(a.amount_cents), "taken_back": cents_to_str(a.taken_back_cents),
             "date": a.occurred_on.isoformat(), "source": a.source, "reference": a.reference, "reason_code": a.reason_code}
            for a in donation.adjustments
        ],
    }


def _query_date(value: str | None) -> dt.date | None:
    # As the request bodies: 2025-03-01 or 01-03-2025; a ValueError is a 422 naming the parameter.
    return parse_date(value) if value is not None else None


QueryDate = Annotated[dt.date | None, BeforeValidator(_query_date),
                      Query(description="2025-03-01 or 01-03-2025, inclusive")]


@router.get("/donations", response_model=DonationPage, summary="List donations", responses=NOT_FOUND)
def donations_list(
    session: DbSession,
    principal: Annotated[Principal, Depends(require(roles.DONORS_READ))],
    limit: Limit = 50,
    offset: Offset = 0,
    donor: Annotated[str | None, Query(max_length=64, description="Donor ref (a merged ref finds the survivor)")] = None,
    year: Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
    campaign: Annotated[str | None, Query(max_length=50)] = None,
    status: Literal[DONATION_STATUSES] | None = None,  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    method: Literal[METHODS] | None = None,  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    date_from: QueryDate = None,
    date_to: QueryDate = None,
) -> dict:
    """Donations by date, oldest first, with the keys of `anbi donations list --json`;
    filtered and paged in the database."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise RequestValidationError([{
            "loc": ("query", "date_from"), "msg": f"date_from {date_from} is after date_to {date_to}",
            "type": "value_error", "input": date_from.isoformat(),
        }])
    # One row past the page says whether there is a next one.
    window = list(list_donations(session, donor_ref=donor, year=year, campaign=campaign, status=status, method=method,
                                 date_from=date_from, date_to=date_to, limit=limit + 1, offset=offset))
    return _page(window[:limit], limit, offset, len(window) > limit)


@router.get("/donations/{reference}", summary="One donation with its refunds and disputes", responses={
    **NOT_FOUND, 409: _refusal("The reference exists for several sources: add ?source=")})
def donations_show(reference: str, session: DbSession, principal: Annotated[Principal, Depends(require(roles.DONORS_READ))],
                   source: Annotated[str | None, Query(max_length=20)] = None) -> dict:
    query = select(Donation).where(Donation.reference == reference, shown_donor(Donation.donor_id))
    if source:
        query = query.where(Donation.source == source)
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise NotFound(f"no donation with reference {reference!r}")
    if len(found) > 1:
        raise Conflict(f"reference {reference!r} exists for several sources: add ?source=")
    return _donation_json(session, found[0])


@router.post("/donations", status_code=201, summary="Record a donation (source api)", responses={
    **REFUSED_BODY, 200: {"description": "The same request again: the donation already booked"}})
def donations_create(body: DonationCreate, response: Response, session: DbSession,
                     principal: Annotated[Principal, Depends(require(roles.DONORS_WRITE))]) -> dict:
    """Booked with source `api` and your `reference` as its key: the same request
    again returns the donation (200); the same reference with other money is a 409."""
    problems: list[Problem] = []
    currency = body.currency.upper()
    try:
        received_on = parse_date(body.date)
    except ValueError as exc:
        problems.append(Problem(None, "date", str(exc)))
        received_on = None
    amount = _money("amount", body.amount, currency, problems)
    consideration = _money("consideration", body.consideration, currency, problems)
    donor = None
    if body.donor_ref:
        try:
            donor = resolve_ref(session, body.donor_ref)
        except DonorNotFound:
            problems.append(Problem(None, "donor_ref", f"no donor with ref {body.donor_ref!r}"))
        else:
            if donor.restricted_at is not None or donor.purged_at is not None:
                problems.append(Problem(None, "donor_ref", "the donor is restricted after an erasure request"))
    campaign = None
    if body.campaign:
        try:
            campaign = get_campaign(session, body.campaign)
        except CampaignNotFound as exc:
            problems.append(Problem(None, "campaign", str(exc)))
    agreement = None
    if body.agreement:
        from fundraising.agreements import get_agreement

        try:
            agreement = get_agreement(session, body.agreement)
        except AgreementNotFound as exc:
            problems.append(Problem(None, "agreement", str(exc)))
        else:
            if donor is None or agreement.donor_id != donor.id:
                problems.append(Problem(None, "agreement", "belongs to another donor than this donation's"))
    if problems:
        raise InvalidInput(problems, "donation")
    if consideration is None:
        # As the donations import: a purchase with no consideration given is all consideration.
        consideration = amount if body.kind == "purchase" else 0
    fund = None
    if body.fund:
        fund = session.scalar(select(Fund).where(Fund.code == body.fund))
        if fund is None:  # a fund exists once a gift names it, as in the import
            fund = Fund(code=body.fund, name=body.fund)
            session.add(fund)
            session.flush()
    donation, created = record_donation(
        session, source=API_SOURCE, reference=body.reference, donor=donor, received_on=received_on,
        amount_cents=amount, currency=currency, method=body.method, kind=body.kind, consideration_cents=consideration,
        campaign=campaign, fund=fund, agreement=agreement, status="paid",
    )
    if not created:
        response.status_code = 200
    return _donation_json(session, donation)


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


class CampaignCreate(Strict):
    code: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=200)
    channel: Literal[CAMPAIGN_CHANNELS] | None = None  # type: ignore[valid-type]  # Literal[TUPLE]: pydantic reads the values
    start: str | None = Field(None, description="2025-03-01")
    end: str | None = Field(None, description="2025-12-31")
    goal: str | None = Field(None, max_length=30, description='"25000.00"')
    cost: str | None = Field(None, max_length=30, description='"1500.00"')
    parent: str | None = Field(None, max_length=50, description="Code of the parent campaign")


@router.get("/campaigns", summary="List campaigns with what each raised")
def campaigns_list(session: DbSession, principal: Annotated[Principal, Depends(require(roles.CAMPAIGNS_READ))],
                   limit: Limit = 100, offset: Offset = 0) -> dict:
    campaigns = list_campaigns(session)
    items = campaigns[offset:offset + limit]
    return _page(items, limit, offset, offset + limit < len(campaigns), len(campaigns))


@router.get("/campaigns/{code}", summary="A campaign and its report", responses=NOT_FOUND)
def campaigns_show(code: str, session: DbSession, principal: Annotated[Principal, Depends(require(roles.CAMPAIGNS_READ))]) -> dict:
    get_campaign(session, code)  # 404 for an unknown code
    summary = next(c for c in list_campaigns(session) if c["code"] == code)
    return {**summary, "report": campaign_report(session, code).as_json()}


@router.post("/campaigns", status_code=201, summary="Create a campaign", responses=REFUSED_BODY)
def campaigns_create(body: CampaignCreate, session: DbSession,
                     principal: Annotated[Principal, Depends(require(roles.CAMPAIGNS_WRITE))]) -> dict:
    problems: list[Problem] = []
    dates: dict[str, dt.date | None] = {}
    for field in ("start", "end"):
        value = getattr(body, field)
        dates[field] = None
        if value is not None:
            try:
                dates[field] = parse_date(value)
            except ValueError as exc:
                problems.append(Problem(None, field, str(exc)))
    goal = _money("goal", body.goal, "EUR", problems)
    cost = _money("cost", body.cost, "EUR", problems)
    if body.parent:
        try:
            get_campaign(session, body.parent)
        except CampaignNotFound as exc:
            problems.append(Problem(None, "parent", str(exc)))
    if problems:
        raise InvalidInput(problems, "campaign")
    campaign = add_campaign(
        session,
        CampaignInput(code=body.code, name=body.name, goal_cents=goal, cost_cents=cost or 0, start_on=dates["start"],
                      end_on=dates["end"], channel=body.channel, parent_code=body.parent),
        actor=principal.actor,
    )
    return campaigns_show(campaign.code, session, principal)
