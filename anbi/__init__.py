"""anbi-crm: donor and fundraising CRM with subsidy accounting for Dutch ANBI charities."""
