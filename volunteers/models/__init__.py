"""The volunteer side's models: duties and sign-ups, check-ins, the service
ledgers, community registration, service requests and their dispatch."""

from volunteers.models.checkins import CheckIn, CheckInCorrection
from volunteers.models.dispatch import Offer, RequestEvent, RequestPhoto, ServiceRequest
from volunteers.models.duties import Duty, Shift, SignUp, Skill, VolunteerProfile
from volunteers.models.ledgers import (
    Certificate,
    CreditEvent,
    PointRule,
    ServiceLedger,
    _certificate_code,
)
from volunteers.models.registration import CommunityRegistration, RegistrationRecord

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
