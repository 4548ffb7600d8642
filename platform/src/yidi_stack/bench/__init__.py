"""`make bench`: measured figures, printed and written to .bench/latest.json; never a pass/fail."""
