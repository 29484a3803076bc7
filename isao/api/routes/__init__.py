"""One router per resource of the External API."""
