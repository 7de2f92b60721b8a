"""Re-encrypting every stored secret with the newest key (after adding a key)."""

from __future__ import annotations

from sqlalchemy import select

from hydronet.kernel import secrets
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import McpServer, WechatAccount

# Encrypted columns per model; new encrypted columns must be listed here.
ENCRYPTED_COLUMNS = {
    McpServer: ("headers_encrypted",),
    WechatAccount: ("token_encrypted", "app_secret_encrypted", "aes_key_encrypted"),
}


def reencrypt_all() -> dict[str, int]:
    """Rotate every encrypted column of every tenant; returns rows touched per table."""
    counts: dict[str, int] = {}
    with all_tenants(db.session):  # an operator command over every tenant
        for model, columns in ENCRYPTED_COLUMNS.items():
            n = 0
            for row in db.session.execute(select(model)).scalars():
                for column in columns:
                    value = getattr(row, column)
                    if value:
                        setattr(row, column, secrets.rotate(value))
                n += 1
            counts[model.__tablename__] = n
        db.session.commit()
    return counts
