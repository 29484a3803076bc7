"""Recipes are data: a YAML file in ``isao/recipes/`` (or the user's own), validated here.

A recipe names the *roles* it needs (``shop: woocommerce``, ``crm: zohocrm``), bound to real connections when
it is enabled, and one or more *flows*. A flow reads one object of one role (from webhooks and/or a poll),
and runs its *steps* in order; each step writes one record to a role, matched through the ID map first, then
by a key, else created. Mapped values use the expression language of ``isao.sync.expressions``; a step sees
the records earlier steps wrote as ``steps.<name>`` and the recipe's options by name.

Errors point at the line of the YAML they are about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from isao.sync.expressions import Expression, ExpressionError, Template, compile_expression, compile_template


class RecipeError(ValueError):
    """A recipe that does not load, with the file and line of each problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Endpoint(_Model):
    connection: str = Field(description="A role named under the recipe's `connections`")
    object: str = Field(description="The provider's object: orders, contacts, Deals…")


class Trigger(_Model):
    webhook: tuple[str, ...] = Field((), description="The provider's topics that start this flow")
    poll: str | None = Field(None, description="Cron schedule of the incremental poll (the backstop)")
    scan: dict[str, Template] | None = Field(
        None,
        description="Make each poll list every record matching these provider filters (e.g. "
        "`{status: pending, before: ...}`) instead of the changes since the cursor: for records that "
        "qualify by age rather than by a change",
    )

    @field_validator("scan", mode="before")
    @classmethod
    def _scan(cls, value: Any) -> dict[str, Template] | None:
        return _templates(value)


class Match(_Model):
    key: str | None = Field(None, description="Then search the destination for this field's mapped value")


class ValueMap(_Model):
    """``{from: "{status}", map: {completed: Closed Won}, default: Qualification}``"""

    source: Template = Field(alias="from")
    map: dict[str, Any]
    default: Any = None

    @field_validator("source", mode="before")
    @classmethod
    def _compile(cls, value: Any) -> Template:
        return compile_template(str(value))

    @field_validator("map", mode="before")
    @classmethod
    def _values(cls, value: Any) -> dict[str, Any]:
        """Mapped-to values are templates too: ``completed: "{paid_stage}"`` reads a recipe option."""
        if not isinstance(value, dict):
            raise ValueError("map: expected a mapping of source values to destination values")
        return {str(k): compile_mapping(v) for k, v in value.items()}

    @field_validator("default", mode="before")
    @classmethod
    def _default(cls, value: Any) -> Any:
        return compile_mapping(value)


Mapping = dict[str, Any]
"""Field → template string, literal, ``ValueMap``, nested mapping or list; compiled by ``compile_mapping``."""


class Lookup(_Model):
    """Records a flow reads besides its source record, before its steps run: ``lookups.<name>``."""

    connection: str
    object: str
    search: dict[str, Template] | None = Field(
        None, description="One field → value: the records of `object` matching it exactly"
    )
    associated: bool = Field(False, description="The records of `object` associated with the source record")

    @field_validator("search", mode="before")
    @classmethod
    def _search(cls, value: Any) -> dict[str, Template] | None:
        return _templates(value)

    @model_validator(mode="after")
    def _one_way_to_find(self) -> Lookup:
        if (self.search is None) == (not self.associated):
            raise ValueError("a lookup has either `search: {field: value}` or `associated: true`")
        if self.search is not None and len(self.search) != 1:
            raise ValueError("`search` names exactly one field")
        return self


class Requirement(_Model):
    """A check a source record must pass before the flow creates anything from it; failing it sends the
    record to the dead letters. A record the flow already wrote (its first step has a link, either way) is
    not checked again: its later changes update what exists (a deal's stage moving the order it became)."""

    check: Expression
    message: Template

    @field_validator("check", mode="before")
    @classmethod
    def _check(cls, value: Any) -> Expression | None:
        return _expression(value)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Template:
        return compile_template(str(value))


