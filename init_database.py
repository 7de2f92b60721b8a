"""Create or upgrade the database schema (Alembic migrations) and seed it.

Idempotent: a second run changes nothing.  `ADMIN_PASSWORD` (or --admin-password)
sets the platform admin's password on first creation.  The demo account (published
password) is created only with DEBUG on or SEED_DEMO=true.
"""

from __future__ import annotations

import argparse
import os

from hydronet.web.app import create_app
from hydronet.web.cli import upgrade_locked
from hydronet.web.seed import DEMO_EMAIL, DEMO_PASSWORD, demo_wanted, seed


def main() -> None:
    """Migrate to head, seed, print the guide's ✅ lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-password", default=None, help="password for a newly created platform admin")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        upgrade_locked()
        print("✅ 数据库迁移完成 (schema at head)")
        password = args.admin_password or app.config["ADMIN_PASSWORD"] or os.environ.get("ADMIN_PASSWORD") or None
        result = seed(app.config["ADMIN_EMAIL"], password, demo=demo_wanted(app.config))
        print(f"✅ 系统管理员: {result.admin_email} / {result.admin_password_shown}")
        if result.demo_seeded:
            print(f"✅ 演示账号: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        else:
            print("ℹ️  演示账号未创建 (no demo account: set SEED_DEMO=true for a demo install)")
        if not (result.admin_created or result.demo_created):
            print("ℹ️  已存在，无需重复创建 (nothing to create; already initialised)")


if __name__ == "__main__":
    main()
