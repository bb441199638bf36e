"""The shared kernel: database base and sessions, Money, settings, errors, clock.

It imports no domain package (donors, fundraising, subsidies, exports)."""
