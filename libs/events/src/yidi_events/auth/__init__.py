"""Authentication building blocks: HIS request signatures and agency principals."""
