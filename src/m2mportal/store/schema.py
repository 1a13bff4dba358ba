"""The single schema definition (SQLAlchemy Core metadata), source of the Alembic migrations.

Timestamps are stored as UTC ISO-8601 text with milliseconds (``2025-08-02T09:54:13.133Z``):
the same on SQLite and PostgreSQL, sortable as text, and no conversion on the request path.
SQLAlchemy is used only here and in migrations; the request path runs raw SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Customer accounts form a tree; `path` ("/100013/100014/") makes "this partner and its
# descendants" a prefix match.
partners = Table(
    "partners",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("parent_id", BigInteger, ForeignKey("partners.id"), nullable=True),
    Column("path", String(400), nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("ix_partners_parent_id", "parent_id"),
)

# The partner's technical contacts who log in to the portal.
portal_users = Table(
    "portal_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("username", String(200), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Portal logins (issue 14): in the database, so every API process sees a session and a
# logout or password change ends it everywhere. The cookie holds a random token; only its
# SHA-256 is stored, so a leaked table opens no session.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("portal_users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Index("ix_portal_sessions_user_id", "user_id"),
)

# Failed portal logins, counted per username and per address over a window (throttling).
portal_login_failures = Table(
    "portal_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_portal_login_failures_username_at", "username", "at"),
    Index("ix_portal_login_failures_address_at", "address", "at"),
)

# API clients: a partner's applications (REST + event credentials) and operator clients.
applications = Table(
    "applications",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=True),
    Column("role", String(16), nullable=False),  # "partner" or "operator"
    Column("name", String(200), nullable=False),
    Column("secret_enc", Text, nullable=False),
    Column("event_client_id", String(64), nullable=True, unique=True),
    Column("event_secret_enc", Text, nullable=True),
    Column("status", String(32), nullable=False),  # In Creation, Active, Deleting
    Column("read_only", Boolean, nullable=False, default=False),
    Column("ip_whitelist", Text, nullable=False, default="[]"),  # JSON list of IPv4
    Column("user_type", String(16), nullable=False, default="Standard"),
    Column("subunits", Text, nullable=False, default="[]"),  # JSON list of partner ids
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("ix_applications_partner_id", "partner_id"),
)

# One subscription per event type an application chose (the seed's subscription URLs).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("applications.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_type", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("client_id", "event_type"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key_enc", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    # Set when a newer key takes over signing; the key stays published until
    # retired_at + token lifetime, so tokens it signed keep verifying.
    Column("retired_at", String(32), nullable=True),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("binding_months", Integer, nullable=False, default=0),
)

options = Table(
    "options",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

materials = Table(
    "materials",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("sim_type", String(16), nullable=False),  # physical or eSIM
    Column("min_order_quantity", Integer, nullable=False, default=1),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # limit, fraud, costLimit
    Column("name", String(200), nullable=False),
    Column("rules", Text, nullable=False, default="{}"),  # JSON
)

# Per-partner rate limits set by the operator; absent classes use the settings' defaults.
partner_limits = Table(
    "partner_limits",
    metadata,
    Column("partner_id", BigInteger, ForeignKey("partners.id"), primary_key=True),
    Column("limit_class", String(16), primary_key=True),
    Column("rates", Text, nullable=False),  # JSON list of rate strings
)

# Id counters for numeric ids shaped like the seed's (partner 100013, signup 708855306).
sequences = Table(
    "sequences",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

sims = Table(
    "sims",
    metadata,
    Column("iccid", String(20), primary_key=True),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("euiccid", String(32), nullable=True),
    Column("imsi", String(15), nullable=True),
    Column("msisdn", String(15), nullable=True),
    Column("imei", String(16), nullable=True),
    # First 14 digits of the IMEI: IMEI and IMEISV select by it.
    Column("imei_key", String(14), nullable=True),
    Column("sim_type", String(16), nullable=False),
    Column("material_id", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("productive", Boolean, nullable=False),
    Column("activation_date", String(32), nullable=True),
    Column("termination_date", String(32), nullable=True),
    Column("binding_months", Integer, nullable=False, default=0),
    Column("binding_end", String(32), nullable=True),
    Column("tariff_id", BigInteger, nullable=True),
    Column("limit_profile_id", BigInteger, nullable=True),
    Column("fraud_profile_id", BigInteger, nullable=True),
    Column("cost_limit_profile_id", BigInteger, nullable=True),
    Column("restriction_status", String(32), nullable=False),
    Column("limit_status", String(16), nullable=False),
    Column("fraud_status", String(16), nullable=False),
    # Where "unblock" returns to, and what "restore limit status" puts back.
    Column("status_before_block", String(16), nullable=True),
    Column("limit_before_override", String(64), nullable=True),
    # The month the limit state belongs to (a new month starts at OK) and the APN a limit
    # rule restricted (null: the SIM itself); services/rules.py.
    Column("limit_period", String(7), nullable=True),
    Column("limit_apn", String(100), nullable=True),
    Column("remark1", String(200), nullable=True),
    Column("remark2", String(200), nullable=True),
    Column("remark3", String(200), nullable=True),
    Column("remark4", String(200), nullable=True),
    Column("remark5", String(200), nullable=True),
    # The five remarks folded to lower case in one column: one scan serves the
    # substring search.
    Column("remarks_search", Text, nullable=False, default=""),
    Column("activation_code", String(200), nullable=True),
    Column("eid_profile_status", String(16), nullable=True),
    Column("usage_month", String(7), nullable=True),  # "2025-08": the month the counters hold
    Column("data_bytes", BigInteger, nullable=False, default=0),
    Column("sms_mo", Integer, nullable=False, default=0),
    Column("sms_mt", Integer, nullable=False, default=0),
    Column("voice_seconds", Integer, nullable=False, default=0),
    Column("session_count", Integer, nullable=False, default=0),
    Column("last_session_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    # The SIM's entry in the SIM list as JSON up to its data volume, written by triggers
    # only (migration 0009; store/sims.py reads it).
    Column("list_entry", Text, nullable=True),
    Index("ix_sims_partner_id_iccid", "partner_id", "iccid"),
    # SQLite's remark search walks each partner's SIMs in ICCID order in this index and
    # matches remarks_search there, reading the table only for the page's rows
    # (store/sims.py). PostgreSQL plans that scan from its statistics without it, and a
    # B-tree entry there is limited to 2704 bytes, which five 200-character remarks in a
    # 3- or 4-byte script exceed: on PostgreSQL the index is declared empty (WHERE false).
    Index(
        "ix_sims_partner_id_iccid_remarks_search",
        "partner_id",
        "iccid",
        "remarks_search",
        postgresql_where=text("false"),
    ),
    Index("ix_sims_status_iccid", "status", "iccid"),
    Index("ix_sims_tariff_id_iccid", "tariff_id", "iccid"),
    Index("ix_sims_euiccid", "euiccid"),
    Index("ix_sims_imsi", "imsi"),
    Index("ix_sims_msisdn", "msisdn"),
    Index("ix_sims_imei_key", "imei_key"),
)

sim_options = Table(
    "sim_options",
    metadata,
    Column("iccid", String(20), ForeignKey("sims.iccid"), primary_key=True),
    Column("option_id", BigInteger, ForeignKey("options.id"), primary_key=True),
    Column("booked_at", String(32), nullable=False),
    # A SIM's options in the order its details list them (booking time, then id): read
    # from the index, not sorted on every SIM details read (migration 0008).
    Index("ix_sim_options_iccid_booked_at", "iccid", "booked_at", "option_id"),
)

sim_apns = Table(
    "sim_apns",
    metadata,
    Column("iccid", String(20), ForeignKey("sims.iccid"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("static_ip", String(45), nullable=True),
    Column("restriction_status", String(32), nullable=False),
)


# An action (signupId) with one row per SIM *is* the durable job: workers claim pending SIM
# rows, apply each in its own transaction, and the last one finishes the action.
actions = Table(
    "actions",
    metadata,
    Column("signup_id", BigInteger, primary_key=True, autoincrement=False),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("client_id", String(64), nullable=False),  # requestedBy
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),  # the request body without the SIM list (JSON)
    Column("total", Integer, nullable=False),
    Column("pending", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("not_before", String(32), nullable=False),  # the backend's start delay
    Column("created_at", String(32), nullable=False),
    Column("started_at", String(32), nullable=True),
    Column("finished_at", String(32), nullable=True),
    Index("ix_actions_partner_id_signup_id", "partner_id", "signup_id"),
    Index("ix_actions_status", "status"),
)

action_sims = Table(
    "action_sims",
    metadata,
    Column("signup_id", BigInteger, ForeignKey("actions.signup_id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # position in the request
    Column("selector", Text, nullable=False),  # the request's entry (JSON)
    Column("iccid", String(20), nullable=True),  # resolved at acceptance; null: not found
    Column("status", String(16), nullable=False),  # Pending, Done, Failed, Cancelled
    Column("error", Text, nullable=True),
    Column("processed_at", String(32), nullable=True),
    Index("ix_action_sims_status_signup_id_seq", "status", "signup_id", "seq"),
    Index("ix_action_sims_iccid_signup_id", "iccid", "signup_id"),
)

# Audit trail: one row per change an action applied to a SIM (and proof of exactly once).
sim_changes = Table(
    "sim_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("iccid", String(20), nullable=False),
    Column("signup_id", BigInteger, nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", Text, nullable=False),  # JSON of the columns written
    Column("worker", String(64), nullable=False),
    Column("changed_at", String(32), nullable=False),
    Index("ix_sim_changes_iccid_id", "iccid", "id"),
    Index("ix_sim_changes_signup_id", "signup_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("partner_id", BigInteger, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("signup_id", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# The outbox: written in the transaction that changed the state the event reports.
events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(64), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("partner_id", BigInteger, nullable=False),
    Column("time", String(32), nullable=False),
    Column("data", Text, nullable=False),  # the CloudEvent's data object (JSON)
    Column("created_at", String(32), nullable=False),
    Index("ix_events_partner_id_seq", "partner_id", "seq"),
)

# One row per (subscription, event) written in the transaction that made the event (the
# fan-out): PROCESSED until written to a stream, then DELIVERED. Kept 7 days.
event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("delivered_at", String(32), nullable=True),
    Index(
        "ix_event_deliveries_subscription_id_status_event_seq",
        "subscription_id",
        "status",
        "event_seq",
    ),
    Index("ix_event_deliveries_event_seq", "event_seq"),
)


# --- the network (network/records.py): usage records as a packet core and SMSC feed them ---

# The ledger of ingested record ids: a record id seen before is ignored (exactly once).
network_records = Table(
    "network_records",
    metadata,
    Column("record_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("iccid", String(20), nullable=False),
    Column("recorded_at", String(32), nullable=False),  # the record's own time
    Column("received_at", String(32), nullable=False),
    Index("ix_network_records_recorded_at", "recorded_at"),
)

# Data sessions: open while ended_at is null; volumes are the session's totals so far.
data_sessions = Table(
    "data_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("iccid", String(20), nullable=False),
    Column("apn", String(100), nullable=False),
    Column("ip_address", String(45), nullable=True),
    Column("rat_type", String(16), nullable=False),
    Column("imei", String(16), nullable=True),
    Column("mcc", String(3), nullable=False),
    Column("mnc", String(3), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("ended_at", String(32), nullable=True),
    Column("bytes_up", BigInteger, nullable=False, default=0),
    Column("bytes_down", BigInteger, nullable=False, default=0),
    Column("end_cause", String(64), nullable=True),
    Column("restriction_reason", String(32), nullable=True),
    Index("ix_data_sessions_iccid_started_at", "iccid", "started_at"),
    Index("ix_data_sessions_started_at", "started_at"),
)

sms_records = Table(
    "sms_records",
    metadata,
    Column("sms_id", String(64), primary_key=True),
    Column("iccid", String(20), nullable=False),
    Column("direction", String(2), nullable=False),  # MO or MT
    Column("sent_at", String(32), nullable=False),
    Column("originator", String(32), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # PENDING, DELIVERED, FAILED, EXPIRED
    Column("status_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=True),  # a PENDING MT message's validity
    Column("mcc", String(3), nullable=True),
    Column("mnc", String(3), nullable=True),
    Column("cost", Float, nullable=True),
    Index("ix_sms_records_iccid_sent_at", "iccid", "sent_at"),
    Index("ix_sms_records_sent_at", "sent_at"),
)

voice_records = Table(
    "voice_records",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("iccid", String(20), nullable=False),
    Column("direction", String(2), nullable=False),  # MO or MT
    Column("started_at", String(32), nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("mcc", String(3), nullable=False),
    Column("mnc", String(3), nullable=False),
    Column("cost", Float, nullable=True),
    Index("ix_voice_records_iccid_started_at", "iccid", "started_at"),
    Index("ix_voice_records_started_at", "started_at"),
)

# Pools (CONTRACT 7.8): a top partner's allowance every SIM of its tree draws from; the
# usage is summed from the SIMs' month counters, so a pool stores only its definition.
pools = Table(
    "pools",
    metadata,
    Column("offering_id", BigInteger, primary_key=True, autoincrement=False),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("offering_name", String(200), nullable=False),
    Column("pool_type", String(8), nullable=False),  # Data, Voice, SMS
    Column("allowance", BigInteger, nullable=False),
    Column("level1", Integer, nullable=False),  # percent
    Column("level2", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("ix_pools_partner_id", "partner_id"),
)

# The traffic generator's control (network/generator.py): one row, read by every process;
# ``position`` is the platform time (epoch seconds) up to which traffic was generated.
simulator_config = Table(
    "simulator_config",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("running", Boolean, nullable=False),
    Column("speed", Float, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("action_delay_ms", Integer, nullable=False),
    Column("per_sim_delay_ms", Integer, nullable=False),
    Column("position", Float, nullable=True),
    Column("updated_at", String(32), nullable=False),
)


# --- the rules engine (services/rules.py) ------------------------------------------------

# Running counters of the rules per subject (an ICCID, or "pool:<offeringId>"), month and
# rule ("limit:<profileId>", "cost:<profileId>", "pool"): what a level is judged on. An
# increment locks the row, so processes ingesting at once see each other's totals.
rule_counters = Table(
    "rule_counters",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("rule", String(32), primary_key=True),
    Column("value", Float, nullable=False),
)

# Exactly once: a level of a rule fires for a subject once per period, whoever inserts
# this row first; the notification is written in the same transaction.
rule_firings = Table(
    "rule_firings",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("rule", String(32), primary_key=True),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("period", String(7), primary_key=True),
    Column("fired_at", String(32), nullable=False),
)


# --- SIM transfers and orders (services/transfers.py, services/orders.py) ----------------

# A transfer is a `simtransfer` action (its SIMs are the action's rows) plus this row: who
# sends, who receives (a top partner) and, once accepted, the subunit the SIMs go to.
transfers = Table(
    "transfers",
    metadata,
    Column("transaction_id", BigInteger, primary_key=True, autoincrement=False),
    Column("signup_id", BigInteger, ForeignKey("actions.signup_id"), nullable=False),
    Column("sender_partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("receiver_partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("subunit_partner_id", BigInteger, ForeignKey("partners.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    # receiver, sender or operator: who took the decision that ended or started it.
    Column("decided_by", String(16), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("decided_at", String(32), nullable=True),
    Column("completed_at", String(32), nullable=True),
    Index("ix_transfers_signup_id", "signup_id", unique=True),
    Index("ix_transfers_sender_partner_id", "sender_partner_id"),
    Index("ix_transfers_receiver_partner_id", "receiver_partner_id"),
)

# The operator's allowed transfer relations: partner_id (a top partner) may send SIMs to
# target_partner_id (another top partner). One direction per row.
transfer_partners = Table(
    "transfer_partners",
    metadata,
    Column("partner_id", BigInteger, ForeignKey("partners.id"), primary_key=True),
    Column("target_partner_id", BigInteger, ForeignKey("partners.id"), primary_key=True),
)

# A SIM order is a `simorder` action (status, list, event) plus this row; the SIMs are
# made in one transaction when it is delivered (delivered_at set in that transaction).
orders = Table(
    "orders",
    metadata,
    Column("signup_id", BigInteger, ForeignKey("actions.signup_id"), primary_key=True),
    Column("partner_id", BigInteger, ForeignKey("partners.id"), nullable=False),
    Column("material_id", BigInteger, ForeignKey("materials.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("override_moq", Boolean, nullable=False),
    Column("tariff_id", BigInteger, nullable=True),
    Column("delivered_at", String(32), nullable=True),
    Index("ix_orders_delivered_at", "delivered_at"),
)
