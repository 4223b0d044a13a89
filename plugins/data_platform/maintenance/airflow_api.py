"""The Airflow REST API (v2) of an environment, as a task may reach it on Airflow 3.

Two transports behind one interface, ``AirflowApi.call(method, path, body, query)``, with paths
relative to ``/api/v2`` (``/dags/~/dagRuns``), as MWAA's ``InvokeRestApi`` takes them:

- :class:`MwaaRestApi`: the environment's API through ``MwaaHook.invoke_rest_api`` (amazon
  provider; the caller's role needs ``airflow:InvokeRestApi`` on the environment);
- :class:`HttpRestApi`: an API server over HTTP (the local ``make airflow``/docker compose one,
  or an in-process ``starlette.testclient.TestClient`` of Airflow's FastAPI app in tests).

A non-2xx answer raises :class:`AirflowApiError` carrying the status, so callers can treat
``409 Conflict`` (already exists / already in that state) as done.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

API_PREFIX = "/api/v2"
PAGE_LIMIT = 100  # [api] maximum_page_limit's default: the API never returns more per page


class AirflowApiError(RuntimeError):
    """A REST call answered ``status``; the message has the method, path and the API's detail."""

    def __init__(self, method: str, path: str, status: int, detail: Any):
        super().__init__(f"{method} {path} answered {status}: {detail}")
        self.status = status


class AirflowApi(Protocol):
    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The JSON answer of ``method path`` (``{}`` for an empty body); AirflowApiError if not 2xx."""
        ...


class HttpRestApi:
    """The REST API of an API server reached over HTTP with an ``httpx.Client``.

    ``client`` carries the base URL and any auth header (e.g. ``Authorization: Bearer <JWT>``
    from ``POST /auth/token``); locally the simple auth manager runs with
    ``SIMPLE_AUTH_MANAGER_ALL_ADMINS`` and needs none.
    """

    def __init__(self, client: Any):
        self._client = client

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self._client.request(method, API_PREFIX + path, json=body, params=query)
        if response.status_code >= 300:
            raise AirflowApiError(method, path, response.status_code, response.text[:2000])
        return response.json() if response.content else {}


class MwaaRestApi:
    """The REST API of MWAA environment ``environment`` through ``InvokeRestApi``."""

    def __init__(self, environment: str, aws_conn_id: str | None = "aws_default", region_name: str | None = None):
        from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook

        self._environment = environment
        self._hook = MwaaHook(aws_conn_id=aws_conn_id, region_name=region_name)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            response = self._hook.invoke_rest_api(
                env_name=self._environment, path=path, method=method, body=body, query_params=query
            )
        except ClientError as err:  # RestApiClientException / RestApiServerException carry the status
            status = err.response.get("RestApiStatusCode")
            if status is None:
                raise
            raise AirflowApiError(method, path, int(status), err.response.get("RestApiResponse")) from err
        return response.get("RestApiResponse") or {}


def paged(api: AirflowApi, path: str, key: str, query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of the list endpoint ``path`` (its items under ``key``), page by page with
    ``limit``/``offset``, ordered by ``query['order_by']`` when given."""
    offset = 0
    while True:
        page = api.call("GET", path, query={**(query or {}), "limit": PAGE_LIMIT, "offset": offset})
        items = page.get(key) or []
        yield from items
        offset += len(items)
        if len(items) < PAGE_LIMIT or offset >= int(page.get("total_entries", offset)):
            return
