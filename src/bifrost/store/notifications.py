"""The notifications' cool-down, shared by every server replica and worker through the
database: a failure (its key) is sent to a destination once per window, and the repeats in
between are counted, to be reported with the next message."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from bifrost.store.database import Store
from bifrost.store.models import NotificationRow


async def claim(
    store: Store, key: str, destination: str, cooldown_s: int, now: datetime
) -> int | None:
    """None when this repeat falls in the window (it is counted); otherwise the number of
    repeats held back since the last message, and the window starts again now."""
    dialect_insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    fresh = {
        "key": key,
        "destination": destination,
        "last_sent_at": now,
        "held_back": 0,
        "status": "sending",
        "attempts": 0,
    }
    async with store.write() as connection:
        inserted = await connection.execute(
            dialect_insert(NotificationRow)
            .values(fresh)
            .on_conflict_do_nothing(index_elements=[NotificationRow.key])
            .returning(NotificationRow.key)
        )
        if inserted.first() is not None:
            return 0
        row = (
            await connection.execute(
                select(NotificationRow.last_sent_at, NotificationRow.held_back)
                .where(NotificationRow.key == key)
                .with_for_update()
            )
        ).one()
        this_key = NotificationRow.key == key
        if now - row.last_sent_at < timedelta(seconds=cooldown_s):
            await connection.execute(
                update(NotificationRow)
                .where(this_key)
                .values(held_back=NotificationRow.held_back + 1)
            )
            return None
        await connection.execute(
            update(NotificationRow)
            .where(this_key)
            .values(last_sent_at=now, held_back=0, status="sending", attempts=0, error=None)
        )
        return int(row.held_back)


async def record(store: Store, key: str, status: str, attempts: int, error: str | None) -> None:
    """How the delivery of the message just claimed went."""
    async with store.write() as connection:
        await connection.execute(
            update(NotificationRow)
            .where(NotificationRow.key == key)
            .values(status=status, attempts=attempts, error=error)
        )


async def delivery(store: Store, key: str) -> tuple[str, int, str | None, int] | None:
    """(status, attempts, error, held back) of a key's last message, if any."""
    async with store.read() as connection:
        row = (
            await connection.execute(
                select(
                    NotificationRow.status,
                    NotificationRow.attempts,
                    NotificationRow.error,
                    NotificationRow.held_back,
                ).where(NotificationRow.key == key)
            )
        ).first()
    return (row.status, row.attempts, row.error, row.held_back) if row is not None else None
