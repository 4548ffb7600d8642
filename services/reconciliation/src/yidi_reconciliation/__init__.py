"""Daily reconciliation: hospital totals and details (3201/3202), agency confirmation, day close."""
