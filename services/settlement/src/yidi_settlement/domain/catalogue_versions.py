"""The catalogue's versions in the order they were published: the 13xx downloads hand a hospital
the versions newer than the one it holds."""

from __future__ import annotations

from dataclasses import dataclass

from yidi_settlement.domain.events import CatalogueItemPublished


@dataclass(frozen=True, kw_only=True)
class PublishedVersion:
    """A catalogue version as published, with the transaction that committed it: commit order
    is the catalogue's version order (a later download starts where an earlier one ended)."""

    txid: int
    item: CatalogueItemPublished
