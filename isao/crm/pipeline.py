"""The pipeline board: deals grouped in stage columns with counts and totals, and moving a deal.

Stages are free text (each company, recipe and provider names its own), so columns come from the
stages in use. They are ordered by a known sales/order pipeline where the name is recognised, unknown
stages next, alphabetically, and closing stages (won, cancelled, …) last. Moving goes through
:func:`isao.crm.deals.update`, so the events, webhooks and the deal's history record it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from isao.crm import deals
from isao.crm.errors import Invalid
from isao.crm.messages import validation_details
from isao.crm.schemas import DealStatusUpdate
from isao.db.models import Deal

# Normalised names (lower case, "-" for spaces and "_"): sales stages of the API docs, HubSpot's
# default pipeline and the WooCommerce recipe's order statuses.
OPEN_ORDER = (
    "lead new prospecting discovery appointmentscheduled qualification qualified qualifiedtobuy "
    "needs-analysis demo presentationscheduled decisionmakerboughtin proposal quote contractsent "
    "contract-review negotiation pending-payment pending on-hold processing"
).split()
CLOSING_ORDER = (
    "completed closed-won closedwon won cancelled refunded failed abandoned closed-lost closedlost lost "
    "unknown"
).split()
# Offered as move targets even before any deal uses them: the pipeline the API documentation shows.
DEFAULT_STAGES = ("discovery", "qualification", "proposal", "contract-review", "negotiation")
OUTCOMES = (("won", "Won"), ("lost", "Lost"))
CARDS_PER_COLUMN = 50


def normalise(stage: str) -> str:
    return "-".join(stage.lower().replace("_", " ").split())


def stage_key(stage: str | None) -> tuple[int, int, str]:
    if stage is None:
        return (3, 0, "")
    name = normalise(stage)
    if name in OPEN_ORDER:
        return (0, OPEN_ORDER.index(name), name)
    if name in CLOSING_ORDER:
        return (2, CLOSING_ORDER.index(name), name)
    return (1, 0, name)


def ordered(stages: set[str | None]) -> list[str | None]:
    return sorted(stages, key=stage_key)


@dataclass
class Card:
    id: str
    title: str
    value: Decimal
    currency: str
    stage: str | None
    status: str
    contact_id: str | None
    contact_name: str | None


@dataclass
class Column:
    key: str  # the move target that lands a deal here: "stage:<name>" or "status:won"
    title: str
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    cards: list[Card] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)


def stages_in_use(session: Session, company_id: str) -> list[str]:
    """Every stage a deal of the company has, plus the documented default pipeline, in board order."""
    used = set(session.scalars(select(Deal.stage).where(Deal.company_id == company_id).distinct()))
    known = {normalise(stage) for stage in used if stage}
    used |= {stage for stage in DEFAULT_STAGES if stage not in known}
    return [stage for stage in ordered(used) if stage]


def targets(session: Session, company_id: str) -> list[tuple[str, str]]:
    """(value, label) of every place a card can be moved to."""
    stages = [(f"stage:{stage}", stage) for stage in stages_in_use(session, company_id)]
    return stages + [(f"status:{status}", label) for status, label in OUTCOMES]


def board(session: Session, company_id: str, *, closed: bool = False) -> list[Column]:
    """Open deals by stage; with ``closed``, Won and Lost columns too. Counts and totals cover every
    deal of a column, the cards only the most recently changed ones."""
    columns: dict[str | None, Column] = {}
    stage_totals = (
        select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.value))
        .where(Deal.company_id == company_id, Deal.status == "open")
        .group_by(Deal.stage, Deal.currency)
    )
    for stage, currency, count, total in session.execute(stage_totals):
        column = columns.setdefault(stage, Column(f"stage:{stage or ''}", stage or "No stage"))
        _add(column, currency, count, total)
    result = []
    for stage in ordered(set(columns)):
        condition = Deal.stage.is_(None) if stage is None else Deal.stage == stage
        columns[stage].cards = _cards(session, company_id, condition, Deal.status == "open")
        result.append(columns[stage])
    if closed:
        for status, label in OUTCOMES:
            column = Column(f"status:{status}", label)
            outcome_totals = (
                select(Deal.currency, func.count(), func.sum(Deal.value))
                .where(Deal.company_id == company_id, Deal.status == status)
                .group_by(Deal.currency)
            )
            for currency, count, total in session.execute(outcome_totals):
                _add(column, currency, count, total)
            column.cards = _cards(session, company_id, Deal.status == status)
            result.append(column)
    return result


def move(session: Session, company_id: str, deal_id: str, target: str) -> Deal:
    """Move to a stage (reopening a won or lost deal) or mark it won or lost."""
    kind, _, name = target.partition(":")
    if kind == "status" and name in dict(OUTCOMES):
        values: dict[str, str] = {"status": name}
    elif kind == "stage" and name.strip():
        values = {"stage": name, "status": "open"}
    else:
        raise Invalid({"to": "Choose a stage to move the deal to"})
    try:
        update = DealStatusUpdate.model_validate(values)
    except ValidationError as exc:
        raise Invalid({"to": next(iter(validation_details(exc.errors()).values()))}) from None
    return deals.update(session, company_id, deal_id, update)


def _add(column: Column, currency: str, count: int, total: Decimal | None) -> None:
    column.count += count
    column.totals[currency] = column.totals.get(currency, Decimal(0)) + Decimal(total or 0)


def _cards(session: Session, company_id: str, *conditions: ColumnElement[bool]) -> list[Card]:
    query = (
        select(Deal)
        .where(Deal.company_id == company_id, *conditions)
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(CARDS_PER_COLUMN)
    )
    return [
        Card(
            row.id,
            row.title,
            row.value,
            row.currency,
            row.stage,
            row.status,
            row.contact_id,
            row.contact.name if row.contact else None,
        )
        for row in session.scalars(query)
    ]
