"""The Starlette side of Authlib's server: requests read up front, responses as plain data.

Authlib is synchronous, so routes read the body first and then hand a `DevRequest` to it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from starlette.requests import Request
from starlette.responses import Response

Pairs = Sequence[tuple[str, str]]
MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


class PairsPayload(OAuth2Payload):
    """OAuth parameters from one source (the query or the form), first value wins."""

    def __init__(self, pairs: Pairs) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class DevRequest(OAuth2Request):
    """An already-read HTTP request. `params` are its OAuth parameters (the query at /authorize,
    the form at /token); `form` is the form body, where Authlib reads credentials and the code.
    """

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], *, params: Pairs, form: Pairs = ()
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = PairsPayload(params)
        self._form = PairsPayload(form).data

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self._form


class DevJsonRequest(JsonRequest):
    def __init__(self, method: str, uri: str, headers: Mapping[str, str], body: Any) -> None:
        super().__init__(method, uri, headers)
        self.payload = _JsonPayload(body)


@dataclass
class _JsonPayload(JsonPayload):
    body: Any

    @property
    def data(self) -> Any:
        return self.body


@dataclass
class ServerResponse:
    """What Authlib answers; routes turn it into a Starlette response."""

    status: int
    body: str | dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))


async def read_form(request: Request) -> list[tuple[str, str]] | None:
    """The urlencoded body, or None when it is something else, too big or malformed."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None


def to_response(answer: ServerResponse) -> Response:
    body = json.dumps(answer.body) if isinstance(answer.body, dict) else answer.body
    headers = {**NO_STORE, **{k.lower(): v for k, v in answer.headers}}
    if answer.location:
        headers["referrer-policy"] = "no-referrer"
    return Response(body, answer.status, headers=headers)
