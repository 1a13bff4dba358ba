"""The operator API's route table."""

from __future__ import annotations

from m2mportal.api import pools, transfers
from m2mportal.domain.pools import NewPool, Pool
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.gateway.limits import CLASSES, MAX_WINDOWS
from m2mportal.gateway.openapi import error_example
from m2mportal.models import (
    Application,
    ApplicationChange,
    ApplicationCredentials,
    ApplicationSecrets,
    CatalogItem,
    ClockAdvance,
    ClockState,
    ImportResult,
    LimitsBody,
    NewApplication,
    NewMaterial,
    NewOption,
    NewPartner,
    NewPortalUser,
    NewProfile,
    NewSims,
    NewTariff,
    NewTestEvent,
    Partner,
    PortalUserOut,
    PublishedEvent,
    RotatedSecret,
    SecretRotation,
    SubscriptionBacklog,
)
from m2mportal.network import examples as nex
from m2mportal.network.models import Injected, InjectSession, InjectSms, InjectVoice
from m2mportal.operator import examples as ex
from m2mportal.operator import generator_config, rules, simulator
from m2mportal.operator import handlers as h


def _op(method: str, path: str, handler: h.Any, summary: str, **kw: h.Any) -> Endpoint:
    kw.setdefault("errors", (400, 401, 403, 404))
    return Endpoint(method, path, handler, summary, "Operator", role="operator", **kw)


# What the handlers check beyond the types, said in the schema.
_UNIQUE_ADDRESSES = {"properties": {"ipWhitelist": {"uniqueItems": True}}}
_NEW_APPLICATION = {
    "properties": {"ipWhitelist": {"uniqueItems": True}, "eventTypes": {"uniqueItems": True}},
    "oneOf": [
        {"title": "Standard user: no subunits",
         "properties": {"userType": {"const": "Standard"}, "subunits": {"maxItems": 0}}},
        {"title": "Subunit user: its subunits", "required": ["userType", "subunits"],
         "properties": {"userType": {"const": "Subunit"}, "subunits": {"minItems": 1}}},
    ],
}  # fmt: skip
# A conservative form of the rates the operator may set (at most a day per window).
_RATE = (
    r"^[1-9][0-9]{0,6}/(second|minute|hour|day|([1-9]|[1-5][0-9]) (seconds|minutes)"
    r"|([1-9]|1[0-9]|2[0-4]) hours)$"
)
_LIMITS = {
    "properties": {
        name: {
            "type": "array",
            "items": {"type": "string", "pattern": _RATE},
            "minItems": 1,
            "maxItems": MAX_WINDOWS,
            "uniqueItems": True,
        }
        for name in CLASSES
    },
    "additionalProperties": False,
    "minProperties": 1,
}

_SECRETS = (
    " The answer is sent with `Cache-Control: no-store`; secrets are stored encrypted and"
    " never logged."
)

# Served only with M2MP_SIMULATION (app.py): elsewhere they answer 404 and time is real.
SIMULATION_PATHS = frozenset({"/clock", "/clock/advance"})

