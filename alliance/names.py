"""How people are named on the alliance's pages, messages and printed
documents: a partner contact by the name their unit gave them, everyone else
by the portal's rule (``portal.names.person_name``)."""

from portal import names


def person_name(user) -> str:
    """How a person is called on meeting pages and in minutes: their
    partner-contact name, else the portal's rule (``portal.names.person_name``)."""
    if user is None:
        return ""
    contact = getattr(user, "partner_contact", None) if hasattr(user, "partner_contact") else None
    if contact is not None and contact.name:
        return contact.name
    return names.person_name(user)
