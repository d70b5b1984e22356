"""The shared base every package of Happy Client may import: redaction, settings, warehouse access.

It imports nothing else of ours (tests/platform/test_import_graph.py checks that)."""
