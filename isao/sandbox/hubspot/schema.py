"""The HubSpot-defined properties of each object type and the default deal pipeline's stages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from isao.sandbox.hubspot.constants import FIXTURE_TIME


def _definition(
    name: str,
    label: str,
    group: str,
    type_: str = "string",
    field_type: str = "text",
    options: Iterable[tuple[str, str]] = (),
    *,
    read_only: bool = False,
    unique: bool = False,
    external: bool = False,
    order: int = -1,
) -> dict[str, Any]:
    """A property in the shape of ``GET /crm/v3/properties/{object}``."""
    return {
        "updatedAt": FIXTURE_TIME,
        "createdAt": FIXTURE_TIME,
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [
            {"label": text, "value": value, "displayOrder": index, "hidden": False}
            for index, (value, text) in enumerate(options)
        ],
        "displayOrder": order,
        "calculated": False,
        "externalOptions": external,
        "hasUniqueValue": unique,
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {"archivable": False, "readOnlyDefinition": True, "readOnlyValue": read_only},
        "formField": not read_only,
        "archived": False,
    }


_CURRENCIES = [
    (code, code)
    for code in "USD EUR GBP CAD AUD CHF JPY SEK NOK DKK PLN CZK NZD SGD HKD INR BRL MXN ZAR CNY".split()
]


def _common(group: str, modified: str) -> list[dict[str, Any]]:
    return [
        _definition("hs_object_id", "Record ID", group, "number", "number", read_only=True),
        _definition("createdate", "Create Date", group, "datetime", "date"),
        _definition(modified, "Last Modified Date", group, "datetime", "date", read_only=True),
        _definition("hubspot_owner_id", "Owner", group, "enumeration", "select", external=True),
    ]


# fmt: off
BUILTIN: dict[str, dict[str, dict[str, Any]]] = {
    "contacts": {d["name"]: d for d in [
        _definition("email", "Email", "contactinformation", unique=True),
        _definition("firstname", "First Name", "contactinformation"),
        _definition("lastname", "Last Name", "contactinformation"),
        _definition("phone", "Phone Number", "contactinformation", field_type="phonenumber"),
        _definition("mobilephone", "Mobile Phone Number", "contactinformation", field_type="phonenumber"),
        _definition("company", "Company Name", "contactinformation"),
        _definition("jobtitle", "Job Title", "contactinformation"),
        _definition("website", "Website URL", "contactinformation"),
        _definition("address", "Street Address", "contactinformation"),
        _definition("city", "City", "contactinformation"),
        _definition("state", "State/Region", "contactinformation"),
        _definition("zip", "Postal Code", "contactinformation"),
        _definition("country", "Country/Region", "contactinformation"),
        _definition("industry", "Industry", "contactinformation"),
        _definition("annualrevenue", "Annual Revenue", "contactinformation"),
        _definition("date_of_birth", "Date of birth", "contactinformation", "date", "date"),
        _definition("message", "Message", "contactinformation", field_type="textarea"),
        _definition("hs_language", "Preferred language", "contactinformation"),
        _definition("lifecyclestage", "Lifecycle Stage", "contactinformation", "enumeration", "radio", [
            ("subscriber", "Subscriber"), ("lead", "Lead"),
            ("marketingqualifiedlead", "Marketing Qualified Lead"),
            ("salesqualifiedlead", "Sales Qualified Lead"), ("opportunity", "Opportunity"),
            ("customer", "Customer"), ("evangelist", "Evangelist"), ("other", "Other")]),
        _definition("hs_lead_status", "Lead Status", "sales_properties", "enumeration", "radio", [
            ("NEW", "New"), ("OPEN", "Open"), ("IN_PROGRESS", "In Progress"), ("OPEN_DEAL", "Open Deal"),
            ("UNQUALIFIED", "Unqualified"), ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
            ("CONNECTED", "Connected"), ("BAD_TIMING", "Bad Timing")]),
        _definition("hs_email_optout", "Unsubscribed from all email", "contactinformation", "bool",
                    "booleancheckbox", [("true", "Yes"), ("false", "No")]),
        *_common("contactinformation", "lastmodifieddate"),
    ]},
    "deals": {d["name"]: d for d in [
        _definition("dealname", "Deal Name", "dealinformation"),
        _definition("amount", "Amount", "dealinformation", "number", "number"),
        _definition("closedate", "Close Date", "dealinformation", "datetime", "date"),
        _definition("dealstage", "Deal Stage", "dealinformation", "enumeration", "radio"),
        _definition("pipeline", "Pipeline", "dealinformation", "enumeration", "select"),
        _definition("description", "Deal Description", "dealinformation", field_type="textarea"),
        _definition("dealtype", "Deal Type", "dealinformation", "enumeration", "radio",
                    [("newbusiness", "New Business"), ("existingbusiness", "Existing Business")]),
        _definition("hs_priority", "Priority", "dealinformation", "enumeration", "select",
                    [("low", "Low"), ("medium", "Medium"), ("high", "High")]),
        _definition("deal_currency_code", "Currency", "dealinformation", "enumeration", "select",
                    _CURRENCIES),
        *_common("dealinformation", "hs_lastmodifieddate"),
    ]},
    "products": {d["name"]: d for d in [
        _definition("name", "Name", "productinformation"),
        _definition("hs_sku", "SKU", "productinformation"),
        _definition("price", "Unit price", "productinformation", "number", "number"),
        _definition("description", "Description", "productinformation", field_type="textarea"),
        _definition("hs_cost_of_goods_sold", "Unit cost", "productinformation", "number", "number"),
        _definition("hs_url", "URL", "productinformation"),
        _definition("hs_product_type", "Product type", "productinformation", "enumeration", "select",
                    [("inventory", "Inventory"), ("non_inventory", "Non-inventory"), ("service", "Service")]),
        _definition("recurringbillingfrequency", "Billing frequency", "productinformation", "enumeration",
                    "select", [("weekly", "Weekly"), ("biweekly", "Biweekly"), ("monthly", "Monthly"),
                               ("quarterly", "Quarterly"), ("per_six_months", "Every six months"),
                               ("annually", "Annually")]),
        *_common("productinformation", "hs_lastmodifieddate"),
    ]},
    "line_items": {d["name"]: d for d in [
        _definition("name", "Name", "lineiteminformation"),
        _definition("hs_product_id", "Product ID", "lineiteminformation", "number", "number"),
        _definition("hs_sku", "SKU", "lineiteminformation"),
        _definition("quantity", "Quantity", "lineiteminformation", "number", "number"),
        _definition("price", "Unit price", "lineiteminformation", "number", "number"),
        _definition("discount", "Unit discount", "lineiteminformation", "number", "number"),
        _definition("amount", "Net price", "lineiteminformation", "number", "number", read_only=True),
        _definition("description", "Description", "lineiteminformation", field_type="textarea"),
        _definition("hs_line_item_currency_code", "Currency", "lineiteminformation", "enumeration", "select",
                    _CURRENCIES),
        *_common("lineiteminformation", "hs_lastmodifieddate"),
    ]},
}

DEFAULT_STAGES = [("appointmentscheduled", "Appointment Scheduled", "0.2"),
                  ("qualifiedtobuy", "Qualified To Buy", "0.4"),
                  ("presentationscheduled", "Presentation Scheduled", "0.6"),
                  ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
                  ("contractsent", "Contract Sent", "0.9"),
                  ("closedwon", "Closed Won", "1.0"),
                  ("closedlost", "Closed Lost", "0.0")]
# fmt: on
