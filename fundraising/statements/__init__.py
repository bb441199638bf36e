"""The annual gift statement (jaaroverzicht giften): what it says (`rules`: the figures,
whether a new one or a correction is due, and what a periodic gift agreement
promised against what arrived), the issued statements as immutable snapshots
(`models`), and the yearly agreements check (`agreement_check`, `anbi agreements
check`). Issuing and rendering them is `exports.statements`."""
