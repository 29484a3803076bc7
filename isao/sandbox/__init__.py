"""Local emulators ("sandboxes") of the providers' APIs, for rehearsing a recipe and for the tests.

Each sandbox is an ASGI app speaking its provider's real wire protocol: paths, auth, pagination, error
bodies, rate-limit headers and webhook signatures. By design a sandbox shares no code with the connector of
its provider nor with ISAO's internals: an emulator built from the connector's own models would agree with
the connector's mistakes. The official SDKs drive them in ``tests/sandbox``.
"""
