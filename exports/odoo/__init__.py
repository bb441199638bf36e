"""The ledger in Odoo: donors as partners, donations as journal entries, and the costs
booked on grants read back for subsidies to import as expenses. See `exports.odoo.sync`
for the rules, `exports.odoo.costs` for the costs and `exports.odoo.client` for the
connection."""
