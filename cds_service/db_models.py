"""Tables of the audit trail (docs/audit.md). Times are naive UTC, the same on SQLite and PostgreSQL.

Deliberately absent: access tokens, JWTs, the raw request and any clinical resource. A criterion row keeps its id,
status, citation, short text and evidence references ("Type/id"), which is what the decision card showed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Invocation(Base):
    """One hook call and the answer given; or a feedback call refused (hook "feedback": routes.observe)."""

    __tablename__ = "invocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime, index=True)
    service_id: Mapped[str] = mapped_column(String(200))
    hook: Mapped[str] = mapped_column(String(100))
    hook_instance: Mapped[str] = mapped_column(String(200), index=True)
    client_iss: Mapped[str | None] = mapped_column(String(500))
    tenant: Mapped[str | None] = mapped_column(String(200))  # the verified JWT's tenant: migration 0003
    patient_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))  # why the call was refused, or the fault answered: 0004
    # Who asked (migration 0006): the request's context.userId (the prescriber, "PractitionerRole/123") and encounter.
    user_id: Mapped[str | None] = mapped_column(String(200))
    encounter_id: Mapped[str | None] = mapped_column(String(200))
    # The X-Request-ID the response carried (migration 0009): what the log line and a proxy's access log name.
    request_id: Mapped[str | None] = mapped_column(String(128), index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    outcomes: Mapped[list[OrderOutcomeRow]] = relationship(back_populates="invocation", order_by="OrderOutcomeRow.id")


class OrderOutcomeRow(Base):
    """What was decided for one order of an invocation."""

    __tablename__ = "order_outcome"
    __table_args__ = (Index("ix_order_outcome_policy_decision", "policy", "decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invocation_id: Mapped[int] = mapped_column(ForeignKey("invocation.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(200), index=True)  # "MedicationRequest/<id>"; indexed: migration 0011
    policy: Mapped[str | None] = mapped_column(String(100))
    policy_version: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(String(50))
    indication: Mapped[str | None] = mapped_column(String(200))
    request_type: Mapped[str | None] = mapped_column(String(50))
    cycle: Mapped[int | None] = mapped_column(Integer)
    coverage_assertion_id: Mapped[str | None] = mapped_column(String(200), index=True)
    what_if: Mapped[bool] = mapped_column(Boolean, default=False)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Migration 0003 (null on older rows): what to document, the authorization period when met, the prefetch keys
    # not received, and the Coverage decided under.
    missing: Mapped[list[str] | None] = mapped_column(JSON)
    authorization: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    not_received: Mapped[list[str] | None] = mapped_column(JSON)
    coverage_reference: Mapped[str | None] = mapped_column(String(200))
    # Migration 0006 (null on older rows). Which rules decided: the policy file's sha256 (first 16 hex digits),
    # "shipped" or "CDS_POLICY_DIR", and the value sets' digest. Why there was no plan, when there was none. What the
    # EHR was given: the covered and pa-needed codes of the coverage-information action sent (null when none was).
    policy_digest: Mapped[str | None] = mapped_column(String(64))
    policy_source: Mapped[str | None] = mapped_column(String(20))
    valueset_digest: Mapped[str | None] = mapped_column(String(64))
    no_plan_reason: Mapped[str | None] = mapped_column(String(50))
    covered: Mapped[str | None] = mapped_column(String(20))
    pa_needed: Mapped[str | None] = mapped_column(String(20))
    # Migration 0007 (null on older rows): every indication evaluated, {id, status, not_met, unknown} with criterion
    # ids, so a denial shows every pathway and why it failed, not only the one its card showed.
    indications: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    invocation: Mapped[Invocation] = relationship(back_populates="outcomes")
    cards: Mapped[list[IssuedCard]] = relationship(order_by="IssuedCard.id")


class IssuedCard(Base):
    """A card or suggestion uuid handed out with an order's outcome: what feedback refers to."""

    __tablename__ = "issued_card"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("order_outcome.id", ondelete="CASCADE"), index=True)
    uuid: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "card" or "suggestion"
    topic: Mapped[str | None] = mapped_column(String(50))  # a card's topic (coverage-info, off-guideline, ...): 0003
    # A card's kind (its card-kind extension: decision, dose, plan-dose-limit, ...), which one topic code covers several
    # of: migration 0015; null on older rows and on suggestions.
    card_kind: Mapped[str | None] = mapped_column(String(30))
    # A suggestion's card (the uuid of the card that carried it): migration 0005; null on older rows.
    card_uuid: Mapped[str | None] = mapped_column(String(200))
    # What it said, as sent (migration 0006): a card's indicator and summary, a suggestion's label.
    indicator: Mapped[str | None] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(String(300))
    label: Mapped[str | None] = mapped_column(String(300))
    # A suggestion's `create` actions (migration 0010): the references of the orders they make ("MedicationRequest/<the
    # new id>"), so a later call signing one traces back to the split that made it. Null for a card, a suggestion
    # creating nothing, and older rows.
    creates: Mapped[list[str] | None] = mapped_column(JSON)


class Feedback(Base):
    """One CDS Hooks feedback item as received, joined to the issued card by `card_uuid`. Whether that card and the
    accepted suggestions were issued is worked out when the trail is read (migration 0008): the call that issued
    them may reach the database after the feedback on them, when another worker answered it."""

    __tablename__ = "feedback"
    # One row per item however often it is posted (migration 0013): a call answered 503 whose COMMIT was made all the
    # same is retried, and stored its items twice. Unique across workers and replicas, as only the database can be.
    __table_args__ = (Index("ux_feedback_item_digest", "item_digest", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the listing's selection and order: 0015
    service_id: Mapped[str] = mapped_column(String(200))
    card_uuid: Mapped[str] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON, default=list)
    override_system: Mapped[str | None] = mapped_column(String(500))
    override_code: Mapped[str | None] = mapped_column(String(200))
    override_display: Mapped[str | None] = mapped_column(Text)
    override_comment: Mapped[str | None] = mapped_column(Text)
    client_iss: Mapped[str | None] = mapped_column(String(500))  # added in migration 0002
    # The sender's verified tenant (migration 0009): feedback counts on the cards of its own client and tenant only.
    tenant: Mapped[str | None] = mapped_column(String(200))
    # Not written since migration 0008 (worked out when read), kept nullable so that a worker of the older release,
    # still running during a rolling upgrade, can store feedback: its insert names the column.
    card_known: Mapped[bool | None] = mapped_column(Boolean)
    # What makes the item this feedback, hashed (audit_rows.feedback_digest): its sender, card, outcome, time,
    # suggestions and reason. Null on rows stored before migration 0013, and on an older release's during a rolling
    # upgrade (nulls never collide).
    item_digest: Mapped[str | None] = mapped_column(String(64))


class UsedJti(Base):
    """JWT ids already accepted (replay protection across workers). Only the id string, its expiry, and a random id
    of the request that stored it (audit_queries.use_jti)."""

    __tablename__ = "used_jti"

    jti: Mapped[str] = mapped_column(String(500), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # None in rows stored before migration 0012, or by the older release during a rolling upgrade.
    attempt: Mapped[str | None] = mapped_column(String(32))
