"""HTTP side of the REST backend: one keep-alive session, auth headers per
flavor, timeouts, retries for idempotent calls, and server errors turned into
CQLErrors. Knows REST paths and JSON, not Plans.

Keys travel only in headers; they never appear in a message, a log line or a
repr (the URL is safe to show).
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .. import errors
from ..names import NON_IDEMPOTENT_OPS
from ..redact import redact_url

RETRY_STATUSES = (429, 502, 503, 504)
#: Answers of a gateway in front of the server: the server may have acted on
#: the request before the answer was lost (429/503 are the server's refusal).
GATEWAY_STATUSES = (502, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
MAX_URL_QUERY = 6000  # longer queries go as POST with "_method": "GET"


class ServerObjectNotFound(errors.ObjectNotFound, errors.ServerError):
    code = 101


class ServerConditionNotMet(errors.ConditionNotMet, errors.ServerError):
    code = 305


class ServerTypeMismatch(errors.TypeMismatch, errors.ServerError):
    code = 111


class ServerInvalidKey(errors.InvalidKey, errors.ServerError):
    code = 105


class ServerInvalidClassName(errors.InvalidClassName, errors.ServerError):
    code = 103


class ServerInvalidJSON(errors.InvalidJSON, errors.ServerError):
    code = 107


_BY_CODE = {101: ServerObjectNotFound, 305: ServerConditionNotMet, 111: ServerTypeMismatch,
            105: ServerInvalidKey, 103: ServerInvalidClassName, 107: ServerInvalidJSON}


class BatchError(errors.ServerError):
    """Some items of a /batch failed or have an unknown outcome. ``outcomes``
    has one entry per item, in order: ``{"success": {...}}``, ``{"error":
    {"code", "error"}}`` or ``{"unknown": {"error": why}}`` (the answer was lost:
    maybe applied); ``failures`` lists ``(position, code, text)``, ``unknown``
    the positions of unknown outcome (0-based)."""

    def __init__(self, message: str, outcomes: List[dict], failures: List[tuple], code: int,
                 unknown: Sequence[int] = ()):
        super().__init__(message, code)
        self.outcomes = outcomes
        self.failures = failures
        self.unknown = list(unknown)


class BatchOutcomeUnknown(BatchError, errors.OutcomeUnknown):
    """A /batch whose answer was lost for some items (``unknown``): they may or
    may not have been applied; the others' outcomes are known."""
    code = 100


class _Retry(Retry):
    """urllib3 Retry that a caller can switch off for one non-idempotent call
    (a PUT with an Increment) without giving up the shared session."""

    _local = threading.local()

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if getattr(self._local, "no_retry", False):
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def _is_method_retryable(self, method: str) -> bool:
        if getattr(self._local, "no_retry", False):
            return False
        return super()._is_method_retryable(method)


def server_error(status: int, body: Any, method: str, path: str) -> errors.CQLError:
    """The CQLError for an error answer, keeping the server's code and text.
    Both 500 shapes ({"code","error"} and {"code","message"}) and the code-less
    403 {"error": "unauthorized"} are understood."""
    code, text = None, None
    if isinstance(body, dict):
        code = body.get("code")
        text = body.get("error") or body.get("message")
    if not isinstance(code, int):
        code = status
    if text is None:
        text = (body if isinstance(body, str) else json.dumps(body))[:300] or f"HTTP {status}"
        if "<html" in text.lower() or "<!doctype" in text.lower():
            text = f"HTTP {status} (not a Parse/LeanCloud API answer: check the URL)"
    hint = ""
    if status in (401, 403) and str(text).lower() in ("unauthorized", "unauthorized."):
        hint = " (check the app id and key)"
    elif status == 403 and "permission denied" in str(text).lower():
        hint = " (this needs the master key)"
    cls = _BY_CODE.get(code, errors.ServerError)
    err = cls(f"server error {code}: {text}{hint} [{method} {path}, HTTP {status}]", code)
    err.http_status = status  # type: ignore[attr-defined]
    err.server_text = text  # type: ignore[attr-defined]
    return err


