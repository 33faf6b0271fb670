"""The caller's own API tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from flask import g

from engine import tokens

from ..context import get_db
from .common import ID, api_blueprint, paginate
from .schemas import NewTokenSchema, PageArgs, TokenBody, TokenSchema, page_of

blp = api_blueprint("tokens", "/tokens", "The caller's API tokens")


def token_dict(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


@blp.route("")
@blp.arguments(PageArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(TokenSchema))
def list_tokens(args):
    """The caller's tokens, newest first (revoked ones too)."""
    return paginate(get_db(), tokens.tokens_of(get_db(), g.user), args, token_dict)


@blp.route("", methods=["POST"])
@blp.arguments(TokenBody, as_kwargs=False)
@blp.response(201, NewTokenSchema)
def create(body):
    """A new token for the caller; the response holds the secret, which is never shown again."""
    row, secret = tokens.create_token(get_db(), g.user, body["name"])
    return {**token_dict(row), "token": secret}


@blp.route(f"/<{ID}:token_id>", methods=["DELETE"])
@blp.response(200, TokenSchema)
def revoke(token_id: int):
    """Revoke one of the caller's tokens (it stops working at once)."""
    return token_dict(tokens.revoke_token(get_db(), g.user, token_id))
