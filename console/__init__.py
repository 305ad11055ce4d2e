"""The city-hall console: the hub's web face for staff (server-rendered, no CDN).

Pages only show: each route reads the request, calls one function of ``odekake`` or
``planner`` and renders a template. Rules live in the core.
"""
