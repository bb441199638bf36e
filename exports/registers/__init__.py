"""The registers as CSV or XLSX (`anbi export donors|donations|agreements|grants`):
rows streamed from the domain packages, written by one formatter."""