ENDPOINTS: list[Endpoint] = [
    _op("POST", "/partners", h.create_partner, "Create a partner or subunit",
        body=NewPartner, response=Partner, status=201,
        description="Creates a customer account; with `parentPartnerId` a subunit of that"
        " partner (subunits share their top partner's rate-limit budget).",
        request_example=ex.NEW_PARTNER, response_example=ex.PARTNER_VIEW),
    _op("GET", "/partners/{partnerId}", h.get_partner, "Get a partner with subunits",
        response=Partner,
        description="The partner, its direct subunits and its SIM counts per status.",
        response_example=ex.PARTNER_VIEW),
    _op("POST", "/partners/{partnerId}/portal-users", h.create_portal_user,
        "Create a portal user (technical contact)", body=NewPortalUser, response=PortalUserOut,
        status=201, errors=(400, 401, 403, 404, 409),
        description="A login for the partner's portal (its technical contact). The password"
        " is stored as a slow salted hash; a taken username answers 409.",
        request_example=ex.NEW_PORTAL_USER, response_example=ex.PORTAL_USER),
    _op("POST", "/partners/{partnerId}/applications", h.register_application,
        "Register an application (credentials are shown once)", body=NewApplication,
        response=ApplicationCredentials, status=201,
        description="Registers an API application: REST client credentials, event (IRIS)"
        " client credentials and one subscription per chosen event type. It starts `In"
        " Creation` and turns `Active` after the provisioning delay; its token works from"
        " that moment." + _SECRETS,
        request_example=ex.NEW_APPLICATION, response_example=ex.CREDENTIALS,
        body_schema=_NEW_APPLICATION),
    _op("GET", "/partners/{partnerId}/applications", h.list_applications,
        "List a partner's applications", response=list[Application],
        description="The partner's applications with their status, rights and subscriptions;"
        " secrets are not listed (see `.../secrets`).",
        response_example=[ex.APPLICATION]),
    _op("GET", "/applications/{clientId}", h.get_application, "Get an application",
        response=Application,
        description="One application: status (`In Creation`, `Active`, `Deleting`), rights,"
        " IP whitelist, subunits and subscriptions.",
        response_example=ex.APPLICATION),
    _op("PATCH", "/applications/{clientId}", h.change_application,
        "Change an application (ipWhitelist, readOnly, name)", body=ApplicationChange,
        response=Application,
        description="Changes the given fields only; the gateway applies them within seconds"
        " to the application's existing tokens.",
        request_example=ex.APPLICATION_CHANGE, response_example=ex.APPLICATION,
        body_schema=_UNIQUE_ADDRESSES),
    _op("DELETE", "/applications/{clientId}", h.delete_application, "Delete an application",
        response=dict[str, str],
        description="Deletes the application; its tokens stop working within 5 seconds.",
        response_example=ex.DELETED),
    _op("GET", "/applications/{clientId}/secrets", h.get_secrets,
        "Show an application's client and event client secrets", response=ApplicationSecrets,
        description="The application's REST and event client secrets, whole (the seed"
        " portal's \"Show IRIS Client Secrets\")." + _SECRETS,
        response_example=ex.SECRETS),
    _op("POST", "/applications/{clientId}/secrets/rotate", h.rotate_secret,
        "Replace the client or the event client secret (the old one is refused at once)",
        body=SecretRotation, response=RotatedSecret,
        description="Makes a new REST (`client`) or event (`event`) client secret; the old"
        " one is refused from this moment, tokens already issued run until they expire."
        + _SECRETS,
        request_example=ex.ROTATION, response_example=ex.ROTATED),
    _op("POST", "/partners/{partnerId}/sims", h.add_sims,
        "Add SIM records (all or nothing)", body=NewSims, response=ImportResult, status=201,
        errors=(400, 401, 403, 404, 409),
        description="Adds up to 10,000 SIM records to the partner's inventory in one"
        " transaction: any invalid record, or one repeating another's identifier, answers"
        " 400 naming it (`sims[3].iccid: ...`) and nothing is added. When the only problem"
        " is identifiers already in the inventory, the answer is 409 naming each of them."
        " `m2mportal sims import` streams CSV files of any size through the same service.",
        request_example=ex.NEW_SIMS, response_example=ex.IMPORTED,
        answers={409: ("Identifiers already in the inventory (each named); nothing added",
                       None, error_example(409, "Conflict", [
                           f"sims[0].iccid: {ex.ICCID} is already in the inventory"]))}),
    _op("POST", "/tariffs", h.create_tariff, "Create a tariff", body=NewTariff,
        response=CatalogItem, status=201,
        description="A tariff SIMs can be activated on or changed to; `bindingMonths` is its"
        " binding period (termination inside it needs `force`).",
        request_example=ex.NEW_TARIFF, response_example=ex.CATALOG_ITEM),
    _op("POST", "/options", h.create_option, "Create an option", body=NewOption,
        response=CatalogItem, status=201,
        description="An option SIMs can book (`bookoption`), e.g. \"Parallel Sessions\".",
        request_example=ex.NEW_OPTION, response_example={**ex.CATALOG_ITEM, "id": 2,
                                                          "name": "Parallel Sessions"}),
    _op("POST", "/materials", h.create_material, "Create a SIM material", body=NewMaterial,
        response=CatalogItem, status=201,
        description="A SIM material customers can order, with its SIM type and minimum"
        " order quantity.",
        request_example=ex.NEW_MATERIAL, response_example={**ex.CATALOG_ITEM, "id": 3,
                                                            "name": "eSIM profile"}),
    _op("POST", "/profiles", h.create_profile, "Create a limit, fraud or cost-limit profile",
        body=NewProfile, response=CatalogItem, status=201,
        description="A profile the rules engine evaluates on the simulated traffic: `limit`"
        " (sessions or volume per period, two levels), `fraud` (device or location fraud) or"
        " `costLimit` (SMS or voice cost, two levels); `rules` as in docs/api.md.",
        request_example=ex.NEW_PROFILE, response_example={**ex.CATALOG_ITEM, "id": 3,
                                                           "name": "Standard session limit"},
        body_schema=rules.PROFILE_SCHEMA),
    _op("PUT", "/partners/{partnerId}/limits", h.set_limits,
        "Set a partner's rate limits per class", body=LimitsBody, response=dict[str, list[str]],
        description="Replaces the rate limits of the given classes (`actions`, `details`,"
        " `history`, `sms`), each a list of rate strings such as `\"1000/6 minutes\"`;"
        " the classes left out keep theirs. Answers every class's limits in force.",
        request_example=ex.LIMITS, response_example=ex.LIMITS_SET, body_schema=_LIMITS),
    _op("GET", "/subscriptions/{subscriptionId}", h.get_subscription,
        "A subscription's backlog: undelivered events, oldest undelivered, last delivered",
        response=SubscriptionBacklog,
        description="How far an application's event subscription is behind: undelivered"
        " events, the oldest undelivered, the last delivered, and whether a stream is open.",
        response_example=ex.BACKLOG),
    _op("POST", "/events/test", h.publish_test_event, "Publish a test event to a partner",
        body=NewTestEvent, response=PublishedEvent, status=201,
        description="Publishes a sample event of the given type to the partner's"
        " subscriptions, to try a stream client.",
        request_example=ex.TEST_EVENT, response_example=ex.PUBLISHED),
    _op("GET", "/clock", h.get_clock, "Read the platform clock", response=ClockState,
        description="The platform's time and its offset from real time (moved by"
        " `/clock/advance`).",
        response_example=ex.CLOCK),
    _op("POST", "/clock/advance", h.advance_clock, "Move the simulated clock forward",
        body=ClockAdvance, response=ClockState,
        description="Moves the simulated clock forward, so periods, retention and"
        " notifications can be reached without waiting. Rate-limit windows run on real time"
        " and do not move.",
        request_example=ex.ADVANCE, response_example=ex.ADVANCED),
]  # fmt: skip


