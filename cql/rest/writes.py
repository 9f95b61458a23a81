"""Writes over REST whose answers may be lost: /batch in chunks with every
item's outcome (success, error, or unknown: the answer was lost, so it may
have been applied), inserts with client-chosen objectIds that can be sent
again safely, and what to tell the user to check. See the README's "When
things go wrong"."""
from __future__ import annotations

import secrets
import time
from typing import Any, List, Optional, Sequence

from .. import errors
from ..plan import in_batches
from .client import RestClient, unknown_outcome

__all__ = ["batch_outcomes", "send_with_ids", "new_object_ids", "lost_write", "objects_to_check"]


def batch_outcomes(client: RestClient, requests_: List[dict]) -> List[dict]:
    """All requests through /batch, BATCH_SIZE at a time; the outcomes of
    every item in order. A chunk that failed counts as failed items (the
    first one is raised: nothing was written); a chunk whose answer was
    lost counts as items of unknown outcome (maybe applied), never failed."""
    outcomes: List[dict] = []
    chunks = list(in_batches(requests_))
    for number, chunk in enumerate(chunks):
        try:
            outcomes.extend(client.batch(chunk))
        except errors.OutcomeUnknown as exc:
            outcomes.extend(unknown_outcome(getattr(exc, "why", exc.message)) for _ in chunk)
            if number == 0 and len(chunks) > 1:  # stop: the connection is in doubt; say so
                rest = len(requests_) - len(chunk)
                outcomes.extend({"error": {"code": exc.code, "error": "not sent: the answer to the "
                                           "first /batch request was lost"}} for _ in range(rest))
                break
        except errors.CQLError as exc:
            if number == 0:
                raise
            outcomes.extend({"error": {"code": exc.code, "error": exc.message}} for _ in chunk)
    return outcomes


def send_with_ids(client: RestClient, chunk: Sequence[dict]) -> List[dict]:
    """One chunk of inserts with chosen objectIds, sent again (at most
    ``retries`` times) while its answer is lost."""
    cls_path = chunk[0]["path"]
    delay = client.backoff
    tries = (client.retries or 0) + 1
    for attempt in range(tries):
        try:
            if len(chunk) == 1:
                answers = [{"success": client.request("POST", cls_path, body=chunk[0]["body"], retry=False)}]
            else:
                answers = client.batch(chunk)
            break
        except errors.OutcomeUnknown as exc:
            if attempt == tries - 1:
                return [unknown_outcome(getattr(exc, "why", exc.message)) for _ in chunk]
        except errors.CQLError as exc:
            if attempt == 0 and exc.code == 105 and "objectId" in exc.message:
                raise errors.InvalidOption(
                    f"this server does not take client-chosen objectIds ({exc.message}): it needs Parse "
                    "Server's allowCustomObjectId; connect without client_ids=True") from None
            if len(chunk) == 1 and attempt > 0 and exc.code == 137:
                return [_stored_already(chunk[0])]
            if len(chunk) > 1:
                return [{"error": {"code": exc.code, "error": exc.message}} for _ in chunk]
            raise
        time.sleep(delay)
        delay *= 2
    if attempt == 0:
        return answers
    # a retry: what answers 137 was stored by the attempt whose answer was lost
    return [_stored_already(r) if _code_of(a) == 137 else a for r, a in zip(chunk, answers)]


def lost_write(exc: errors.OutcomeUnknown, what: str, check: str) -> errors.OutcomeUnknown:
    """An OutcomeUnknown saying which write and what to check."""
    err = errors.OutcomeUnknown(f"{what}: the server's answer was lost ({getattr(exc, 'why', exc.message)}), so "
                                f"{check}")
    err.why = getattr(exc, "why", "")  # type: ignore[attr-defined]
    return err


def objects_to_check(cls: str, ids: Sequence[str], outcomes: List[dict], stamp: Optional[str]) -> str:
    """What to look at for the writes by objectId whose answers were lost."""
    lost = [i for i, o in zip(ids, outcomes) if isinstance(o, dict) and "unknown" in o]
    if not lost:
        return ""
    shown = ", ".join(f"'{i}'" for i in lost[:5]) + (", ..." if len(lost) > 5 else "")
    look = f"select objectId{', ' + stamp if stamp else ''} from {cls} where objectId in ({shown})"
    return (f"Look at them ({look}{'' if len(lost) <= 5 else f'; {len(lost)} objects in all'}) "
            "before running the statement again.")


def new_object_ids(n: int) -> List[str]:
    """``n`` objectIds chosen on the client: 24 hex digits, seconds first (as
    MongoDB's), then random (no coordination needed between clients)."""
    head = f"{int(time.time()) & 0xFFFFFFFF:08x}"
    return [head + secrets.token_hex(8) for _ in range(n)]


def _stored_already(request: dict) -> dict:
    """The outcome of an insert with a chosen objectId that was already stored
    (by an attempt whose answer was lost): a success, creation time unknown."""
    return {"success": {"objectId": request["body"]["objectId"], "createdAt": None}}


def _code_of(outcome: Any) -> Optional[int]:
    err = outcome.get("error") if isinstance(outcome, dict) else None
    return err.get("code") if isinstance(err, dict) else None
