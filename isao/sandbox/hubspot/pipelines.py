"""``/crm/v3/pipelines/deals``: the deal pipelines and their stages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _error, _invalid, _Json
from isao.sandbox.hubspot.constants import PIPELINES
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.hubspot.kinds import DEALS
from isao.sandbox.hubspot.parsing import _body, _object
from isao.sandbox.hubspot.values import _iso, _now_ms, _number


class PipelineEndpoints(_Core):
    # --- pipelines and properties ---

    def _pipeline_kind(self, name: str) -> None:
        if self._kind(name) is not DEALS:
            raise _invalid(f"Object type {name} has no pipelines in this account")

    async def _pipelines(self, request: Request) -> Response:
        self._caller(request)
        self._pipeline_kind(request.path_params["object"])
        if request.method == "GET":
            pipelines = sorted(self.store.all(PIPELINES), key=lambda pipeline: pipeline["displayOrder"])
            return _Json({"results": pipelines})
        body = _object(await _body(request), "the request body")
        label, stages = body.get("label"), body.get("stages")
        if not isinstance(label, str) or not label.strip():
            raise _invalid("label is required")
        if any(p["label"] == label for p in self.store.all(PIPELINES)):
            raise _error(409, f"A pipeline with label {label!r} already exists", "CONFLICT")
        if not isinstance(stages, list) or not stages:
            raise _invalid("stages must be a non-empty array")
        now = _iso(_now_ms())
        built = []
        for index, stage in enumerate(stages):
            stage = _object(stage, "a stage")
            metadata = _object(stage.get("metadata") or {}, "stage.metadata")
            probability = _number(str(metadata.get("probability", "")))
            if probability is None or not 0 <= probability <= 1:
                raise _invalid("Deal stages need metadata.probability between 0.0 and 1.0")
            built.append(
                {
                    "label": str(stage.get("label") or f"Stage {index + 1}"),
                    "displayOrder": int(stage.get("displayOrder", index)),
                    "metadata": {
                        "isClosed": str(
                            probability in (0.0, 1.0) and bool(metadata.get("isClosed", False))
                        ).lower(),
                        "probability": str(probability),
                    },
                    "id": str(self.store.next_id("stages", start=1_000_001)),
                    "createdAt": now,
                    "updatedAt": now,
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
            )
        pipeline_id = str(self.store.next_id("pipelines", start=900_001))
        pipeline = {
            "label": label,
            "displayOrder": int(body.get("displayOrder", 1)),
            "id": pipeline_id,
            "stages": built,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }
        self.store.put(PIPELINES, f"deals:{pipeline_id}", pipeline)
        return _Json(pipeline, status_code=201)

    def _one_pipeline(self, request: Request) -> dict[str, Any]:
        self._caller(request)
        self._pipeline_kind(request.path_params["object"])
        pipeline = self.store.get(PIPELINES, f"deals:{request.path_params['pipeline']}")
        if pipeline is None:
            raise _error(
                404, f"Unable to find pipeline {request.path_params['pipeline']}", "OBJECT_NOT_FOUND"
            )
        return pipeline

    async def _pipeline(self, request: Request) -> Response:
        return _Json(self._one_pipeline(request))

    async def _stages(self, request: Request) -> Response:
        return _Json({"results": self._one_pipeline(request)["stages"]})
