"""Bank statements: reading camt.053 (`camt`), what each line means for our books
(`booking`: gifts, returned collections, Stripe payouts), what a SEPA return reason
means (`return_reasons`), what an erasure does to the bank lines (`privacy`), a
camt.053 writer for tests, the demo and benches (`camt_writer`), and `anbi bank ...`
(`commands`)."""
