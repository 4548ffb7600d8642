"""Insured place: insured persons, cross-region filings (备案), benefit policies."""
