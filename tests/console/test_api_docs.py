"""`/docs` works air-gapped: Swagger UI and its stylesheet come from the
gateway (the swagger-ui-dist package, built into the console's bundle), and
the page renders every operation of `/openapi.json` in a real browser that
may reach no other host. The fixture fails the test on any request to
another host, any CSP violation and any uncaught JavaScript error."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.async_api import expect


async def test_docs_render_every_operation_from_this_host_only(
    open_console, gateway_url: str
) -> None:
    console = await open_console()
    page = console.page
    origin = urlsplit(gateway_url).netloc
    blocked: list[str] = []

    async def only_the_gateway(route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            await route.continue_()
        else:  # an air-gapped cluster: nothing else answers
            blocked.append(route.request.url)
            await route.abort()

    await page.context.route("**/*", only_the_gateway)
    await page.goto(gateway_url + "/docs")
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        doc = (await client.get("/openapi.json")).json()
    operations = sum(len(item) for item in doc["paths"].values())
    blocks = page.locator(".opblock")
    await expect(blocks).to_have_count(operations)
    await expect(page.locator(".info .title")).to_contain_text("FlowPilot fix services")
    stream = page.locator(".opblock-post", has_text="messages:stream")
    await expect(stream).to_be_visible()
    # Keyboard: an operation opens from its summary button.
    await stream.locator(".opblock-summary-control").focus()
    await page.keyboard.press("Enter")
    await expect(stream.locator(".opblock-body")).to_be_visible()
    await expect(stream).to_contain_text("text/event-stream")
    await console.screenshot("api-docs")

    assert blocked == [] and console.foreign_requests() == []
    paths = {urlsplit(url).path for url in console.requests}
    assert {"/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"} <= paths


async def test_docs_assets_are_served_with_a_strict_policy(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        page = await client.get("/docs")
        script = await client.get("/docs/swagger-ui-bundle.js")
        init = await client.get("/docs/init.js")
        missing = await client.get("/docs/index.html")
    assert page.status_code == 200 and "<script>" not in page.text  # no inline script
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert script.headers["content-security-policy"] == policy
    assert "validatorUrl: null" in init.text  # no badge from validator.swagger.io
    assert missing.status_code == 404
