"""The benefit engine (DOMAIN.md section 2, computation): pure values and functions, no I/O.

Direct settlement (services/settlement, the visit place) and manual reimbursement (the insured
place) compute a visit with the same code: `engine.compute_settlement` over the fee lines split by
`line_split`, the person-year `accumulators`, the policy of `yidi_events.contracts.policy`, and the
filing chosen by `filings`.
"""
