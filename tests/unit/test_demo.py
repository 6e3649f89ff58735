"""The demo page's dispatch: its static files under /demo, everything else left to the service."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from local.demo import demo_response, demo_url, with_demo


def test_the_page_and_its_scripts_are_served_with_a_strict_policy():
    status, headers, body = demo_response("GET", "/demo")  # type: ignore[misc]
    assert status == "200 OK" and b"sigv4.js" in body
    assert dict(headers)["Content-Security-Policy"].startswith("default-src 'self'")
    for path in ("/demo/demo.js", "/demo/sigv4.js", "/demo/demo.css"):
        assert demo_response("GET", path)[0] == "200 OK"  # type: ignore[index]


def test_other_paths_and_methods_are_the_services():
    assert demo_response("POST", "/") is None
    assert demo_response("GET", "/") is None
    assert demo_response("POST", "/demo") is None  # the service answers it (UnknownOperationException)
    assert demo_response("GET", "/demonstration") is None
    assert demo_response("GET", "/demo/../local/demo.py")[0] == "404 Not Found"  # type: ignore[index]


def test_the_printed_link_carries_the_keys_in_its_fragment_only():
    url = urlsplit(demo_url("http://127.0.0.1:8085", "FSKX", "s/e+c=r&t", "eu-west-1"))
    assert url.path == "/demo" and url.query == ""
    assert parse_qs(url.fragment) == {"key": ["FSKX"], "secret": ["s/e+c=r&t"], "region": ["eu-west-1"]}


def test_with_demo_hands_every_other_request_to_the_app():
    seen = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"service"]

    wrapped = with_demo(app)
    started = []
    assert wrapped({"PATH_INFO": "/", "REQUEST_METHOD": "POST"}, lambda *a: started.append(a)) == [b"service"]
    assert wrapped({"PATH_INFO": "/demo", "REQUEST_METHOD": "GET"}, lambda *a: started.append(a)) != [b"service"]
    assert seen == ["/"] and started[1][0] == "200 OK"
