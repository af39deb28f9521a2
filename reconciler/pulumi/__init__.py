"""The Pulumi integration: the ``ServiceLifecycle`` dynamic resource and its program.

The only package of reconciler that imports ``pulumi`` (``tests/test_layers.py``); it
sits above apply (docs/architecture.md) and reuses the whole engine:

- ``inputs``: a resource's properties, checked with the spec's own reader (pure);
- ``settings``: the stack's ``reconciler:*`` configuration the provider is given;
- ``operations``: judge, apply and read one entry with reconciler's planner, rules,
  apply and journal (no Pulumi in it);
- ``provider``: ``ServiceLifecycleProvider``, Pulumi's dynamic provider calls translated;
- ``resource``: ``ServiceLifecycle`` (``pulumi-python:dynamic/reconciler:ServiceLifecycle``);
- ``program``: one resource per service of the stack's spec (``Pulumi.yaml``'s program).

Nothing is imported here: ``import reconciler.pulumi`` costs nothing. ``docs/pulumi.md``
is the manual.
"""
