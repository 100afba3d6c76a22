"""The REST API of a real daemon (subprocess, loopback HTTP): auth, scope, CRUD, errors, limits."""

from __future__ import annotations

import socket
import uuid

from .conftest import count


def test_every_route_but_health_needs_a_valid_token(shared_daemon):
    d = shared_daemon
    with d.http(token="") as anon, d.http(token="mk_not-a-token") as wrong:
        assert anon.get("/v1/health").json()["status"] == "ok"
        for client in (anon, wrong):
            for method, path in (("GET", "/v1/stats"), ("GET", "/openapi.json"), ("POST", "/v1/search"),
                                 ("POST", "/mcp"), ("GET", "/v1/export"), ("GET", "/v1/notes/x")):
                r = client.request(method, path, json={})
                assert r.status_code == 401, (method, path, r.text)
                assert r.json()["error"] == "AuthError" and r.headers["www-authenticate"].startswith("Bearer")
    with d.http() as h:
        spec = h.get("/openapi.json").json()
        assert {"/v1/notes", "/v1/notes:batch", "/v1/notes/{note_id}", "/v1/search", "/v1/notes/{note_id}/related",
                "/v1/notes/{note_id}/history", "/v1/export", "/v1/stats", "/v1/health", "/v1/sources"} <= set(spec["paths"])


