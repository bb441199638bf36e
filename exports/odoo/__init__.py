"""The ledger in Odoo: donors as partners, donations as journal entries, grant costs
back as expenses. See `exports.odoo.sync` for the rules and `exports.odoo.client` for
the connection."""
