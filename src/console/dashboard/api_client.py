"""The dashboard's way to the API: an httpx client that carries the session's cookie, so the API
and the dashboard cannot disagree about who may do what."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """A problem+json answer from the API, ready to show in a snackbar."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.request_id: str | None = problem.get("request_id")
        super().__init__(self.message)

    @property
    def problem_slug(self) -> str:
        return str(self.problem.get("type", "")).rsplit("/", 1)[-1]

    @property
    def message(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "Request failed")


class APIClient:
    """Talks to /api/v1 as the signed-in user (cookie) from the console's own origin."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None,
        base_url: str,
        origin: str,
        session_cookie: str,
        binding_cookie: str,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=base_url,
            headers={"Origin": origin, "Accept": "application/json"},
            timeout=httpx.Timeout(15.0),
            follow_redirects=False,
        )
        self._session_cookie = session_cookie
        self._binding_cookie = binding_cookie
        self._cookies: dict[str, str] = {}

    def use_session(self, value: str | None) -> None:
        self._set(self._session_cookie, value)

    def use_binding(self, value: str | None) -> None:
        self._set(self._binding_cookie, value)

    @property
    def has_session(self) -> bool:
        return self._session_cookie in self._cookies

    def _set(self, name: str, value: str | None) -> None:
        if value:
            self._cookies[name] = value
        else:
            self._cookies.pop(name, None)

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON of a 2xx answer (None for 204); ApiError for a problem."""
        headers = dict(kwargs.pop("headers", None) or {})
        if self._cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        response = await self._http.request(method, path, headers=headers, **kwargs)
        if response.status_code == 204:
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = {"title": f"Unexpected answer ({response.status_code})"}
        if response.is_success:
            return payload
        raise ApiError(response.status_code, payload if isinstance(payload, dict) else {})

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- jobs (issue 4) ----------------------------------------------------------------------

    async def list_jobs(
        self,
        tenant: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 25,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A JobPage, newest first."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("status", status), ("kind", kind), ("cursor", cursor)):
            if value:
                params[name] = value
        return await self.get(f"/api/v1/tenants/{tenant}/jobs", params=params)

    async def get_job(self, tenant: str, job_id: str) -> dict[str, Any]:
        return await self.get(f"/api/v1/tenants/{tenant}/jobs/{job_id}")

    async def create_export(
        self, tenant: str, *, q: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        body = {k: v for k, v in (("q", q), ("status", status)) if v}
        return await self.post(f"/api/v1/tenants/{tenant}/jobs/exports", json=body)

    async def create_upload(self, tenant: str, *, filename: str, size: int) -> dict[str, Any]:
        """An UploadTicket: where the browser PUTs the file (signed, expiring, single use)."""
        return await self.post(
            f"/api/v1/tenants/{tenant}/uploads", json={"filename": filename, "size": size}
        )

    async def create_import(self, tenant: str, upload_id: str) -> dict[str, Any]:
        return await self.post(
            f"/api/v1/tenants/{tenant}/jobs/imports", json={"upload_id": upload_id}
        )

    async def cancel_job(self, tenant: str, job_id: str) -> dict[str, Any]:
        return await self.post(f"/api/v1/tenants/{tenant}/jobs/{job_id}/cancel")

    async def retry_job(self, tenant: str, job_id: str) -> dict[str, Any]:
        """The new job row (the old one stays as history)."""
        return await self.post(f"/api/v1/tenants/{tenant}/jobs/{job_id}/retry")

    async def download_link(self, tenant: str, job_id: str, file: str) -> dict[str, Any]:
        """A DownloadLink for `file` (export | report): signed, expiring, for this user."""
        return await self.post(
            f"/api/v1/tenants/{tenant}/jobs/{job_id}/download-link", params={"file": file}
        )

    # -- members, invitations, API tokens (issue 5) ------------------------------------------

    async def list_members(self, tenant: str) -> list[dict[str, Any]]:
        return await self.get(f"/api/v1/tenants/{tenant}/members")

    async def change_member_role(self, tenant: str, user_id: str, role: str) -> dict[str, Any]:
        return await self.patch(f"/api/v1/tenants/{tenant}/members/{user_id}", json={"role": role})

    async def remove_member(self, tenant: str, user_id: str) -> None:
        await self.delete(f"/api/v1/tenants/{tenant}/members/{user_id}")

    async def revoke_member_sessions(self, tenant: str, user_id: str) -> dict[str, int]:
        return await self.post(f"/api/v1/tenants/{tenant}/members/{user_id}/revoke-sessions")

    async def list_invitations(self, tenant: str) -> list[dict[str, Any]]:
        return await self.get(f"/api/v1/tenants/{tenant}/invitations")

    async def create_invitation(self, tenant: str, *, email: str, role: str) -> dict[str, Any]:
        return await self.post(
            f"/api/v1/tenants/{tenant}/invitations", json={"email": email, "role": role}
        )

    async def revoke_invitation(self, tenant: str, invitation_id: str) -> dict[str, Any]:
        return await self.delete(f"/api/v1/tenants/{tenant}/invitations/{invitation_id}")

    async def list_api_tokens(self, tenant: str) -> list[dict[str, Any]]:
        return await self.get(f"/api/v1/tenants/{tenant}/api-tokens")

    async def create_api_token(
        self, tenant: str, *, name: str, role: str, expires_at: str | None
    ) -> dict[str, Any]:
        """An ApiTokenCreated: the row plus `token`, the secret (in this answer only)."""
        body: dict[str, Any] = {"name": name, "role": role}
        if expires_at:
            body["expires_at"] = expires_at
        return await self.post(f"/api/v1/tenants/{tenant}/api-tokens", json=body)

    async def revoke_api_token(self, tenant: str, token_id: str) -> dict[str, Any]:
        return await self.delete(f"/api/v1/tenants/{tenant}/api-tokens/{token_id}")

    # -- tenant settings (issue 5) -----------------------------------------------------------

    async def get_identity_provider(self, tenant: str) -> dict[str, Any]:
        """The provider as admins see it (the client secret only as client_secret_set)."""
        return await self.get(f"/api/v1/tenants/{tenant}/identity-provider")

    async def put_identity_provider(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        """Save the provider; a body without client_secret keeps the stored one."""
        return await self.request("PUT", f"/api/v1/tenants/{tenant}/identity-provider", json=body)

    async def check_identity_provider(self, tenant: str) -> dict[str, Any]:
        """A ProviderCheck of the saved provider: ok, issuer, detail, endpoints found."""
        return await self.post(f"/api/v1/tenants/{tenant}/identity-provider/check")