class RestClient:
    """HTTP calls to one Parse Server / LeanCloud app.

    ``base`` is the API root: ``http://host:1337/parse`` (parse flavor, the URL
    as given) or ``https://host/1.1`` (leancloud flavor: ``/1.1`` is appended to
    the host URL unless already there). ``path`` arguments are relative to it
    (``/classes/Todo``).
    """

    def __init__(self, url: str, *, app_id: Optional[str], rest_key: Optional[str] = None,
                 master_key: Optional[str] = None, flavor: str = "parse", timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.2, session_token: Optional[str] = None):
        if flavor not in ("parse", "leancloud"):
            raise errors.ProgrammingError(f"unknown flavor {flavor!r}: use 'parse' or 'leancloud'")
        try:
            parts = urlsplit(url.rstrip("/"))
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise errors.InterfaceError(f"not a valid URL: {url!r} ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.InterfaceError(f"not an http(s) URL with a host: {url!r}")
        path = parts.path.rstrip("/")
        if flavor == "leancloud" and not path.endswith("/1.1"):
            path = path + "/1.1"
        self.base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        # what messages and reprs show: a password in the URL never appears
        self.shown = redact_url(self.base)
        self.prefix = path  # what /batch sub-request paths start with
        self.flavor = flavor
        self.timeout = timeout
        self.has_master = bool(master_key)
        self.calls = 0  # round trips made (for tests and the benchmark)
        if not app_id:
            raise errors.InterfaceError("an app id is needed for a REST target: pass app_id= or set CQL_APP_ID")
        if not (rest_key or master_key):
            raise errors.InterfaceError(
                "a key is needed for a REST target: pass rest_key= or master_key= (or set CQL_REST_KEY / CQL_MASTER_KEY)")
        self.session = requests.Session()
        self.session.headers.update(self._auth_headers(app_id, rest_key, master_key, session_token))
        self.session.headers["Content-Type"] = "application/json"
        self.session.headers["User-Agent"] = "cql/0.1 (python-requests)"
        retry = _Retry(total=retries, connect=retries, read=retries, status=retries,
                       backoff_factor=backoff, status_forcelist=RETRY_STATUSES,
                       allowed_methods=IDEMPOTENT_METHODS, raise_on_status=False,
                       respect_retry_after_header=True)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._retries, self._backoff = retries, backoff
        self.retries, self.backoff = retries, backoff

    def derived(self, extra_headers: Dict[str, str]) -> "RestClient":
        """A client of the same app and credentials with a session of its own
        whose requests also carry ``extra_headers`` (e.g. Parse Server's
        maintenance key for a migration's writes)."""
        other = RestClient.__new__(RestClient)
        other.__dict__.update(self.__dict__)
        other.calls = 0
        other.session = requests.Session()
        other.session.headers.update(self.session.headers)
        other.session.headers.update(extra_headers)
        for prefix, adapter in self.session.adapters.items():
            other.session.mount(prefix, HTTPAdapter(max_retries=adapter.max_retries, pool_connections=2,
                                                    pool_maxsize=8))
        return other

    def _auth_headers(self, app_id: str, rest_key: Optional[str], master_key: Optional[str],
                      session_token: Optional[str]) -> Dict[str, str]:
        if self.flavor == "leancloud":
            headers = {"X-LC-Id": app_id, "X-LC-Key": f"{master_key},master" if master_key else str(rest_key)}
            if session_token:
                headers["X-LC-Session"] = session_token
        else:
            headers = {"X-Parse-Application-Id": app_id}
            if master_key:
                headers["X-Parse-Master-Key"] = master_key
            else:
                headers["X-Parse-REST-API-Key"] = str(rest_key)
            if session_token:
                headers["X-Parse-Session-Token"] = session_token
        return headers

    def __repr__(self) -> str:
        auth = "master key" if self.has_master else "REST key"
        return f"<RestClient {self.flavor} {self.shown} ({auth})>"

    # -- calls --------------------------------------------------------------------
    def request(self, method: str, path: str, params: Optional[Dict[str, Any]] = None,
                body: Any = None, *, retry: Optional[bool] = None) -> Any:
        """One call; returns the decoded JSON answer or raises a CQLError.
        ``retry`` None: retry when the method is idempotent. A write whose
        answer is lost after it may have reached the server is OutcomeUnknown
        (never "failed"); an error answer to a write retried after such a loss
        has ``after_lost = True`` (a DELETE's 101 then means the object is gone)."""
        url = self.base + path
        data = None if body is None else _json(body).encode()
        if retry is None:
            retry = method in IDEMPOTENT_METHODS
        if method in WRITE_METHODS and not (isinstance(body, dict) and body.get("_method") == "GET"):
            return self._write(method, path, url, params, data, retry)
        _Retry._local.no_retry = not retry
        try:
            self.calls += 1
            resp = self.session.request(method, url, params=params, data=data, timeout=self.timeout)
        except requests.Timeout:
            raise errors.ConnectionFailed(
                f"the server at {self.shown} did not answer within {self.timeout:g} s ({method} {path})") from None
        except requests.ConnectionError as exc:
            if _timed_out(exc):
                raise errors.ConnectionFailed(
                    f"the server at {self.shown} did not answer within {self.timeout:g} s ({method} {path})") from None
            raise errors.ConnectionFailed(
                f"cannot reach the server at {self.shown}: {_reason(exc)} ({method} {path})") from None
        except requests.RequestException as exc:
            raise errors.ConnectionFailed(f"request to {self.shown} failed: {_reason(exc)}") from None
        finally:
            _Retry._local.no_retry = False
        return self._answer(resp, method, path)

    def _write(self, method: str, path: str, url: str, params: Optional[Dict[str, Any]], data: Optional[bytes],
               retry: bool) -> Any:
        """A write, retried here (not by urllib3) when ``retry``, so that each
        attempt's fate is known: refused before reaching the server (connection
        refused, 429, 503), or possibly applied (answer lost)."""
        attempts = 1 + (self._retries if retry else 0)
        delay = self._backoff
        lost: Optional[str] = None  # why an earlier attempt may have been applied unseen
        _Retry._local.no_retry = True
        try:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                self.calls += 1
                try:
                    resp = self.session.request(method, url, params=params, data=data, timeout=self.timeout)
                except requests.RequestException as exc:
                    if not _never_sent(exc):
                        lost = ("no answer within the timeout" if _timed_out(exc) or isinstance(exc, requests.Timeout)
                                else _reason(exc))
                    if last:
                        if lost is not None:
                            raise self._unknown(method, path, lost) from None
                        raise errors.ConnectionFailed(
                            f"cannot reach the server at {self.shown}: {_reason(exc)} ({method} {path}); "
                            "nothing was sent") from None
                else:
                    status = resp.status_code
                    if status not in RETRY_STATUSES or last:
                        if status in GATEWAY_STATUSES:
                            err = self._unknown(method, path, f"the gateway answered HTTP {status}")
                            err.http_status = status  # type: ignore[attr-defined]
                            raise err
                        try:
                            return self._answer(resp, method, path)
                        except errors.CQLError as exc:
                            exc.after_lost = lost is not None  # type: ignore[attr-defined]
                            raise
                    if status in GATEWAY_STATUSES:
                        lost = f"the gateway answered HTTP {status}"
                time.sleep(delay)
                delay *= 2
        finally:
            _Retry._local.no_retry = False
        raise AssertionError("unreachable")

    def _unknown(self, method: str, path: str, why: str) -> errors.OutcomeUnknown:
        err = errors.OutcomeUnknown(
            f"the answer to {method} {path} was lost ({why}): the server may or may not have applied it; "
            f"check before sending it again [{self.shown}]")
        err.why = why  # type: ignore[attr-defined]
        return err

    def _answer(self, resp: requests.Response, method: str, path: str) -> Any:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        if 200 <= resp.status_code < 300:
            if not isinstance(body, (dict, list)):
                raise errors.ServerError(
                    f"the server at {self.shown} answered {method} {path} with something that is not JSON "
                    "(is the URL the API root, e.g. http://host:1337/parse?)", 1)
            return body
        raise server_error(resp.status_code, body, method, path)

    def query(self, class_name: str, params: Dict[str, Any]) -> dict:
        """GET /classes/C with params (where etc. JSON-encoded here). A very long
        query goes as POST with ``_method: GET`` and is retried like a GET."""
        path = f"/classes/{class_name}"
        encoded = {k: (_json(v) if k == "where" else v)
                   for k, v in params.items() if v is not None}
        if sum(len(str(v)) for v in encoded.values()) <= MAX_URL_QUERY:
            return self._query_answer(self.request("GET", path, encoded), path)
        body = dict(encoded, _method="GET")
        return self._query_answer(self._post_retrying(path, body), path)

    def _query_answer(self, answer: Any, path: str) -> dict:
        """A query's answer, checked to have Parse's shape ({"results": [{...}],
        "count": n}), so another JSON API is a clear error, not a crash later."""
        results = answer.get("results", []) if isinstance(answer, dict) else None
        count = answer.get("count", 0) if isinstance(answer, dict) else None
        if not (isinstance(results, list) and all(isinstance(o, dict) for o in results)
                and isinstance(count, int) and not isinstance(count, bool)):
            raise errors.ServerError(
                f"the server at {self.shown} answered GET {path} with JSON that is not a Parse query "
                "answer (is the URL the API root, e.g. http://host:1337/parse?)", 1)
        return answer

    def _post_retrying(self, path: str, body: dict) -> Any:
        """POST used as a query: safe to repeat, so retried by hand."""
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                return self.request("POST", path, body=body, retry=False)
            except errors.ServerError as exc:
                if getattr(exc, "http_status", None) not in RETRY_STATUSES or attempt == self._retries:
                    raise
            except errors.ConnectionFailed:
                if attempt == self._retries:
                    raise
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def batch(self, requests_: Sequence[dict], *, retry: bool = False) -> List[dict]:
        """POST /batch; sub-request paths get the mount prefix. Returns the
        per-item outcomes; raises BatchError listing every failed item."""
        body = {"requests": [dict(r, path=self.prefix + r["path"]) for r in requests_]}
        outcomes = self.request("POST", "/batch", body=body, retry=retry)
        if not isinstance(outcomes, list) or len(outcomes) != len(requests_):
            raise errors.ServerError(f"unexpected /batch answer from {self.shown}: {str(outcomes)[:200]}", 1)
        return outcomes

    def close(self) -> None:
        self.session.close()


def _json(value: Any) -> str:
    """JSON text for the server; NaN and Infinity are refused here (107, as the
    embedded engine does) rather than sent as invalid JSON."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise errors.InvalidJSON("NaN and Infinity are not numbers JSON can hold") from None


def put_is_idempotent(body: dict) -> bool:
    """A PUT may be retried unless it carries an op whose repetition adds up."""
    return not any(isinstance(v, dict) and v.get("__op") in NON_IDEMPOTENT_OPS for v in body.values())


def unknown_outcome(why: str) -> dict:
    """The outcome of a /batch item whose answer was lost."""
    return {"unknown": {"code": errors.OutcomeUnknown.code, "error": why}}


def batch_failures(outcomes: List[dict], offset: int = 0) -> List[tuple]:
    """(position, code, text) for every failed item of a /batch answer (an
    item of unknown outcome has not failed)."""
    failed = []
    for i, item in enumerate(outcomes):
        if isinstance(item, dict) and "unknown" in item:
            continue
        if not isinstance(item, dict) or "success" not in item:
            err = item.get("error", {}) if isinstance(item, dict) else {}
            if not isinstance(err, dict):
                err = {"error": str(err)}
            failed.append((offset + i, err.get("code", 1), err.get("error") or err.get("message") or str(item)))
    return failed


def raise_batch_failures(outcomes: List[dict], failures: List[tuple], what: str, check: str = "") -> None:
    """Raise BatchError for failed items, BatchOutcomeUnknown when some items'
    answers were lost (``check``: what the user should look at for those)."""
    unknown = [i for i, o in enumerate(outcomes) if isinstance(o, dict) and "unknown" in o]
    if unknown:
        why = outcomes[unknown[0]]["unknown"].get("error", "")
        ok = len(outcomes) - len(failures) - len(unknown)
        failed = ""
        if failures:
            failed = (f"; {len(failures)} failed: " + "; ".join(f"row {pos + 1}: code {code} {text}"
                                                              for pos, code, text in failures[:10]))
        raise BatchOutcomeUnknown(
            f"{len(unknown)} of {len(outcomes)} {what} have an unknown outcome: the answer to their /batch "
            f"request was lost ({why}), so they may or may not have been applied ({_ranges(unknown)}); "
            f"{ok} succeeded{failed}. {check or 'Check them before sending them again.'}",
            outcomes, failures, errors.OutcomeUnknown.code, unknown)
    if not failures:
        return
    lines = "; ".join(f"row {pos + 1}: code {code} {text}" for pos, code, text in failures[:20])
    more = f"; and {len(failures) - 20} more" if len(failures) > 20 else ""
    ok = len(outcomes) - len(failures)
    codes = {code for _, code, _ in failures}
    code = codes.pop() if len(codes) == 1 else 1
    cls = BatchError
    if code in _BY_CODE:  # one kind of failure: also catchable as that error (e.g. TypeMismatch)
        cls = _BATCH_BY_CODE.setdefault(code, type(BatchError.__name__, (BatchError, _BY_CODE[code]), {}))
    raise cls(f"{len(failures)} of {len(outcomes)} {what} failed ({ok} succeeded): {lines}{more}",
              outcomes, failures, code)


_BATCH_BY_CODE: Dict[int, type] = {}


def _ranges(positions: List[int]) -> str:
    """0-based positions as "rows 51-100, 120" (1-based, consecutive runs joined)."""
    runs: List[List[int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    parts = [f"{a + 1}-{b + 1}" if b > a else f"{a + 1}" for a, b in runs[:10]]
    return ("row " if len(positions) == 1 else "rows ") + ", ".join(parts) + (", ..." if len(runs) > 10 else "")


def _never_sent(exc: BaseException) -> bool:
    """Whether a failed call surely never reached the server: no connection
    was made (refused, unknown host, connect timeout). Anything else (a reset
    or a read timeout after sending) may have been acted on."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen, stack = set(), [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (NewConnectionError, ConnectTimeoutError)):
            return True
        if isinstance(e, MaxRetryError):
            stack.append(e.reason)
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return False


def _timed_out(exc: Exception) -> bool:
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, ReadTimeoutError) or (
        isinstance(inner, MaxRetryError) and isinstance(inner.reason, ReadTimeoutError))


def _reason(exc: Exception) -> str:
    """A short reason, without the long URLs (and where JSON) urllib3 quotes."""
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "unknown host"
    if "timed out" in text.lower():
        return "timed out"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "Connection reset" in text:
        return "the connection was closed by the server"
    return text.split(" (Caused by")[0][:200]
