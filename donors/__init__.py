"""Who gives: persons and organisations, addresses, consent, duplicates and merge,
privacy (access export, erasure), donor import."""
