"""Every model, imported in one place so that mappers and migrations see the whole schema."""

from makerspace.accounts.invitations import Invitation, invitation_branches
from makerspace.accounts.models import ApiToken, Role, User, UserSession, branch_staff
from makerspace.booking.guardians import GuardianConsent
from makerspace.booking.models import (
    Booking,
    BookingBlock,
    BookingStatus,
    Equipment,
    EquipmentKind,
    EquipmentOutage,
)
from makerspace.branches.models import Branch, DateException, WeeklyHours
from makerspace.certifications.models import Certification, UserCertification
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.events.models import Event, EventSeries, EventStatus, Signup, SignupStatus
from makerspace.identity.models import Identity
from makerspace.loans.models import Loan, LoanStatus, ReturnCondition
from makerspace.machines.models import MachineConnection, MachineJob
from makerspace.mail.models import OutboxAttachment, OutboxMessage, OutboxStatus
from makerspace.stats.models import (
    StatsCoverage,
    StatsDay,
    StatsHour,
    StatsMonth,
    StatsRollup,
    StatsSalt,
    StatsSubscription,
    StatsSummarySent,
    StatsWeekHour,
)
from makerspace.waits.models import SlotWait

__all__ = [
    "ApiToken", "AuditAction", "AuditEntry", "Booking", "BookingBlock", "BookingStatus",
    "Branch", "Certification", "DateException", "Equipment", "EquipmentKind", "EquipmentOutage",
    "Event", "EventSeries", "EventStatus", "GuardianConsent", "Identity", "Invitation", "Loan",
    "LoanStatus", "MachineConnection", "MachineJob", "ReturnCondition", "OutboxAttachment",
    "OutboxMessage",
    "OutboxStatus",
    "Role", "Signup", "SignupStatus", "SlotWait", "StatsCoverage", "StatsDay", "StatsHour",
    "StatsMonth", "StatsRollup", "StatsSalt", "StatsSubscription", "StatsSummarySent",
    "StatsWeekHour", "User", "UserCertification", "UserSession", "WeeklyHours",
    "branch_staff", "invitation_branches",
]
