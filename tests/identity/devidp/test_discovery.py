"""Discovery and JWKS: absolute endpoints under the issuer, one public RS256 key."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc9207 import AuthorizationServerMetadata as IssParameterMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from console.identity.devidp import DevClient, create_dev_idp
from tests.identity.devidp.flow import ISSUER, Provider

pytestmark = pytest.mark.anyio


async def test_discovery_document_is_valid_metadata_with_absolute_endpoints(provider: Provider):
    response = await provider.http.get("/dev-idp/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = OpenIDProviderMetadata(response.json())
    metadata.validate(metadata_classes=[IssParameterMetadata])
    assert metadata["issuer"] == ISSUER
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
    ]:
        assert metadata[name] == ISSUER + path
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }


async def test_jwks_publishes_the_public_signing_key_only(provider: Provider):
    response = await provider.http.get("/dev-idp/jwks")
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


@pytest.mark.parametrize(
    "issuer",
    [
        "http://console.example/dev-idp",
        "ftp://127.0.0.1/dev-idp",
        "/dev-idp",
        "http://127.0.0.1?x=1",
    ],
)
def test_an_issuer_that_authlib_would_refuse_fails_at_creation(issuer: str):
    with pytest.raises(ValueError, match="issuer"):
        create_dev_idp(issuer=issuer, clients=[DevClient("c", "s", ("http://127.0.0.1/cb",))])
