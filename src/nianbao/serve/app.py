"""``nianbao serve``: offices upload through their links; the supervisor follows the round.

A Starlette app over the round store. Checks run in the batch checker's worker processes (its
limits and time budget), at most one per core at a time; the store keeps every upload with its
result in one transaction. Every page is server-rendered HTML with this server's own style sheet.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nianbao.collect import ROSTER_STATUS
from nianbao.discovery import copy_name
from nianbao.distribute import safe_file_name
from nianbao.round.checking import check_upload
from nianbao.round.distribution import office_link
from nianbao.round.export import REMINDERS_XLSX, export
from nianbao.round.store import OfficeRecord, Round, RoundError, password_ok
from nianbao.round.view import REVIEW, OfficeView, local_time, round_view
from nianbao.serve.security import LOGIN_COOKIE, SESSION_COOKIE, BodyLimit, SecurityHeaders, attachment, basic_password, sniff

HERE = Path(__file__).parent
UPLOAD_BYTES = 8 << 20  # a filled template is about 30 KB
FORM_SLACK = 64 * 1024  # what a request may carry besides the file (the multipart framing, other fields)
FORM_BYTES = 1 << 20  # any other form: 说明 for every finding of a report fit in a few KB
EXPORTS = ("汇总.xlsx", "summary.json", "summary.csv", REMINDERS_XLSX)
EVENTS = {"received": "报送", "checked": "检查", "explained": "填写说明", "explanation_accepted": "说明被接受", "explanation_rejected": "说明被驳回",
          "returned": "退回修改", "approved": "通过", "link_issued": "发放链接", "link_revoked": "链接失效", "distributed": "下发"}
COMMENTS = ("returned", "approved", "explanation_rejected")

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)


def _page(name: str, http_status: int = 200, **context) -> HTMLResponse:
    common = {"statuses": ROSTER_STATUS, "reviews": REVIEW, "events": EVENTS, "local": local_time}
    return HTMLResponse(_env.get_template(name).render(**common, **context), status_code=http_status)


def _message(text: str, status: int, back: str | None = None) -> HTMLResponse:
    return _page("message.html", status, message=text, error=status >= 400, back=back)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


class Server:
    """The app's handlers over one round store."""

    def __init__(self, store: Round, upload_bytes: int, slots: int):
        self.store = store
        self.upload_bytes = upload_bytes
        self.slots = anyio.CapacityLimiter(slots)

    async def call(self, func, *args):
        return await anyio.to_thread.run_sync(func, *args)

    # --------------------------------------------------------------------------- the office

    async def office(self, request: Request) -> OfficeRecord | None:
        token = request.path_params["token"]
        record = await self.call(self.store.office_by_token, token)
        if record is None:  # logged without the token itself
            client = request.client.host if request.client else ""
            await self.call(lambda: self.store.log("bad_token", actor="anonymous", client=client, path=request.url.path.split("/")[1],
                                                   token=hashlib.sha256(token.encode()).hexdigest()[:12]))
        return record

    def _office_view(self, record: OfficeRecord) -> OfficeView:
        return round_view(self.store, only=record.id).offices[0]

    async def office_page(self, request: Request) -> Response:
        record = await self.office(request)
        if record is None:
            return _message("没有这个页面：链接有误或已失效，请向政务公开办索取新的链接。", 404)
        view = await self.call(self._office_view, record)
        settings = await self.call(self.store.settings)
        history = await self.call(self.store.submissions, record.id)
        events = await self.call(self.store.events, record.id)
        explanations = await self.call(self.store.explanations, record.id)
        return _page("office.html", office=record.office, record=record, view=view, token=request.path_params["token"],
                     year=settings.get("year", ""), deadline=settings.get("deadline"), grace=settings.get("grace"), history=history,
                     comments=[e for e in events if e["kind"] in COMMENTS], explanations=explanations, cap_mb=self.upload_bytes >> 20)

    async def _body(self, request: Request) -> bytes | None:
        """The request body, or None as soon as it is past the cap (before anything is parsed)."""
        declared = request.headers.get("content-length")
        if declared and (not declared.isdigit() or int(declared) > self.upload_bytes + FORM_SLACK):
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.upload_bytes + FORM_SLACK:
                return None
        return bytes(body)

    async def _upload_file(self, request: Request, body: bytes) -> UploadFile | None:
        async def replay():
            yield body

        try:
            form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=4, max_part_size=FORM_SLACK).parse()
        except MultiPartException:
            return None
        file = form.get("file")
        return file if isinstance(file, UploadFile) else None

    async def upload(self, request: Request) -> Response:
        record = await self.office(request)
        if record is None:
            return _message("没有这个页面：链接有误或已失效。", 404)
        answer = _wants_json(request)

        def refuse(text: str, status: int) -> Response:
            return JSONResponse({"error": text}, status) if answer else _message(text, status, request.url.path)

        body = await self._body(request)
        if body is None:
            return refuse(f"文件太大：上传的文件不能超过 {self.upload_bytes >> 20} MB", 413)
        file = await self._upload_file(request, body)
        if file is None:
            return refuse("没有收到文件：请选择要上传的工作簿", 400)
        data = await file.read()
        suffix = sniff(data)
        if suffix is None or not data:
            return refuse("上传的文件不是 Excel 工作簿（.xlsx 或 .xlsm）：请上传填好的模板", 415)
        stem = Path(file.filename or "").stem
        name = safe_file_name(stem or Path(record.template_name or "报告").stem) + suffix
        async with self.slots:
            sub_id, result = await self.call(check_upload, self.store, record, data, name)
        token = request.path_params["token"]
        if not answer:
            return RedirectResponse(f"/o/{token}#result", 303)
        copy = f"/o/{token}/copy/{sub_id}" if (await self.call(self.store.submission, sub_id)).copy else None
        return JSONResponse({"submission": sub_id, "status": result.status, "reason": result.reason, "annotated_copy": copy,
                             "findings": [{"id": f.id, "rule": f.rule, "severity": f.severity, "message": f.message, "sheet": f.sheet,
                                           "cell": f.cell, "explanation": f.explanation} for f in result.findings]})

    async def explain(self, request: Request) -> Response:
        record = await self.office(request)
        if record is None:
            return _message("没有这个页面：链接有误或已失效。", 404)
        form = await request.form(max_files=0, max_fields=2000)
        view = await self.call(self._office_view, record)
        open_ids = {f.id for f in view.result.findings if f.severity == "提示"} if view.result else set()
        texts = {key[len("explain-"):]: str(value) for key, value in form.items() if key.startswith("explain-") and key[len("explain-"):] in open_ids}
        await self.call(self.store.explain, record.id, texts)
        return RedirectResponse(f"/o/{request.path_params['token']}#result", 303)

    async def office_file(self, request: Request) -> Response:
        record = await self.office(request)
        if record is None:
            return _message("没有这个页面：链接有误或已失效。", 404)
        if request.path_params.get("what") == "template" and record.template is not None:
            return attachment(await self.call(self.store.blob, record.template), record.template_name)
        if "id" not in request.path_params:
            return _message("没有这个文件", 404)
        sub = await self.call(self.store.submission, request.path_params["id"])
        if sub is None or sub.office_id != record.id or sub.copy is None:
            return _message("没有这个文件", 404)
        return attachment(await self.call(self.store.blob, sub.copy), copy_name(Path(sub.name)))

    # ----------------------------------------------------------------------- the supervisor

    async def csrf(self, request: Request) -> str | None:
        """The session's CSRF token, for a request with a live session cookie."""
        return await self.call(self.store.session, request.cookies.get(SESSION_COOKIE))

    async def supervisor(self, request: Request, form: bool = False) -> str | None:
        """The CSRF token of a logged-in supervisor (for a form, only when the form carries it); or
        "basic" for HTTP Basic credentials; None otherwise."""
        csrf = await self.csrf(request)
        if csrf is not None:
            if not form:
                return csrf
            given = (await request.form(max_files=0)).get("csrf", "")
            return csrf if hmac.compare_digest(str(given), csrf) else None
        password = basic_password(request.headers.get("authorization"))
        if password is not None and not form and await self.call(password_ok, password, self.store.setting("admin_password")):
            return "basic"
        return None

    def _login_required(self, request: Request) -> Response:
        if request.url.path.startswith("/api/") or basic_password(request.headers.get("authorization")) is not None:
            return JSONResponse({"error": "需要政务公开办的用户名和密码"}, 401, headers={"WWW-Authenticate": 'Basic realm="nianbao"'})
        return RedirectResponse("/login", 303)

    async def login_page(self, request: Request, message: str | None = None, status: int = 200) -> Response:
        csrf = secrets.token_urlsafe(24)
        response = _page("login.html", status, csrf=csrf, message=message)
        response.set_cookie(LOGIN_COOKIE, csrf, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/login")
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form(max_files=0)
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
            return await self.login_page(request, "页面已过期，请重新登录", 400)
        if not await self.call(password_ok, str(form.get("password", "")), self.store.setting("admin_password")):
            client = request.client.host if request.client else ""
            await self.call(lambda: self.store.log("login_failed", actor="anonymous", client=client))
            await anyio.sleep(1)  # on top of scrypt's cost: guessing stays slow
            return await self.login_page(request, "密码不正确", 401)
        token, _ = await self.call(self.store.login)
        response = RedirectResponse("/admin", 303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        if await self.supervisor(request, form=True) is not None:
            await self.call(self.store.logout, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def roster_page(self, request: Request) -> Response:
        csrf = await self.supervisor(request)
        if csrf is None:
            return self._login_required(request)
        view = await self.call(round_view, self.store)
        settings = await self.call(self.store.settings)
        q, status, kind = (request.query_params.get(k, "").strip() for k in ("q", "status", "kind"))
        shown = [v for v in view.offices if _shown(v, q, status, kind)]
        counts = {key: sum(v.status == key for v in view.offices) for key in ROSTER_STATUS}
        kinds = sorted({v.record.office.kind for v in view.offices if v.record.office.kind})
        return _page("admin.html", csrf=csrf, year=view.year or "", shown=shown, total=len(view.offices), counts=counts, kinds=kinds,
                     q=q, status=status, kind=kind, deadline=settings.get("deadline"), grace=settings.get("grace"))

    async def office_admin(self, request: Request, new_link: str | None = None, csrf: str | None = None) -> Response:
        csrf = csrf or await self.supervisor(request)
        if csrf is None:
            return self._login_required(request)
        record = await self.call(self.store.office, request.path_params["id"])
        if record is None:
            return _message("没有这个机关", 404, "/admin")
        return _page("admin_office.html", csrf=csrf, year=self.store.year or "", office=record.office, record=record,
                     view=await self.call(self._office_view, record), history=await self.call(self.store.submissions, record.id),
                     log=await self.call(self.store.events, record.id, 200), explanations=await self.call(self.store.explanations, record.id),
                     new_link=new_link)

    async def review(self, request: Request) -> Response:
        if await self.supervisor(request, form=True) is None:
            return _message("页面已过期：请刷新后再提交", 403, "/admin")
        form = await request.form(max_files=0)
        decision = form.get("decision")
        if decision not in REVIEW:
            return _message("请选择退回修改或通过", 400, "/admin")
        await self.call(self.store.review, request.path_params["id"], decision, str(form.get("comment", "")))
        return RedirectResponse(f"/admin/office/{request.path_params['id']}", 303)

    async def decide(self, request: Request) -> Response:
        if await self.supervisor(request, form=True) is None:
            return _message("页面已过期：请刷新后再提交", 403, "/admin")
        form = await request.form(max_files=0)
        try:
            office_id = await self.call(self.store.decide_explanation, request.path_params["id"], form.get("decision") == "accepted",
                                        str(form.get("comment", "")))
        except RoundError as exc:
            return _message(str(exc), 404, "/admin")
        return RedirectResponse(f"/admin/office/{office_id}", 303)

    async def relink(self, request: Request) -> Response:
        csrf = await self.supervisor(request, form=True)
        if csrf is None:
            return _message("页面已过期：请刷新后再提交", 403, "/admin")
        record = await self.call(self.store.office, request.path_params["id"])
        if record is None:
            return _message("没有这个机关", 404, "/admin")
        token = await self.call(self.store.issue_link, record.id, "supervisor")
        base = self.store.setting("url") or str(request.base_url)
        return await self.office_admin(request, office_link(base, token), csrf)

    async def revoke(self, request: Request) -> Response:
        if await self.supervisor(request, form=True) is None:
            return _message("页面已过期：请刷新后再提交", 403, "/admin")
        record = await self.call(self.store.office, request.path_params["id"])
        if record is None:
            return _message("没有这个机关", 404, "/admin")
        await self.call(self.store.revoke_links, record.id)
        return RedirectResponse(f"/admin/office/{record.id}", 303)

    async def stored_file(self, request: Request) -> Response:
        if await self.supervisor(request) is None:
            return self._login_required(request)
        sub = await self.call(self.store.submission, request.path_params["id"])
        copy = request.path_params["what"] == "copy"
        if sub is None or request.path_params["what"] not in ("file", "copy") or (copy and sub.copy is None):
            return _message("没有这个文件", 404, "/admin")
        if copy:
            return attachment(await self.call(self.store.blob, sub.copy), copy_name(Path(sub.name)))
        return attachment(await self.call(self.store.blob, sub.digest), sub.name)

    async def export(self, request: Request) -> Response:
        if await self.supervisor(request) is None:
            return self._login_required(request)
        name = request.path_params["name"]
        if name not in EXPORTS:
            return _message("没有这个导出文件", 404, "/admin")

        def write() -> bytes:
            with tempfile.TemporaryDirectory(prefix="nianbao-export-") as tmp:
                written = {p.name: p for p in export(self.store, Path(tmp))}
                return written[name].read_bytes()

        return attachment(await self.call(write), name)

    async def api_round(self, request: Request) -> Response:
        if await self.supervisor(request) is None:
            return self._login_required(request)
        view = await self.call(round_view, self.store)
        return JSONResponse({"version": 1, "year": view.year, "roster": [v.to_dict() for v in view.offices]})


def _shown(view: OfficeView, q: str, status: str, kind: str) -> bool:
    office = view.record.office
    if q and q not in office.name and q not in office.code:
        return False
    if kind and office.kind != kind:
        return False
    if status == "fix":
        return view.needs_fixing
    if status == "late":
        return bool(view.late)
    return not status or view.status == status


def create_app(store: Round, *, upload_bytes: int = UPLOAD_BYTES, slots: int | None = None) -> Starlette:
    server = Server(store, upload_bytes, slots or os.cpu_count() or 1)
    routes = [
        Route("/", lambda request: RedirectResponse("/admin", 303)),
        Route("/o/{token}", server.office_page, methods=["GET"]),
        Route("/o/{token}", server.upload, methods=["POST"]),
        Route("/o/{token}/explain", server.explain, methods=["POST"]),
        Route("/o/{token}/{what:str}", server.office_file, methods=["GET"]),
        Route("/o/{token}/copy/{id:int}", server.office_file, methods=["GET"]),
        Route("/login", server.login_page, methods=["GET"]),
        Route("/login", server.login, methods=["POST"]),
        Route("/logout", server.logout, methods=["POST"]),
        Route("/admin", server.roster_page, methods=["GET"]),
        Route("/admin/office/{id:int}", server.office_admin, methods=["GET"]),
        Route("/admin/office/{id:int}/review", server.review, methods=["POST"]),
        Route("/admin/office/{id:int}/link", server.relink, methods=["POST"]),
        Route("/admin/office/{id:int}/revoke", server.revoke, methods=["POST"]),
        Route("/admin/explanation/{id:int}", server.decide, methods=["POST"]),
        Route("/admin/{what:str}/{id:int}", server.stored_file, methods=["GET"]),
        Route("/admin/export/{name:str}", server.export, methods=["GET"]),
        Route("/api/round", server.api_round, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit, limit=FORM_BYTES)])


def run(store: Round, host: str, port: int) -> None:
    """Serve until stopped. Worker processes fork from a clean server process that has the checker
    loaded (forkserver), never from this one with its threads."""
    import multiprocessing

    import uvicorn

    multiprocessing.set_forkserver_preload(["nianbao.batch", "nianbao.serve.warm"])
    multiprocessing.set_start_method("forkserver", force=True)
    uvicorn.run(create_app(store), host=host, port=port, log_level="warning", server_header=False)
