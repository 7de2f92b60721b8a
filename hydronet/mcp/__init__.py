"""MCP (Model Context Protocol): tenant MCP servers as chat tools, and HydroNet's own /mcp endpoint.

- ssrf.py      where tenant-supplied URLs may connect (checked on the resolved address, per connection)
- runner.py    running the async SDK from sync code (threads, gevent) with a hard timeout
- client.py    listing and calling a remote server's tools through the official SDK client
- endpoint.py  the SDK server HydroNet exposes: built-in tools, tenant-scoped, metered
- server.py    the /mcp route: authenticate, rate-limit, hand the request to the SDK transport
"""
