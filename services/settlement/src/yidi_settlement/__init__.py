"""Visit place: the HIS gateway, catalogues, hospitals and the settlement engine."""
