"""Any HTTP endpoint as a destination: "send every order to my own endpoint".

A step's ``object`` is the path under ``base_url`` (``ingest`` → ``POST {base_url}/ingest``; ``/`` is
``base_url`` itself); the mapped fields are the JSON body. A bearer token and an HMAC signature (ISAO's
own webhook scheme, ``X-Isao-Signature`` over ``"<ts>." + body``, see ``isao.hooks.signing``) are
optional. An endpoint has no records to search or list: the ID map remembers what was sent for each
source record, and a record whose mapped body did not change is not sent again; a changed one is sent
again with the ``Idempotency-Key`` header of its first sending (a hash of that first body), so the
receiver can tell an update, or a resend after a crash, from a new record.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson

from isao.connectors._signing import isao_signature
from isao.connectors.base import ApiClient, Credentials, Page, Setting, classify_status, json_body
from isao.errors import Invalid, ProviderError

METHODS = ("POST", "PUT")

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "Where to send, e.g. https://example.com/hooks (a step's object: a path under it)"),
    Setting("method", "POST or PUT", required=False, default="POST"),
    Setting("headers", 'Extra headers as a JSON object, e.g. {"X-Source": "isao"}', required=False),
    Setting("bearer_token", "Sent as Authorization: Bearer …", secret=True, required=False),
    Setting("signing_secret", "Signs each body like ISAO's webhooks (X-Isao-Signature)", secret=True,
            required=False),
)  # fmt: skip


class Client(ApiClient):
    provider = "http"
    default_retry_after = 5.0

    def __init__(
        self, base_url: str, credentials: Credentials, *, method: str = "POST",
        headers: dict[str, str] | None = None, http: httpx.Client | None = None,
    ) -> None:  # fmt: skip
        super().__init__(base_url, credentials, http=http)
        if method.upper() not in METHODS:
            raise ValueError(f"http: method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method.upper()
        self.headers = headers or {}

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        try:
            headers = orjson.loads(values["headers"]) if values.get("headers") else {}
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"http: headers must be a JSON object: {exc}") from None
        if not isinstance(headers, dict):
            raise ValueError("http: headers must be a JSON object")
        method = str(values.get("method") or "POST")
        return cls(str(values["base_url"]), credentials, method=method,
                   headers={str(k): str(v) for k, v in headers.items()}, http=http)  # fmt: skip

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        token = secrets.get("bearer_token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        if response.status_code in (401, 403):  # a wrong token or signature does not fix itself
            message = f"http: {request['method']} {request['url']} answered {response.status_code}"
            return Invalid(message, details=json_body(response), request=request, response=reply)
        return classify_status(self, response, request, reply)

    def check(self) -> str:
        """Any answer but a refusal or a server error: the endpoint is there (nothing is sent; a server
        that does not implement ``HEAD`` answers 501 or 405, which is an answer)."""
        headers = {**self.headers, **self.auth_headers(self.current_secrets())}
        response = self.http.request("HEAD", self.base_url, headers=headers)
        if response.status_code in (401, 403) or (
            response.status_code >= 500 and response.status_code != 501
        ):
            raise self.classify(response, {"method": "HEAD", "url": self.base_url}, {})
        return f"{self.base_url} answers ({response.status_code})"

    def send(self, object: str, data: dict[str, Any], key: str) -> dict[str, Any]:
        """The body to ``base_url/object``; the reply's JSON when there is one."""
        headers = {**self.headers, "Idempotency-Key": key}
        secret = self.current_secrets().get("signing_secret")
        if secret:
            timestamp = str(int(self.clock()))
            signature = isao_signature(secret, timestamp, orjson.dumps(data))
            headers |= {"X-Isao-Timestamp": timestamp, "X-Isao-Signature": signature}
        path = object.strip("/")
        response = self.request(self.method, f"/{path}" if path else "", json=data, headers=headers)
        reply = json_body(response)
        return reply if isinstance(reply, dict) else {}

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        # From the body, not drawn at random: a send whose worker died before ISAO recorded it is sent
        # again under the same key, and the receiver can drop it.
        key = "isao-" + hashlib.sha256(orjson.dumps(data)).hexdigest()[:32]
        return {"id": key, "reply": self.send(object, data, key)}

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": id, "reply": self.send(object, data, id)}

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        return None  # an endpoint keeps nothing ISAO can read back

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        return []

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page:
        raise Invalid("http: an endpoint is a destination only; it has nothing to list")

    def record_id(self, record: dict[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: dict[str, Any]) -> str:
        return ""
