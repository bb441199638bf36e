"""The fundraising import files (DESIGN.md, Import files): donations, recurring gifts,
periodic gift agreements and SEPA mandates. Each validates the whole file before it
writes anything, with bulk lookups (`fundraising.lookups`), and never commits."""
