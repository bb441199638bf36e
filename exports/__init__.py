"""The outside world's formats: receipt and report PDFs, XLSX/CSV, the RJ 650 statement,
Odoo sync, SEPA files. Exporters read the database through the domain packages and
write files; they decide nothing themselves."""