def test_only_loopback_hosts_and_same_origin_requests(shared_daemon):
    d = shared_daemon
    with d.http() as h:
        port = h.base_url.port
        assert h.get("/v1/stats", headers={"Host": "evil.example:80"}).status_code == 403  # DNS rebinding
        assert h.get("/v1/stats", headers={"Host": f"localhost:{port}"}).status_code == 200
        r = h.post("/v1/notes", json={"content": "x"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "CrossOrigin"
        assert h.post("/v1/notes", json={"content": "x"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        same = h.get("/v1/stats", headers={"Origin": f"http://127.0.0.1:{port}"})
        assert same.status_code == 200
        assert not any(k.lower().startswith("access-control") for k in same.headers)  # no CORS, let alone '*'
        pre = h.options("/v1/notes", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers


def test_notes_roundtrip_with_versions(shared_daemon):
    d = shared_daemon
    user = f"crud-{uuid.uuid4().hex[:6]}"
    with d.http() as h:
        r = h.post("/v1/notes", json={"content": "Alice moved to Lisbon in May", "user_id": user,
                                      "metadata": {"src": "chat", "memkit_client": "spoofed"}})
        assert r.status_code == 201, r.text
        a = r.json()
        assert a["metadata"] == {"src": "chat", "memkit_client": "default"}  # the writer is the token's client
        b = h.post("/v1/notes:batch", json={"items": ["Alice works at a fintech startup in Lisbon",
                                                      {"content": "Bob plays the cello", "tags": ["music"]}],
                                            "user_id": user}).json()
        assert [n["user_id"] for n in b] == [user, user]
        got = h.get(f"/v1/notes/{a['id']}")
        version = got.json()["version"]  # the new notes may have evolved it (its tags) already
        assert got.json()["content"] == a["content"] and got.headers["etag"] == f'"{version}"'
        hits = h.post("/v1/search", json={"q": "where does Alice live?", "limit": 2, "user_id": user}).json()
        assert hits[0]["note"]["id"] == a["id"] and set(hits[0]["scores"]) >= {"dense", "lexical"}
        ok = h.patch(f"/v1/notes/{a['id']}", json={"content": "Alice moved to Porto"},
                     headers={"If-Match": got.headers["etag"]})
        assert ok.status_code == 200 and ok.json()["version"] == version + 1
        # a second agent that read the same version: refused, not silently overwriting the first
        stale = h.patch(f"/v1/notes/{a['id']}", json={"content": "Alice moved to Faro"},
                        headers={"If-Match": got.headers["etag"]})
        assert stale.status_code == 409 and stale.json()["error"] == "ConflictError"
        also_stale = h.patch(f"/v1/notes/{a['id']}", json={"tags": ["x"], "expected_version": version})
        assert also_stale.status_code == 409
        assert h.get(f"/v1/notes/{a['id']}").json()["content"] == "Alice moved to Porto"  # nothing overwritten
        assert h.post("/v1/links", json={"src": a["id"], "dst": b[1]["id"]}).status_code == 204
        assert b[1]["id"] in {n["id"] for n in h.get(f"/v1/notes/{a['id']}/related").json()}
        events = h.get(f"/v1/notes/{a['id']}/history").json()
        assert events[0]["event"] == "add" and "update" in [e["event"] for e in events]
        export = h.get("/v1/export", params={"user_id": user})
        assert export.status_code == 200 and int(export.headers["x-memkit-notes"]) == 3
        assert sum('"note"' in line[:10] for line in export.text.splitlines()) == 3
        assert h.delete(f"/v1/notes/{b[0]['id']}").status_code == 204
        missing = h.get(f"/v1/notes/{b[0]['id']}")
        assert missing.status_code == 404 and missing.json() == {"error": "NotFoundError",
                                                                 "message": f"no note with id {b[0]['id']!r}"}
        assert h.get("/v1/stats").json()["notes"] >= 2


def test_a_retried_request_with_the_same_idempotency_key_adds_one_note(shared_daemon):
    d = shared_daemon
    user = f"idem-{uuid.uuid4().hex[:6]}"
    key = uuid.uuid4().hex
    body = {"content": "the retried note", "user_id": user}
    with d.http() as h:
        first = h.post("/v1/notes", json=body, headers={"Idempotency-Key": key})
        again = h.post("/v1/notes", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
        other = h.post("/v1/notes", json={**body, "content": "another note"}, headers={"Idempotency-Key": key})
        assert other.status_code == 409 and "Idempotency-Key" in other.json()["message"]
        batch = {"items": ["one", "two", "three"], "user_id": user}
        ids = [h.post("/v1/notes:batch", json=batch, headers={"Idempotency-Key": key + "b"}).json() for _ in range(3)]
        assert ids[0] == ids[1] == ids[2]
    assert count(d, user) == 4


def test_bad_requests_get_4xx_and_change_nothing(shared_daemon):
    d = shared_daemon
    user = f"bad-{uuid.uuid4().hex[:6]}"
    with d.http() as h:
        before = h.get("/v1/stats").json()["notes"]
        cases = [
            (h.post("/v1/notes", content=b'{"content": ', headers={"content-type": "application/json"}), 400),
            (h.post("/v1/notes", json={"content": 123, "user_id": user}), 400),
            (h.post("/v1/notes", json={"content": "x", "user_id": user, "tags": "not-a-list"}), 400),
            (h.post("/v1/notes", json={"content": "x", "user_id": user, "colour": "red"}), 400),
            (h.post("/v1/notes", json={"content": "   ", "user_id": user}), 400),
            (h.post("/v1/notes:batch", json={"items": ["fine", {"content": None}], "user_id": user}), 400),
            (h.post("/v1/notes:batch", json={"items": ["fine", {"content": "x", "valid_from": "yesterday"}]}), 400),
            (h.post("/v1/search", json={"query": "x", "k": 0}), 400),
            (h.post("/v1/search", json={"query": "x", "filters": {"n": {"$bad": 1}}}), 400),
            (h.patch("/v1/notes/nope", json={"content": "x"}), 404),
            (h.patch("/v1/notes/nope", json={"content": "x"}, headers={"If-Match": "banana"}), 400),
        ]
        for i, (r, status) in enumerate(cases):
            assert r.status_code == status, (i, r.status_code, r.text[:300])
            assert set(r.json()) == {"error", "message"} and "\n" not in r.json()["message"], (i, r.text[:300])
        assert "invalid JSON" in cases[0][0].json()["message"]
        assert cases[1][0].json()["message"] == "content: Input should be a valid string"
        assert h.get("/v1/stats").json()["notes"] == before
        # over the daemon's 1 MiB limit: with a Content-Length, and chunked (no length)
        assert _raw_post(d, b"Content-Length: 2000000\r\n", []).startswith(b"HTTP/1.1 413")
        chunks = [b"%x\r\n" % (1 << 16) + b"x" * (1 << 16) + b"\r\n"] * 20 + [b"0\r\n\r\n"]
        assert _raw_post(d, b"Transfer-Encoding: chunked\r\n", chunks).startswith(b"HTTP/1.1 413")
        assert h.post("/v1/notes", json={"content": "y" * 900_000, "user_id": user}).status_code == 201  # under it
        assert h.get("/v1/stats").json()["notes"] == before + 1


def _raw_post(d, header: bytes, chunks: list[bytes]) -> bytes:
    port = int(d.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + d.token.encode() +
                  b"\r\nContent-Type: application/json\r\n" + header + b"\r\n")
        try:
            for c in chunks:
                s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):  # the daemon answered and closed before the end
            pass
        return s.recv(64)


def test_a_user_limited_token_never_reaches_another_users_notes(shared_daemon):
    d = shared_daemon
    tag = uuid.uuid4().hex[:6]
    alice, bob = f"alice-{tag}", f"bob-{tag}"
    tok_a = d.tokens().create(f"agent-a-{tag}", user_id=alice)
    tok_b = d.tokens().create(f"agent-b-{tag}", user_id=bob, agent_id="helper")
    with d.http() as owner:
        secret = owner.post("/v1/notes", json={"content": "Bob's bank PIN is 4711", "user_id": bob,
                                               "agent_id": "helper"}).json()
    with d.http(tok_a) as a, d.http(tok_b) as b:
        mine = a.post("/v1/notes", json={"content": "Alice's PIN is written nowhere"}).json()
        assert mine["user_id"] == alice and mine["metadata"]["memkit_client"] == f"agent-a-{tag}"
        assert b.post("/v1/notes", json={"content": "x"}).json()["agent_id"] == "helper"
        r = a.post("/v1/notes", json={"content": "planted", "user_id": bob})
        assert r.status_code == 403 and r.json()["error"] == "PermissionDeniedError"
        assert a.post("/v1/notes:batch", json={"items": [{"content": "x", "user_id": bob}]}).status_code == 403
        assert a.post("/v1/search", json={"query": "PIN", "user_id": bob}).status_code == 403
        hits = a.post("/v1/search", json={"query": "bank PIN", "k": 50}).json()
        assert hits and {h["note"]["user_id"] for h in hits} == {alice}
        sid = secret["id"]
        for method, path, body in (("GET", f"/v1/notes/{sid}", None), ("GET", f"/v1/notes/{sid[:8]}", None),
                                   ("PATCH", f"/v1/notes/{sid}", {"content": "hacked"}),
                                   ("DELETE", f"/v1/notes/{sid}", None), ("GET", f"/v1/notes/{sid}/related", None),
                                   ("GET", f"/v1/notes/{sid}/history", None), ("GET", f"/v1/notes/{sid}/explore", None),
                                   ("POST", "/v1/links", {"src": mine["id"], "dst": sid}),
                                   ("GET", f"/v1/ids/{sid}", None)):
            r = a.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert a.post("/v1/ids:existing", json={"ids": [sid, mine["id"]]}).json() == {"ids": [mine["id"]]}
        assert {n["user_id"] for n in a.get("/v1/notes", params={"limit": 1000}).json()} == {alice}
        assert a.get("/v1/notes", params={"user_id": bob}).status_code == 403
        export = a.get("/v1/export").text
        assert "4711" not in export and mine["id"] in export
        assert a.get("/v1/stats").json()["notes"] == 1
        assert a.post("/v1/undo/1").status_code == 403 and a.post("/v1/reindex").status_code == 403
        assert a.post("/v1/sources", json={"path": "/etc"}).status_code == 403
        assert a.post("/v1/import", json={"path": "/etc/passwd"}).status_code == 403
        # the agent-limited token of bob sees bob's helper notes only
        assert b.get(f"/v1/notes/{sid}").json()["content"] == "Bob's bank PIN is 4711"
    with d.http() as owner:
        assert owner.get(f"/v1/notes/{sid}").json()["content"] == "Bob's bank PIN is 4711"  # untouched
    d.tokens().revoke(f"agent-a-{tag}")
    with d.http(tok_a) as a:
        assert a.get("/v1/stats").status_code == 401  # revoked: refused at once


def test_fastapi_telemetry_is_off_even_when_the_environment_asks_for_export(monkeypatch):
    import inspect

    from fastapi import FastAPI

    from memkit.server.app import _no_telemetry

    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")  # set for some other app of the user's
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        assert _no_telemetry() == {}  # this FastAPI records nothing
        return
    settings = FastAPI(**_no_telemetry())._telemetry
    assert settings["auto_configure"] is False
    assert not any(settings[k] for k in ("tracing", "metrics", "logs", "operation_spans"))
    assert FastAPI()._telemetry["auto_configure"] is True  # what the daemon would do without it
