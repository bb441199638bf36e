"""The finance reports as files: a grant's accountability report (PDF, XLSX) and the
RJ 650 income statement (PDF, XLSX, JSON), with `anbi grants report` and `anbi reports
income`. The figures come from `subsidies`; these modules only lay them out."""
