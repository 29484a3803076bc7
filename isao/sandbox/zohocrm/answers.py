"""Zoho's error bodies and answers: the JSON response, per-record envelopes and a rejected record."""

from __future__ import annotations

from starlette.responses import Response

from isao.sandbox.zohoaccounts import zoho_json
from isao.sandbox.zohocrm.constants import Json

_json = zoho_json


def _err(code: str, message: str, details: Json | None = None) -> Json:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def _error(code: str, message: str, details: Json | None = None, status: int = 400) -> Response:
    return _json(_err(code, message, details), status)


def _invalid_url() -> Response:
    return _error(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", status=404
    )


def _bad_method() -> Response:
    return _error("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")


def _missing_param(*names: str) -> Response:
    return _error(
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        {"param_name": names[0] if len(names) == 1 else list(names)},
    )


def _invalid_param(name: str, value: str) -> Response:
    return _error("INVALID_DATA", "invalid data", {"param_name": name, "param": value})


def _path_invalid(index: int) -> Response:
    """An id or module in the URL that does not exist, as Zoho names it (``resource_path_index``)."""
    if index == 0:
        return _error(
            "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0}
        )
    return _error("INVALID_DATA", "the related id given seems to be invalid", {"resource_path_index": index})


def _per_record(results: list[Json], all_ok: int) -> Response:
    """Zoho's per-record envelope: every record fine → ``all_ok``, all failed → 400, a mix → 207."""
    failed = sum(1 for result in results if result["status"] == "error")
    status = all_ok if failed == 0 else 400 if failed == len(results) else 207
    return _json({"data": results}, status)


class _Reject(Exception):
    """A record that Zoho refuses; ``item`` is its per-record error."""

    def __init__(self, item: Json) -> None:
        super().__init__(item["code"])
        self.item = item


def _reject(code: str, message: str, details: Json) -> _Reject:
    return _Reject(_err(code, message, details))
