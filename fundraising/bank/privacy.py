"""What a purge (donors.privacy) does to the ledger's copies of personal data.

A bank line keeps the payer's name, account and remittance text exactly as the bank
printed them. When a restricted donor's retention period has passed and the donor
is pseudonymised, the lines of that donor's donations lose those too; amounts and
dates stay, because the books need them. Registered on import of this module, which
the `anbi` command loads at start (through `fundraising.bank.commands`)."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from donors import privacy
from fundraising.models import Donation
from fundraising.models_ledger import BankLine


def forget_bank_lines(session: Session, purged: list[privacy.PurgedDonor]) -> None:
    if not purged:
        return
    ids = [donor.id for donor in purged]
    donations = select(Donation.id).where(Donation.donor_id.in_(ids))
    session.execute(
        update(BankLine).where(BankLine.donation_id.in_(donations)).values(
            counterparty_name=None, counterparty_iban=None, remittance=None, additional_info=None, mandate_ref=None,
        ).execution_options(synchronize_session=False)
    )


def register() -> None:
    if forget_bank_lines not in privacy.AFTER_PURGE:
        privacy.AFTER_PURGE.append(forget_bank_lines)


register()
