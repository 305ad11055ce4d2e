"""The hub's HTTP API described as OpenAPI 3.1 (served at ``/openapi.json``): the sync
routes, enrolment and the voting station's routes, with the errors every route may answer."""

from __future__ import annotations

from typing import Any

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "odekake hub",
        "version": "1",
        "description": (
            "Sync service of the mobile city hall. Every /v1 and /vote request is signed by "
            "an enrolled device: headers X-Odekake-Device, X-Odekake-Timestamp (Unix "
            "seconds, digits), X-Odekake-Nonce (32 hex), X-Odekake-Body-SHA256 (64 hex) and "
            "X-Odekake-Signature = base64 Ed25519 over 'odekake-request-v2\\nMETHOD\\n"
            "PATH?QUERY\\nTIMESTAMP\\nNONCE\\nDEVICE\\nBODY-SHA256'. Every answer carries "
            "X-Odekake-Hub-Signature = base64 Ed25519 (hub key) over 'odekake-answer-v1\\n"
            "DEVICE\\nREQUEST-SIGNATURE\\nSTATUS\\nANSWER-BODY-SHA256'. Errors are "
            'JSON {"error": <one Japanese line>}: 400 malformed headers or body, 401 '
            "unknown device or bad signature, 403 revoked device, 413 body over the "
            "route's cap, 422 bundle refused (nothing stored), 503 hub busy (retry)."
        ),
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "Health for monitoring (unsigned; counts and times only)",
                "responses": {
                    "200": {"description": "status ok or warning, with the reasons"},
                    "503": {"description": "the database cannot be read"},
                },
            }
        },
        "/v1/ack": {
            "get": {
                "summary": "Acknowledged high-water mark of the calling device",
                "responses": {
                    "200": {
                        "description": "mark",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "device_id": {"type": "string"},
                                        "acked_seq": {"type": "integer"},
                                        "acked_hash": {"type": "string"},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/v1/push": {
            "post": {
                "summary": "Ingest one record bundle (JSON lines, signed trailer)",
                "requestBody": {
                    "required": True,
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": {
                        "description": "Ingest result: stored, duplicates, held, quarantined, acked_seq, gaps",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "422": {"description": "Bundle refused; nothing stored"},
                },
            }
        },
        "/v1/snapshot": {
            "get": {
                "summary": "Versioned master data and this van's plan",
                "parameters": [
                    {
                        "name": "have",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "SHA-256 of the snapshot the van already has",
                    }
                ],
                "responses": {"200": {"description": "snapshot or {unchanged: true}"}},
            }
        },
        "/v1/status": {
            "get": {
                "summary": "The calling device's status at the hub",
                "responses": {"200": {"description": "status"}},
            }
        },
        "/v1/enrol": {
            "post": {
                "summary": "Redeem a one-time enrolment code (unsigned; body at most 4 KiB)",
                "description": (
                    "Body {code_id, device_id, public_key, nonce (32 hex), proof = hex "
                    "HMAC-SHA256(K, 'odekake-enrol-request-v1\\nCODE_ID\\nDEVICE\\nPUBLIC_KEY"
                    "\\nNONCE')}, K = SHA-256('odekake-enrol-key-v1\\n' + code). Answer "
                    "{hub_key, device_id, van_id, outcome, proof = HMAC(K, 'odekake-enrol-"
                    "answer-v1\\nCODE_ID\\nHUB_KEY\\nDEVICE\\nPUBLIC_KEY\\nNONCE\\nVAN\\n"
                    "OUTCOME')}. Refusals name a reason: malformed, unknown, wrong, expired, "
                    "used, cancelled, burnt, other_van (403), throttled (429)."
                ),
                "responses": {
                    "200": {"description": "registered, with the hub key and its proof"},
                    "403": {"description": "code refused (reason named)"},
                    "429": {"description": "too many failures from this address"},
                },
            }
        },
    },
}


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
_ERRORS = {
    "400": {"description": "Bad request (one Japanese line in error/message)", **_ERROR},
    "401": {"description": "Unknown device or bad signature", **_ERROR},
    "403": {"description": "Revoked device, or body signed by another device", **_ERROR},
    "409": {"description": "Request id reused with different content", **_ERROR},
    "413": {"description": "Body too large", **_ERROR},
    "503": {"description": "Hub busy: retry later", **_ERROR},
}
_VOTE_PATHS: dict[str, Any] = {
    "/vote/checkin": {
        "post": {
            "summary": "Atomic roll check-in (idempotent per request_id)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "request_id",
                                "election_id",
                                "voter_no",
                                "station_id",
                                "clerk_id",
                                "device_id",
                                "reason",
                            ],
                            "properties": {
                                k: {"type": "string"}
                                for k in (
                                    "request_id",
                                    "election_id",
                                    "voter_no",
                                    "station_id",
                                    "clerk_id",
                                    "device_id",
                                    "reason",
                                )
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "confirmed, already_voted or refused", **_ERROR},
                "422": {"description": "Refused (not on the roll, station closed …)", **_ERROR},
            },
        }
    },
    "/vote/release": {
        "post": {
            "summary": "Release a check-in whose ballot was withdrawn (交付取りやめ)",
            "responses": {
                "200": {"description": "released", **_ERROR},
                "422": {"description": "Refused (no such check-in, other device …)", **_ERROR},
            },
        }
    },
    "/vote/status": {
        "get": {
            "summary": "A voter's or an election's check-in status",
            "parameters": [
                {
                    "name": "election_id",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {
                    "name": "voter_no",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "responses": {"200": {"description": "status", **_ERROR}},
        }
    },
    "/vote/health": {
        "get": {
            "summary": "Readiness of the voting routes",
            "responses": {"200": {"description": "ok"}},
        }
    },
}
OPENAPI["paths"].update(_VOTE_PATHS)
for _path, _item in OPENAPI["paths"].items():
    if _path.startswith(("/v1/", "/vote/")) and _path != "/vote/health":
        for _op in _item.values():
            for _code, _resp in _ERRORS.items():
                _op["responses"].setdefault(_code, _resp)
