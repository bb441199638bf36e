"""The Stripe client, made from settings and passed to whoever needs it.

`[stripe] api_key` (env ANBI_STRIPE_API_KEY) is required to talk to Stripe;
`api_base` points at another Stripe-compatible server (localstripe in the tests).
No client is ever made at import time or kept as a global: commands build one with
`make_client(settings)` and pass it in."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from anbi.core.errors import ConfigurationError

DEFAULT_RETRIES = 2


def stripe_settings(settings: Any) -> Mapping[str, Any]:
    return settings.section("stripe")


def webhook_secret(settings: Any) -> str:
    """The endpoint's signing secret; without it no webhook can be trusted."""
    secret = str(stripe_settings(settings).get("webhook_secret", "") or "").strip()
    if not secret:
        raise ConfigurationError(
            "no [stripe] webhook_secret in anbi.toml (or ANBI_STRIPE_WEBHOOK_SECRET): "
            "copy the endpoint's signing secret (whsec_...) from the Stripe dashboard"
        )
    return secret


def make_client(settings: Any, *, max_network_retries: int | None = None) -> stripe.StripeClient:
    """A StripeClient for `[stripe] api_key`, at `[stripe] api_base` when set."""
    values = stripe_settings(settings)
    api_key = str(values.get("api_key", "") or "").strip()
    if not api_key:
        raise ConfigurationError("no [stripe] api_key in anbi.toml (or ANBI_STRIPE_API_KEY): it is needed to talk to Stripe")
    retries = max_network_retries
    if retries is None:
        try:
            retries = int(values.get("max_network_retries", DEFAULT_RETRIES))
        except (TypeError, ValueError):
            raise ConfigurationError("[stripe] max_network_retries must be a whole number") from None
    options: dict[str, Any] = {"max_network_retries": retries}
    api_base = str(values.get("api_base", "") or "").strip().rstrip("/")
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)
