"""``GET /test``: lets a client check its key and label the connection with the company's name."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from isao.api.auth import Caller
from isao.api.responses import ok
from isao.api.schemas import TestInfo, errors, one, success

router = APIRouter(tags=["Authentication"])


@router.get(
    "/test",
    summary="Test the API key",
    response_model=None,
    responses={200: success(one(TestInfo), "The key's company, name and permissions"), **errors()},
)
def test_connection(caller: Caller) -> Response:
    return ok(
        {
            "companyId": caller.company_id,
            "companyName": caller.company_name,
            "keyId": caller.key_id,
            "keyName": caller.key_name,
            "scopes": list(caller.scopes),
        }
    )
