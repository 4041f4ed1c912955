"""The volunteer side's models: duties and sign-ups, check-ins and the
service ledgers, service requests and their dispatch."""

from volunteers.models.dispatch import Offer, RequestEvent, RequestPhoto, ServiceRequest
from volunteers.models.duties import Duty, Shift, SignUp, Skill, VolunteerProfile
from volunteers.models.ledgers import (
    Certificate,
    CheckIn,
    CheckInCorrection,
    CommunityRegistration,
    CreditEvent,
    PointRule,
    RegistrationRecord,
    ServiceLedger,
    _certificate_code,
)

__all__ = [
    "Certificate",
    "CheckIn",
    "CheckInCorrection",
    "CommunityRegistration",
    "CreditEvent",
    "Duty",
    "Offer",
    "PointRule",
    "RegistrationRecord",
    "RequestEvent",
    "RequestPhoto",
    "ServiceRequest",
    "ServiceLedger",
    "Shift",
    "SignUp",
    "Skill",
    "VolunteerProfile",
    "_certificate_code",
]
