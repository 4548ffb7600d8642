"""Shared dependencies of the routers: the handler context built by the composition root."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yidi_filing.app.common import Context


def context_of(request: Request) -> Context:
    context: Context = request.app.state.filing
    return context


Ctx = Annotated[Context, Depends(context_of)]
