"""The HIS protocol edge: the national envelope, its signature, and each transaction's mapping
between national field names and the settlement domain. National names live here only; app/ and
domain/ speak the domain names of docs/glossary.md."""
