"""Authlib's authorization server, wired to the in-memory store and the Starlette adapter."""

from __future__ import annotations

import logging
from typing import Any

from authlib.common.security import generate_token
from authlib.consts import default_json_headers
from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request, ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenGenerator

from console.identity.devidp.grants import (
    CodeGrant,
    DevIssuerParameter,
    DevOpenIDCode,
    S256CodeChallenge,
    TokenValidator,
    user_info,
)
from console.identity.devidp.integration import DevJsonRequest, DevRequest, ServerResponse
from console.identity.devidp.keys import SigningKey
from console.identity.devidp.storage import (
    ACCESS_TOKEN_TTL_SECONDS,
    SUPPORTED_SCOPES,
    AccessToken,
    MemoryStore,
    RegisteredClient,
)

log = logging.getLogger(__name__)


class DevAuthorizationServer(AuthorizationServer):
    """Authorization code + PKCE S256 + OpenID Connect, answering with `ServerResponse`s."""

    def __init__(self, *, issuer: str, store: MemoryStore, key: SigningKey) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self.issuer = issuer
        self.store = store
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(42),
                expires_generator=lambda client, grant_type: ACCESS_TOKEN_TTL_SECONDS,
            ),
        )
        self.register_grant(
            CodeGrant, [S256CodeChallenge(required=True), DevOpenIDCode(issuer, key, store)]
        )
        self.register_extension(DevIssuerParameter(issuer))
        self.resource_protector = ResourceProtector()
        self.resource_protector.register_token_validator(TokenValidator(store))

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.store.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.store.save_token(
            AccessToken(
                access_token=token["access_token"],
                client=request.client,
                user=request.user,
                scope=token["scope"],
                code=request.authorization_code.code,
                expires_at=self.store.clock() + token["expires_in"],
            )
        )

    def create_oauth2_request(self, request: DevRequest) -> DevRequest:
        return request

    def create_json_request(self, request: DevJsonRequest) -> DevJsonRequest:
        return request

    def handle_response(
        self, status_code: int, payload: str | dict[str, Any], headers: list[tuple[str, str]]
    ) -> ServerResponse:
        return ServerResponse(status_code, payload, list(headers))

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        log.debug("devidp signal %s", name)

    def authorization_error(self, request: DevRequest, error: OAuth2Error) -> ServerResponse:
        """An error of the authorization endpoint: a redirect (with `iss`) when it may be one."""
        error.state = request.payload.state
        response = self.handle_error_response(request, error)
        self.execute_hook("after_create_authorization_response", response)
        return response

    def userinfo_response(self, request: DevRequest) -> ServerResponse:
        try:
            token = self.resource_protector.validate_request(["openid"], request)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        claims = user_info(token.get_user(), token.get_scope())
        return ServerResponse(200, dict(claims), list(default_json_headers))
