"""Domain events: what the areas announce, for whoever listens (today: the e-mail outbox).

A service sends a signal inside its own transaction, after the change is flushed; receivers
(`makerspace.mail.subscribers`, connected in `create_app`) write what they need in that same
transaction, so an outbox message is committed with the change that caused it, or not at all.
No area imports the listeners; they import the areas.

Each signal is sent with the object it is about as the sender, and documented arguments.
"""

from __future__ import annotations

from blinker import Namespace

_domain = Namespace()

# accounts: the person (a User) is the sender
account_registered = _domain.signal("account-registered")
"""A citizen registered; their address is to be verified."""
verification_requested = _domain.signal("verification-requested")
"""A person asked for a new verification link."""
registration_attempted = _domain.signal("registration-attempted")
"""Someone tried to register with the address of this existing account."""
password_reset_requested = _domain.signal("password-reset-requested")
"""Someone asked for a reset link for this account."""

# booking: the Booking is the sender
booking_confirmed = _domain.signal("booking-confirmed")
booking_cancelled = _domain.signal("booking-cancelled")
"""Cancelled; `by_staff` says whether someone else than the booker did it."""
bookings_cancelled_out_of_service = _domain.signal("bookings-cancelled-out-of-service")
"""Sender: the EquipmentOutage; `bookings`: the bookings it cancelled."""
checked_in = _domain.signal("checked-in")
"""Sender: the Booking or Signup a scan checked in."""
no_show_marked = _domain.signal("no-show-marked")
"""Sender: the Booking nobody checked in for in time."""
slot_held = _domain.signal("slot-held")
"""Sender: the SlotWait whose slot is now held for its person (makerspace/waits): they get
the link to take it."""
block_started = _domain.signal("block-started")
"""Sender: the BookingBlock that keeps a person from booking (repeated no-shows)."""

# booking/guardians: the GuardianConsent is the sender
guardian_consent_requested = _domain.signal("guardian-consent-requested")
"""A young person named a guardian; the guardian is to get the link."""
guardian_consent_given = _domain.signal("guardian-consent-given")
"""`bookings`: the pending bookings it confirmed."""
guardian_consent_withdrawn = _domain.signal("guardian-consent-withdrawn")
"""Withdrawn or expired (the consent's status says which); `bookings`: those cancelled."""

# events: the Signup or Event is the sender
signup_created = _domain.signal("signup-created")
"""A seat or a waitlist place (the Signup's status says which)."""
signups_promoted = _domain.signal("signups-promoted")
"""Sender: the Event; `signups`: those who got a seat from the waitlist."""
event_cancelled = _domain.signal("event-cancelled")

# staff: the Invitation is the sender
staff_invited = _domain.signal("staff-invited")
"""An admin invited someone to work as staff; the e-mail carries the link."""
course_message = _domain.signal("course-message")
"""Sender: the Event; `subject`, `body`: what staff wrote to everyone with a seat."""

# loans: the Loan is the sender
loan_confirmed = _domain.signal("loan-confirmed")
"""A kit is reserved for someone from a pick-up day to a return day."""
loan_return_due = _domain.signal("loan-return-due")
"""The loan is to be returned tomorrow (the reminder; sent once per loan)."""
loan_overdue = _domain.signal("loan-overdue")
"""The return day has passed and the kit is not back (the notice; sent once per loan)."""
