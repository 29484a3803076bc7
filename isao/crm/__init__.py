"""The CRM domain: companies, users, API keys, contacts, deals, the event outbox and webhook subscriptions.

Services take a SQLAlchemy session and the caller's ``company_id`` and never look past that company.
"""
