"""Every model, imported in dependency order, so the metadata is complete for
Alembic and for the tests that compare models with migrations."""
from anbi.core import audit  # noqa: F401
from anbi.core import runs  # noqa: F401
from donors import models as donors_models  # noqa: F401
from fundraising import models as fundraising_models  # noqa: F401
from fundraising.statements import models as statements_models  # noqa: F401
from subsidies import models as subsidies_models  # noqa: F401
from fundraising.stripe import models as stripe_models  # noqa: F401
from anbi.web.identity import models as identity_models  # noqa: F401
from fundraising import models_ledger as ledger_models  # noqa: F401
from exports.odoo import models as odoo_models  # noqa: F401
