"""Framework-free credential primitives: keys, did:key, JWS, SD-JWT, SD-JWT VC, status lists.

Nothing here imports a web framework, a database layer, settings or another mobileid package;
`tests/test_layering.py` enforces it.
"""
