"""SQL for the issuer's signing keys."""

from __future__ import annotations

from m2mportal.store.database import Database, Row


async def all_keys(db: Database) -> list[Row]:
    return await db.fetch_all(
        "SELECT kid, algorithm, private_key_enc, public_jwk, created_at, retired_at"
        " FROM signing_keys ORDER BY created_at, kid"
    )


async def insert(
    db: Database, kid: str, algorithm: str, private_key_enc: str, public_jwk: str, now: str
) -> None:
    await db.execute(
        "INSERT INTO signing_keys (kid, algorithm, private_key_enc, public_jwk, created_at)"
        " VALUES (:kid, :alg, :priv, :pub, :now)",
        {"kid": kid, "alg": algorithm, "priv": private_key_enc, "pub": public_jwk, "now": now},
    )


async def retire_others(db: Database, kid: str, now: str) -> None:
    await db.execute(
        "UPDATE signing_keys SET retired_at = :now WHERE kid <> :kid AND retired_at IS NULL",
        {"kid": kid, "now": now},
    )


async def delete_retired_before(db: Database, cutoff: str) -> int:
    return await db.execute(
        "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < :cutoff",
        {"cutoff": cutoff},
    )
