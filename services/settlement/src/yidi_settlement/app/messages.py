"""Each hospital message is answered once: (institution, message id) keeps the request's hash and
the answer, in the unit that did the work. A repeat gets the kept answer; another request under the
same id is refused; a message retired by a reversal can never run afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from yidi_events.application import Idempotent, Unit, WritePath
from yidi_events.kernel import Conflict
from yidi_events.store.idempotency import Keeping, StoredResponse

Answer = dict[str, Any]

# The hash kept for a retired message id: no request hashes to it, so no request runs under it.
RETIRED = "reversed-by-2601"


def _scope(institution: str) -> str:
    return f"his:{institution}"


def repeat(kept: StoredResponse, request_hash: str, message_id: str) -> Answer:
    if kept.request_hash == RETIRED:
        raise Conflict(
            "his.msgid_reversed",
            f"message_id {message_id} was reversed by 2601 and cannot be used again",
            field="message_id",
        )
    if kept.request_hash != request_hash:
        raise Conflict(
            "his.msgid_reused",
            f"message_id {message_id} was already used by this institution for a different request",
            field="message_id",
        )
    return kept.response


async def retire(unit: Unit, institution: str, message_id: str) -> None:
    """A reversed message can never run afterwards (a late duplicate must not settle)."""
    if await unit.lookup(_scope(institution), message_id) is None:
        await unit.record(Idempotent(_scope(institution), message_id, RETIRED), {})


@dataclass
class Messages:
    write: WritePath

    async def answer_once(
        self,
        institution: str,
        message_id: str,
        request_hash: str,
        work: Callable[[Unit], Awaitable[Answer]],
        alongside: Callable[[Unit, Keeping | None], Awaitable[None]] | None = None,
    ) -> Answer:
        """Do `work` and keep its answer in one unit, or give the answer kept before;
        `alongside` (the nonce claim) commits with either, and may keep the answer in its own
        statement (`WritePath.answer_once`)."""
        return await self.write.answer_once(
            Idempotent(_scope(institution), message_id, request_hash),
            work,
            repeat=lambda kept: repeat(kept, request_hash, message_id),
            alongside=alongside,
        )

    async def kept(self, institution: str, message_id: str) -> StoredResponse | None:
        return await self.write.transact(lambda unit: unit.lookup(_scope(institution), message_id))

    async def keep(
        self, institution: str, message_id: str, request_hash: str, answer: Answer
    ) -> None:
        """Keep an answer another service gave; a twin that kept one first wins silently (the
        owner deduplicates by message id)."""

        async def given(unit: Unit) -> Answer:
            return answer

        await self.write.answer_once(
            Idempotent(_scope(institution), message_id, request_hash),
            given,
            repeat=lambda kept: answer,
        )
