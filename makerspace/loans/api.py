"""Kit loans in the API: availability by day, loaning, cancelling, one's own loans."""

from __future__ import annotations

from typing import Any

from makerspace.api.auth import api_user
from makerspace.api.fields import PageQuery
from makerspace.api.pages import LINK_HEADER, link_header
from makerspace.api.rest import ApiBlueprint
from makerspace.checkin.services import checkin_link
from makerspace.loans import services
from makerspace.loans.models import Loan
from makerspace.loans.schemas import LoanAvailabilitySchema, LoanSchema, NewLoanSchema

bp = ApiBlueprint("loans_api", __name__, "Kits lent for whole days")


def loan_out(loan: Loan) -> dict[str, Any]:
    return {"id": loan.id, "equipment_id": loan.equipment_id,
            "branch": loan.equipment.branch.slug, "pickup_date": loan.pickup_date,
            "return_date": loan.return_date, "status": loan.status.value,
            "picked_up_at": loan.picked_up_at, "returned_at": loan.returned_at,
            "checkin_url": checkin_link(loan.checkin_token)}


@bp.route("/equipment/<id:equipment_id>/loan-availability", methods=["GET"])
@bp.response(200, LoanAvailabilitySchema)
@bp.problems(404, 422, s422="`not_a_kit`: the equipment is booked by the slot instead")
@bp.doc(operationId="getLoanAvailability",
        summary="Which days a kit can be picked up, how many copies are free and for how "
                "long it can be borrowed from each (public, no personal data)")
def loan_availability(equipment_id: int):  # type: ignore[no-untyped-def]
    kit = services.kit_by_id(equipment_id)
    return {"quantity": kit.quantity, "max_loan_days": kit.max_loan_days,
            "days": [{"date": d.day, "open": d.open, "free": d.free,
                      "longest_days": d.longest_days, "latest_return": d.latest_return}
                     for d in services.pickup_days(kit)]}


@bp.route("/loans", methods=["POST"])
@bp.secured
@bp.arguments(NewLoanSchema)
@bp.response(201, LoanSchema)
@bp.problems(400, 403, 404, 409, 422,
             s403="`overdue_loan` (with `loan`): return the overdue kit first; `blocked`, "
                  "`card_blocked`, `too_young`, `email_not_verified`",
             s409="`no_copies_left`: every copy is out on at least one of the days",
             s422="`not_a_kit`, `invalid_period`, `too_long`, `in_past`, `too_far_ahead`, "
                  "`library_closed` (with `field`: the pick-up or the return day), "
                  "`out_of_service`, `invalid_input`")
@bp.doc(operationId="createLoan",
        summary="Borrow a kit from a pick-up day to a return day (both at the desk, in "
                "opening hours)")
def create_loan(body: dict):  # type: ignore[no-untyped-def]
    kit = services.kit_by_id(body["equipment_id"])
    return loan_out(services.create_loan(user=api_user(), kit=kit, pickup=body["pickup_date"],
                                         back=body["return_date"])), 201


@bp.route("/loans/<id:loan_id>", methods=["GET"])
@bp.secured
@bp.response(200, LoanSchema)
@bp.problems(404)
@bp.doc(operationId="getLoan", summary="One loan (its borrower or the branch's staff)")
def get_loan(loan_id: int):  # type: ignore[no-untyped-def]
    return loan_out(services.loan_visible_to(loan_id, api_user()))


@bp.route("/loans/<id:loan_id>", methods=["DELETE"])
@bp.secured
@bp.response(200, LoanSchema)
@bp.problems(404, 409, s409="`not_cancellable`: picked up, returned or cancelled already")
@bp.doc(operationId="cancelLoan",
        summary="Cancel a loan before it is picked up (its borrower or the branch's staff)")
def cancel_loan(loan_id: int):  # type: ignore[no-untyped-def]
    loan = services.loan_visible_to(loan_id, api_user())
    return loan_out(services.cancel_loan(loan, by=api_user()))


@bp.route("/me/loans", methods=["GET"])
@bp.secured
@bp.arguments(PageQuery, location="query")
@bp.response(200, LoanSchema(many=True), headers=LINK_HEADER)
@bp.doc(operationId="listMyLoans",
        summary="The caller's loans: those not yet back first (a page at a time)")
def my_loans(query: dict):  # type: ignore[no-untyped-def]
    page = services.loans_of(api_user(), **query)
    return [loan_out(loan) for loan in page], 200, link_header(page)
