"""The customer API's route table: behaviour and the OpenAPI document from one list."""

from __future__ import annotations

from m2mportal.api import partners, sims
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.models import Partner, SimDetails, SimPage, SimSelector

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/partners/{partnerId}",
        partners.get_partner,
        "Get partner: subunits and SIM counts per status",
        "Partner",
        response=Partner,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims",
        sims.list_sims,
        "Get SIM list (search, filters, page/size or keyset after=<iccid>)",
        "SIM",
        response=SimPage,
        query=sims.SimListQuery,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/{iccid}",
        sims.get_sim,
        "Get SIM details by ICCID",
        "SIM",
        response=SimDetails,
        rate_class="details",
    ),
    Endpoint(
        "POST",
        "/partners/{partnerId}/sims/details",
        sims.post_sim_details,
        "Get SIM details by any identifier (iccid, euiccid, imsi, imei, msisdn)",
        "SIM",
        response=SimDetails,
        body=SimSelector,
        rate_class="details",
    ),
]
