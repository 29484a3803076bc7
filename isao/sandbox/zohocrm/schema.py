"""The sandbox's modules (Contacts, Leads, Accounts, Deals, Products) and their fields, as Zoho describes
them in ``/settings/fields``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isao.sandbox.zohocrm.constants import VERSIONS

_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Identify Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)


@dataclass(frozen=True)
class Field:
    api_name: str
    data_type: str
    """Zoho's ``data_type``: text, textarea, email, phone, website, picklist, currency, double, integer,
    boolean, date, datetime, lookup or ownerlookup."""
    mandatory: bool = False
    unique: bool = False
    lookup: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    """Only the listed picklist values are accepted (Deals.Stage, checked against the pipeline)."""
    length: int = 255
    read_only: bool = False

    @property
    def label(self) -> str:
        return self.api_name.replace("_", " ")


@dataclass(frozen=True)
class Module:
    api_name: str
    singular: str
    id: str
    fields: tuple[Field, ...]
    display: str
    """The field whose value names a record of this module in lookups (``{"name", "id"}``)."""
    duplicate_check: tuple[str, ...]
    """Upsert's default ``duplicate_check_fields``: system-defined first, then unique fields."""

    def field(self, api_name: str) -> Field | None:
        return next((f for f in self.fields if f.api_name == api_name), None)


def _text(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "text", length=length, **kw)


_OWNER = Field("Owner", "ownerlookup")
_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Seminar Partner",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
_DESCRIPTION = Field("Description", "textarea", length=32000)

MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        Module(
            "Contacts",
            "Contact",
            "5843210000000000201",
            (
                _OWNER,
                _text("First_Name", 40),
                _text("Last_Name", 80, mandatory=True),
                _text("Full_Name", read_only=True),
                Field("Email", "email", unique=True, length=100),
                Field("Secondary_Email", "email", length=100),
                Field("Phone", "phone", length=30),
                Field("Mobile", "phone", length=30),
                _text("Title", 100),
                _text("Department", 100),
                Field("Account_Name", "lookup", lookup="Accounts"),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                _text("Mailing_Street", 250),
                _text("Mailing_City", 100),
                _text("Mailing_State", 100),
                _text("Mailing_Zip", 30),
                _text("Mailing_Country", 100),
                Field("Date_of_Birth", "date"),
                Field("Email_Opt_Out", "boolean"),
                _DESCRIPTION,
            ),
            "Full_Name",
            ("Email",),
        ),
        Module(
            "Leads",
            "Lead",
            "5843210000000000202",
            (
                _OWNER,
                _text("First_Name", 40),
                _text("Last_Name", 80, mandatory=True),
                _text("Full_Name", read_only=True),
                _text("Company", 200),
                Field("Email", "email", unique=True, length=100),
                Field("Phone", "phone", length=30),
                Field("Mobile", "phone", length=30),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                Field(
                    "Lead_Status",
                    "picklist",
                    picklist=(
                        "Not Contacted",
                        "Attempted to Contact",
                        "Contacted",
                        "Junk Lead",
                        "Lost Lead",
                        "Pre-Qualified",
                    ),
                ),
                _text("Industry", 120),
                Field("Annual_Revenue", "currency"),
                Field("No_of_Employees", "integer"),
                _text("Street", 250),
                _text("City", 100),
                _text("State", 100),
                _text("Zip_Code", 30),
                _text("Country", 100),
                Field("Website", "website"),
                Field("Email_Opt_Out", "boolean"),
                _DESCRIPTION,
            ),
            "Full_Name",
            ("Email",),
        ),
        Module(
            "Accounts",
            "Account",
            "5843210000000000203",
            (
                _OWNER,
                _text("Account_Name", 200, mandatory=True, unique=True),
                Field("Phone", "phone", length=30),
                Field("Website", "website"),
                Field(
                    "Account_Type",
                    "picklist",
                    picklist=(
                        "Analyst",
                        "Competitor",
                        "Customer",
                        "Distributor",
                        "Integrator",
                        "Investor",
                        "Partner",
                        "Press",
                        "Prospect",
                        "Reseller",
                        "Supplier",
                        "Vendor",
                        "Other",
                    ),
                ),
                _text("Industry", 120),
                Field("Annual_Revenue", "currency"),
                Field("Employees", "integer"),
                _text("Billing_Street", 250),
                _text("Billing_City", 100),
                _text("Billing_State", 100),
                _text("Billing_Code", 30),
                _text("Billing_Country", 100),
                _DESCRIPTION,
            ),
            "Account_Name",
            ("Account_Name",),
        ),
        Module(
            "Deals",
            "Deal",
            "5843210000000000204",
            (
                _OWNER,
                _text("Deal_Name", 120, mandatory=True),
                Field("Stage", "picklist", mandatory=True, picklist=_STAGES, restricted=True),
                Field("Amount", "currency"),
                Field("Closing_Date", "date"),
                Field("Probability", "integer"),
                Field("Account_Name", "lookup", lookup="Accounts"),
                Field("Contact_Name", "lookup", lookup="Contacts"),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                Field("Type", "picklist", picklist=("New Business", "Existing Business")),
                _text("Next_Step", 100),
                _DESCRIPTION,
            ),
            "Deal_Name",
            ("Deal_Name",),
        ),
        Module(
            "Products",
            "Product",
            "5843210000000000205",
            (
                _OWNER,
                _text("Product_Name", 120, mandatory=True),
                _text("Product_Code", 40, unique=True),
                Field("Product_Active", "boolean"),
                Field("Product_Category", "picklist", picklist=("Hardware", "Software", "CRM Applications")),
                _text("Manufacturer", 120),
                Field("Unit_Price", "currency"),
                Field("Qty_in_Stock", "double"),
                Field("Taxable", "boolean"),
                _DESCRIPTION,
            ),
            "Product_Name",
            ("Product_Name", "Product_Code"),
        ),
    )
}
_MODULES_BY_LOWER = {name.lower(): module for name, module in MODULES.items()}
_SYSTEM = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")


def _mandatory(module: Module, version: str) -> list[str]:
    names = [f.api_name for f in module.fields if f.mandatory]
    if module.api_name == "Leads" and VERSIONS.index(version) <= VERSIONS.index("v3"):
        names.append("Company")
    return names


_TEXTUAL = ("text", "textarea", "email", "phone", "website")
_JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "currency": "double",
    "double": "double",
    "integer": "integer",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}