class Step(_Model):
    name: str
    target: Endpoint
    when: Expression | None = Field(None, description="Run this step only when true")
    match: Match = Match()
    action: Literal["upsert", "create", "update"] = Field(
        "upsert",
        description="upsert: update what matches, else create; create: only when nothing matches; "
        "update: only what matches",
    )
    fields: dict[str, Any]
    update_fields: tuple[str, ...] | None = Field(
        None, description="When updating, write only these fields (default: all)"
    )
    associate: dict[str, Template] = Field(
        default_factory=dict,
        description="After the write, associate the record with these (object → id), where the "
        "provider keeps associations apart from fields (HubSpot)",
    )

    @field_validator("associate", mode="before")
    @classmethod
    def _associate(cls, value: Any) -> dict[str, Template]:
        return _templates(value) or {}

    @field_validator("when", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Expression | None:
        return _expression(value)

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise ValueError("fields must map at least one destination field")
        return {str(k): compile_mapping(v) for k, v in value.items()}


class Flow(_Model):
    name: str
    source: Endpoint
    trigger: Trigger = Trigger()
    when: Expression | None = Field(
        None, description="Skip source records for which this is false (sees the record and options)"
    )
    lookups: dict[str, Lookup] = Field(default_factory=dict)
    require: tuple[Requirement, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Expression | None:
        return _expression(value)

    @model_validator(mode="after")
    def _unique_steps(self) -> Flow:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique in a flow: {names}")
        return self


class Conflict(_Model):
    policy: Literal["latest", "source_of_truth"] = "latest"
    owners: dict[str, str] = Field(
        default_factory=dict, description="field → the role that owns it (source_of_truth)"
    )


class Recipe(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str = ""
    connections: dict[str, str] = Field(description="role → provider")
    options: dict[str, Any] = Field(default_factory=dict)
    flows: tuple[Flow, ...] = Field(min_length=1)
    conflict: Conflict = Conflict()

    @model_validator(mode="after")
    def _steps_name_their_links(self) -> Recipe:
        """The ID map knows a step by its name and source record: two flows reading the same object must
        name their steps apart, or one would take the other's target for its own."""
        seen: dict[tuple[str, str, str], str] = {}
        for flow in self.flows:
            for step in flow.steps:
                key = (flow.source.connection, flow.source.object, step.name)
                if key in seen and seen[key] != flow.name:
                    raise ValueError(
                        f"flows {seen[key]} and {flow.name} both read {flow.source.object} and both have a "
                        f"step {step.name!r}: give one of them another name"
                    )
                seen[key] = flow.name
        return self


def _templates(value: Any) -> dict[str, Template] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of names to values")
    return {str(k): compile_template(str(v)) for k, v in value.items()}


def _expression(value: Any) -> Expression | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return compile_expression(text)


def compile_mapping(value: Any) -> Any:
    """Templates for strings, ``ValueMap`` for ``{from, map}``, recursion for nested objects and lists."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, dict):
        if "from" in value and "map" in value:
            return ValueMap.model_validate(value)
        return {str(k): compile_mapping(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_mapping(item) for item in value]
    return value


# --- Loading --------------------------------------------------------------------------------------


def load(path: Path) -> Recipe:
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse(text: str, origin: str = "<recipe>") -> Recipe:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{origin}: a recipe is a YAML mapping")
    root = yaml.compose(text)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{origin}:{_line(root, error['loc'])}: {'.'.join(map(str, error['loc'])) or '(recipe)'}: "
            f"{error['msg']}"
            for error in exc.errors()
        ]
        raise RecipeError("\n".join(problems)) from None
    except ExpressionError as exc:
        raise RecipeError(f"{origin}: {exc}") from None
    unknown = [
        f"{origin}:{_line(root, loc)}: {'.'.join(map(str, loc))}: role {role!r} is not named in `connections`"
        for loc, role in _roles(recipe)
        if role not in recipe.connections
    ]
    if unknown:
        raise RecipeError("\n".join(unknown))
    return recipe


def _roles(recipe: Recipe) -> list[tuple[tuple[int | str, ...], str]]:
    found: list[tuple[tuple[int | str, ...], str]] = []
    for f, flow in enumerate(recipe.flows):
        found.append((("flows", f, "source", "connection"), flow.source.connection))
        for name, lookup in flow.lookups.items():
            found.append((("flows", f, "lookups", name, "connection"), lookup.connection))
        for s, step in enumerate(flow.steps):
            found.append((("flows", f, "steps", s, "target", "connection"), step.target.connection))
    return found


def _line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the YAML node at ``loc`` (or of the nearest ancestor that exists)."""
    line = node.start_mark.line + 1 if node else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, v in node.value if k.value == str(part)), None)
            if found is None or key is None:
                break
            node, line = found, key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
