"""Security: API users and keys, the hash-chained audit log, personal data encrypted at rest.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_users (
            username     text PRIMARY KEY,
            role         text NOT NULL CHECK (role IN ('admin', 'fund_manager', 'investor', 'ops')),
            manager_id   text,
            investor_id  text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            disabled_at  timestamptz,
            CHECK ((role = 'fund_manager') = (manager_id IS NOT NULL)),
            CHECK ((role = 'investor') = (investor_id IS NOT NULL))
        );
        -- Only an argon2 hash of each key's secret is kept; the key itself is shown once.
        CREATE TABLE api_keys (
            key_id        text PRIMARY KEY,
            username      text NOT NULL REFERENCES api_users ON DELETE CASCADE,
            secret_hash   text NOT NULL,
            label         text NOT NULL DEFAULT '',
            created_at    timestamptz NOT NULL DEFAULT now(),
            revoked_at    timestamptz,
            last_used_at  timestamptz
        );
        -- Append-only; each row's hash covers its fields and the previous row's hash, and seq has
        -- no gaps (it is assigned under a lock, not by a sequence), so a changed, removed or
        -- reordered row breaks the chain.
        CREATE TABLE audit_log (
            seq         bigint PRIMARY KEY,
            at          timestamptz NOT NULL,
            actor       text NOT NULL,
            role        text NOT NULL,
            action      text NOT NULL,
            target      text NOT NULL,
            request_id  text NOT NULL,
            outcome     integer NOT NULL,
            detail      jsonb NOT NULL,
            prev_hash   text NOT NULL,
            hash        text NOT NULL UNIQUE
        );
        """
    )
    _encrypt_existing_managers()


def _encrypt_existing_managers() -> None:
    """Fund managers' names, phones and emails were clear text until now: encrypt them in place."""
    bind = op.get_bind()
    rows = bind.exec_driver_sql(
        "SELECT manager_id, name, phone, email FROM fund_managers"
    ).fetchall()
    if not rows:
        return
    from config import get_settings
    from pipeline.security import pii

    protect = pii.Pii(get_settings()).protect
    for manager_id, name, phone, email in rows:
        bind.exec_driver_sql(
            "UPDATE fund_managers SET name = %(name)s, phone = %(phone)s, email = %(email)s"
            " WHERE manager_id = %(id)s",
            {
                "name": protect(name),
                "phone": protect(phone),
                "email": protect(email),
                "id": manager_id,
            },
        )


def downgrade() -> None:
    raise NotImplementedError("0005 encrypts personal data in place; restore a backup instead")
