"""The demo site: three pages of a small shop, linked from each other, each with the
one-line widget snippet.

- ``/demo``: a product page (the tenant's configured triggers decide what shows; the
  ``make run`` setup gives the demo tenant an invitation there);
- ``/demo/checkout``: a plain page, to see a chat carry on from one page to the next;
- ``/demo/embedded``: the chat inside the page (``data-embed="#help-chat"`` on the
  snippet), whatever the tenant's own display mode.

``?tenant=T`` picks the tenant and is kept in the links.
"""

from __future__ import annotations

import html

from aiohttp import web

from presentation.public_http import TENANT_KEY
from presentation.settings import WebSettings


def add_demo_routes(router: web.UrlDispatcher, settings: WebSettings) -> None:
    pages = DemoPages(settings)
    router.add_get("/demo", pages.product)
    router.add_get("/demo/checkout", pages.checkout)
    router.add_get("/demo/embedded", pages.embedded)


class DemoPages:
    def __init__(self, settings: WebSettings) -> None:
        self._settings = settings

    async def product(self, request: web.Request) -> web.Response:
        return self._page(request, "Burr Grinder Pro", _PRODUCT, embed=None)

    async def checkout(self, request: web.Request) -> web.Response:
        return self._page(request, "Checkout", _CHECKOUT, embed=None)

    async def embedded(self, request: web.Request) -> web.Response:
        return self._page(request, "Help centre", _EMBEDDED, embed="#help-chat")

    def _page(
        self, request: web.Request, title: str, body: str, *, embed: str | None
    ) -> web.Response:
        tenant = request.query.get("tenant", "default")
        if not TENANT_KEY.fullmatch(tenant):
            raise web.HTTPBadRequest(text="tenant must be 1 to 64 letters, digits, '.', '_' or '-'")
        # Unset only where no composition root filled it in (tests): this request's address.
        public = self._settings.public_url or f"{request.scheme}://{request.host}"
        attrs = f' data-tenant="{tenant}"'
        if embed is not None:
            attrs += f' data-embed="{html.escape(embed)}"'
        install = f'<script async src="{public}/widget/loader.js"{attrs}></script>'
        # Relative here so the demo works under whatever host name it was opened with; the
        # snippet shown for other sites carries the public URL.
        snippet = f'<script async src="/widget/loader.js"{attrs}></script>'
        query = "" if tenant == "default" else f"?tenant={tenant}"
        page = _LAYOUT.format(
            title=html.escape(title),
            body=body.format(query=query),
            query=query,
            snippet=snippet,
            install=html.escape(install),
        )
        return web.Response(text=page, content_type="text/html", charset="utf-8")


_PRODUCT = """
  <div class="product">
    <div class="photo" role="img" aria-label="Coffee grinder"></div>
    <div>
      <h1>Burr Grinder Pro</h1>
      <p>Forty grind settings, a quiet motor and a hopper that holds a week of beans.
         Questions about it? The chat button in the corner reaches our team.</p>
      <p><strong>$129.00</strong></p>
      <a class="buy" href="/demo/checkout{query}">Add to cart and check out</a>
    </div>
  </div>
"""

_CHECKOUT = """
  <h1>Checkout</h1>
  <p>One Burr Grinder Pro, $129.00. A chat you started on another page of this shop
     carries on here, open or minimised as you left it.</p>
  <p><a class="buy" href="/demo{query}">Back to the shop</a></p>
"""

_EMBEDDED = """
  <h1>Help centre</h1>
  <p>The chat below is part of this page (<code>data-embed="#help-chat"</code> on the
     snippet) rather than a button in the corner.</p>
  <div id="help-chat" class="embedded"></div>
"""

_LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Northwind Coffee demo shop</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2933; background: #f7f7f5; }}
  header {{ background: #3b2f2f; color: #fff; padding: 16px 32px; font-weight: 600;
            display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }}
  header a {{ color: #f3e3cf; font-weight: 400; }}
  main {{ max-width: 880px; margin: 32px auto; padding: 0 24px; }}
  .product {{ display: flex; gap: 32px; flex-wrap: wrap; }}
  .photo {{ flex: 0 0 280px; height: 280px; border-radius: 12px;
           background: linear-gradient(135deg, #c8a27a, #6f4e37); }}
  .buy {{ display: inline-block; background: #6f4e37; color: #fff; border: 0;
          border-radius: 8px; padding: 12px 20px; font-size: 16px; text-decoration: none; }}
  .embedded {{ height: 520px; max-width: 420px; }}
  pre {{ background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px;
         white-space: pre-wrap; word-break: break-all; font-size: 13px; }}
</style>
</head>
<body>
<header>
  <span>Northwind Coffee - demo shop</span>
  <nav>
    <a href="/demo{query}" data-testid="nav-shop">Shop</a> ·
    <a href="/demo/checkout{query}" data-testid="nav-checkout">Checkout</a> ·
    <a href="/demo/embedded{query}" data-testid="nav-embedded">Help centre (embedded chat)</a>
  </nav>
</header>
<main>
{body}
  <h2>Add the chat to your own site</h2>
  <p>Paste this one line before <code>&lt;/body&gt;</code>:</p>
  <pre>{install}</pre>
</main>
{snippet}
</body>
</html>
"""
