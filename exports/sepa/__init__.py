"""SEPA direct debits (incasso): which recurring gifts are due on a collection date
(`due`), the pain.008.001.02 file (`pain008`), the batch that records them as pending
donations (`batch`) and `anbi sepa batch` (`commands`)."""