# The simulated network's traffic injection (operator/simulator.py; CONTRACT 11.1).
_INJECT_DOC = (
    " The SIM is found by ICCID among every partner's SIMs (404 when there is none); the"
    ' records go through the same ingestion as any other traffic (docs/api.md "Network")'
    " and show up in the SIM's session, histories and this month's usage at once."
)
ENDPOINTS += [
    _op("POST", "/simulator/sessions", simulator.inject_session,
        "Inject a data session for one SIM", body=InjectSession, response=Injected, status=201,
        description="A data session on `apn` in network `mcc`/`mnc` that moved `bytesUp` and"
        " `bytesDown` over `durationSeconds`. `open: true` leaves it open (the SIM is online);"
        " `open: false` closes it, so it must have ended by now. `startedAt` (ISO 8601, UTC"
        " without an offset) places its start; by default it started `durationSeconds` ago."
        " Answers the new `sessionId` as `id`." + _INJECT_DOC,
        request_example=nex.INJECT_SESSION, response_example=nex.INJECTED),
    _op("POST", "/simulator/sms", simulator.inject_sms, "Inject one SMS for one SIM",
        body=InjectSms, response=Injected, status=201,
        description="One message sent (`MO`) or received (`MT`) by the SIM's device now,"
        " delivered, in network `mcc`/`mnc`; `text` is one SMS (GSM-7 up to 160 characters or"
        " UCS-2 up to 70) and is not stored. Answers the `smsId` as `id`." + _INJECT_DOC,
        request_example=nex.INJECT_SMS,
        response_example={**nex.INJECTED, "id": "sms-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"}),
    _op("POST", "/simulator/voice", simulator.inject_voice, "Inject one voice call for one SIM",
        body=InjectVoice, response=Injected, status=201,
        description="One call made (`MO`) or received (`MT`) by the SIM's device, of"
        " `durationSeconds`, ending now. Answers the call's id as `id`." + _INJECT_DOC,
        request_example=nex.INJECT_VOICE,
        response_example={**nex.INJECTED, "id": "call-5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a"}),
]  # fmt: skip
SIMULATION_PATHS = SIMULATION_PATHS | {"/simulator/sessions", "/simulator/sms", "/simulator/voice"}


