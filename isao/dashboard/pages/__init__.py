"""One module per page family; each has a ``router``. All but the login need a logged-in admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from isao.dashboard.pages import (
    activity,
    audit_log,
    auth,
    connections,
    crm,
    deadletters,
    keys,
    overview,
    people,
    recipes,
    subscriptions,
)
from isao.dashboard.roles import read_only_net
from isao.dashboard.session import check_csrf, viewer

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
router.include_router(auth.router)
for module in (
    overview,
    connections,
    recipes,
    activity,
    deadletters,
    crm,
    people,
    keys,
    subscriptions,
    audit_log,
):
    router.include_router(module.router, dependencies=[Depends(viewer), Depends(read_only_net)])
