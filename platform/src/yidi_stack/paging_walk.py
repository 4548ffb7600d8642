"""Walking a paged list as a client does, for the services' tests: every page in turn, following
`Link: <...>; rel="next"` (RFC 8288, `yidi_events.paging`) until the last page, which has none."""

from __future__ import annotations

import re
from typing import Any

import httpx

NEXT = re.compile(r'<([^>]+)>; rel="next"')


async def walk_pages(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[Any]:
    """Each page's body, in order. Every page must answer 200, and a `Link` must be exactly one
    next-page link: a malformed one is a failure, not the end of the list."""
    pages = []
    while True:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        link = response.headers.get("link")
        if link is None:
            return pages
        found = NEXT.fullmatch(link)
        assert found, link
        url = found.group(1)
