"""Monthly inter-agency clearing: statements, netting, ledger, remittances, hospital clearing."""
