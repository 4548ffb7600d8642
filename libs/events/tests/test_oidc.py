"""An external OIDC issuer's access tokens, as a Keycloak realm issues them, are accepted and
mapped to a principal; anything not verifiably that issuer's, for us, with a region, is refused.
Keys are made here (RSA, as Keycloak signs by default); nothing is fetched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from yidi_events.auth.agency import TokenSigner, TokenVerifier, Unauthenticated
from yidi_events.auth.oidc import ExternalIssuer
from yidi_events.service import verifier_for
from yidi_events.settings import ServiceSettings

REALM = "https://iam.hsa.jiangsu.example/realms/yibao"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "realm-1"}


def keycloak_token(key: Any = KEY, kid: str = "realm-1", **overrides: Any) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": REALM,
        "aud": "yidi-api",
        "sub": "f3a1c2d4-0000-4000-8000-000000000001",
        "preferred_username": "wang.li",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "realm_access": {"roles": ["filing_reviewer", "offline_access"]},
        "region": "320500",
        **overrides,
    }
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, "RS256", {"kid": kid}
    )


def verifier(**mapping: Any) -> TokenVerifier:
    issuer = ExternalIssuer(
        issuer=REALM,
        audience="yidi-api",
        user_claim="preferred_username",
        roles_claim="realm_access.roles",
        centre_region="320000",
        **mapping,
    )
    issuer.accept_jwks({"keys": [JWK]})
    own = TokenVerifier.of(TokenSigner.sandbox("s" * 40))
    own.external = issuer
    return own


def test_a_realm_officers_token_becomes_an_agency_principal_of_its_region() -> None:
    principal = verifier().verify(keycloak_token())
    assert principal.user_id == f"{REALM}#wang.li"
    assert principal.region == "320500"
    assert principal.kind == "agency"
    assert principal.roles == {"filing_reviewer", "offline_access"}


def test_the_centres_region_makes_a_centre_officer_unless_a_kind_claim_says() -> None:
    assert verifier().verify(keycloak_token(region="320000")).kind == "centre"
    by_claim = verifier(kind_claim="yidi_kind")
    assert by_claim.verify(keycloak_token(region="320000", yidi_kind="agency")).kind == "agency"
    with pytest.raises(Unauthenticated, match="must be agency or centre"):
        by_claim.verify(keycloak_token(yidi_kind="service"))


def test_our_own_tokens_are_still_accepted_beside_the_issuers() -> None:
    own = TokenSigner.sandbox("s" * 40).issue(user_id="u-1", region="320100", roles=["x"])
    assert verifier().verify(own).user_id == "u-1"


@pytest.mark.parametrize(
    ("token", "says"),
    [
        # signed by another key under the realm's kid
        (
            keycloak_token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "Signature",
        ),
        (keycloak_token(kid="realm-2"), "unknown key id"),
        (keycloak_token(aud="another-client"), "Audience"),
        (keycloak_token(exp=datetime.now(UTC) - timedelta(minutes=1)), "expired"),
        (keycloak_token(region=None), "six-digit region"),
        (keycloak_token(region="Suzhou"), "six-digit region"),
        (keycloak_token(preferred_username=None), "preferred_username"),
    ],
)
def test_what_is_not_verifiably_the_issuers_is_refused(token: str, says: str) -> None:
    with pytest.raises(Unauthenticated, match=says):
        verifier().verify(token)


def test_roles_given_as_one_space_separated_string_are_split() -> None:
    token = keycloak_token(realm_access={"roles": "filing_reviewer auditor"})
    assert verifier().verify(token).roles == {"filing_reviewer", "auditor"}


def test_a_token_claiming_the_issuer_but_signed_with_an_hmac_secret_is_refused() -> None:
    now = datetime.now(UTC)
    forged = jwt.encode(
        {
            "iss": REALM,
            "aud": "yidi-api",
            "sub": "x",
            "preferred_username": "x",
            "region": "320500",
            "iat": now,
            "exp": now + timedelta(minutes=5),
        },
        "a-guessed-shared-secret-of-32-bytes!",
        "HS256",
        {"kid": "realm-1"},
    )
    with pytest.raises(Unauthenticated):
        verifier().verify(forged)


def test_settings_configure_the_issuer_and_refuse_it_without_its_keys() -> None:
    settings = ServiceSettings(
        sandbox=True,
        oidc_issuer=REALM,
        oidc_jwks_url=f"{REALM}/protocol/openid-connect/certs",
        oidc_roles_claim="realm_access.roles",
    )
    external = verifier_for(settings).external
    assert external is not None
    assert (external.issuer, external.audience, external.roles_claim) == (
        REALM,
        "yidi-api",
        "realm_access.roles",
    )
    with pytest.raises(ValueError, match="YIDI_OIDC_JWKS_URL"):
        ServiceSettings(sandbox=True, oidc_issuer=REALM)
