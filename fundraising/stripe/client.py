"""The Stripe client, made from settings and passed to whoever needs it.

`[stripe] api_key` (env ANBI_STRIPE_API_KEY) is required to talk to Stripe;
`api_base` points at another Stripe-compatible server (localstripe in the tests).
No client is ever made at import time or kept as a global: commands build one with
`make_client(settings)` and pass it in."""
from __future__ import annotations

from typing import Any

import stripe

from anbi.core.errors import ConfigurationError
from anbi.core.settings import Settings


def webhook_secret(settings: Settings) -> str:
    """The endpoint's signing secret; without it no webhook can be trusted."""
    secret = settings.stripe.webhook_secret
    if not secret:
        raise ConfigurationError(
            "no [stripe] webhook_secret in anbi.toml (or ANBI_STRIPE_WEBHOOK_SECRET): "
            "copy the endpoint's signing secret (whsec_...) from the Stripe dashboard"
        )
    return secret


def make_client(settings: Settings, *, max_network_retries: int | None = None) -> stripe.StripeClient:
    """A StripeClient for `[stripe] api_key`, at `[stripe] api_base` when set."""
    values = settings.stripe
    if not values.api_key:
        raise ConfigurationError("no [stripe] api_key in anbi.toml (or ANBI_STRIPE_API_KEY): it is needed to talk to Stripe")
    retries = values.max_network_retries if max_network_retries is None else max_network_retries
    options: dict[str, Any] = {"max_network_retries": retries}
    if values.api_base:
        options["base_addresses"] = {"api": values.api_base}
    return stripe.StripeClient(values.api_key, **options)
