"""Who uses the web application and the API, and how they prove it: staff users and
their sign-in throttling, server-side web sessions, the donor portal's sign-in links,
API tokens, the principal behind a request with its permission check, and the
browser security (signed cookie, CSRF token, headers, hosts) — with `anbi users` and
`anbi tokens`."""