# Pools (api/pools.py; CONTRACT 7.8, 11.1).
ENDPOINTS.append(
    _op("POST", "/partners/{partnerId}/pools", pools.create_pool,
        "Create a data, voice or SMS pool for a partner", body=NewPool, response=Pool,
        status=201,
        description="A partner-level allowance every SIM of the partner's tree draws from:"
        " `allowance` in bytes (`Data`), seconds (`Voice`) or messages (`SMS`, sent and"
        " received), and two limit `levels` in percent of it, ascending (400 naming `levels`"
        " otherwise). `offeringName` defaults to `name`. Pools belong to a top partner: a"
        " subunit's id answers 400 naming `partnerId`, an unknown one 404. Answers the new"
        " `offeringId`; the usage is read at `GET .../partners/{partnerId}/pools/usage`.",
        request_example=pools.NEW_POOL, response_example=pools.POOL,
        body_schema={"properties": {"levels": {"uniqueItems": True}}})
)  # fmt: skip


# The traffic generator's control (network/generator.py; CONTRACT 11).
_CONFIG_DOC = (
    " `speed` is simulated seconds per second (60: a simulated minute of device behaviour"
    " in each second of the platform clock), `seed` makes the behaviour of every SIM"
    " repeatable; `actionDelayMs` (before an accepted action starts) and `perSimDelayMs`"
    " (between its SIMs) are the simulated backend's delays, in effect within a second."
    " Kept in the database: every process (`serve`, `m2mportal simulator`) follows it."
)
ENDPOINTS += [
    _op("GET", "/simulator/config", generator_config.get_config,
        "Read the traffic generator's settings", response=generator_config.SimulatorConfig,
        description="Whether the generator runs, at what speed and seed, and the platform"
        " time up to which it generated traffic (`position`)." + _CONFIG_DOC,
        response_example=generator_config.EXAMPLE),
    _op("PUT", "/simulator/config", generator_config.put_config,
        "Start, stop or tune the traffic generator",
        body=generator_config.SimulatorConfigChange, response=generator_config.SimulatorConfig,
        description="Changes the given fields; one left out (or null) keeps its value."
        " Switched on, traffic starts at the present (the time it was off stays quiet)."
        + _CONFIG_DOC,
        request_example={"running": True, "speed": 60, "seed": 7},
        response_example=generator_config.EXAMPLE),
]  # fmt: skip
SIMULATION_PATHS = SIMULATION_PATHS | {"/simulator/config"}


