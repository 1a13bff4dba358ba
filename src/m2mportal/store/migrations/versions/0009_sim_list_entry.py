"""sims.list_entry: each SIM's entry in the SIM list, kept by the database (issue 15)

A page of the SIM list read twelve columns of 100 rows; on SQLite, Python's sqlite3 module
takes ~70 ns for each value (it gives the GIL up and takes it back around every column's
type), most of the page's time. ``list_entry`` holds the SIM's list entry as the API
answers it for a month without data volume (``"dataConsumption":0``): the month's volume
depends on the month it is read in and is put in by the read (store/sims.py).

Triggers keep it, so no writer can leave it stale: on an update that changes a listed
column (or sets ``list_entry`` to NULL), when a tariff is inserted, for the SIMs already
referring to its id (the catalogue is insert-only, tests/test_sim_read.py, so a name once
written stays right), and on an insert that brings no entry. The bulk insert brings one
(services/sims.py ``list_entry``, msgspec's own text): made by the trigger, the entry
doubled an import's time on SQLite and made it half as long again on PostgreSQL. The text
must be byte for byte what msgspec writes for ``SimListEntry``; tests/test_sim_list_entry.py
checks it on both databases, and that the triggers write what the insert brought.

A later migration that rebuilds ``sims`` on SQLite (``batch_alter_table`` copies the table)
drops these triggers with the old table and must create them again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The SIM columns the entry shows; a change to any of them writes the entry anew.
LISTED = (
    "iccid", "euiccid", "imsi", "msisdn", "imei", "status", "productive", "partner_id",
    "tariff_id", "activation_date",
)  # fmt: skip


def _entry(quote: str) -> str:
    """The entry of the row ``NEW`` as SQL; ``quote`` makes a JSON string (or null) of a
    text (``{}`` stands for the text)."""

    def q(column: str) -> str:
        return quote.format(f"NEW.{column}")

    tariff_name = quote.format("t.name")
    return (
        f"""'{{"iccid":' || {q("iccid")}"""
        f""" || ',"euiccid":' || {q("euiccid")}"""
        f""" || ',"imsi":' || {q("imsi")}"""
        f""" || ',"msisdn":' || {q("msisdn")}"""
        f""" || ',"imei":' || {q("imei")}"""
        f""" || ',"status":' || {q("status")}"""
        """ || ',"productive":' || CASE WHEN NEW.productive THEN 'true' ELSE 'false' END"""
        """ || ',"partnerId":' || NEW.partner_id"""
        """ || ',"tariff":' || CASE WHEN NEW.tariff_id IS NULL THEN 'null'"""
        """ ELSE '{"id":' || NEW.tariff_id || ',"name":' || COALESCE("""
        f"""(SELECT {tariff_name} FROM tariffs t WHERE t.id = NEW.tariff_id), '""') || '}}'"""
        " END"
        f""" || ',"activationDate":' || {q("activation_date")}"""
        """ || ',"dataConsumption":0}'"""
    )


_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in LISTED) + " OR NEW.list_entry IS NULL"


def _sqlite() -> list[str]:
    entry = _entry("json_quote({})")
    set_entry = f"UPDATE sims SET list_entry = {entry} WHERE rowid = NEW.rowid;"
    return [
        "CREATE TRIGGER sims_list_entry_insert AFTER INSERT ON sims"
        f" WHEN NEW.list_entry IS NULL BEGIN {set_entry} END",
        # The trigger's own UPDATE changes no listed column and leaves list_entry set: it
        # does not fire the trigger again.
        f"CREATE TRIGGER sims_list_entry_update AFTER UPDATE ON sims WHEN {_CHANGED}"
        f" BEGIN {set_entry} END",
        "CREATE TRIGGER tariffs_list_entry AFTER INSERT ON tariffs BEGIN"
        " UPDATE sims SET list_entry = NULL WHERE tariff_id = NEW.id; END",
    ]


def _postgresql() -> list[str]:
    entry = _entry("COALESCE(to_json({})::text, 'null')")
    changed = _CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    return [
        "CREATE FUNCTION sims_list_entry() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN NEW.list_entry := {entry}; RETURN NEW; END $$",
        "CREATE TRIGGER sims_list_entry_insert BEFORE INSERT ON sims"
        " FOR EACH ROW WHEN (NEW.list_entry IS NULL) EXECUTE FUNCTION sims_list_entry()",
        f"CREATE TRIGGER sims_list_entry_update BEFORE UPDATE ON sims FOR EACH ROW"
        f" WHEN ({changed}) EXECUTE FUNCTION sims_list_entry()",
        "CREATE FUNCTION tariffs_list_entry() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN UPDATE sims SET list_entry = NULL WHERE tariff_id = NEW.id; RETURN NULL;"
        " END $$",
        "CREATE TRIGGER tariffs_list_entry AFTER INSERT ON tariffs"
        " FOR EACH ROW EXECUTE FUNCTION tariffs_list_entry()",
    ]


def upgrade() -> None:
    op.add_column("sims", sa.Column("list_entry", sa.Text(), nullable=True))
    bind = op.get_bind()
    for statement in _sqlite() if bind.dialect.name == "sqlite" else _postgresql():
        # As the driver gets it: SQLAlchemy's text() would read ':0' in '"dataConsumption":0}'
        # as a parameter.
        bind.exec_driver_sql(statement)
    op.execute("UPDATE sims SET list_entry = NULL")  # the triggers write every entry


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("sims_list_entry_insert", "sims_list_entry_update", "tariffs_list_entry"):
            op.execute(f"DROP TRIGGER {trigger}")
    else:
        op.execute("DROP TRIGGER tariffs_list_entry ON tariffs")
        op.execute("DROP TRIGGER sims_list_entry_update ON sims")
        op.execute("DROP TRIGGER sims_list_entry_insert ON sims")
        op.execute("DROP FUNCTION tariffs_list_entry()")
        op.execute("DROP FUNCTION sims_list_entry()")
    with op.batch_alter_table("sims", schema=None) as batch_op:
        batch_op.drop_column("list_entry")
