"""The web console (Starlette + Jinja2 under uvicorn, in the daemon's event loop): staff
handle incidents from their phones, admins tend rules, feeds and users, report writers
download reports. ``app`` assembles it; ``security`` owns sessions, roles, CSRF and the
response headers; ``render`` the templates; ``views/`` one module per page family;
``server`` runs it inside an asyncio loop."""
