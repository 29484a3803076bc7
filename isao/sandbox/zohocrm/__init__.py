"""Zoho CRM sandbox: the records API under ``/crm/{version}/{module}`` for v2 … v8, the accounts server's
``/oauth/v2/token`` in the same app, field and module metadata (which the official SDK reads before any
record call), and instant notifications (``/actions/watch``) delivered to subscribers.

Rules kept from the real service, because connectors break on them:

- ``Authorization: Zoho-oauthtoken <token>`` only; a missing header is ``AUTHENTICATION_FAILURE``, an
  unknown or expired token ``INVALID_TOKEN`` (both 401).
- A refresh token mints at most 10 access tokens in any 10 minutes; the 11th is refused with
  ``Access Denied`` (Zoho "Token Validity" page), so a refresh storm shows up in tests.
- Writes answer per record: all succeed → 201 (insert) or 200, all fail → 400, a mix → 207.
- Empty list or search → 204 with no body; ``If-Modified-Since`` with nothing newer → 304.
- ``If-Modified-Since`` keeps records modified strictly after the given second (HTTP's meaning);
  timestamps are whole seconds, so a poller must overlap its windows.
- Page numbers reach only the first 2,000 records from v2.1 on; ``info.next_page_token`` goes further.
- ``fields`` is mandatory when listing from v5 on (v2.1 … v4 documentation lists it as optional).

Modelling choices where Zoho documents nothing: ``Access Denied`` comes with HTTP 400; Leads need
``Company`` up to v3 only; unknown field names in a record are ignored, unknown names in ``fields`` are
refused; a notification is posted once, without retries.
"""

from isao.sandbox.zohoaccounts import ACCESS_TOKEN_TTL, REFRESH_LIMIT, REFRESH_WINDOW
from isao.sandbox.zohoaccounts import CRM_SCOPES as SCOPES
from isao.sandbox.zohocrm.app import ZohoCrmSandbox
from isao.sandbox.zohocrm.constants import (
    DEFAULT_CHANNEL_TTL,
    ID_PREFIX,
    MAX_FIELDS,
    MAX_PAGE,
    MAX_WRITE,
    ORG_ID,
    PAGE_NUMBER_REACH,
    TOKEN_PAGE_TTL,
    USER,
    VERSIONS,
    Json,
)
from isao.sandbox.zohocrm.criteria import Criteria
from isao.sandbox.zohocrm.schema import MODULES, Field, Module

__all__ = [
    "ACCESS_TOKEN_TTL",
    "DEFAULT_CHANNEL_TTL",
    "ID_PREFIX",
    "MAX_FIELDS",
    "MAX_PAGE",
    "MAX_WRITE",
    "MODULES",
    "ORG_ID",
    "PAGE_NUMBER_REACH",
    "REFRESH_LIMIT",
    "REFRESH_WINDOW",
    "SCOPES",
    "TOKEN_PAGE_TTL",
    "USER",
    "VERSIONS",
    "Criteria",
    "Field",
    "Json",
    "Module",
    "ZohoCrmSandbox",
]
