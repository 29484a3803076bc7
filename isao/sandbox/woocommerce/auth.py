"""Authentication before routing, as ``WC_REST_Authentication`` does it: consumer key and secret (query
or Basic auth) and one-legged OAuth 1.0a."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

from isao.sandbox.woocommerce.constants import CONSUMER_KEY, CONSUMER_SECRET, OAUTH_WINDOW
from isao.sandbox.woocommerce.core import _Core
from isao.sandbox.woocommerce.formats import _rfc3986
from isao.sandbox.woocommerce.replies import WPError, _auth_error


def _oauth_header(header: str) -> dict[str, str]:
    """``WC_REST_Authentication::parse_header``: ``Authorization: OAuth k="v", …``."""
    if not header.startswith("OAuth "):
        return {}
    found: dict[str, str] = {}
    for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header):
        found[name] = unquote((quoted or bare).replace("+", " "))
    return found


def _basic(header: str | None) -> tuple[str, str]:
    if not header or not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


class Authentication(_Core):
    """Consumer key checks, OAuth signatures, timestamps and nonces."""

    # --- authentication (WC_REST_Authentication) ------------------------------------------------------

    def _authenticate(self, request: Request, query: dict[str, Any], form: dict[str, Any]) -> bool:
        """True when a key authenticated the request, False when none was offered; a hard failure raises."""
        key = secret = ""
        if query.get("consumer_key") and query.get("consumer_secret"):
            key, secret = str(query["consumer_key"]), str(query["consumer_secret"])
        if not key:
            key, secret = _basic(request.headers.get("authorization"))
        if key and secret and key == CONSUMER_KEY:
            if not hmac.compare_digest(secret.encode(), CONSUMER_SECRET.encode()):
                realm = (
                    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer '
                    'secret in the password field."'
                )
                raise _auth_error("Consumer secret is invalid.", {"WWW-Authenticate": realm})
            return True
        flat = dict(request.query_params.items()) | {k: v for k, v in form.items() if isinstance(v, str)}
        oauth = flat | _oauth_header(request.headers.get("authorization", "").strip())
        names = (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        )
        missing = [name for name in names if not oauth.get(name)]
        if len(missing) == len(names):
            return False
        if missing:
            label = "Missing OAuth parameter" + ("s" if len(missing) > 1 else "")
            raise WPError(
                "woocommerce_rest_authentication_missing_parameter", f"{label} {', '.join(missing)}", 401
            )
        if oauth["oauth_consumer_key"] != CONSUMER_KEY:
            raise _auth_error("Consumer key is invalid.")
        self._check_signature(request, oauth)
        self._check_timestamp_and_nonce(oauth["oauth_timestamp"], oauth["oauth_nonce"])
        return True

    def _check_signature(self, request: Request, params: dict[str, str]) -> None:
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        pairs = "%26".join(
            _rfc3986(_rfc3986(key) + "=" + _rfc3986(value)) for key, value in sorted(signed.items())
        )
        method = signed["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise _auth_error("Invalid signature - signature method is invalid.")
        digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
        # The store's home URL, and the address the request reached it by: a sandbox started on
        # 0.0.0.0 cannot know which of its names the client signed.
        homes = {self.base_url.rstrip("/"), f"{request.url.scheme}://{request.headers.get('host', '')}"}
        key = (CONSUMER_SECRET + "&").encode()
        for home in homes:
            text = f"{request.method.upper()}&{_rfc3986(home + path)}&{pairs}"
            expected = base64.b64encode(hmac.new(key, text.encode(), digest).digest()).decode()
            if hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
                return
        raise _auth_error("Invalid signature - provided signature does not match.")

    def _check_timestamp_and_nonce(self, timestamp: str, nonce: str) -> None:
        now = time.time()
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if not now - OAUTH_WINDOW <= stamp <= now + OAUTH_WINDOW:
            raise _auth_error("Invalid timestamp.")
        self._nonces = {n: t for n, t in self._nonces.items() if t >= now - OAUTH_WINDOW}
        if nonce in self._nonces:
            raise _auth_error("Invalid nonce - nonce has already been used.")
        self._nonces[nonce] = stamp
