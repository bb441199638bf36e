"""Money from donors: campaigns, donations, refunds, disputes, recurring gifts,
periodic gift agreements, SEPA mandates, Stripe, and the annual gift statement."""
