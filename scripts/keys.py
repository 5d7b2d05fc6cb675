#!/usr/bin/env python
"""API keys of the database named by DATABASE_URL (migrating it first, as the ingest does).

    keys.py create NAME [--rate-limit 6000/minute]  prints the key once; only its hash is kept
    keys.py list [--json]                           id, prefix, name, rate, created, state
    keys.py revoke ID                               stops working within API_KEY_REFRESH_SECONDS

Keys are checked when API_KEYS is optional or required (see the README).
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session

from app.access.buckets import parse_rate
from app.config import get_settings
from app.db import make_engine
from app.migrate import upgrade_to_head
from app.queries.keys import create_key, list_keys, revoke_key


def _rate(text: str) -> str:
    try:
        parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keys.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="issue a key; it is printed once")
    create.add_argument("name", help="who the key is for")
    create.add_argument("--rate-limit", type=_rate, help="its own rate, e.g. 6000/minute")
    listing = commands.add_parser("list", help="every key, revoked ones included")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    revoke = commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    args = parser.parse_args(argv)

    engine = make_engine(get_settings().database_url)
    try:
        upgrade_to_head(engine)
        with Session(engine) as session, session.begin():
            if args.command == "create":
                key, id_ = create_key(session, args.name, args.rate_limit)
                print(key)
                print(f"key {id_} for {args.name}: shown once, keep it now", file=sys.stderr)
                return 0
            if args.command == "revoke":
                if revoke_key(session, args.id):
                    print(f"key {args.id} revoked")
                    return 0
                print(f"{args.id}: no such key, or revoked already", file=sys.stderr)
                return 1
            keys = list_keys(session)
    finally:
        engine.dispose()
    if args.json:
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "rate_limit": k.rate_limit,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in keys
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        rate = k.rate_limit or "RATE_LIMIT"
        print(f"{k.id}\t{k.prefix}…\t{k.name}\t{rate}\t{k.created_at:%Y-%m-%d}\t{state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
