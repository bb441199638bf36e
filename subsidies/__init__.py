"""Money from funders with conditions: funders, grants, budget lines, costs, staff
hours, payments, outputs, earmarked funds, the accountability figures and the
RJ 650 income statement."""