# The rules engine's state of a SIM, set directly (operator/rules.py; CONTRACT 11.1).
ENDPOINTS.append(
    _op("PATCH", "/sims/{iccid}", rules.set_sim_state,
        "Set a SIM's limit, fraud or restriction state directly",
        body=rules.SimStateChange, response=rules.SimRuleState,
        description="Sets any of `limitStatus` (`OK`, `Warning`, `Alarm`, `Overridden`),"
        " `fraudStatus` (`OK`, `Device Fraud`, `Location Fraud`) and `restrictionStatus`"
        " (`No Restriction`, `Speed Step-down`, `Data Restricted`) of the SIM as given, to"
        " test an integration against a state without producing the traffic: no rule runs"
        " and no notification is sent; the SIM's actions (`resetfraudstatus`,"
        " `overridelimitstatus`, ...) then act on it. A limit status other than `OK` belongs"
        " to the current month. An empty body is 400; the SIM is found by ICCID among every"
        " partner's SIMs (404 when there is none). Answers the SIM's state.",
        request_example=rules.STATE_CHANGE, response_example=rules.STATE)
)  # fmt: skip


# SIM transfers and subunits (api/transfers.py; CONTRACT 7.7, 11).
ENDPOINTS += [
    _op("PATCH", "/sims/actions/simtransfer/{transactionId}", transfers.operator_cancel,
        "Cancel a SIM transfer", body=transfers.rules.OperatorCancel,
        response=transfers.rules.TransferDetails, errors=(400, 401, 403, 404, 409),
        description="Cancels a `Pending` SIM transfer of any partners: nothing moves, and"
        " both the sender and the receiver get the seed's cancellation event. A transfer"
        " that is no longer Pending answers 409.",
        request_example={"status": "Cancelled"},
        response_example={**transfers.TRANSFER_DETAILS, "status": "Cancelled",
                          "decidedBy": "operator", "decidedAt": "2025-08-02T10:02:00.000Z",
                          "links": transfers.TRANSFER_DETAILS["links"][:2]}),
    _op("GET", "/partners/{partnerId}/transfer-partners", transfers.get_transfer_partners,
        "List the partners a partner may transfer SIMs to",
        response=transfers.rules.TransferTargets,
        description="The top partners this top partner may send SIM transfers to (see"
        " `PUT`).", response_example=transfers.TARGETS),
    _op("PUT", "/partners/{partnerId}/transfer-partners", transfers.set_transfer_partners,
        "Set the partners a partner may transfer SIMs to", body=transfers.rules.TransferTargets,
        response=transfers.rules.TransferTargets,
        description="Replaces the list of top partners this top partner may send SIM"
        " transfers to (one direction; allow the other with its own call). Without an entry"
        " here a `simtransfer` to that partner answers 400 naming `targetPartnerId`. Subunits"
        " and unknown partners answer 400 naming the entry.",
        request_example=transfers.TARGETS, response_example=transfers.TARGETS,
        body_schema={"properties": {"partnerIds": {"uniqueItems": True}}}),
    _op("POST", "/partners/{partnerId}/subunits", transfers.create_subunit,
        "Create a subunit of a partner", body=transfers.NewSubunit, response=Partner,
        status=201,
        description="The same as `POST /partners` with this partner as `parentPartnerId`.",
        request_example=transfers.NEW_SUBUNIT, response_example=transfers.SUBUNIT_VIEW),
    _op("GET", "/partners/{partnerId}/subunits", transfers.list_subunits,
        "List every subunit below a partner", response=list[transfers.SubunitEntry],
        description="Every partner below this one, at any depth, by id, with its parent.",
        response_example=transfers.SUBUNITS),
]  # fmt: skip
