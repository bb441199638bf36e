"""The HTTP service (`anbi serve`): REST API, Stripe webhook, web application."""
