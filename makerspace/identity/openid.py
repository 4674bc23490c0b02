"""ID-porten and Feide over OpenID Connect, with Authlib as the client: authorization code
flow with PKCE (S256), `state` and `nonce`; the ID token's signature is checked against the
provider's JWKS and its claims (iss, aud, exp, iat, nonce) against the discovery document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

PROVIDERS = ("idporten", "feide")


@dataclass(frozen=True)
class Provider:
    key: str
    name: str


def _setting(key: str, name: str) -> Any:
    return current_app.config.get(f"{key.upper()}_{name}")


def configured_providers() -> list[Provider]:
    """The providers with an issuer and a client id, in the order of PROVIDERS."""
    return [Provider(key, str(_setting(key, "NAME") or key)) for key in PROVIDERS
            if _setting(key, "ISSUER") and _setting(key, "CLIENT_ID")]


def provider(key: str) -> Provider | None:
    return next((p for p in configured_providers() if p.key == key), None)


def refusals() -> tuple[type[Exception], ...]:
    """What talking to a provider raises when it fails or its answer is refused (a bad
    signature or claim, a broken discovery document, a network error)."""
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError
    from requests import RequestException

    return (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError)


def client(key: str) -> Any:
    """The Authlib client of a provider, made once per app from its settings."""
    # Authlib and its JOSE and HTTP libraries (16 MB) are loaded when a provider is first
    # used, not by every web worker (docs/performance.md).
    from authlib.integrations.flask_client import OAuth
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import JWKRegistry

    registry = current_app.extensions.get("identity_oauth")
    if registry is None:
        registry = current_app.extensions["identity_oauth"] = OAuth(current_app)
    found = registry.create_client(key)
    if found is not None:
        return found
    issuer = str(_setting(key, "ISSUER")).rstrip("/")
    client_kwargs: dict[str, Any] = {"scope": _setting(key, "SCOPES") or "openid",
                                     "code_challenge_method": "S256"}
    options: dict[str, Any] = {}
    secret = _setting(key, "CLIENT_SECRET")
    key_file = _setting(key, "PRIVATE_KEY_FILE")
    if key_file:
        # private_key_jwt (what ID-porten asks of most clients): the secret is the key.
        secret = Path(key_file).read_text()
        if secret.lstrip().startswith("{"):  # a JWK: Authlib signs with a PEM
            secret = JWKRegistry.import_key(json.loads(secret)).as_pem(private=True).decode()
        client_kwargs["token_endpoint_auth_method"] = "private_key_jwt"  # noqa: S105
        options["client_auth_methods"] = [PrivateKeyJWT()]
    return registry.register(
        name=key, client_id=_setting(key, "CLIENT_ID"), client_secret=secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs, **options)
