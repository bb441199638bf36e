"""Stripe: webhook events turned into donations, refunds, disputes and recurring
gifts (`events` decides, `webhook` stores and applies), and `anbi stripe sync`
backfilling through the same path. Processing an event never calls Stripe."""
