"""One module per page family; each has a ``router``. All but the login need a logged-in admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from isao.dashboard.pages import activity, auth, connections, crm, deadletters, overview, recipes
from isao.dashboard.session import check_csrf, viewer

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
router.include_router(auth.router)
for module in (overview, connections, recipes, activity, deadletters, crm):
    router.include_router(module.router, dependencies=[Depends(viewer)])
