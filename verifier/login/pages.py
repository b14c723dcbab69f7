"""The HTML the bridge shows in the browser: the login page (QR + same-device button), the logout
page and errors.

Korean first, English beside it. No external resources; the page polls the session status and
moves on by itself when the wallet has answered (cross-device), or the wallet's redirect brings
the browser back (same-device).
"""

from __future__ import annotations

import json
from html import escape

__all__ = ["error_page", "login_page", "logout_page", "waiting_page"]

_STYLE = (
    "body{font-family:system-ui,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;max-width:32rem;"
    "margin:2rem auto;padding:0 1rem;color:#1b1b1b}h1{font-size:1.4rem}.en{color:#555}"
    ".qr{width:16rem;height:16rem;margin:1rem 0;border:1px solid #ddd}"
    ".btn{display:inline-block;padding:.7rem 1.2rem;background:#0b50d0;color:#fff;"
    "border-radius:.4rem;text-decoration:none}li{margin:.2rem 0}"
)


def _page(title: str, body: str, *, script: str = "") -> str:
    return (
        "<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}"
        f"{f'<script>{script}</script>' if script else ''}</body></html>"
    )


def login_page(
    *,
    client_name: str,
    session_id: str,
    cross_device_link: str,
    same_device_link: str,
    qr_url: str,
    status_url: str,
    continue_url: str,
    claim_labels: list[str],
) -> str:
    """Scan the QR with the wallet app, or open the wallet on this phone."""
    claims = "".join(f"<li>{escape(label)}</li>" for label in claim_labels)
    body = (
        "<h1>모바일 공무원증으로 로그인 <span class='en'>/ Log in with the mobile ID</span></h1>"
        f"<p><strong>{escape(client_name)}</strong> 에 로그인합니다. "
        "<span class='en'>Logging in to this system.</span></p>"
        "<p>지갑 앱으로 QR 코드를 스캔하세요. <span class='en'>Scan the QR code with your wallet "
        "app.</span></p>"
        f"<img class='qr' id='qr' alt='OpenID4VP QR' src='{escape(qr_url)}' "
        f"data-link='{escape(cross_device_link)}'>"
        f"<p><a class='btn' id='same-device' href='{escape(same_device_link)}'>"
        "이 기기의 지갑 열기 <span>/ Open the wallet on this device</span></a></p>"
        "<p>전달되는 정보 <span class='en'>/ Shared with the system:</span></p>"
        f"<ul>{claims}</ul>"
        "<p id='status' aria-live='polite'>응답을 기다리는 중… "
        "<span class='en'>Waiting for the wallet…</span></p>"
        f"<noscript><p><a href='{escape(continue_url)}'>지갑에서 제시한 후 누르세요 / "
        "Continue after presenting</a></p></noscript>"
    )
    script = (
        f"const s={_js(status_url)},c={_js(continue_url)};"
        "async function poll(){try{const r=await fetch(s,{credentials:'same-origin'});"
        "const j=await r.json();if(j.status!=='pending'){location.href=c;return}}catch(e){}"
        "setTimeout(poll,1000)}setTimeout(poll,1000);"
    )
    return _page("모바일 공무원증 로그인 / Mobile ID login", body, script=script)


def _js(value: str) -> str:
    return json.dumps(value).replace("<", "\\u003c")


def error_page(title_ko: str, title_en: str, description: str) -> str:
    body = (
        f"<h1>{escape(title_ko)} <span class='en'>/ {escape(title_en)}</span></h1>"
        f"<p class='en'>{escape(description)}</p>"
    )
    return _page(f"{title_ko} / {title_en}", body)


def waiting_page(login_url: str) -> str:
    body = (
        "<h1>아직 지갑 응답이 없습니다 "
        "<span class='en'>/ The wallet has not answered yet</span></h1>"
        f"<p><a href='{escape(login_url)}'>다시 확인 / Check again</a></p>"
    )
    return _page("대기 중 / Waiting", body)


def logout_page(*, signed_out: bool, client_name: str | None, continue_url: str | None) -> str:
    """After `end_session`: logged out (a valid hint), or the confirmation that this service
    holds no login of its own to end (no hint); a link back to the system when it asked."""
    if signed_out:
        body = (
            "<h1>로그아웃되었습니다 <span class='en'>/ You are logged out</span></h1>"
            "<p>이 모바일 공무원증으로 로그인한 업무시스템에 로그아웃을 알렸습니다. "
            "<span class='en'>The business systems you logged in to with this mobile ID have "
            "been told to end your sessions.</span></p>"
        )
    else:
        body = (
            "<h1>로그아웃 <span class='en'>/ Log out</span></h1>"
            "<p>이 로그인 서비스는 브라우저에 로그인 상태를 남기지 않습니다. 로그인할 때마다 "
            "지갑에서 확인합니다. <span class='en'>This login service keeps no signed-in state "
            "in your browser: every login asks your wallet.</span></p>"
            "<p>업무시스템의 세션은 해당 시스템에서 로그아웃하세요. <span class='en'>To end a "
            "business system's session, log out in that system.</span></p>"
        )
    if client_name is not None and continue_url is not None:
        body += (
            f"<p><a class='btn' id='continue' href='{escape(continue_url)}'>"
            f"{escape(client_name)}(으)로 돌아가기 <span>/ Back to the system</span></a></p>"
        )
    return _page("로그아웃 / Log out", body)
