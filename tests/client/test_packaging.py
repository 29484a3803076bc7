"""The SDK must run where the server is not installed: it may import only the standard library and httpx."""

from __future__ import annotations

import json
import subprocess
import sys

import isao.client

PROBE = """
import json, sys
import isao.client
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_sdk_loads_no_server_code() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    ours = {name for name in loaded if name == "isao" or name.startswith("isao.")}
    assert ours - {"isao"} <= {
        f"isao.client.{m}" for m in ("_base", "_sync", "_async", "errors", "pagination")
    } | {"isao.client"}
    assert "isao.client._async" in ours
    server_deps = {"fastapi", "starlette", "sqlalchemy", "pydantic", "uvicorn", "phonenumbers", "orjson"}
    assert not server_deps & {name.split(".")[0] for name in loaded}


def test_public_names_are_exported() -> None:
    assert set(isao.client.__all__) <= set(dir(isao.client))
    for name in (
        "IsaoClient",
        "AsyncIsaoClient",
        "Page",
        "IsaoError",
        "ApiError",
        "RateLimitError",
        "ServerError",
    ):
        assert name in isao.client.__all__
