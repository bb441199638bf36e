"""The annual gift statements as the outside world gets them (`anbi receipts ...`):
the run that issues them for a year (`issue`, logged by `run_log`), the PDF (`pdf`),
delivery by e-mail and on paper (`delivery`), and the periodic gift agreement form
for signature (`agreement_form`). What a statement says is decided in
`fundraising.statements.rules`; nothing here decides it."""
